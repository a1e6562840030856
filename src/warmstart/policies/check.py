"""``check_policy``: the public contract every registered policy passes (like scikit-learn's
``check_estimator``). Third-party policies can run it too."""

from __future__ import annotations

import numpy as np

from warmstart.policies.base import Decision, PolicyContext, UserTruth
from warmstart.policies.registry import make_policy


def _truth(dim: int, rng: np.random.Generator) -> UserTruth:
    theta = rng.normal(size=dim)
    return UserTruth(theta, 0, theta + 0.3 * rng.normal(size=dim), 0.09 * np.eye(dim), 0.25)


def _check_decision(name: str, d: Decision, n_actions: int) -> None:
    assert isinstance(d, Decision), f"{name}: act must return a Decision, got {type(d).__name__}"
    assert isinstance(d.action, int) and 0 <= d.action < n_actions, f"{name}: action {d.action!r} out of range"
    assert 0.0 < d.propensity <= 1.0, f"{name}: propensity {d.propensity} outside (0, 1]"
    if d.probabilities is not None:
        p = np.asarray(d.probabilities)
        assert p.shape == (n_actions,), f"{name}: probabilities have shape {p.shape}, expected ({n_actions},)"
        assert np.all(p >= 0) and np.isclose(p.sum(), 1.0), f"{name}: probabilities do not sum to 1"
        assert np.isclose(p[d.action], d.propensity), f"{name}: propensity disagrees with probabilities"


def _rollout(name: str, context: PolicyContext, seed: int, steps: int, n_actions: int, **params) -> list:
    rng = np.random.default_rng(99)
    policy = make_policy(name, context, seed=seed, **params)
    truth = _truth(context.dim, np.random.default_rng(5))
    state = policy.new_user(truth)
    out = []
    for _ in range(steps):
        X = rng.normal(size=(n_actions, context.dim)) / np.sqrt(context.dim)
        d = policy.act(state, X)
        _check_decision(name, d, n_actions)
        policy.update(state, X, d.action, float(X[d.action] @ truth.theta + 0.5 * rng.normal()))
        out.append((d.action, round(d.propensity, 12)))
    close = getattr(state, "close", None)
    if callable(close):
        close()
    return out


def check_policy(name: str, context: PolicyContext, steps: int = 15, **params) -> None:
    """Raise ``AssertionError`` (or ``ValueError`` from bad-input checks not raised) if ``name`` breaks the
    contract: valid decisions and propensities with many actions and with one, the same seed giving the same
    decisions, and a ``ValueError`` naming the field for each kind of bad input with no change of state."""
    dim = context.dim
    a = _rollout(name, context, 3, steps, 20, **params)
    assert a == _rollout(name, context, 3, steps, 20, **params), f"{name}: same seed gave different decisions"
    one = _rollout(name, context, 3, 3, 1, **params)
    assert all(act == 0 and p == 1.0 for act, p in one), f"{name}: one action must be chosen with propensity 1"
    policy = make_policy(name, context, seed=0, **params)
    state = policy.new_user(_truth(dim, np.random.default_rng(1)))
    X = np.random.default_rng(2).normal(size=(5, dim))
    bad_inputs = [
        ("actions", lambda: policy.act(state, np.zeros((5, dim + 1)))),
        ("actions", lambda: policy.act(state, np.zeros((0, dim)))),
        ("actions", lambda: policy.act(state, np.full((5, dim), np.nan))),
        ("action", lambda: policy.update(state, X, 7, 1.0)),
        ("action", lambda: policy.update(state, X, -1, 1.0)),
        ("reward", lambda: policy.update(state, X, 0, float("nan"))),
        ("actions", lambda: policy.update(state, np.zeros((5, dim + 2)), 0, 1.0)),
    ]
    for field, call in bad_inputs:
        try:
            call()
        except ValueError as exc:
            assert field in str(exc), f"{name}: error for bad {field} does not name it: {exc}"
        else:
            raise AssertionError(f"{name}: bad {field} was accepted")
    # no state changed by the rejected calls: the next decisions equal a fresh policy's
    fresh = make_policy(name, context, seed=0, **params)
    fstate = fresh.new_user(_truth(dim, np.random.default_rng(1)))
    for _ in range(3):
        Xs = np.random.default_rng(4).normal(size=(6, dim))
        d1, d2 = policy.act(state, Xs), fresh.act(fstate, Xs)
        assert d1.action == d2.action, f"{name}: a rejected input changed the policy's state"
        policy.update(state, Xs, d1.action, 0.5)
        fresh.update(fstate, Xs, d2.action, 0.5)
    for s in (state, fstate):
        close = getattr(s, "close", None)
        if callable(close):
            close()
