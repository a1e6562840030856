"""``warmstart ope --log FILE``: the logged-feedback reader, reward models, weight diagnostics, the command.

The synthetic log has a known truth: four actions with Bernoulli rewards of mean ``MU[a] + SLOPE[a] x`` for a
context ``x ~ U(-1, 1)``, a non-uniform context-free logging policy ``P_LOG``, and two evaluation policies
whose values follow in closed form.
"""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from warmstart.cli import app
from warmstart.ope import estimate_all
from warmstart.ope.diagnostics import MIN_PROPENSITY, evaluate_log, weight_diagnostics
from warmstart.ope.logs import load_ope_log
from warmstart.ope.reward_models import fit_reward_model

MU = np.array([0.2, 0.5, 0.8, 0.35])
SLOPE = np.array([0.1, -0.2, 0.15, 0.0])
P_LOG = np.array([0.4, 0.3, 0.1, 0.2])
PI_STOCHASTIC = np.array([0.1, 0.2, 0.6, 0.1])
N = 20_000
# deterministic policy: action 2 when x > 0, else action 1. E[x | x > 0] = 1/2 for x ~ U(-1, 1), so its value
# is (MU[2] + SLOPE[2] / 2) / 2 + (MU[1] - SLOPE[1] / 2) / 2
TRUTH_DET = 0.5 * (MU[2] + SLOPE[2] / 2) + 0.5 * (MU[1] - SLOPE[1] / 2)
# IPS's per-round variance for it: E[w^2 r] - V^2 with w = 1 / P_LOG[a] on the rounds it agrees with
SE_IPS_DET = np.sqrt((0.5 * (MU[2] + SLOPE[2] / 2) / P_LOG[2] + 0.5 * (MU[1] - SLOPE[1] / 2) / P_LOG[1]
                      - TRUTH_DET**2) / N)
TRUTH_STOCH = float(PI_STOCHASTIC @ MU)  # E[x] = 0
SE_IPS_STOCH = np.sqrt((np.sum(PI_STOCHASTIC**2 / P_LOG * MU) - TRUTH_STOCH**2) / N)  # E[w^2 r] with E[x] = 0


def synthetic(n: int = N, seed: int = 8) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, n)
    a = rng.choice(4, size=n, p=P_LOG)
    r = rng.binomial(1, MU[a] + SLOPE[a] * x).astype(float)
    det = np.zeros((n, 4))
    det[np.arange(n), np.where(x > 0, 2, 1)] = 1.0
    return {"x": x, "action": a, "reward": r, "propensity": P_LOG[a], "det": det,
            "stoch": np.tile(PI_STOCHASTIC, (n, 1))}


def write_log(path, columns: dict[str, object]) -> None:
    """Write ``columns`` (name -> list or array) as CSV (numbers in round-trip form) or Parquet, by suffix."""
    cols = {k: np.asarray(v) for k, v in columns.items()}
    if path.suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.table({k: (v.tolist() if v.dtype.kind in "OU" else v) for k, v in cols.items()})
        pq.write_table(table, path)
        return
    with open(path, "w", newline="") as fh:  # csv quotes the JSON lists; floats in round-trip form
        writer = csv.writer(fh)
        writer.writerow(list(cols))
        writer.writerows(zip(*(c.tolist() for c in cols.values())))


def log_columns(s: dict[str, np.ndarray], policy: str, *, names: bool = False) -> dict[str, object]:
    labels = np.array(["shoes", "hats", "bags", "socks"])
    cols: dict[str, object] = {"round": np.arange(s["reward"].size),
                               "action": labels[s["action"]] if names else s["action"],
                               "reward": s["reward"], "propensity": s["propensity"], "x": s["x"]}
    for k in range(4):
        cols[f"eval_prob_{labels[k] if names else k}"] = s[policy][:, k]
    return cols


@pytest.fixture(scope="module")
def sample():
    return synthetic()


@pytest.fixture(scope="module", params=["csv", "parquet"])
def det_log(request, sample, tmp_path_factory):
    path = tmp_path_factory.mktemp("ope") / f"det.{request.param}"
    write_log(path, log_columns(sample, "det"))
    return path


# ---- estimates against the truth -------------------------------------------------------------------------


def test_deterministic_policy_estimates_cover_the_truth(det_log, sample):
    log = load_ope_log(det_log, context_cols=["x"])
    assert np.array_equal(log.action, sample["action"]) and np.array_equal(log.reward, sample["reward"])
    assert np.array_equal(log.pscore, sample["propensity"]) and np.array_equal(log.context[:, 0], sample["x"])
    rep = evaluate_log(log, reward_model="ridge", n_boot=400, seed=0)
    assert TRUTH_DET == pytest.approx(0.7375) and SE_IPS_DET == pytest.approx(0.01554, abs=1e-4)
    est = {k: r.estimate for k, r in rep.estimates.items()}
    for name in ("ips", "snips", "dr"):
        assert abs(est[name] - TRUTH_DET) < 3 * SE_IPS_DET, (name, est[name])
        lo, hi = rep.estimates[name].ci95
        assert lo < TRUTH_DET < hi, (name, lo, hi)
    # the ridge model is well specified (rewards are linear in x per action), so DM is close too: its error is
    # the model's, about half the error of action 2's fit on ~0.1 N rounds (0.4 / sqrt(2000) = 0.009) and half
    # action 1's on ~0.3 N (0.5 / sqrt(6000) = 0.0065), so a standard error near 0.007
    assert abs(est["dm"] - TRUTH_DET) < 3 * 0.007
    # the interval of IPS is about +-1.96 standard errors
    lo, hi = rep.estimates["ips"].ci95
    assert (hi - lo) / (2 * 1.96 * SE_IPS_DET) == pytest.approx(1.0, abs=0.15)
    # DR with a good model has a tighter interval than IPS
    assert np.diff(rep.estimates["dr"].ci95)[0] < 0.8 * (hi - lo)
    # diagnostics: the policy agrees with the logged action with probability E[P_LOG[a(x)]] = (0.1 + 0.3) / 2;
    # E[w^2] = 0.5 / 0.1 + 0.5 / 0.3, so ESS / n is about 1 / E[w^2] = 0.15
    d = rep.diagnostics
    assert d.zero_mass_share == pytest.approx(0.8, abs=0.01)
    assert d.ess_fraction == pytest.approx(1 / (0.5 / 0.1 + 0.5 / 0.3), rel=0.05)
    assert d.max_weight == pytest.approx(10.0) and d.mean_weight == pytest.approx(1.0, abs=0.05)
    assert d.min_propensity == pytest.approx(0.1) and d.n_tiny_propensity == 0 and rep.warnings == ()
    assert rep.reward_model == "ridge regression per action on x (alpha 1), cross-fitted over 5 folds"


def test_stochastic_policy_with_the_mean_model_and_named_actions(tmp_path, sample):
    path = tmp_path / "stoch.csv"
    write_log(path, log_columns(sample, "stoch", names=True))
    log = load_ope_log(path)
    assert log.action_names.tolist() == ["shoes", "hats", "bags", "socks"]
    assert np.array_equal(log.action, sample["action"])
    rep = evaluate_log(log, n_boot=400, seed=1)
    assert rep.reward_model == "mean reward per action, cross-fitted over 5 folds"
    assert TRUTH_STOCH == pytest.approx(0.635)
    for name in ("ips", "snips", "dm", "dr"):
        r = rep.estimates[name]
        assert abs(r.estimate - TRUTH_STOCH) < 3 * SE_IPS_STOCH, (name, r.estimate)
        assert r.ci95[0] < TRUTH_STOCH < r.ci95[1] or name == "dm", (name, r.ci95)
    # the estimates are the estimators' on the same arrays
    direct = estimate_all(sample["reward"], sample["action"], sample["propensity"], sample["stoch"],
                          n_boot=10)
    assert rep.estimates["ips"].estimate == pytest.approx(direct["ips"].estimate, abs=1e-12)
    assert rep.estimates["snips"].estimate == pytest.approx(direct["snips"].estimate, abs=1e-12)
    assert rep.diagnostics.zero_mass_share == 0.0


def test_csv_and_parquet_read_the_same(tmp_path, sample):
    small = {k: v[:300] for k, v in sample.items()}
    logs = []
    for suffix in ("csv", "parquet"):
        write_log(tmp_path / f"l.{suffix}", log_columns(small, "det", names=True))
        logs.append(load_ope_log(tmp_path / f"l.{suffix}", context_cols=["x"]))
    a, b = logs
    for field in ("reward", "action", "pscore", "action_dist", "context", "action_names"):
        assert np.array_equal(getattr(a, field), getattr(b, field)), field
    ra, rb = (evaluate_log(g, reward_model="ridge", n_boot=50) for g in logs)
    assert ra.to_dict()["estimates"] == rb.to_dict()["estimates"]


# ---- the other ways to give the evaluation policy ---------------------------------------------------------


def test_round_order_npz_positions_and_q_columns(tmp_path):
    """Rows out of round order; an npz with a position axis indexed by round; q_* columns used by DM / DR."""
    rng = np.random.default_rng(3)
    n, k, ll = 60, 3, 2
    pi = rng.dirichlet(np.ones(k), size=(n, ll)).transpose(0, 2, 1)
    pos = rng.integers(0, ll, n)
    act = rng.integers(0, k, n)
    pscore = rng.uniform(0.2, 0.9, n)
    reward = rng.binomial(1, 0.4, n).astype(float)
    q = rng.random((n, k))
    perm = rng.permutation(n)  # file row i holds round perm[i]
    cols = {"round": perm + 100, "action": act[perm], "position": pos[perm], "reward": reward[perm],
            "propensity": pscore[perm], **{f"q_{a}": q[perm, a] for a in range(k)}}
    write_log(tmp_path / "l.csv", cols)
    np.savez(tmp_path / "pi.npz", action_dist=pi)
    log = load_ope_log(tmp_path / "l.csv", action_dist=tmp_path / "pi.npz")
    assert np.array_equal(log.action, act) and np.array_equal(log.position, pos)
    assert np.array_equal(log.reward, reward)
    assert log.action_dist.shape == (n, k, ll) and log.n_positions == ll
    rep = evaluate_log(log, n_boot=20)
    assert rep.reward_model == "the log's q_* columns"
    q3 = np.zeros((n, k, ll))
    q3[np.arange(n), :, pos] = q
    ref = estimate_all(reward, act, pscore, pi, position=pos, estimated_rewards=q3, n_boot=20)
    # DM by hand: sum_a pi(a | t, k_t) q(t, a)
    assert ref["dm"].estimate == pytest.approx(np.mean((pi[np.arange(n), :, pos] * q).sum(axis=1)))
    for name in ("ips", "snips", "dm", "dr"):
        assert rep.estimates[name].estimate == pytest.approx(ref[name].estimate, abs=1e-12)


def test_eval_probs_json_column_and_uniform_policy(tmp_path):
    pi = [[0.5, 0.25, 0.25], [0.0, 1.0, 0.0], [0.2, 0.2, 0.6]]
    cols = {"action": [0, 1, 2], "reward": [1.0, 0.0, 1.0], "propensity": [0.5, 0.25, 0.8],
            "eval_probs": [json.dumps(p) for p in pi]}
    write_log(tmp_path / "j.csv", cols)
    log = load_ope_log(tmp_path / "j.csv")
    assert log.eval_source == "eval_probs column" and np.array_equal(log.action_dist, pi)
    rep = evaluate_log(log, reward_model="none", n_boot=10)
    # w = [0.5 / 0.5, 1 / 0.25, 0.6 / 0.8] = [1, 4, 0.75]; w r = [1, 0, 0.75]
    assert set(rep.estimates) == {"ips", "snips"} and rep.reward_model is None
    assert rep.estimates["ips"].estimate == pytest.approx(1.75 / 3)
    assert rep.estimates["snips"].estimate == pytest.approx(1.75 / 5.75)
    d = rep.diagnostics
    assert d.ess == pytest.approx(5.75**2 / (1 + 16 + 0.5625)) and d.max_weight == pytest.approx(4.0)

    # uniform over the actions seen in the log: "b" and "c" (and not an action that never appears)
    write_log(tmp_path / "u.csv", {"action": ["c", "b", "c"], "reward": [1.0, 0.0, 1.0],
                                   "propensity": [0.5, 0.5, 0.5]})
    log = load_ope_log(tmp_path / "u.csv", eval_policy="uniform")
    assert log.action_names.tolist() == ["b", "c"] and log.action.tolist() == [1, 0, 1]
    assert np.allclose(log.action_dist, 0.5) and log.eval_source == "uniform over the logged actions"
    assert evaluate_log(log, n_boot=10).estimates["ips"].estimate == pytest.approx(2 / 3)


def test_mean_model_is_cross_fitted_per_action_and_position(tmp_path):
    rng = np.random.default_rng(5)
    n = 40
    act, pos = rng.integers(0, 3, n), rng.integers(0, 2, n)
    act[:2] = 2  # action 2 at position 1 only in rows 0 and 1
    pos[:2] = 1
    reward = rng.random(n)
    write_log(tmp_path / "m.csv", {"action": act, "position": pos, "reward": reward,
                                   "propensity": np.full(n, 0.3)})
    log = load_ope_log(tmp_path / "m.csv", eval_policy="uniform")
    fit = fit_reward_model(log, "mean", n_folds=4, seed=9)
    fold = np.random.default_rng(9).permutation(n) % 4
    for t in range(n):  # slow reference: the mean of the other folds' rewards in the same (action, position)
        train = fold != fold[t]
        for a in range(3):
            cell = train & (act == a) & (pos == pos[t])
            want = reward[cell].mean() if cell.any() else reward[train].mean()
            assert fit.estimated_rewards[t, a] == pytest.approx(want)
    assert fit.description == "mean reward per action and position, cross-fitted over 4 folds"
    assert "in-sample" in fit_reward_model(log, "mean", n_folds=1).description


def test_ridge_without_penalty_in_sample_is_least_squares_per_action(tmp_path):
    rng = np.random.default_rng(6)
    n = 200
    x, act = rng.normal(size=n), rng.integers(0, 2, n)
    reward = 0.3 + np.where(act == 1, 0.2, -0.1) * x + rng.normal(0, 0.1, n)
    write_log(tmp_path / "r.csv", {"action": act, "reward": reward, "propensity": np.full(n, 0.5), "x": x})
    log = load_ope_log(tmp_path / "r.csv", eval_policy="uniform", context_cols=["x"])
    q = fit_reward_model(log, "ridge", n_folds=1, alpha=0.0).estimated_rewards
    for a in range(2):
        slope, intercept = np.polyfit(x[act == a], reward[act == a], 1)
        assert np.allclose(q[:, a], intercept + slope * x)


def test_weight_diagnostics_and_warnings():
    d = weight_diagnostics(np.array([0.0, 2.0, 2.0, 0.0]), np.array([0.5, 0.5, 0.5, 0.5]))
    assert d.ess == pytest.approx(2.0) and d.ess_fraction == pytest.approx(0.5)
    assert d.zero_mass_share == pytest.approx(0.5) and d.mean_weight == pytest.approx(1.0)
    assert any("effective sample size is 2.0 of 4 rounds" in w for w in d.warnings())  # below 30 rounds
    many = weight_diagnostics(np.ones(1000), np.r_[np.full(999, 0.5), MIN_PROPENSITY / 2])
    assert many.n_tiny_propensity == 1 and len(many.warnings()) == 1
    assert "1 of 1000 rounds have a propensity below 0.001 (smallest 0.0005)" in many.warnings()[0]
    skewed = weight_diagnostics(np.r_[np.full(999, 0.01), 100.0], np.full(1000, 0.5))
    assert skewed.ess < 30 and "effective sample size" in skewed.warnings()[0]


def test_snips_is_left_out_when_no_logged_action_has_mass(tmp_path):
    write_log(tmp_path / "z.csv", {"action": [0, 0], "reward": [1.0, 0.0], "propensity": [0.5, 0.5],
                                   "eval_prob_0": [0.0, 0.0], "eval_prob_1": [1.0, 1.0]})
    rep = evaluate_log(load_ope_log(tmp_path / "z.csv"), n_boot=10)
    assert "snips" not in rep.estimates and rep.estimates["ips"].estimate == 0.0
    assert any("SNIPS is undefined" in w for w in rep.warnings)


# ---- errors ------------------------------------------------------------------------------------------------

BASE = {"round": [0, 1, 2], "action": [0, 1, 1], "reward": [1.0, 0.0, 1.0], "propensity": [0.5, 0.25, 0.8],
        "eval_prob_0": [0.2, 0.6, 0.0], "eval_prob_1": [0.8, 0.4, 1.0]}


def changed(**kw: object) -> dict[str, object]:
    cols = {k: list(v) for k, v in BASE.items()}
    for k, v in kw.items():
        if v is None:
            del cols[k]
        else:
            cols[k] = v
    return cols


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
@pytest.mark.parametrize(("cols", "kwargs", "message"), [
    (changed(propensity=None), {},
     r"expected columns propensity='propensity', got columns \['round', 'action'"),
    (changed(reward=None), {}, r"expected columns reward='reward'"),
    (changed(propensity=[0.5, 1.5, 0.8]), {},
     r"propensity: expected probabilities in \(0, 1\] in every row, got 1.5 in row 2"),
    (changed(propensity=[0.5, 0.0, 0.8]), {},
     r"propensity: expected probabilities in \(0, 1\] .* got 0.0 in row 2"),
    (changed(eval_prob_0=[0.2, 0.5, 0.0]), {},
     (r"eval_prob_\*: expected the evaluation policy's probabilities to sum to 1 over the actions in every "
      r"round \(tolerance 1e-06\), got 0.9 in row 2")),
    (changed(eval_prob_0=[0.2, -0.1, 0.0]), {}, r"eval_prob_\*: expected probabilities >= 0"),
    (changed(action=[0, 2, 1]), {},
     r"action: expected one of the actions of the eval_prob_\* columns, \['0', '1'\], got '2' in row 2"),
    (changed(reward=[1.0, float("nan"), 1.0]), {},
     r"reward: expected finite numbers in every row, got nan in row 2"),
    (changed(round=[0, 1, 1]), {}, r"round: expected distinct rounds, got 1 in rows 2 and 3"),
    (changed(q_0=[0.1, 0.2, 0.3]), {}, r"q_\*: expected one column per action \(q_0, q_1\), got missing q_1"),
    (changed(eval_prob_0=None, eval_prob_1=None), {},
     r"evaluation policy: expected exactly one of .* got none"),
    (BASE, {"eval_policy": "uniform"}, r"got eval_prob_\* columns and --eval-policy uniform"),
    (changed(eval_prob_0=None, eval_prob_1=None), {"eval_policy": "greedy"},
     r"--eval-policy: expected one of uniform, got 'greedy'"),
    (changed(eval_prob_0=None, eval_prob_1=None, eval_probs=["[0.5, 0.5]", "[1.0]", "[0, 1]"]), {},
     r"eval_probs: expected 2 numbers like row 1, got '\[1.0\]' in row 2"),
    (changed(eval_prob_0=None, eval_prob_1=None, eval_probs=["[0.5, 0.5]", "[0.1, 0.9]", "[0, 1]"],
             action=[0, 3, 1]), {},
     r"action: expected an action index in \[0, 1\] \(eval_probs has 2 actions\), got '3' in row 2"),
    (BASE, {"context_cols": ["age"]}, r"expected columns context age='age'"),
])
def test_bad_logs_are_rejected_with_the_column_and_the_value(tmp_path, suffix, cols, kwargs, message):
    path = tmp_path / f"bad.{suffix}"
    write_log(path, cols)
    with pytest.raises(ValueError, match=message) as info:
        load_ope_log(path, **kwargs)
    assert str(path) in str(info.value)


def test_npz_errors(tmp_path):
    cols = changed(eval_prob_0=None, eval_prob_1=None, position=[0, 1, 0])
    write_log(tmp_path / "l.csv", cols)
    cases = [
        (np.full((2, 2), 0.5),
         r"action_dist: expected 3 rounds \(one per row of the log\), got shape \(2, 2\)"),
        (np.full((3, 4), 0.25), None),  # fine: integer actions index 4 actions
        (np.full((3, 1), 1.0),
         (r"action: expected an action index in \[0, 0\] \(action_dist of .* has 1 actions\), got '1' in "
          r"row 2")),
        (np.full((3, 2), 0.4),
         (r"action_dist: expected the evaluation policy's probabilities to sum to 1 .* got 0.8 in "
          r"action_dist\[0\]")),
        (np.full((3, 2, 1), 0.5),
         r"position: expected indices in \[0, 0\] \(action_dist has 1 positions\), got 1 in row 2"),
    ]
    for i, (pi, message) in enumerate(cases):
        np.savez(tmp_path / f"{i}.npz", action_dist=pi)
        if message is None:
            assert load_ope_log(tmp_path / "l.csv", action_dist=tmp_path / f"{i}.npz").n_actions == 4
            continue
        with pytest.raises(ValueError, match=message):
            load_ope_log(tmp_path / "l.csv", action_dist=tmp_path / f"{i}.npz")
    write_log(tmp_path / "nopos.csv", changed(eval_prob_0=None, eval_prob_1=None))
    np.savez(tmp_path / "3d.npz", action_dist=np.full((3, 2, 2), 0.5))
    with pytest.raises(ValueError, match=r"position: expected a column when action_dist has 2 positions"):
        load_ope_log(tmp_path / "nopos.csv", action_dist=tmp_path / "3d.npz")
    np.save(tmp_path / "single.npy", np.full((3, 2), 0.5))
    with pytest.raises(ValueError, match=r"expected an .npz archive"):
        load_ope_log(tmp_path / "nopos.csv", action_dist=tmp_path / "single.npy")
    np.savez(tmp_path / "other.npz", pi=np.full((3, 2), 0.5))
    with pytest.raises(ValueError, match=r"expected an array named action_dist, got \['pi'\]"):
        load_ope_log(tmp_path / "nopos.csv", action_dist=tmp_path / "other.npz")


# ---- the command -------------------------------------------------------------------------------------------


def test_cli_end_to_end_with_json(det_log, tmp_path):
    out = tmp_path / "ope.json"
    args = ["ope", "--log", str(det_log), "--reward-model", "ridge", "--context-cols", "x", "--n-boot", "300"]
    res = CliRunner().invoke(app, [*args, "--out", str(out)])
    assert res.exit_code == 0, res.output
    for text in ("ips", "snips", "dm", "dr", "ridge regression per action on x", "ESS", "wrote"):
        assert text in res.output
    doc = json.loads(out.read_text())
    assert doc["n_rounds"] == N and doc["n_actions"] == 4 and doc["eval_policy"] == "eval_prob_* columns"
    assert set(doc["estimates"]) == {"ips", "snips", "dm", "dr"} and doc["warnings"] == []
    for name in ("ips", "snips", "dr"):
        r = doc["estimates"][name]
        assert r["n"] == N and r["ci95"][0] < TRUTH_DET < r["ci95"][1]
        assert abs(r["estimate"] - TRUTH_DET) < 3 * SE_IPS_DET
    assert doc["diagnostics"]["zero_mass_share"] == pytest.approx(0.8, abs=0.01)
    assert doc["diagnostics"]["max_weight"] == pytest.approx(10.0)
    assert doc["n_boot"] == 300 and doc["seed"] == 0
    # the same command gives the same file (seeded bootstrap, seeded folds)
    res2 = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "again.json")])
    assert res2.exit_code == 0 and (tmp_path / "again.json").read_text() == out.read_text()


def test_cli_warns_on_small_ess(tmp_path):
    rng = np.random.default_rng(0)
    n = 200
    a = rng.choice(2, size=n, p=[0.999, 0.001])
    a[:2] = 1
    write_log(tmp_path / "w.csv", {"action": a, "reward": rng.binomial(1, 0.5, n).astype(float),
                                   "propensity": np.where(a == 1, 0.001, 0.999) * 0.5 + 0.0,
                                   "eval_prob_0": np.zeros(n), "eval_prob_1": np.ones(n)})
    res = CliRunner().invoke(app, ["ope", "--log", str(tmp_path / "w.csv"), "--n-boot", "50",
                                   "--out", str(tmp_path / "w.json")])
    assert res.exit_code == 0, res.output
    warnings = json.loads((tmp_path / "w.json").read_text())["warnings"]
    assert any("propensity below 0.001" in w for w in warnings)
    assert any("effective sample size is 2.0 of 200 rounds" in w for w in warnings)


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "warmstart.cli", *args], capture_output=True, text=True,
                          timeout=300, check=False)


def test_cli_errors_are_one_line(tmp_path):
    write_log(tmp_path / "bad.csv", changed(propensity=[0.5, 1.5, 0.8]))
    proc = run_cli("ope", "--log", str(tmp_path / "bad.csv"))
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert "propensity: expected probabilities in (0, 1] in every row, got 1.5 in row 2" in proc.stderr
    proc = run_cli("ope", "--log", str(tmp_path / "bad.csv"), "--data", "obd")
    assert proc.returncode == 2 and "expected either --log FILE or --data obd, got both" in proc.stderr
    proc = run_cli("ope", "--eval-policy", "uniform")
    assert proc.returncode == 2 and "expected --log FILE with --eval-policy" in proc.stderr


def test_the_docs_example_runs_and_prints_what_the_docs_say(tmp_path, monkeypatch):
    text = (Path(__file__).parents[1] / "docs" / "formats.md").read_text()
    section = text[text.index("## Off-policy evaluation logs"):]
    code = re.search(r"```python\n(.*?)```", section, flags=re.DOTALL).group(1)
    command = re.search(r"```bash\n(warmstart ope .*?)\n```", section, flags=re.DOTALL).group(1).split()
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "docs/formats.md", "exec"), {})  # noqa: S102 -- running our own docs is the test
    res = CliRunner().invoke(app, command[1:])
    assert res.exit_code == 0, res.output
    doc = json.loads((tmp_path / "ope.json").read_text())
    est = {k: round(v["estimate"], 3) for k, v in doc["estimates"].items()}
    assert est == {"ips": 0.734, "snips": 0.719, "dm": 0.717, "dr": 0.717}
    assert [round(v, 3) for v in doc["estimates"]["ips"]["ci95"]] == [0.695, 0.775]
    assert round(doc["diagnostics"]["ess"]) == 1557 and doc["n_rounds"] == 5000
