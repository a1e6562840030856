"""The policy contract and registry.

A policy is built once from a ``PolicyContext`` (the fitted population, the training log, the dimension), then
serves many users: ``state = policy.new_user(truth)`` starts a user, ``policy.act(state, actions)`` returns a
``Decision`` (the chosen index and its propensity), and ``policy.update(state, actions, action, reward)`` learns
from the observed reward. ``truth`` is the simulator's ground truth and is read only by the oracle policies.

Every policy registers by name with ``@register_policy("name")``; ``make_policy(name, context, seed=...)``
builds one. Each policy owns a ``numpy.random.Generator`` made from its seed, so the same seed gives the same
decisions.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from warmstart._registry import Registry
from warmstart._validate import as_actions, check_action_index, check_finite, check_reward, check_shape
from warmstart.models.linear_gaussian import Summary, summarise
from warmstart.population.population import Population


@dataclass(frozen=True)
class Decision:
    """A chosen action with the probability the policy gave it (its propensity, for off-policy evaluation).

    ``probabilities`` holds the whole distribution over the candidates when the policy computed it (exactly, or
    as a Monte Carlo estimate for Thompson sampling: see the policy's docstring).
    """

    action: int
    propensity: float
    probabilities: np.ndarray | None = None


@dataclass(frozen=True)
class UserTruth:
    """Ground truth about a simulated user, for oracle policies only."""

    theta: np.ndarray
    type_id: int
    prior_mean: np.ndarray
    prior_cov: np.ndarray
    noise_var: float


@dataclass(frozen=True)
class TrainingLog:
    """Logged bandit feedback of training users: ``candidates (N, T, A, d)``, ``action (N, T)``,
    ``propensity (N, T)``, ``reward (N, T)``. Ragged logs pad with ``action = -1``."""

    candidates: np.ndarray
    action: np.ndarray
    propensity: np.ndarray
    reward: np.ndarray

    def validate(self, dim: int | None = None) -> TrainingLog:
        """Check shapes, action indices, propensities and finite values of logged events; return self.
        Errors name the field, what was expected and what was given."""
        cands = np.asarray(self.candidates)
        if cands.ndim != 4 or (dim is not None and cands.shape[3] != dim):
            want = f"(N, T, A, {dim if dim is not None else 'd'})"
            raise ValueError(f"train_log.candidates: expected shape {want}, got shape {cands.shape}")
        n_users, n_events, n_actions, _ = cands.shape
        for name in ("action", "propensity", "reward"):
            check_shape(f"train_log.{name}", getattr(self, name), (n_users, n_events))
        action = np.asarray(self.action)
        if not np.issubdtype(action.dtype, np.integer):
            raise ValueError(f"train_log.action: expected integer action indices, got dtype {action.dtype}")
        out_of_range = (action < -1) | (action >= n_actions)
        if np.any(out_of_range):
            raise ValueError(
                f"train_log.action: expected indices in [-1, {n_actions - 1}], got {int(action[out_of_range][0])}"
            )
        logged = action >= 0
        p = np.asarray(self.propensity, dtype=float)[logged]
        if np.any(~(p > 0) | (p > 1)):
            raise ValueError("train_log.propensity: expected probabilities in (0, 1] on logged events")
        check_finite("train_log.reward", np.asarray(self.reward, dtype=float)[logged])
        for start in range(0, n_users, 1000):  # in chunks: the candidates can be hundreds of MB
            check_finite("train_log.candidates", cands[start : start + 1000][logged[start : start + 1000]])
        return self

    def summary(self, discount: float = 1.0) -> Summary:
        """Per-user sufficient statistics of the chosen actions; padded events (``action == -1``) skipped."""
        mask = self.action >= 0
        idx = np.where(mask, self.action, 0)
        chosen = np.take_along_axis(self.candidates, idx[:, :, None, None], axis=2)[:, :, 0]
        return summarise(chosen, np.where(mask, self.reward, 0.0), mask=mask, discount=discount)


@dataclass(frozen=True)
class PolicyContext:
    """What a policy may learn from before it meets new users."""

    dim: int
    population: Population | None = None
    train_log: TrainingLog | None = None


class Policy(ABC):
    """Base class: validates input at the edges, then calls ``_act`` / ``_update`` on trusted arrays."""

    name: ClassVar[str] = ""
    needs_population: ClassVar[bool] = False
    needs_train_log: ClassVar[bool] = False
    needs_truth: ClassVar[bool] = False

    def __init__(self, context: PolicyContext, *, seed: int = 0) -> None:
        if self.needs_population and context.population is None:
            raise ValueError(f"policy {self.name!r}: expected a fitted population in the context, got none")
        if self.needs_train_log:
            if context.train_log is None:
                raise ValueError(f"policy {self.name!r}: expected a training log in the context, got none")
            context.train_log.validate(context.dim)
        if context.population is not None and context.population.dim != context.dim:
            raise ValueError(
                f"context.population: expected dimension {context.dim}, got {context.population.dim}"
            )
        self.context = context
        self.seed = int(seed)
        self.rng = np.random.default_rng(self.seed)

    @property
    def dim(self) -> int:
        return self.context.dim

    def settings(self) -> dict[str, Any]:
        """The settings this policy runs with, as written into benchmark reports."""
        return {}

    def new_user(self, truth: UserTruth | None = None) -> Any:
        if self.needs_truth and truth is None:
            raise ValueError(f"policy {self.name!r}: expected the user's ground truth, got none")
        return self._new_user(truth)

    def act(self, state: Any, actions: np.ndarray) -> Decision:
        X = as_actions(actions, self.dim)
        return self._act(state, X)

    def update(self, state: Any, actions: np.ndarray, action: int, reward: float) -> None:
        X = as_actions(actions, self.dim)
        a = check_action_index("action", action, X.shape[0])
        r = check_reward("reward", reward)
        self._update(state, X, a, r)

    @abstractmethod
    def _new_user(self, truth: UserTruth | None) -> Any: ...

    @abstractmethod
    def _act(self, state: Any, X: np.ndarray) -> Decision: ...

    @abstractmethod
    def _update(self, state: Any, X: np.ndarray, action: int, reward: float) -> None: ...


_POLICIES: Registry[Policy] = Registry("policy")
register_policy = _POLICIES.register


def available_policies() -> list[str]:
    _load_builtin()
    return sorted(_POLICIES.names())


def policy_class(name: str) -> type[Policy]:
    _load_builtin()
    return _POLICIES.get(name)


def make_policy(name: str, context: PolicyContext, *, seed: int = 0, **params: Any) -> Policy:
    return policy_class(name)(context, seed=seed, **params)


def _load_builtin() -> None:
    # importing the modules registers their policies; adding a policy is adding a module here
    from warmstart.policies import baselines, club, mixture, planning, vw  # noqa: F401
