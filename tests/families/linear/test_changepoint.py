"""The change-point belief against brute-force enumeration of segmentations, and its behaviour on switches."""

import itertools
import math

import numpy as np
import pytest

from warmstart.families.linear.belief import Belief
from warmstart.families.linear.changepoint import ChangePointBelief
from warmstart.families.linear.model import GaussianTypes
from warmstart.families.linear.population import Population


def _population(d=2):
    mu = np.array([[1.5, 0.0], [-1.5, 0.0], [0.0, 0.0]])
    cov = np.stack([0.05 * np.eye(d), 0.05 * np.eye(d), 2.0 * np.eye(d)])
    return Population(GaussianTypes(mu, cov, np.full(3, 0.1)), np.array([0.45, 0.45, 0.1]))


def _segment_log_marginal(pop, xs, rs):
    b = Belief.fresh(pop)
    for x, r in zip(xs, rs, strict=True):
        b.observe(x, r)
    joint = b.log_evidence + pop.log_weights
    return float(np.logaddexp.reduce(joint))


def test_run_length_posterior_equals_enumeration_of_every_segmentation():
    pop, h = _population(), 0.2
    rng = np.random.default_rng(0)
    X = rng.normal(size=(6, 2))
    r = np.concatenate([X[:3] @ [1.5, 0.0], X[3:] @ [-1.5, 0.0]]) + 0.3 * rng.normal(size=6)
    cp = ChangePointBelief(pop, hazard=h, max_runs=50, min_prob=0.0)
    for t in range(6):
        cp.observe(X[t], r[t])
    T = 6
    post: dict[int, float] = {}
    for bits in itertools.product([0, 1], repeat=T - 1):  # a change before event i + 1 or not
        cuts = [0] + [i + 1 for i, b in enumerate(bits) if b] + [T]
        logp = sum(math.log(h) if b else math.log1p(-h) for b in bits)
        logp += sum(_segment_log_marginal(pop, X[a:b], r[a:b]) for a, b in itertools.pairwise(cuts))
        post[cuts[-2]] = np.logaddexp(post.get(cuts[-2], -np.inf), logp)
    starts = sorted(post)
    ref = np.exp(np.array([post[s] for s in starts]) - np.logaddexp.reduce(list(post.values())))
    got = dict(zip(cp.starts, cp.run_probs(), strict=True))
    np.testing.assert_allclose([got[s] for s in starts], ref, rtol=1e-9, atol=1e-12)
    # the switch after event 3 is where the weight is
    assert starts[int(np.argmax(ref))] == 3


def _serve(cp, theta_per_step, rng):
    for theta in theta_per_step:
        x = rng.normal(size=2)
        cp.observe(x, float(x @ theta + np.sqrt(0.1) * rng.normal()))


def test_a_switch_is_followed_and_raises_an_alarm_soon_after():
    pop = _population()
    cp = ChangePointBelief(pop, hazard=1 / 200)
    rng = np.random.default_rng(1)
    _serve(cp, [np.array([1.5, 0.0])] * 60 + [np.array([-1.5, 0.0])] * 10, rng)
    assert cp.alarms and 60 < cp.alarms[0] <= 66
    assert np.argmax(cp.type_probs()) == 1 and cp.type_probs()[1] > 0.9
    assert len(cp.runs) <= cp.max_runs


def test_a_stationary_user_raises_no_alarm_and_keeps_the_type():
    pop = _population()
    for seed in range(5):
        cp = ChangePointBelief(pop, hazard=1 / 200)
        _serve(cp, [np.array([1.5, 0.0])] * 150, np.random.default_rng(seed))
        assert cp.alarms == []
        assert cp.type_probs()[0] > 0.99


def test_a_plain_belief_stays_locked_in_where_the_change_point_belief_follows():
    pop = _population()
    plain, cp = Belief.fresh(pop), ChangePointBelief(pop, hazard=1 / 200)
    rng = np.random.default_rng(2)
    for t in range(80):
        theta = np.array([1.5, 0.0]) if t < 60 else np.array([-1.5, 0.0])
        x = rng.normal(size=2)
        r = float(x @ theta + 0.3 * rng.normal())
        plain.observe(x, r)
        cp.observe(x, r)
    # the plain belief's type posterior moved too (the evidence is recomputed), but its within-type
    # parameters still average 60 old events with 20 new ones; the change-point belief uses the new ones only
    assert plain.type_probs()[1] < 0.5 < cp.type_probs()[1]
    new_mean = cp.current().mean[int(np.argmax(cp.current().type_probs()))]
    np.testing.assert_allclose(new_mean, [-1.5, 0.0], atol=0.25)
    assert cp.starts[int(np.argmax(cp.run_probs()))] in range(58, 63)


def test_bad_input_changes_nothing_and_bad_settings_are_named():
    cp = ChangePointBelief(_population(), hazard=0.01)
    cp.observe(np.ones(2), 1.0)
    before = cp.copy()
    with pytest.raises(ValueError, match="x"):
        cp.observe(np.ones(3), 1.0)
    with pytest.raises(ValueError, match="reward"):
        cp.observe(np.ones(2), float("nan"))
    assert cp.t == before.t and np.array_equal(cp.log_w, before.log_w)
    for kwargs, field in (({"hazard": 0.0}, "hazard"), ({"max_runs": 1}, "max_runs"),
                          ({"alarm_prob": 1.0}, "alarm_prob"), ({"min_prob": 0.7}, "min_prob")):
        with pytest.raises(ValueError, match=field):
            ChangePointBelief(_population(), **kwargs)
