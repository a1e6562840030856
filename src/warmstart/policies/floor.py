"""``floored``: any policy with an exploration floor, so that what it logs supports evaluating other policies.

A policy that is deterministic most of the time (``mixture_ids`` once a user's type is clear) logs the
probabilities ``[1, 0, ...]``: an offline evaluation of another population version from that log has no
support for the actions it did not take (inverse-propensity weights of 1 / 0). ``floored`` plays the inner
policy's decision with probability ``1 - epsilon`` and a uniformly random candidate with probability
``epsilon``, so every candidate's probability is at least ``epsilon / n_candidates``:

``p(a) = (1 - epsilon) * p_inner(a) + epsilon / A``.

The inner policy must report its action probabilities (``Decision.probabilities``); everything else (the users'
state, its bytes and summary, the rewards it accepts) is the inner policy's. Inner and floor draw from one
random stream, the wrapper's, so the same seed gives the same decisions. The cost of the floor in cold-start
regret is measured by ``warmstart bench coldstart`` (a ``floored`` variant of ``mixture_ids``).

>>> import numpy as np
>>> from warmstart.families.linear import GaussianTypes, Population
>>> from warmstart.policies import PolicyContext, check_policy, make_policy
>>> two = Population(GaussianTypes(np.array([[1.0, 0], [0, 1.0]]), np.stack([0.1 * np.eye(2)] * 2), np.ones(2)),
...                  np.array([0.5, 0.5]))
>>> policy = make_policy("floored", PolicyContext(population=two), inner="mixture_ids", epsilon=0.2, seed=0)
>>> d = policy.act(policy.new_user(), np.eye(2))
>>> bool(d.probabilities.min() >= 0.2 / 2), round(float(d.probabilities.sum()), 12)
(True, 1.0)
>>> check_policy(policy)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from warmstart.policies.base import (
    POLICIES,
    Decision,
    Policy,
    PolicyContext,
    StateSummary,
    UserTruth,
    register_policy,
)

#: the service's default: a trade-off measured by ``warmstart bench coldstart`` (its ``floored`` variant) on the
#: default preset: G(20) / G(200) of 0.84 / 0.80 at 0.01, 0.83 / 0.58 at 0.02, 0.73 / -0.15 at 0.05 (quick runs;
#: mixture_ids alone 0.87 / 1.04); any epsilon > 0 gives the log full support
DEFAULT_EPSILON = 0.01


@register_policy("floored")
class Floored(Policy):
    """The ``inner`` policy (a registered name, built with ``inner_params``) with an exploration floor.

    >>> import numpy as np
    >>> from warmstart.families.linear import GaussianTypes, Population
    >>> from warmstart.policies import PolicyContext, make_policy
    >>> types = GaussianTypes(mu=np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 0.0]]),  # 2 types and the novel one
    ...                       cov=np.stack([0.1 * np.eye(2), 0.1 * np.eye(2), np.eye(2)]),
    ...                       noise_var=np.full(3, 0.25))
    >>> context = PolicyContext(population=Population(types, weights=np.array([0.5, 0.45, 0.05])))
    >>> X = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    >>> inner = make_policy("mixture_ids", context, seed=0)
    >>> state = inner.new_user()
    >>> inner.update(state, X, 0, 1.2)               # like type 0: mixture_ids now plays candidate 0 only
    >>> inner.act(state, X).probabilities.tolist()
    [1.0, 0.0, 0.0]
    >>> policy = make_policy("floored", context, inner="mixture_ids", epsilon=0.3, seed=0)
    >>> state = policy.new_user()
    >>> policy.update(state, X, 0, 1.2)
    >>> policy.act(state, X).probabilities.round(3).tolist()   # 0.7 * [1, 0, 0] + 0.3 / 3
    [0.8, 0.1, 0.1]
    >>> policy.settings()                                      # the floor's, then the inner policy's
    {'inner': 'mixture_ids', 'epsilon': 0.3, 'n_samples': 100, 'prior_temper': 0.0}
    >>> policy.summarise_state(state).type_probs.round(3).tolist()   # the state is the inner policy's
    [0.967, 0.001, 0.032]
    >>> make_policy("floored", context, epsilon=1.5)
    Traceback (most recent call last):
    ...
    ValueError: epsilon: expected a share of decisions in [0, 1], got 1.5
    """

    def __init__(self, context: PolicyContext, *, seed: int = 0, inner: str = "mixture_ids",
                 epsilon: float = DEFAULT_EPSILON, inner_params: dict[str, Any] | None = None) -> None:
        if inner == self.name:
            raise ValueError(f"inner: expected another policy than {self.name!r}, got {inner!r}")
        eps = float(epsilon)
        if not 0.0 <= eps <= 1.0:
            raise ValueError(f"epsilon: expected a share of decisions in [0, 1], got {epsilon!r}")
        self.inner = POLICIES.get(inner)(context, seed=seed, **(inner_params or {}))
        super().__init__(context, seed=seed)
        self.inner.rng = self.rng  # one random stream: the same seed, the same decisions
        self.epsilon = eps
        self.needs_truth = self.inner.needs_truth

    def reseed(self, seed: int) -> None:
        super().reseed(seed)
        self.inner.rng = self.rng  # still one stream

    def settings(self) -> dict[str, Any]:
        return {"inner": self.inner.name, "epsilon": self.epsilon, **self.inner.settings()}

    def _new_user(self, truth: UserTruth | None) -> Any:
        return self.inner.new_user(truth)

    def _act(self, state: Any, X: np.ndarray) -> Decision:
        d = self.inner._act(state, X)
        if d.probabilities is None:
            raise ValueError(f"inner: expected a policy that reports its action probabilities, got "
                             f"{self.inner.name!r}")
        n = X.shape[0]
        probs = (1.0 - self.epsilon) * np.asarray(d.probabilities, dtype=float) + self.epsilon / n
        action = d.action if self.rng.random() >= self.epsilon else int(self.rng.integers(n))
        return Decision(action, float(probs[action]), probs)

    def _update(self, state: Any, X: np.ndarray, action: int, reward: float) -> None:
        self.inner._update(state, X, action, reward)

    def check_reward(self, reward: object) -> float:
        return self.inner.check_reward(reward)

    def reward_for(self, value: float) -> float:
        return self.inner.reward_for(value)

    def summarise_state(self, state: Any) -> StateSummary:
        return self.inner.summarise_state(state)

    def copy_state(self, state: Any) -> Any:
        return self.inner.copy_state(state)

    def state_to_bytes(self, state: Any) -> bytes:
        return self.inner.state_to_bytes(state)

    def state_from_bytes(self, data: bytes) -> Any:
        return self.inner.state_from_bytes(data)
