"""The user-model family protocol and the registry of families.

A family says what one user's behaviour depends on and how a type is parameterised. Everything the engine
does with a population goes through these methods:

- **statistics**: ``summarise(log)`` turns a logged-feedback record (``warmstart.data.bandit_log.TrainingLog``)
  into per-user statistics, one row per user (``n_users``, ``take`` to select users);
- **EM**: ``initial`` starts a fit with ``k`` types, ``e_step`` returns the log likelihood and the
  responsibility-weighted sums of a batch of users (additive: the sums of two batches are the sums of both, so
  a pass is a map over chunks of users and a reduce), ``m_step`` turns the sums into new parameters and type
  weights, ``n_free`` counts the free parameters for BIC; ``log_evidence`` is every user's log evidence under
  every type (the posterior over types is its softmax with the log weights);
- **persistence**: parameters are a ``dict`` of arrays whose first axis is the type, stored as they are;
- **a new user's belief**: ``new_state`` is the per-type filtering state of one user (a ``dict`` of arrays),
  ``observe`` updates it in place with one event and returns each type's log predictive density of the event
  (added to the user's log evidence, so the type posterior is exact after every event), ``draw_values`` draws
  the values of candidate actions for one type (Thompson sampling within the type), ``expected_values`` each
  type's posterior mean value of every candidate (acting greedily on the mixture).

A family registers under its name with ``@register_family``; ``warmstart.families.registry.family(name)``
finds it. The generic parts every family shares (the EM driver with K chosen by BIC, the population file, the
belief and its bytes) are in ``warmstart.families.generic``; a family with its own, richer fit (the linear
family's split and merge moves and backends) has a ``fit`` method, which ``registry.fit`` prefers.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from warmstart._registry import Registry

if TYPE_CHECKING:
    from warmstart.data.bandit_log import TrainingLog

Params = dict[str, np.ndarray]
State = dict[str, np.ndarray]


class Family(ABC):
    """A user-model family: see the module docstring for what each method does. Stateless: one instance
    serves every population of the family.

    The linear family, driven by hand through every method (``generic.run_em`` and ``fit_types`` do this):

    >>> import numpy as np, warmstart as ws
    >>> from warmstart.families.registry import family
    >>> truth = ws.sim.LinearTypesPopulation(ws.sim.LinearTypesConfig(dim=3, n_types=3, minority_share=0.3,
    ...                                                                 outlier_share=0.0))
    >>> log = truth.logged(90, 20, seed=0)                               # 90 users of 3 types
    >>> fam = family("linear_gaussian")
    >>> stats = fam.summarise(log)
    >>> fam.n_users(stats), fam.n_users(fam.take(stats, np.arange(5)))
    (90, 5)
    >>> params, weights = fam.initial(stats, 3, np.random.default_rng(0))   # the linear family adds "novel"
    >>> sorted(params), weights.round(2).tolist()
    (['cov', 'mu', 'noise_var'], [0.37, 0.3, 0.32, 0.01])
    >>> loglik, sums = fam.e_step(stats, params, weights)
    >>> params, weights = fam.m_step(sums, params, fam.n_users(stats))
    >>> round(loglik, 1), fam.log_evidence(stats, params).shape, fam.n_free(params), fam.dim(params)
    (-1598.4, (90, 4), 40, 3)
    >>> state = fam.new_state(params)                                   # a new user
    >>> fam.observe(state, params, np.array([1.0, 0.0, 0.0]), 1.0).round(2).tolist()   # log density per type
    [-1.83, -9.92, -7.85, -2.21]
    >>> fam.draw_values(state, params, 0, np.eye(3), np.random.default_rng(0)).round(2).tolist()
    [0.28, 0.66, 2.86]
    >>> fam.expected_values(state, params, np.eye(3)).shape            # (K, A): every type, every candidate
    (4, 3)
    >>> fam.check_reward(0.5), fam.reward_for(0.5)                      # real rewards: any value
    (0.5, 0.5)
    """

    name: ClassVar[str] = ""

    # ------------------------------------------------------------------------------------------ statistics
    @abstractmethod
    def summarise(self, log: TrainingLog) -> Any:
        """Per-user statistics of a logged-feedback record (padded events, ``action == -1``, skipped).
        (A family of another kind of record, such as responses of students, reads that record here.)"""

    @abstractmethod
    def n_users(self, stats: Any) -> int:
        """The number of users in ``stats``."""

    @abstractmethod
    def take(self, stats: Any, index: np.ndarray | slice) -> Any:
        """The statistics of the users ``index``."""

    # ------------------------------------------------------------------------------------------ EM
    @abstractmethod
    def initial(self, stats: Any, k: int, rng: np.random.Generator) -> tuple[Params, np.ndarray]:
        """Parameters and weights ``(k,)`` to start EM with ``k`` types."""

    @abstractmethod
    def e_step(self, stats: Any, params: Params, weights: np.ndarray) -> tuple[float, Any]:
        """``(log likelihood, sums)`` of the users in ``stats``; sums of disjoint batches add up."""

    @abstractmethod
    def m_step(self, sums: Any, params: Params, n_users: int) -> tuple[Params, np.ndarray]:
        """New parameters and weights from the sums of a pass over ``n_users`` users."""

    @abstractmethod
    def log_evidence(self, stats: Any, params: Params) -> np.ndarray:
        """``(n_users, K)``: each user's log evidence under each type."""

    @abstractmethod
    def n_free(self, params: Params) -> int:
        """Free parameters of the types (the weights not included), for BIC."""

    @abstractmethod
    def dim(self, params: Params) -> int:
        """The dimension of the candidate actions' features the family reads."""

    # ------------------------------------------------------------------------------------------ belief
    @abstractmethod
    def new_state(self, params: Params) -> State:
        """One new user's per-type filtering state, before any event."""

    @abstractmethod
    def observe(self, state: State, params: Params, x: np.ndarray, reward: float) -> np.ndarray:
        """Update ``state`` in place with one event (``x`` the chosen action's features, ``reward``) and return
        ``(K,)``: each type's log predictive density of the event given the user's earlier events."""

    @abstractmethod
    def draw_values(self, state: State, params: Params, k: int, X: np.ndarray,
                    rng: np.random.Generator) -> np.ndarray:
        """``(A,)``: the values of the candidates ``X (A, d)`` for this user under type ``k``, drawn from the
        type's posterior of the user's parameters (its mean when the type has no per-user parameters)."""

    @abstractmethod
    def expected_values(self, state: State, params: Params, X: np.ndarray) -> np.ndarray:
        """``(K, A)``: each type's expected value of each candidate ``X (A, d)`` for this user, averaged over the
        type's posterior of the user's parameters (for a 0/1 reward: the predictive ``P(r = 1)``); ranked by
        the same scale as ``draw_values``' draws or by one increasing in it."""

    def check_reward(self, reward: float) -> float:
        """The reward if this family can observe it; a ``ValueError`` naming ``reward`` otherwise."""
        return reward

    def reward_for(self, value: float) -> float:
        """The observable reward nearest to ``value`` (the identity for real rewards), for simulated checks."""
        return value


FAMILIES: Registry[Family] = Registry("family")


def register_family(cls: type[Family]) -> type[Family]:
    """Class decorator: register a family under its ``name`` (set as a class attribute).

    >>> from warmstart.families.linear.family import LinearGaussian   # decorated with @register_family
    >>> "linear_gaussian" in FAMILIES
    True
    >>> register_family(type("Nameless", (LinearGaussian,), {"name": ""}))
    Traceback (most recent call last):
    ...
    ValueError: family Nameless: expected a non-empty class attribute name
    """
    if not cls.name:
        raise ValueError(f"family {cls.__name__}: expected a non-empty class attribute name")
    return FAMILIES.register(cls.name)(cls)


