import json

import numpy as np
import pytest

from warmstart.bench.replay import run_replay, split_by_first_event
from warmstart.data.events import EventData, events_from_log, export_events, from_kt, load_events
from warmstart.families.linear.events import (
    EventFitConfig,
    event_summary,
    fit_from_events,
    training_log_from_events,
)
from warmstart.families.linear.fit import FitConfig
from warmstart.families.linear.item_features import ItemFeatureConfig
from warmstart.families.linear.model import summarise_log
from warmstart.sim.linear_types import LinearTypesConfig, LinearTypesPopulation

SMALL_FIT = EventFitConfig(population=FitConfig(k_range=(1, 10), n_init=1))
KEYS = ("1-5", "1-10", "1-20")


@pytest.fixture(scope="module")
def sim_events(tmp_path_factory):
    """A small simulator log (8 types, truth known), exported to CSV and read back as a user would."""
    log = LinearTypesPopulation(LinearTypesConfig()).logged(400, 20, seed=0)
    path = export_events(log, tmp_path_factory.mktemp("replay") / "sim.csv")
    return log, load_events(path)


def toy_events() -> EventData:
    """Three training users who agree item 'good' beats 'bad', then new users with 1, 2 and 3 items."""
    rows = [("t1", 0, "good", 1.0), ("t1", 1, "bad", 0.0), ("t2", 2, "good", 0.9), ("t2", 3, "bad", 0.1),
            ("t3", 4, "good", 0.8), ("t3", 5, "mid", 0.5),
            ("n1", 10, "bad", 0.3),
            ("n2", 11, "bad", 0.2), ("n2", 12, "good", 0.7),
            ("n3", 13, "mid", 0.6), ("n3", 14, "good", 0.9), ("n3", 15, "bad", 0.0), ("n3", 16, "bad", 0.4)]
    return EventData.from_rows(*zip(*rows))


# --- fitting -----------------------------------------------------------------------------------------------


def test_event_summary_matches_the_simulator_summary_and_a_brute_force_loop(sim_events):
    log, ev = sim_events
    s = event_summary(ev, ev.features, chunk=777)  # chunks that split users
    ref = log.summary()
    for name in ("A", "b", "c", "n"):
        np.testing.assert_allclose(getattr(s, name), getattr(ref, name), rtol=1e-10, atol=1e-12)
    toy = toy_events()
    F = np.arange(toy.n_items * 2, dtype=float).reshape(-1, 2)
    s = event_summary(toy, F, chunk=3)
    for u in range(toy.n_users):
        rows = range(toy.starts[u], toy.starts[u + 1])
        np.testing.assert_allclose(s.A[u], sum(np.outer(F[toy.item[r]], F[toy.item[r]]) for r in rows))
        np.testing.assert_allclose(s.b[u], sum(F[toy.item[r]] * toy.reward[r] for r in rows))
        assert s.n[u] == len(rows)


def test_training_log_has_the_same_summary(sim_events):
    _, ev = sim_events
    ev = ev.subset(np.arange(30))
    s, t = event_summary(ev, ev.features), summarise_log(training_log_from_events(ev, ev.features).validate(10))
    for name in ("A", "b", "c", "n"):
        np.testing.assert_allclose(getattr(t, name), getattr(s, name), rtol=1e-10, atol=1e-12)


def test_fit_from_events_learns_features_when_the_log_has_none():
    toy = toy_events()
    cfg = EventFitConfig(population=FitConfig(n_types=1, split_merge=False),
                         item_features=ItemFeatureConfig(n_factors=1, reg=1.0, bias_reg=1.0))
    population, features, summary = fit_from_events(toy, cfg)
    assert features.shape == (toy.n_items, 3) and population.dim == 3 and summary.n_users == toy.n_users
    assert population.diagnostics.item_features["source"] == "learned"
    pop2, feats2, _ = fit_from_events(toy, FitConfig(n_types=1, split_merge=False))  # a bare FitConfig
    assert feats2.shape == (toy.n_items, 4) and pop2.dim == 4


def test_split_is_by_first_event():
    ev = EventData.from_rows(["late", "early", "mid", "early"], [9, 1, 5, 10], ["a", "a", "a", "b"], [1, 0, 1, 0])
    train, test = split_by_first_event(ev, 0.6)
    assert ev.user_ids[train].tolist() == ["early", "mid"] and ev.user_ids[test].tolist() == ["late"]


# --- replay ------------------------------------------------------------------------------------------------


def test_ours_beats_random_and_from_scratch_on_a_simulated_log(sim_events):
    """The log comes from 8 user types, so recognising a new user's type pays within the first steps."""
    _, ev = sim_events
    doc = run_replay(ev, steps=10, policies=("mixture_ids", "from_scratch_ts", "random"), seed=0, n_boot=200,
                     fit_config=SMALL_FIT)
    assert doc["n_train_users"] == 280 and doc["n_test_users"] == 120
    assert doc["fit"]["item_features"]["source"] == "log"
    p = doc["policies"]
    ours = p["mixture_ids"]
    for other in ("random", "from_scratch_ts"):
        assert ours["ci95"]["1-10"][0] > p[other]["mean_reward"]["1-10"], (other, ours, p[other])
    assert abs(p["random"]["mean_reward"]["1-10"] - doc["reference"]["random_expected"]["mean_reward"]["1-10"]) < 0.1
    assert ours["mean_reward"]["1-10"] < doc["reference"]["hindsight_best"]["mean_reward"]["1-10"]


def test_windows_count_users_over_the_steps_they_have():
    toy = toy_events()
    doc = run_replay(toy, train_fraction=0.5, steps=5, policies=("popularity", "random"), n_boot=50,
                     fit_config=EventFitConfig(population=FitConfig(n_types=1, split_merge=False),
                                               item_features=ItemFeatureConfig(n_factors=0)))
    assert doc["n_train_users"] == 3 and doc["n_test_users"] == 3
    # every new user runs out of items before step 5, so every policy earns each user's mean item reward
    per_user = [0.3, (0.2 + 0.7) / 2, (0.6 + 0.9 + 0.2) / 3]  # n3's two 'bad' rows average to 0.2
    for name in ("popularity", "random"):
        res = doc["policies"][name]
        assert res["mean_reward"]["1-5"] == pytest.approx(np.mean(per_user))
        assert res["users_by_step"] == [3, 2, 1]
        assert res["complete"]["1-5"]["n_users"] == 0 and res["complete"]["1-5"]["mean_reward"] is None
    # popularity plays the item the training users liked most first
    assert doc["policies"]["popularity"]["mean_reward_by_step"][0] == pytest.approx((0.3 + 0.7 + 0.9) / 3)


def test_one_candidate_makes_every_policy_earn_the_same(sim_events):
    _, ev = sim_events
    ev = ev.subset(np.arange(60))
    doc = run_replay(ev, steps=5, n_candidates=1, policies=("mixture_ids", "pooled_ts", "random"), n_boot=50,
                     fit_config=EventFitConfig(population=FitConfig(n_types=2, split_merge=False, n_init=1)))
    curves = [p["mean_reward_by_step"] for p in doc["policies"].values()]
    assert curves[0] == curves[1] == curves[2]


def test_assist2009_slice_runs_produces_every_key_and_is_seeded():
    from warmstart.data.assistments import load_assistments2009

    kt = load_assistments2009(split="all")  # shipped with warmstart
    ev = from_kt(kt.subset(np.arange(300)))
    cfg = EventFitConfig(population=FitConfig(k_range=(1, 3), n_init=1))
    docs = [run_replay(ev, seed=4, n_boot=100, fit_config=cfg) for _ in range(2)]
    doc = docs[0]
    for key in ("config", "version", "machine", "n_train_users", "n_test_users", "policies", "reference"):
        assert key in doc
    assert (doc["n_train_users"], doc["n_test_users"]) == (210, 90)
    assert set(doc["policies"]) == {"mixture_ids", "pooled_ts", "from_scratch_ts", "popularity", "random"}
    for res in doc["policies"].values():
        assert set(res["mean_reward"]) == set(KEYS) and set(res["ci95"]) == set(KEYS)
        assert res["n_users"] == 90
        for k in KEYS:
            lo, hi = res["ci95"][k]
            assert 0.0 <= lo <= res["mean_reward"][k] <= hi <= 1.0
    assert doc["fit"]["item_features"]["source"] == "learned"
    json.dumps(doc, allow_nan=False)  # strict JSON
    # same seed, same document (wall times and the machine aside)
    strip = [{k: v for k, v in d.items() if k not in ("timing", "machine")} for d in docs]
    assert strip[0] == strip[1]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"policies": ("oracle",)}, "policies: 'oracle' needs the simulator's ground truth"),
        ({"policies": ("nope",)}, "policy: expected one of"),
        ({"train_fraction": 1.0}, r"train_fraction: expected a value in \(0, 1\)"),
        ({"n_candidates": 0}, "n_candidates: expected None"),
        ({"steps": 0}, "steps: expected a positive integer"),
    ],
)
def test_bad_settings_name_the_field(kwargs, match):
    with pytest.raises(ValueError, match=match):
        run_replay(toy_events(), **kwargs)


def test_a_log_from_events_from_log_replays_without_a_file():
    log = LinearTypesPopulation(LinearTypesConfig()).logged(30, 5, seed=2)
    doc = run_replay(events_from_log(log), steps=3, policies=("random",), n_boot=20,
                     fit_config=EventFitConfig(population=FitConfig(n_types=1, split_merge=False)))
    assert doc["policies"]["random"]["users_by_step"] == [9, 9, 9]


# --- a replay a user can trust: windows, seeds, paired differences, the oracle_user reference --------------


@pytest.fixture(scope="module")
def sim_replays(sim_events):
    """The same simulated log replayed for 10 and for 20 steps with the same seed."""
    _, ev = sim_events
    kw = {"policies": ("mixture_ids", "pooled_ts", "from_scratch_ts", "random"), "seed": 3, "n_boot": 200,
          "fit_config": SMALL_FIT}
    return run_replay(ev, steps=10, **kw), run_replay(ev, steps=20, **kw)


def test_windows_stop_at_the_replayed_steps(sim_replays):
    short, long = sim_replays
    assert short["config"]["windows"] == [5, 10] and long["config"]["windows"] == [5, 10, 20]
    for res in short["policies"].values():
        assert set(res["mean_reward"]) == set(res["complete"]) == {"1-5", "1-10"}
        assert res["complete"]["1-10"]["n_users"] == short["n_test_users"]  # every simulated user has 20 items
    assert run_replay(toy_events(), train_fraction=0.5, steps=3, policies=("random",), n_boot=10,
                      fit_config=EventFitConfig(population=FitConfig(n_types=1, split_merge=False),
                                                item_features=ItemFeatureConfig(n_factors=0)),
                      windows=(5, 10))["config"]["windows"] == [3]


def test_the_first_steps_do_not_depend_on_how_many_steps_are_replayed(sim_replays):
    short, long = sim_replays
    for name in short["policies"]:
        assert short["policies"][name]["mean_reward_by_step"] == long["policies"][name]["mean_reward_by_step"][:10]
        assert short["policies"][name]["mean_reward"]["1-5"] == long["policies"][name]["mean_reward"]["1-5"]


def test_paired_differences_are_ours_minus_each_peer_on_the_same_users(sim_replays):
    _, doc = sim_replays
    paired = doc["paired"]
    assert paired["ours"] == "mixture_ids" and set(paired["vs"]) == {"pooled_ts", "from_scratch_ts", "random"}
    ours = doc["policies"]["mixture_ids"]
    for peer, comp in paired["vs"].items():
        theirs = doc["policies"][peer]
        for key, w in comp["windows"].items():
            # every user has all 20 steps, so the mean of the differences is the difference of the means
            assert w["mean_diff"] == pytest.approx(ours["mean_reward"][key] - theirs["mean_reward"][key])
            lo, hi = w["ci95"]
            assert lo <= w["mean_diff"] <= hi
            assert w["verdict"] == ("better" if lo > 0 else "worse" if hi < 0 else "not significant")
        np.testing.assert_allclose(comp["mean_diff_by_step"],
                                   np.subtract(ours["mean_reward_by_step"], theirs["mean_reward_by_step"]))
        assert len(comp["ci95_by_step"]) == 20
    # 8 simulated types: recognising the type beats starting from scratch over the first ten steps
    assert paired["vs"]["from_scratch_ts"]["windows"]["1-10"]["verdict"] == "better"
    assert paired["vs"]["random"]["windows"]["1-5"]["verdict"] == "better"
    bands = ours["ci95_by_step"]
    assert len(bands) == 20 and all(lo <= m <= hi for (lo, hi), m in zip(bands, ours["mean_reward_by_step"]))


def test_oracle_user_is_a_ceiling_below_hindsight(sim_replays):
    """The model that has seen a user's whole history: no policy of the same family should beat it by much, and
    nothing beats each user's best items in order."""
    _, doc = sim_replays
    ref = doc["reference"]
    for key in ("1-5", "1-10", "1-20"):
        oracle = ref["oracle_user"]["mean_reward"][key]
        assert oracle <= ref["hindsight_best"]["mean_reward"][key] + 1e-12
        captured = doc["paired"]["captured_of_oracle_user"][key]
        best = captured["best_peer"]
        gap = oracle - doc["policies"][best]["mean_reward"][key]
        if key == "1-20":  # each simulated user has 20 items: over 20 steps every policy shows them all
            assert abs(gap) < 1e-9 and captured["share"] is None
            continue
        assert oracle > doc["policies"]["mixture_ids"]["mean_reward"][key]
        assert captured["share"] == pytest.approx(
            (doc["policies"]["mixture_ids"]["mean_reward"][key] - doc["policies"][best]["mean_reward"][key]) / gap)
        lo, hi = captured["ci95"]  # paired over the same users: the point estimate lies inside, the CI has width
        assert lo < captured["share"] < hi
    assert len(ref["oracle_user"]["mean_reward_by_step"]) == 20


def test_no_paired_section_without_ours():
    doc = run_replay(toy_events(), train_fraction=0.5, steps=3, policies=("popularity", "random"), n_boot=10,
                     fit_config=EventFitConfig(population=FitConfig(n_types=1, split_merge=False),
                                               item_features=ItemFeatureConfig(n_factors=0)))
    assert doc["paired"] is None and "oracle_user" in doc["reference"]


# --- the item space and K chosen on validation users -------------------------------------------------------


def test_choose_serves_each_policy_in_its_own_chosen_space_from_the_training_users_only(sim_events, monkeypatch):
    from warmstart.bench import replay
    from warmstart.families.linear.space import SpaceConfig

    _, ev = sim_events
    ev = ev.subset(np.arange(200))
    seen = []
    choose_space = replay.choose_space

    def spy(events, *args, **kwargs):
        seen.append(events.user_ids.tolist())
        return choose_space(events, *args, **kwargs)

    monkeypatch.setattr(replay, "choose_space", spy)
    grid = SpaceConfig(n_factors=(0,), content_factors=(0,), n_types=(1, 2),
                       item_features=ItemFeatureConfig(max_iter=20), population=FitConfig(n_init=1))
    doc = run_replay(ev, steps=5, policies=("mixture_ids", "pooled_ts", "from_scratch_ts", "popularity"),
                     n_boot=50, choose=True, space_config=grid)
    train_idx, _ = split_by_first_event(ev, 0.7)
    assert seen == [ev.user_ids[train_idx].tolist()]  # the new users are never read before they are replayed
    space = doc["fit"]["space"]
    assert doc["config"]["choose"] and doc["config"]["space"]["n_types"] == [1, 2]
    assert set(space["chosen"]) == {"ours", "pooled", "from_scratch"} and len(space["table"]) == 2
    assert space["n_fit_users"] + space["n_validation_users"] == doc["n_train_users"]
    for name, who in (("mixture_ids", "ours"), ("pooled_ts", "pooled"), ("from_scratch_ts", "from_scratch"),
                      ("popularity", "ours")):
        served = doc["fit"]["policies"][name]
        assert served["chosen_for"] == who and served["space"] == space["chosen"][who]["space"]["name"]
    # the simulated log's own features are what personalises: every chooser takes the content space
    assert all(c["space"]["content"] for c in space["chosen"].values())
    assert doc["fit"]["n_types"] == space["chosen"]["ours"]["n_types"] and doc["fit"]["selection"] == "early events"
    assert doc["fit"]["item_features"]["space"] == space["chosen"]["ours"]["space"]
    assert doc["paired"]["vs"]["from_scratch_ts"]["windows"]["1-5"]["verdict"] == "better"
    assert "choose_s" in doc["timing"]
    # how ours acts: chosen by replaying the validation users, the larger mean reward (a tie: mixture_ids)
    decision = doc["fit"]["decision"]
    scores = decision["scores"]
    assert set(scores) == {"mixture_ids", "mixture_greedy"} and all(0 < v < 10 for v in scores.values())
    want = "mixture_greedy" if round(scores["mixture_greedy"], 12) > round(scores["mixture_ids"], 12) else "mixture_ids"
    assert decision["chosen"] == want == doc["policies"]["mixture_ids"]["settings"]["policy"]
    assert doc["policies"]["pooled_ts"]["settings"]["policy"] == "pooled_ts"
    # linear_pooled: one prior, in the one-prior peers' space, acting by ours' chosen rule (types add minus it)
    assert doc["policies"]["linear_pooled"]["settings"]["policy"] == decision["chosen"]
    assert doc["fit"]["policies"]["linear_pooled"]["space"] == space["chosen"]["pooled"]["space"]["name"]
    assert "linear_pooled" in doc["paired"]["vs"]
    json.dumps(doc, allow_nan=False)


def test_without_the_choice_every_policy_shares_the_one_fit(sim_events):
    _, ev = sim_events
    doc = run_replay(ev.subset(np.arange(60)), steps=3, policies=("mixture_ids", "pooled_ts"), n_boot=20,
                     fit_config=EventFitConfig(population=FitConfig(n_types=2, split_merge=False, n_init=1)))
    assert doc["config"]["choose"] is False and doc["config"]["space"] is None
    assert "space" not in doc["fit"] and "policies" not in doc["fit"] and doc["fit"]["selection"] == "fixed"
