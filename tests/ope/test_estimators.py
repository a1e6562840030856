"""IPS, SNIPS, DM and DR against hand-computed values and slow loops; bootstrap; input checks."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from warmstart import stats
from warmstart.ope import OPEResult, bootstrap_ci, dm, dr, estimate_all, ips, logged_feedback, snips


def tiny():
    """Three rounds, two actions, one slot: small enough to compute by hand."""
    reward = np.array([1.0, 0.0, 1.0])
    action = np.array([0, 1, 1])
    pscore = np.array([0.5, 0.25, 0.8])
    pi_e = np.array([[0.2, 0.8], [0.6, 0.4], [0.0, 1.0]])
    q_hat = np.array([[0.3, 0.5], [0.1, 0.2], [0.4, 0.6]])
    return reward, action, pscore, pi_e, q_hat


def random_log(seed: int, n: int = 300, k: int = 5, len_list: int = 3):
    rng = np.random.default_rng(seed)
    beh = rng.dirichlet(np.ones(k), size=(n, len_list)).transpose(0, 2, 1)
    pos = rng.integers(0, len_list, n)
    act = np.array([rng.choice(k, p=beh[i, :, pos[i]]) for i in range(n)])
    pscore = beh[np.arange(n), act, pos]
    ev = rng.dirichlet(np.ones(k), size=(n, len_list)).transpose(0, 2, 1)
    q = rng.random((n, k, len_list))
    reward = rng.binomial(1, q[np.arange(n), act, pos]).astype(float)
    return reward, act, pscore, ev, q, pos


def test_hand_computed_values():
    reward, action, pscore, pi_e, q_hat = tiny()
    # w = [0.2/0.5, 0.4/0.25, 1.0/0.8] = [0.4, 1.6, 1.25]; w r = [0.4, 0, 1.25]
    assert ips(reward, action, pscore, pi_e) == pytest.approx((0.4 + 1.25) / 3)
    assert snips(reward, action, pscore, pi_e) == pytest.approx(1.65 / 3.25)
    # q(x, pi_e) = [0.2*0.3+0.8*0.5, 0.6*0.1+0.4*0.2, 0.6] = [0.46, 0.14, 0.6]
    assert dm(reward, action, pscore, pi_e, q_hat) == pytest.approx((0.46 + 0.14 + 0.6) / 3)
    # DR: q(x, pi_e) + w (r - q(x, a)) = [0.46 + 0.4*0.7, 0.14 + 1.6*(-0.2), 0.6 + 1.25*0.4]
    assert dr(reward, action, pscore, pi_e, q_hat) == pytest.approx((0.74 - 0.18 + 1.1) / 3)


def brute_force(reward, action, pscore, pi_e, q, pos):
    ips_s = snw = sn = dm_s = dr_s = 0.0
    n, k, _ = pi_e.shape
    for t in range(n):
        w = pi_e[t, action[t], pos[t]] / pscore[t]
        q_pi = sum(pi_e[t, a, pos[t]] * q[t, a, pos[t]] for a in range(k))
        ips_s += w * reward[t]
        snw += w
        sn += w * reward[t]
        dm_s += q_pi
        dr_s += q_pi + w * (reward[t] - q[t, action[t], pos[t]])
    return {"ips": ips_s / n, "snips": sn / snw, "dm": dm_s / n, "dr": dr_s / n}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_against_loops_with_positions(seed):
    reward, act, pscore, ev, q, pos = random_log(seed)
    res = estimate_all(reward, act, pscore, ev, position=pos, estimated_rewards=q, n_boot=50, seed=0)
    want = brute_force(reward, act, pscore, ev, q, pos)
    assert set(res) == set(want)
    for name, value in want.items():
        assert res[name].estimate == pytest.approx(value, rel=1e-12, abs=1e-12)
        assert res[name].n == reward.shape[0]


def test_two_d_action_dist_equals_one_slot():
    reward, action, pscore, pi_e, q_hat = tiny()
    flat = estimate_all(reward, action, pscore, pi_e, estimated_rewards=q_hat, n_boot=20, seed=1)
    slot = estimate_all(reward, action, pscore, pi_e[:, :, None], estimated_rewards=q_hat[:, :, None],
                        position=np.zeros(3, dtype=int), n_boot=20, seed=1)
    assert flat == slot


def test_without_model_only_weighting_estimators():
    reward, action, pscore, pi_e, _ = tiny()
    assert set(estimate_all(reward, action, pscore, pi_e, n_boot=10)) == {"ips", "snips"}
    with pytest.raises(ValueError, match="estimated_rewards"):
        estimate_all(reward, action, pscore, pi_e, estimators=("dr",), n_boot=10)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), scale=st.floats(0.01, 1.0))
def test_snips_invariant_to_scaling_propensities(seed, scale):
    reward, act, pscore, ev, _, pos = random_log(seed, n=40, k=3, len_list=2)
    # scaling every propensity by one constant cancels in sum(w r) / sum(w); IPS scales by 1/scale
    a = snips(reward, act, pscore, ev, position=pos)
    b = snips(reward, act, pscore * scale, ev, position=pos)
    assert b == pytest.approx(a, rel=1e-9, abs=1e-12)
    assert ips(reward, act, pscore * scale, ev, position=pos) == pytest.approx(
        ips(reward, act, pscore, ev, position=pos) / scale, rel=1e-9, abs=1e-12)


def test_ips_unbiased_on_simulated_bandit():
    """Mean of IPS over many logs from a known logging policy is close to the evaluation policy's true value."""
    rng = np.random.default_rng(0)
    k, n, n_logs = 4, 500, 400
    mean_reward = np.array([0.1, 0.3, 0.5, 0.7])
    pi_b = np.array([0.4, 0.3, 0.2, 0.1])
    pi_e = np.array([0.1, 0.1, 0.2, 0.6])
    truth = float(pi_e @ mean_reward)
    action = rng.choice(k, p=pi_b, size=(n_logs, n))
    reward = rng.binomial(1, mean_reward[action]).astype(float)
    estimates = np.array([ips(reward[i], action[i], pi_b[action[i]], np.tile(pi_e, (n, 1))) for i in range(n_logs)])
    se = estimates.std(ddof=1) / np.sqrt(n_logs)
    assert abs(estimates.mean() - truth) < 4 * se
    assert se < 0.01  # the check has power: the bias it allows is small next to the value 0.56


def test_bootstrap_ci_contains_estimate_and_is_seeded():
    reward, act, pscore, ev, q, pos = random_log(3, n=500)
    res = estimate_all(reward, act, pscore, ev, position=pos, estimated_rewards=q, n_boot=300, seed=7)
    again = estimate_all(reward, act, pscore, ev, position=pos, estimated_rewards=q, n_boot=300, seed=7)
    other = estimate_all(reward, act, pscore, ev, position=pos, estimated_rewards=q, n_boot=300, seed=8)
    assert res == again
    assert res["ips"].ci95 != other["ips"].ci95
    for r in res.values():
        assert isinstance(r, OPEResult)
        assert r.ci95[0] <= r.estimate <= r.ci95[1]
        assert r.ci95[0] < r.ci95[1]


def test_bootstrap_ci_against_loop_and_chunking(monkeypatch):
    values = np.random.default_rng(0).exponential(size=257)
    lo, hi = bootstrap_ci(values, n_boot=400, alpha=0.1, seed=3)
    # the same draws one resample at a time (the generator is consumed row by row)
    rng = np.random.default_rng(3)
    means = np.array([values[rng.integers(0, 257, size=(1, 257))].mean() for _ in range(400)])
    assert (lo, hi) == tuple(np.quantile(means, [0.05, 0.95]))
    monkeypatch.setattr(stats, "BLOCK_CELLS", 257 * 7)  # blocks of 7 resamples: same result
    assert bootstrap_ci(values, n_boot=400, alpha=0.1, seed=3) == (lo, hi)
    assert bootstrap_ci(np.full(10, 2.5), n_boot=50) == (2.5, 2.5)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d.update(pscore=np.array([0.5, 0.0, 0.8])), "pscore"),
        (lambda d: d.update(pscore=np.array([0.5, 1.2, 0.8])), "pscore"),
        (lambda d: d.update(pscore=np.array([0.5, np.nan, 0.8])), "pscore"),
        (lambda d: d.update(pscore=np.array([0.5, 0.8])), "pscore"),
        (lambda d: d.update(reward=np.array([1.0, np.inf, 0.0])), "reward"),
        (lambda d: d.update(reward=np.array([])), "reward"),
        (lambda d: d.update(action=np.array([0, 2, 1])), "action"),
        (lambda d: d.update(action=np.array([0, -1, 1])), "action"),
        (lambda d: d.update(action=np.array([0, 0.5, 1])), "action"),
        (lambda d: d.update(action=np.array([True, False, True])), "action"),
        (lambda d: d.update(action_dist=np.array([[0.2, 0.7], [0.6, 0.4], [0.0, 1.0]])), "action_dist"),
        (lambda d: d.update(action_dist=np.array([[1.2, -0.2], [0.6, 0.4], [0.0, 1.0]])), "action_dist"),
        (lambda d: d.update(action_dist=np.ones((2, 2)) / 2), "action_dist"),
        (lambda d: d.update(estimated_rewards=np.ones((3, 3))), "estimated_rewards"),
        (lambda d: d.update(estimated_rewards=np.full((3, 2), np.nan)), "estimated_rewards"),
        (lambda d: d.update(position=np.zeros(3, dtype=int)), "position"),
        (lambda d: d.update(action_dist=np.full((3, 2, 2), 0.5), position=np.array([0, 2, 1])), "position"),
    ],
)
def test_bad_inputs_name_the_field(change, field):
    reward, action, pscore, pi_e, q_hat = tiny()
    d = {"reward": reward, "action": action, "pscore": pscore, "action_dist": pi_e, "estimated_rewards": q_hat}
    change(d)
    if np.ndim(d["action_dist"]) == 3 and field == "position":
        d["estimated_rewards"] = None
    with pytest.raises(ValueError, match=rf"^{field}: expected"):
        logged_feedback(**d)


def test_bad_input_messages_show_plain_numbers():
    """The value in a message reads as the number (``0.9``), not as numpy's repr (``np.float64(0.9)``)."""
    reward, action, pscore, _, _ = tiny()
    bad_rows = np.array([[0.2, 0.7], [0.6, 0.4], [0.0, 1.0]])
    with pytest.raises(ValueError, match=r"sum to 1 over actions, got 0\.9 at round 0, position 0$"):
        logged_feedback(reward, action, pscore, bad_rows)
    with pytest.raises(ValueError, match=r"pscore: expected propensities in \(0, 1\], got 1\.2$"):
        logged_feedback(reward, action, np.array([0.5, 1.2, 0.8]), bad_rows / bad_rows.sum(1, keepdims=True))


def test_bad_bootstrap_and_estimator_names():
    reward, action, pscore, pi_e, _ = tiny()
    with pytest.raises(ValueError, match="^n_boot: expected"):
        bootstrap_ci(reward, n_boot=0)
    with pytest.raises(ValueError, match="^alpha: expected"):
        bootstrap_ci(reward, alpha=1.5)
    with pytest.raises(ValueError, match="^estimators: expected"):
        estimate_all(reward, action, pscore, pi_e, estimators=("nope",))
    with pytest.raises(ValueError, match="SNIPS is undefined"):
        # logged actions are [0, 1, 1]: this policy never takes any of them
        snips(reward, action, pscore, np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 0.0]]))
