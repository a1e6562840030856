"""``check_policy``: the public contract every registered policy passes (like scikit-learn's
``check_estimator``). Third-party policies can run it too.

>>> import numpy as np
>>> from warmstart.policies import PolicyContext, check_policy, make_policy
>>> check_policy(make_policy("random", PolicyContext(dim=4), seed=0))
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from warmstart.policies.base import Decision, Policy, PolicyContext, UserTruth
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


def expect_refused(name: str, field: str, call: Callable[[], Any]) -> None:
    """``call()`` must raise a ``ValueError`` whose message names ``field`` (policy ``name`` in the message).

    >>> import numpy as np
    >>> from warmstart.policies import PolicyContext, make_policy
    >>> policy = make_policy("random", PolicyContext(dim=2), seed=0)
    >>> state = policy.new_user()
    >>> expect_refused("random", "reward", lambda: policy.update(state, np.eye(2), 0, float("nan")))
    >>> expect_refused("random", "reward", lambda: policy.update(state, np.eye(2), 0, 1.0))
    Traceback (most recent call last):
    ...
    AssertionError: random: bad reward was accepted
    >>> expect_refused("random", "reward", lambda: policy.update(state, np.eye(2), 5, float("nan")))
    Traceback (most recent call last):
    ...
    AssertionError: random: error for bad reward does not name it: action: expected an index in [0, 1], ...
    """
    try:
        call()
    except ValueError as exc:
        assert field in str(exc), f"{name}: error for bad {field} does not name it: {exc}"
    else:
        raise AssertionError(f"{name}: bad {field} was accepted")


def _close(state: Any) -> None:
    close = getattr(state, "close", None)
    if callable(close):
        close()


class _Rollout:
    """A policy met by one simulated user: candidates and rewards from fixed seeds, whatever the policy."""

    def __init__(self, policy: Policy, n_actions: int) -> None:
        self.policy, self.n_actions = policy, n_actions
        self.rng = np.random.default_rng(99)
        self.truth = _truth(policy.dim, np.random.default_rng(5))
        self.state = policy.new_user(self.truth)

    def step(self) -> tuple[np.ndarray, Decision]:
        X = self.rng.normal(size=(self.n_actions, self.policy.dim)) / np.sqrt(self.policy.dim)
        d = self.policy.act(self.state, X)
        _check_decision(self.policy.name, d, self.n_actions)
        reward = self.policy.reward_for(X[d.action] @ self.truth.theta + 0.5 * self.rng.normal())
        self.policy.update(self.state, X, d.action, reward)
        return X, d

    def run(self, steps: int) -> list[tuple[int, float]]:
        out = [(d.action, round(d.propensity, 12)) for _, d in (self.step() for _ in range(steps))]
        _close(self.state)
        return out


def _check_bytes(policy: Policy, steps: int) -> None:
    """State to bytes and back under the same policy: the same next decisions as the state it came from."""
    run = _Rollout(policy.clone(), 6)
    for _ in range(steps):
        run.step()
    try:
        blob = run.policy.state_to_bytes(run.state)
    except NotImplementedError:
        _close(run.state)
        return
    name = policy.name
    assert isinstance(blob, bytes), f"{name}: state_to_bytes must return bytes, got {type(blob).__name__}"
    back = run.policy.state_from_bytes(blob)
    assert run.policy.state_to_bytes(back) == blob, f"{name}: state_from_bytes(state_to_bytes(s)) writes other bytes"
    X = np.random.default_rng(7).normal(size=(6, policy.dim))
    saved = run.policy.rng.bit_generator.state
    d1 = run.policy.act(run.state, X)
    run.policy.rng.bit_generator.state = saved
    d2 = run.policy.act(back, X)
    assert (d1.action, d1.propensity) == (d2.action, d2.propensity), \
        f"{name}: a state read back from its bytes decides differently"
    _close(run.state)
    _close(back)


def _check_bad_input(policy: Policy) -> None:
    """Each kind of bad input is a ``ValueError`` naming the field, and changes nothing."""
    name, dim = policy.name, policy.dim
    policy = policy.clone(seed=0)
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
        expect_refused(name, field, call)
    # no state changed by the rejected calls: the next decisions equal a fresh policy's
    fresh = policy.clone(seed=0)
    fstate = fresh.new_user(_truth(dim, np.random.default_rng(1)))
    for _ in range(3):
        Xs = np.random.default_rng(4).normal(size=(6, dim))
        d1, d2 = policy.act(state, Xs), fresh.act(fstate, Xs)
        assert d1.action == d2.action, f"{name}: a rejected input changed the policy's state"
        policy.update(state, Xs, d1.action, policy.reward_for(0.5))
        fresh.update(fstate, Xs, d2.action, fresh.reward_for(0.5))
    _close(state)
    _close(fstate)


def _state_key(policy: Policy, state: Any, X: np.ndarray) -> Any:
    """What identifies a user's state: its bytes, or (for policies that cannot store it) its next decision."""
    try:
        return policy.state_to_bytes(state)
    except NotImplementedError:
        saved = policy.rng.bit_generator.state
        d = policy.act(state, X)
        policy.rng.bit_generator.state = saved
        return d.action, d.propensity


def _check_many(policy: Policy) -> None:
    """The batched forms: valid decisions (those of ``act`` one user after another unless overridden), updates
    equal to ``update`` per user, and a bad input anywhere in a batch refused before any state changes."""
    name, dim = policy.name, policy.dim
    rng = np.random.default_rng(8)
    X = rng.normal(size=(3, 5, dim)) / np.sqrt(dim)
    many, one = policy.clone(), policy.clone()
    users = [many.new_user(_truth(dim, np.random.default_rng(i))) for i in range(3)]
    alone = [one.new_user(_truth(dim, np.random.default_rng(i))) for i in range(3)]
    decided = many.act_many(users, X)
    assert len(decided) == 3, f"{name}: act_many must return one decision per user, got {len(decided)}"
    for d in decided:
        _check_decision(name, d, 5)
    if type(policy).act_many is Policy.act_many:
        single = [one.act(s, x) for s, x in zip(alone, X)]
        assert [(d.action, d.propensity) for d in decided] == [(d.action, d.propensity) for d in single], \
            f"{name}: act_many decided differently from act one user after another"
    else:
        for s, x in zip(alone, X):
            one.act(s, x)
    chosen = [d.action for d in decided]
    rewards = [many.reward_for(v) for v in (0.3, -0.2, 0.8)]
    before = [_state_key(many, s, X[0]) for s in users]
    for bad_field, args in (("rewards[2]", (chosen, rewards[:2] + [float("nan")])),
                            ("chosen[1]", ([chosen[0], 9, chosen[2]], rewards))):
        expect_refused(name, bad_field, functools.partial(many.update_many, users, X, *args))
        assert [_state_key(many, s, X[0]) for s in users] == before, \
            f"{name}: a refused batch changed a user's state"
    many.update_many(users, X, chosen, rewards)
    for s, x, a, r in zip(alone, X, chosen, rewards):
        one.update(s, x, a, r)
    assert [_state_key(many, s, X[0]) for s in users] == [_state_key(one, s, X[0]) for s in alone], \
        f"{name}: update_many left a state other than update per user"
    for s in users + alone:
        _close(s)


def check_policy(policy: Policy | str, context: PolicyContext | None = None, steps: int = 15, **params: Any) -> None:
    """Raise ``AssertionError`` (or ``ValueError`` from bad-input checks not raised) if ``policy`` breaks the
    contract: valid decisions and propensities with many actions and with one, the same seed giving the same
    decisions, a user's state written to bytes and read back deciding as before (for policies whose state can
    be stored), the batched forms (``act_many``, ``update_many``) agreeing with one user at a time, and a
    ``ValueError`` naming the field for each kind of bad input with no change of state.

    ``policy`` is an instance (checked through fresh copies of it, ``Policy.clone``; the instance itself is not
    used), or a registered name with its ``context`` and settings.

    >>> from warmstart.policies import Decision, PolicyContext
    >>> from warmstart.policies.baselines import UniformRandom
    >>> check_policy("random", PolicyContext(dim=3))                        # passes: nothing raised
    >>> class Overconfident(UniformRandom):                      # claims propensity 1 for a coin flip
    ...     name = "overconfident"
    ...     def _act(self, state, X):
    ...         d = super()._act(state, X)
    ...         return Decision(d.action, 1.0, d.probabilities)
    >>> check_policy(Overconfident(PolicyContext(dim=3)))
    Traceback (most recent call last):
    ...
    AssertionError: overconfident: propensity disagrees with probabilities
    >>> check_policy("random")
    Traceback (most recent call last):
    ...
    ValueError: context: expected a PolicyContext with the name 'random', got none
    """
    if isinstance(policy, str):
        if context is None:
            raise ValueError(f"context: expected a PolicyContext with the name {policy!r}, got none")
        policy = make_policy(policy, context, seed=3, **params)
    name = policy.name
    first = _Rollout(policy.clone(), 20).run(steps)
    assert first == _Rollout(policy.clone(), 20).run(steps), f"{name}: same seed gave different decisions"
    one = _Rollout(policy.clone(), 1).run(3)
    assert all(act == 0 and p == 1.0 for act, p in one), f"{name}: one action must be chosen with propensity 1"
    _check_bytes(policy, steps)
    _check_many(policy)
    _check_bad_input(policy)
