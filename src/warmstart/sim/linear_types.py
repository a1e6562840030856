"""``warmstart/LinearTypes-v0``: a population of users of a few linear-Gaussian types.

Each user has ``theta``; the reward of action ``a`` is ``x_a . theta + noise``. A user belongs to one of K types
(``theta ~ N(mu_k, within_sd^2 I)``), one of which is a small *minority*, or is an *outlier* drawn from a broad
Gaussian that belongs to no type. Ground truth (type, theta) is exposed to the evaluation harness through
``UserBatch`` and ``LinearTypesEnv.user``; it never enters an observation.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

import gymnasium as gym
import numpy as np

from warmstart.data.bandit_log import TrainingLog
from warmstart.families.linear.model import Summary, summarise
from warmstart.sim.drift import DriftSchedule, other_type_ids
from warmstart.sim.users import OUTLIER, UserBatch, draw_users, type_shares


@dataclass(frozen=True, kw_only=True)
class LinearTypesConfig:
    """Population and interaction settings. ``preset`` names where the defaults came from.

    >>> cfg = LinearTypesConfig()     # 8 types of 10-dimensional users, the last a 3% minority; 2% outliers
    >>> cfg.type_shares().round(3).tolist()  # each type's share, then the outliers'
    [0.136, 0.136, 0.136, 0.136, 0.136, 0.136, 0.136, 0.03, 0.02]
    >>> hard = LinearTypesConfig.preset_named("hard", dim=4)       # types closer together
    >>> hard.mean_scale, hard.to_dict()["dim"], hard.preset
    (0.5, 4, 'hard')
    >>> LinearTypesConfig(minority_share=0.6, outlier_share=0.5)
    Traceback (most recent call last):
    ...
    ValueError: minority_share + outlier_share: expected a sum below 1
    """

    dim: int = 10
    n_actions: int = 20
    n_types: int = 8
    mean_scale: float = 1.0
    within_sd: float = 0.3
    noise_sd: float = 0.5
    minority_share: float = 0.03
    outlier_share: float = 0.02
    outlier_var: float = 1.09
    population_seed: int = 1234
    preset: str = "default"

    def __post_init__(self) -> None:
        if self.dim < 1 or self.n_actions < 1 or self.n_types < 1:
            raise ValueError("dim, n_actions and n_types: expected positive integers")
        if not 0 <= self.minority_share < 1 or not 0 <= self.outlier_share < 1:
            raise ValueError("minority_share and outlier_share: expected values in [0, 1)")
        if self.minority_share + self.outlier_share >= 1:
            raise ValueError("minority_share + outlier_share: expected a sum below 1")
        if min(self.within_sd, self.noise_sd, self.mean_scale, self.outlier_var) < 0:
            raise ValueError("mean_scale, within_sd, noise_sd, outlier_var: expected non-negative values")

    @staticmethod
    def preset_named(name: str, **overrides: Any) -> LinearTypesConfig:
        presets: dict[str, dict[str, Any]] = {"default": {}, "hard": {"mean_scale": 0.5}}
        if name not in presets:
            raise ValueError(f"preset: expected one of {sorted(presets)}, got {name!r}")
        return replace(LinearTypesConfig(preset=name, **presets[name]), **overrides)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def minority_type(self) -> int:
        return self.n_types - 1

    def type_shares(self) -> np.ndarray:
        """Probability of each type and, last, of an outlier, for a user drawn from the population."""
        return type_shares(self.n_types, self.minority_share, self.outlier_share)


@dataclass(frozen=True)
class EventLog(TrainingLog):
    """A simulated log: the logged bandit feedback (``TrainingLog``: ``candidates (N, T, A, d)``, ``action``,
    ``propensity``, ``reward``) plus ``users``, the ground truth, for evaluation only; fitting code reads the
    log, not ``users``.

    >>> cfg = LinearTypesConfig(dim=3, n_types=3, minority_share=0.3, outlier_share=0.0)
    >>> truth = LinearTypesPopulation(cfg)
    >>> log = truth.logged(n_users=4, n_events=6, seed=0)
    >>> log.candidates.shape, log.users.type_id.tolist()              # the ground truth, for evaluation
    ((4, 6, 20, 3), [1, 0, 0, 0])
    >>> log.summary().n.tolist(), sorted(log.truth_arrays())          # what save_log writes beside the log
    ([6.0, 6.0, 6.0, 6.0], ['theta', 'type'])
    """

    users: UserBatch = field(repr=False)

    def summary(self, discount: float = 1.0) -> Summary:
        """Per-user statistics of the linear family (``warmstart.families.linear.summarise_log``)."""
        return summarise(self.chosen, self.reward, discount=discount)

    def truth_arrays(self) -> dict[str, np.ndarray]:
        """The ground truth that ``save_log`` writes beside the log (``truth_theta``, ``truth_type``)."""
        return {"theta": self.users.theta, "type": self.users.type_id}


@dataclass
class LinearTypesPopulation:
    """The true population: type means and the samplers for users, candidate sets and logs.

    >>> import numpy as np
    >>> cfg = LinearTypesConfig(dim=3, n_types=3, minority_share=0.3, outlier_share=0.0)
    >>> truth = LinearTypesPopulation(cfg)
    >>> truth.type_means.round(2).tolist()                            # drawn from population_seed
    [[-1.6, 0.06, 0.74], [0.15, 0.86, 2.91], [-1.48, 0.95, -1.67]]
    >>> mean, cov, noise_var = truth.type_prior(0)
    >>> cov.diagonal().tolist(), noise_var                            # within_sd^2, noise_sd^2
    ([0.09, 0.09, 0.09], 0.25)
    >>> rng = np.random.default_rng(0)
    >>> users = truth.sample_users(5, rng)
    >>> users.type_id.tolist(), truth.other_type_users(users, rng).type_id.tolist()
    ([1, 0, 0, 0, 2], [2, 1, 1, 1, 0])
    >>> truth.candidates(rng, (2,)).shape                             # 2 candidate sets of 20 actions
    (2, 20, 3)
    >>> float(truth.logged(4, 6, seed=0).propensity[0, 0])           # uniform-random logging over 20 actions
    0.05
    """

    config: LinearTypesConfig = field(default_factory=LinearTypesConfig)

    def __post_init__(self) -> None:
        cfg = self.config
        rng = np.random.default_rng(cfg.population_seed)
        self.type_means = rng.normal(0.0, cfg.mean_scale, size=(cfg.n_types, cfg.dim))

    def type_prior(self, type_id: int) -> tuple[np.ndarray, np.ndarray, float]:
        """True prior (mean, covariance, noise variance) of a type, or of outliers for ``-1``."""
        cfg = self.config
        if type_id == OUTLIER:
            return np.zeros(cfg.dim), cfg.outlier_var * np.eye(cfg.dim), cfg.noise_sd**2
        return self.type_means[type_id], cfg.within_sd**2 * np.eye(cfg.dim), cfg.noise_sd**2

    def sample_users(
        self, n: int, rng: np.random.Generator, kind: Literal["population", "minority", "outlier"] = "population"
    ) -> UserBatch:
        cfg = self.config
        return draw_users(cfg.type_shares(), self.type_means, cfg.within_sd, np.zeros(cfg.dim),
                          np.sqrt(cfg.outlier_var), n, rng, kind)

    def other_type_users(self, users: UserBatch, rng: np.random.Generator) -> UserBatch:
        """For each user, a new user drawn from a *different* type (any type for an outlier): the person a
        user switches to under a drift schedule, or whose responses make a misleading start."""
        cfg = self.config
        other = other_type_ids(users.type_id, cfg.n_types, rng)
        theta = self.type_means[other] + cfg.within_sd * rng.standard_normal((len(users), cfg.dim))
        return UserBatch(theta, other)

    def candidates(self, rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
        """Candidate action features ``N(0, I/d)`` of the given leading shape, ``(*shape, A, d)``."""
        cfg = self.config
        return rng.standard_normal((*shape, cfg.n_actions, cfg.dim)) / np.sqrt(cfg.dim)

    def logged(self, n_users: int, n_events: int, seed: int) -> EventLog:
        """A training log from a uniform-random logging policy (propensity ``1 / n_actions``)."""
        rng = np.random.default_rng(seed)
        users = self.sample_users(n_users, rng)
        cands = self.candidates(rng, (n_users, n_events)).astype(np.float64)
        action = rng.integers(self.config.n_actions, size=(n_users, n_events))
        chosen = np.take_along_axis(cands, action[:, :, None, None], axis=2)[:, :, 0]
        reward = np.einsum("ntd,nd->nt", chosen, users.theta)
        reward += self.config.noise_sd * rng.standard_normal(reward.shape)
        prop = np.full(action.shape, 1.0 / self.config.n_actions)
        return EventLog(cands, action, prop, reward, users)


def logged_summary(population: LinearTypesPopulation, n_users: int, n_events: int, seed: int,
                   chunk: int = 20000) -> Summary:
    """Summaries of a uniform-random training log without materialising the candidate sets.

    Under uniform-random logging the chosen action's features are a draw from the candidate distribution,
    ``N(0, I/d)``, so this is the same distribution of summaries as ``logged(...).summary()`` at a fraction
    of the memory: used for the 100,000-user speed benchmark.

    >>> truth = LinearTypesPopulation(LinearTypesConfig(dim=3))
    >>> stats = logged_summary(truth, n_users=100, n_events=5, seed=0)
    >>> stats.n_users, stats.dim, stats.n[:3].tolist()
    (100, 3, [5.0, 5.0, 5.0])
    """
    rng = np.random.default_rng(seed)
    cfg = population.config
    parts = []
    for start in range(0, n_users, chunk):
        m = min(chunk, n_users - start)
        users = population.sample_users(m, rng)
        X = rng.standard_normal((m, n_events, cfg.dim)) / np.sqrt(cfg.dim)
        r = np.einsum("ntd,nd->nt", X, users.theta) + cfg.noise_sd * rng.standard_normal((m, n_events))
        parts.append(summarise(X, r))
    return Summary.concatenate(parts)


class LinearTypesEnv(gym.Env):
    """One user per episode: observe the candidate set, pick an action, get its noisy reward.

    ``reset(seed=...)`` draws a new user from the population (``options={"kind": "minority"}`` or
    ``"outlier"`` draws from those groups); ``options={"switch_at": s}`` or ``{"misleading_start": m}`` add a
    drift schedule (``warmstart.sim.drift``). ``env.unwrapped.user`` is the user answering the current step,
    for evaluation harnesses; ``expected_reward`` and ``regret`` in ``info`` are against that user. Ground
    truth never appears in observations.

    >>> import gymnasium as gym
    >>> env = gym.make("warmstart/LinearTypes-v0", dim=3, n_actions=4, horizon=3)
    >>> obs, info = env.reset(seed=0)
    >>> obs.shape, info                                               # 4 candidates, 3 features each
    ((4, 3), {'step': 0})
    >>> obs, reward, terminated, truncated, info = env.step(0)
    >>> round(reward, 3), terminated, truncated, round(info["regret"], 3)
    (-0.774, False, False, 2.499)
    >>> drifting = LinearTypesEnv(dim=3, n_actions=4)
    >>> _ = drifting.reset(seed=1, options={"switch_at": 2})         # another type's user from step 3 on
    >>> before = drifting.unwrapped.user.type_id.tolist()
    >>> _ = drifting.step(0), drifting.step(0)
    >>> before, drifting.unwrapped.user.type_id.tolist()
    ([3], [5])
    """

    metadata = {"render_modes": []}  # noqa: RUF012 -- Gymnasium declares it as a plain class attribute

    def __init__(self, config: LinearTypesConfig | None = None, horizon: int = 200, **overrides: Any) -> None:
        cfg = config or LinearTypesConfig()
        if overrides:
            cfg = replace(cfg, **overrides)
        self.population = LinearTypesPopulation(cfg)
        self.config = cfg
        self.horizon = int(horizon)
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, shape=(cfg.n_actions, cfg.dim), dtype=np.float64)
        self.action_space = gym.spaces.Discrete(cfg.n_actions)
        self.user: UserBatch | None = None
        self._obs: np.ndarray | None = None
        self._t = 0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self._schedule = DriftSchedule.for_population(options, self.population, self.np_random)
        self.user = self._schedule.user
        self._t = 0
        self._obs = self.population.candidates(self.np_random, ())
        return self._obs.copy(), {"step": 0}

    def step(self, action: int):
        if self.user is None or self._obs is None:
            raise RuntimeError("step: call reset() before step()")
        if not self.action_space.contains(action):
            raise ValueError(f"action: expected an integer in [0, {self.config.n_actions - 1}], got {action!r}")
        means = self._obs @ self.user.theta[0]
        reward = float(means[action] + self.config.noise_sd * self.np_random.standard_normal())
        info = {"expected_reward": float(means[action]), "regret": float(means.max() - means[action])}
        self._t += 1
        switched = self._schedule.due(self._t)
        if switched is not None:
            self.user = switched
        self._obs = self.population.candidates(self.np_random, ())
        truncated = self._t >= self.horizon
        return self._obs.copy(), reward, False, truncated, info


def register() -> None:
    """Register ``warmstart/LinearTypes-v0`` with Gymnasium (importing ``warmstart.sim`` does it).

    >>> import gymnasium as gym
    >>> register()
    >>> gym.spec("warmstart/LinearTypes-v0").entry_point
    'warmstart.sim.linear_types:LinearTypesEnv'
    """
    if "warmstart/LinearTypes-v0" not in gym.registry:
        gym.register(id="warmstart/LinearTypes-v0", entry_point="warmstart.sim.linear_types:LinearTypesEnv")
