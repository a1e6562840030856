"""The real-log target rows: what makes each met or not, and that every replayed log's folder gets its rows."""

import json

from warmstart.report.replay_targets import replay_rows
from warmstart.report.targets import write_targets


def _doc(diffs, means, k=3, genres=False, share=0.4):
    """A replay document with ours = mixture_ids; ``diffs[peer][window] = (mean_diff, lo, hi)``."""
    return {"data": {"source": {"data": None, "log": "x.csv", "liked_at": None, "genres": genres}},
            "fit": {"n_types": k},
            "policies": {n: {"mean_reward": m} for n, m in means.items()},
            "paired": {"ours": "mixture_ids",
                       "captured_of_oracle_user": {"1-20": {"best_peer": "pooled_ts", "share": share}},
                       "vs": {p: {"windows": {w: {"mean_diff": d, "ci95": [lo, hi]} for w, (d, lo, hi) in ws.items()}}
                              for p, ws in diffs.items()}}}


MEANS = {"mixture_ids": {"1-5": 0.7, "1-10": 0.7, "1-20": 0.7}, "pooled_ts": {"1-5": 0.69, "1-10": 0.68, "1-20": 0.68},
         "popularity": {"1-5": 0.75, "1-10": 0.6, "1-20": 0.6}}
GOOD = {"pooled_ts": {w: (0.02, 0.01, 0.03) for w in ("1-5", "1-10", "1-20")},
        "popularity": {"1-5": (-0.05, -0.1, -0.01), "1-10": (0.1, 0.05, 0.15), "1-20": (0.1, 0.05, 0.15)}}


def _met(rows):
    return {r["target"].split(": ", 1)[1]: r["met"] for r in rows}


def test_a_peer_significantly_better_at_any_window_fails_the_first_row():
    met = _met(replay_rows("log", _doc(GOOD, MEANS, genres=True)))
    assert met["ours not significantly worse than any peer, best at 1-10 and 1-20"] is False  # popularity at 1-5
    assert met["types add (ours - pooled_ts)"] is True
    assert met["content features only, ours >= popularity"] is False
    fine = {**GOOD, "popularity": {w: (0.1, 0.05, 0.15) for w in ("1-5", "1-10", "1-20")}}
    assert _met(replay_rows("log", _doc(fine, MEANS)))[
        "ours not significantly worse than any peer, best at 1-10 and 1-20"] is True


def test_types_add_needs_two_types_and_the_captured_share_its_threshold():
    rows = replay_rows("log", _doc(GOOD, MEANS, k=1, share=0.2))
    met = _met(rows)
    assert met["types add (ours - pooled_ts)"] is False  # one type: the difference is the policy's
    assert met["ours captures of the best peer -> oracle_user distance at 1-20"] is False
    assert rows[0]["command"] == "warmstart bench replay --log FILE --out DIR"


def test_types_add_in_the_linear_family_also_needs_the_one_prior_acting_by_ours_rule():
    same_rule = {"linear_pooled": {w: (0.01, -0.005, 0.02) for w in ("1-5", "1-10", "1-20")}}
    rows = replay_rows("log", _doc({**GOOD, **same_rule}, MEANS))
    row = next(r for r in rows if "types add" in r["target"])
    assert row["met"] is False and "minus linear_pooled" in row["measured"]   # its CI reaches below 0
    above = {"linear_pooled": {w: (0.01, 0.005, 0.02) for w in ("1-5", "1-10", "1-20")}}
    assert _met(replay_rows("log", _doc({**GOOD, **above}, MEANS)))["types add (ours - pooled_ts)"] is True
    # an own variant: neither the best peer nor a peer ours must not be worse than
    worse = {"linear_pooled": {w: (-0.05, -0.08, -0.02) for w in ("1-5", "1-10", "1-20")}}
    fine = {**GOOD, "popularity": {w: (0.1, 0.05, 0.15) for w in ("1-5", "1-10", "1-20")}, **worse}
    assert _met(replay_rows("log", _doc(fine, MEANS)))[
        "ours not significantly worse than any peer, best at 1-10 and 1-20"] is True


def test_write_targets_adds_the_rows_of_every_replayed_log(tmp_path):
    ours = {"steps_to_90": 6, "regret_at": {"20": 2.0}, "late_regret_per_step": 0.05,
            "per_type": {"0": {"regret_at": {"20": 1.8}}, "1": {"regret_at": {"20": 2.2}}},
            "minority": {"regret_at": {"20": 2.4}}, "outliers": {"regret_at": {"20": 5.0}},
            "type_accuracy_at": {"10": 0.97}}
    (tmp_path / "coldstart.json").write_text(json.dumps({
        "ours": "mixture_ids", "config": {"sim": {"n_types": 3}}, "fit": {"minority_recovered": True},
        "gain_captured": {"G": [0.9] * 200}, "policies": {"mixture_ids": ours}}))
    for name in ("replay-a", "replay-b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "replay.json").write_text(json.dumps(_doc(GOOD, MEANS)))
    targets = [r["target"] for r in write_targets(tmp_path)]
    assert sum(t.startswith("replay replay-a:") for t in targets) == 3
    assert sum(t.startswith("replay replay-b:") for t in targets) == 3


def test_own_variants_are_the_replays():
    """The report (which imports no benchmark) names ours' own other fits as the replay does."""
    from warmstart.bench.replay import OWN_VARIANTS as replayed
    from warmstart.report.replay_targets import OWN_VARIANTS as reported

    assert reported == replayed and "logistic_pooled" in reported and "popularity" not in reported
