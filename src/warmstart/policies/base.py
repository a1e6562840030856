"""The policy contract and registry.

A policy is built once from a ``PolicyContext`` (the fitted population, the training log, the dimension), then
serves many users: ``state = policy.new_user(truth)`` starts a user, ``policy.act(state, actions)`` returns a
``Decision`` (the chosen index and its propensity), and ``policy.update(state, actions, action, reward)`` learns
from the observed reward. ``truth`` is the simulator's ground truth and is read only by the oracle policies.

Every policy registers by name with ``@register_policy("name")``; ``make_policy(name, context, seed=...)``
(``warmstart.policies.registry``) builds one. Each policy owns a ``numpy.random.Generator`` made from its seed, so the same seed gives the same
decisions.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Self

import numpy as np

from warmstart._registry import Registry
from warmstart._validate import NonFiniteUpdateError, as_actions, check_action_index, check_reward
from warmstart.data.bandit_log import TrainingLog
from warmstart.families.generic import TypePopulation
from warmstart.families.linear.population import Population


@dataclass(frozen=True)
class Decision:
    """A chosen action with the probability the policy gave it (its propensity, for off-policy evaluation).

    ``probabilities`` holds the whole distribution over the candidates when the policy computed it (exactly, or
    as a Monte Carlo estimate for Thompson sampling: see the policy's docstring).

    >>> import numpy as np
    >>> from warmstart.policies import PolicyContext, make_policy
    >>> policy = make_policy("random", PolicyContext(dim=2), seed=0)
    >>> policy.act(policy.new_user(), np.eye(2))                      # uniform over the 2 candidates
    Decision(action=1, propensity=0.5, probabilities=array([0.5, 0.5]))
    """

    action: int
    propensity: float
    probabilities: np.ndarray | None = None


@dataclass(frozen=True)
class UserTruth:
    """Ground truth about a simulated user, for oracle policies only.

    >>> import numpy as np
    >>> from warmstart.policies import PolicyContext, make_policy
    >>> truth = UserTruth(theta=np.array([0.2, 1.0]), type_id=0, prior_mean=np.zeros(2), prior_cov=np.eye(2),
    ...                   noise_var=0.25)
    >>> oracle = make_policy("oracle", PolicyContext(dim=2))
    >>> oracle.act(oracle.new_user(truth), np.eye(2)).action           # the best candidate for this theta
    1
    >>> oracle.new_user()
    Traceback (most recent call last):
    ...
    ValueError: policy 'oracle': expected the user's ground truth, got none
    """

    theta: np.ndarray
    type_id: int
    prior_mean: np.ndarray
    prior_cov: np.ndarray
    noise_var: float


@dataclass(frozen=True, kw_only=True)
class StateSummary:
    """What a policy holds about one user, in the terms a profile, a dashboard or an export reads: the events it
    has learned from and, for a policy that keeps a belief over the population's types, their probabilities
    (in the order of ``population.type_names()``).

    >>> import numpy as np
    >>> from warmstart.families.linear import GaussianTypes, Population
    >>> from warmstart.policies import PolicyContext, make_policy
    >>> types = GaussianTypes(mu=np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 0.0]]),  # 2 types and the novel one
    ...                       cov=np.stack([0.1 * np.eye(2), 0.1 * np.eye(2), np.eye(2)]),
    ...                       noise_var=np.full(3, 0.25))
    >>> population = Population(types, weights=np.array([0.5, 0.45, 0.05]))
    >>> policy = make_policy("mixture_ts", PolicyContext(population=population), seed=0)
    >>> state = policy.new_user()
    >>> policy.update(state, np.array([[1.0, 0.0], [0.0, 1.0]]), 0, 1.2)  # x = [1, 0] gave 1.2: like type 0
    >>> summary = policy.summarise_state(state)
    >>> summary.n_events, summary.type_probs.round(3).tolist(), population.type_names()
    (1.0, [0.969, 0.001, 0.031], ['type 0', 'type 1', 'novel'])
    """

    n_events: float
    type_probs: np.ndarray | None = None


@dataclass(frozen=True, kw_only=True)
class PolicyContext:
    """What a policy may learn from before it meets new users: a fitted population, a training log, and the
    dimension of the candidates' features (taken from the population or the log when not given).

    >>> import numpy as np
    >>> from warmstart.policies.baselines import single_gaussian
    >>> PolicyContext(dim=3).dim, PolicyContext(population=single_gaussian(np.zeros(4), np.eye(4), 0.25)).dim
    (3, 4)
    >>> PolicyContext()
    Traceback (most recent call last):
    ...
    ValueError: dim: expected a positive dimension, or a population or a training log to take it from, ...
    """

    dim: int = 0
    population: Population | TypePopulation | None = None
    train_log: TrainingLog | None = None

    def __post_init__(self) -> None:
        if self.dim:
            if self.dim < 0:
                raise ValueError(f"dim: expected a positive dimension, got {self.dim}")
            return
        if self.population is not None:
            object.__setattr__(self, "dim", int(self.population.dim))
        elif self.train_log is not None:
            object.__setattr__(self, "dim", int(self.train_log.candidates.shape[-1]))
        else:
            raise ValueError("dim: expected a positive dimension, or a population or a training log to take it "
                             "from, got none")


class Policy(ABC):
    """Base class: validates input at the edges, then calls ``_act`` / ``_update`` on trusted arrays.

    A tour on ``mixture_ts`` (every registered policy has these methods), section by section:

    >>> import numpy as np
    >>> from warmstart.families.linear import GaussianTypes, Population
    >>> from warmstart.policies import PolicyContext, check_policy, make_policy
    >>> types = GaussianTypes(mu=np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 0.0]]),  # 2 types and the novel one
    ...                       cov=np.stack([0.1 * np.eye(2), 0.1 * np.eye(2), np.eye(2)]),
    ...                       noise_var=np.full(3, 0.25))
    >>> population = Population(types, weights=np.array([0.5, 0.45, 0.05]))
    >>> policy = make_policy("mixture_ts", PolicyContext(population=population), seed=0)
    >>> policy.settings()                                             # what a benchmark report records
    {'n_samples': 100, 'prior_temper': 1.0}

    One user: decide, then learn from the reward.

    >>> X = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])            # three candidates
    >>> state = policy.new_user()
    >>> d = policy.act(state, X)
    >>> d.action, d.propensity, d.probabilities.tolist()              # types 0 and 1 like opposite candidates
    (0, 0.53, [0.53, 0.01, 0.46])
    >>> policy.update(state, X, 0, 1.2)                               # candidate 0 gave 1.2: like type 0
    >>> policy.act(state, X).probabilities.tolist()                   # now sure of it
    [0.97, 0.03, 0.0]
    >>> summary = policy.summarise_state(state)
    >>> summary.n_events, summary.type_probs.round(3).tolist()         # type 0, type 1, novel
    (1.0, [0.969, 0.001, 0.031])
    >>> policy.update(state, X, 3, 1.0)
    Traceback (most recent call last):
    ...
    ValueError: action: expected an index in [0, 2], got 3 (unknown action)

    Many users at once: a bad input anywhere is refused before any state changes.

    >>> states = [policy.new_user(), policy.new_user()]
    >>> [(d.action, d.propensity) for d in policy.act_many(states, np.stack([X, X]))]
    [(2, 0.52), (0, 0.48)]
    >>> policy.update_many(states, np.stack([X, X]), [0, 2], [1.0, float("nan")])
    Traceback (most recent call last):
    ...
    ValueError: rewards[1]: reward: expected a finite number, got nan
    >>> [policy.summarise_state(s).n_events for s in states]          # neither user changed
    [0.0, 0.0]

    A user's state: bytes for a store, copies, and the rewards the policy takes.

    >>> blob = policy.state_to_bytes(state)
    >>> policy.state_from_bytes(blob).type_probs().round(3).tolist()  # the same belief, read back
    [0.969, 0.001, 0.031]
    >>> other = policy.copy_state(state)
    >>> policy.update(other, X, 2, 0.5)
    >>> state.n, other.n                                              # the copy learned alone
    (1.0, 2.0)
    >>> policy.clone(seed=1).seed, policy.reward_for(0.7), policy.check_reward(1)
    (1, 0.7, 1.0)
    >>> policy.check_reward(float("inf"))
    Traceback (most recent call last):
    ...
    ValueError: reward: expected a finite number, got inf
    >>> uniform = make_policy("random", PolicyContext(dim=2))
    >>> uniform.state_to_bytes(uniform.new_user())
    Traceback (most recent call last):
    ...
    NotImplementedError: policy 'random': its users' state cannot be stored as bytes

    A policy of one's own implements three methods, and ``check_policy`` checks it against the contract:

    >>> class AlwaysFirst(Policy):
    ...     name = "always_first"
    ...     def _new_user(self, truth):
    ...         return None
    ...     def _act(self, state, X):
    ...         return Decision(0, 1.0, np.eye(len(X))[0])
    ...     def _update(self, state, X, action, reward):
    ...         pass
    >>> check_policy(AlwaysFirst(PolicyContext(dim=2)))                # passes: nothing raised
    """

    name: ClassVar[str] = ""
    needs_population: ClassVar[bool] = False
    needs_train_log: ClassVar[bool] = False
    #: a reference policy that reads the user's ground truth; a class attribute, which a wrapper (``floored``)
    #: may set per instance from the policy it wraps
    needs_truth: bool = False
    _built_with: tuple[tuple[Any, ...], dict[str, Any]]

    def __new__(cls, *args: Any, **kwargs: Any) -> Self:
        # remember how the policy was built, so that ``clone`` can build it again (like scikit-learn's clone)
        obj = super().__new__(cls)
        obj._built_with = (args, kwargs)
        return obj

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
        r = self.check_reward(reward)
        self._update(state, X, a, r)

    # ------------------------------------------------------------------ batched forms
    def _many(self, states: Sequence[Any], actions: object) -> list[np.ndarray]:
        if not isinstance(states, Sequence) or isinstance(states, (str, bytes)):
            raise ValueError(f"states: expected a sequence of users' states, got {type(states).__name__}")  # noqa: TRY004
        if isinstance(actions, np.ndarray) and actions.ndim != 3:
            raise ValueError(f"actions: expected shape (n_users, n_actions, {self.dim}) or one (n_actions, "
                             f"{self.dim}) array per user, got shape {actions.shape}")
        if not isinstance(actions, (np.ndarray, Sequence)) or len(actions) != len(states):
            got = len(actions) if isinstance(actions, (np.ndarray, Sequence)) else type(actions).__name__
            raise ValueError(f"actions: expected one candidate set per user ({len(states)}), got {got}")
        return [as_actions(x, self.dim, f"actions[{i}]") for i, x in enumerate(actions)]

    def act_many(self, states: Sequence[Any], actions: object) -> list[Decision]:
        """Decide for many users: ``states[i]`` among ``actions[i]`` (an ``(n_users, n_actions, d)`` array, or one
        ``(n_actions_i, d)`` array per user). Every candidate set is checked before any decision. This default
        decides one user after another, in order, so it gives the decisions of ``act`` called for each user; a
        policy may override it with a vectorised draw (valid decisions and propensities, another random
        stream)."""
        xs = self._many(states, actions)
        return [self._act(state, X) for state, X in zip(states, xs)]

    def update_many(self, states: Sequence[Any], actions: object, chosen: Sequence[int],
                    rewards: Sequence[float]) -> None:
        """Learn from one observed reward of each of many users (the arguments of ``update``, one per user). Every
        input is checked before any state changes: a bad one raises a ``ValueError`` naming it (``rewards[2]``)
        and changes nothing, and so does an event a user's state would refuse (``NonFiniteUpdateError``, found by
        running the updates on copies first when the policy can copy its states). The result is that of
        ``update`` called for each user in order."""
        xs = self._many(states, actions)
        for name, values in (("chosen", chosen), ("rewards", rewards)):
            if not isinstance(values, (np.ndarray, Sequence)) or len(values) != len(states):
                got = len(values) if isinstance(values, (np.ndarray, Sequence)) else type(values).__name__
                raise ValueError(f"{name}: expected one value per user ({len(states)}), got {got}")
        index = [check_action_index(f"chosen[{i}]", a, X.shape[0]) for i, (a, X) in enumerate(zip(chosen, xs))]
        checked = []
        for i, r in enumerate(rewards):
            try:
                checked.append(self.check_reward(r))
            except ValueError as exc:
                raise ValueError(f"rewards[{i}]: {exc}") from exc
        self._dry_run(states, xs, index, checked)
        for state, X, a, r in zip(states, xs, index, checked):
            self._update(state, X, a, r)

    def _dry_run(self, states: Sequence[Any], xs: list[np.ndarray], index: list[int], rewards: list[float]) -> None:
        """The updates of ``update_many`` on copies of the states, when the policy can copy them: an update its
        state refuses (``NonFiniteUpdateError``: the result would overflow float64) raises here, naming the user,
        before any state has changed."""
        for i, (state, X, a, r) in enumerate(zip(states, xs, index, rewards)):
            try:
                copy = self.copy_state(state)
            except NotImplementedError:
                return  # a state that cannot be copied is updated without the dry run
            try:
                self._update(copy, X, a, r)
            except NonFiniteUpdateError as exc:
                raise NonFiniteUpdateError(f"rewards[{i}]: {exc}") from exc

    def check_reward(self, reward: object) -> float:
        """``reward`` as a float if this policy can learn from it; a ``ValueError`` naming ``reward`` otherwise
        (any finite number here; a policy of binary rewards accepts only 0 and 1)."""
        return check_reward("reward", reward)

    def clone(self, *, seed: int | None = None) -> Policy:
        """A new policy built as this one was (same context and settings), with ``seed`` or the same seed: its
        decisions start from the beginning of its random stream."""
        args, kwargs = self._built_with
        return type(self)(*args, **{**kwargs, "seed": self.seed if seed is None else int(seed)})

    def reseed(self, seed: int) -> None:
        """Restart the random stream at ``seed``; what the policy has learned stays. A benchmark that serves
        each user from their own seed gets the same decisions for a user whatever it served before.

        >>> from warmstart.policies.baselines import UniformRandom
        >>> policy = UniformRandom(PolicyContext(dim=2))
        >>> X = np.eye(2).repeat(3, axis=0)                                # six candidates
        >>> policy.reseed(4); first = [policy.act(None, X).action for _ in range(5)]
        >>> policy.reseed(4); [policy.act(None, X).action for _ in range(5)] == first
        True
        """
        self.seed = int(seed)
        self.rng = np.random.default_rng(self.seed)

    def reward_for(self, value: float) -> float:
        """The reward of the kind this policy observes nearest to ``value`` (the identity for real rewards; 0 or
        1 for a policy of binary rewards): ``check_policy`` feeds its simulated rewards through it."""
        return value

    def summarise_state(self, state: Any) -> StateSummary:
        """What the state holds about the user (``StateSummary``); policies whose state is not a belief about
        the user raise ``NotImplementedError``."""
        raise NotImplementedError(f"policy {self.name!r}: its users' state has no summary")

    def copy_state(self, state: Any) -> Any:
        """An independent copy of a user's state (updating one leaves the other as it was)."""
        return self.state_from_bytes(self.state_to_bytes(state))

    def state_to_bytes(self, state: Any) -> bytes:
        """A user's state as versioned bytes (what a store keeps); read back with ``state_from_bytes`` on a
        policy built with the same population. Policies whose state cannot be stored raise
        ``NotImplementedError``."""
        raise NotImplementedError(f"policy {self.name!r}: its users' state cannot be stored as bytes")

    def state_from_bytes(self, data: bytes) -> Any:
        """The state ``state_to_bytes`` wrote, under this policy's population; a ``ValueError`` subclass for
        bytes of another format, version or population."""
        raise NotImplementedError(f"policy {self.name!r}: its users' state cannot be stored as bytes")

    @abstractmethod
    def _new_user(self, truth: UserTruth | None) -> Any: ...

    @abstractmethod
    def _act(self, state: Any, X: np.ndarray) -> Decision: ...

    @abstractmethod
    def _update(self, state: Any, X: np.ndarray, action: int, reward: float) -> None: ...


POLICIES: Registry[Policy] = Registry("policy")
register_policy = POLICIES.register
