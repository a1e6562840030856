"""``warmstart/Satiation-v0``: engagement that depends on recent exposure, and a habit that lowers it.

The user and the reward
-----------------------
There are ``C`` content categories (default 6); every step the service offers one item of each (candidate
``i`` is category ``i``) and the user engages with the chosen one. The user's observable state is

- the **exposure** ``e`` (``C``), ``e <- exposure_decay * e + onehot(a)``: recent consumption of each category
  (satiation: the more of it lately, the less appealing now);
- the **habit stock** ``h`` (scalar), ``h <- habit_decay * h + 1[a is clickbait]``: built by the clickbait-like
  categories (``clickbait``, default the last one) and fading an order of magnitude more slowly.

Both decays are environment constants: the *structure* of the dynamics is known to the service
(``SatiationDynamics``); how much a given user cares is not. The features of candidate ``a`` in state
``(e, h)`` are

    phi(a, s) = [onehot(a) (C), onehot(a) * e_a (C), h (1)],   d = 2 C + 1,

and the engagement reward is linear in them, ``r = phi(a, s) . theta + noise`` with
``theta = [base appeal per category, -satiation rate per category, -harm]``. Linear, so the linear-Gaussian
population fit, ``Belief`` and every linear policy work on it unchanged. The habit term is the same for every
candidate at a given step, so it never changes a myopic choice: only a policy that looks ahead sees that
clickbait now lowers engagement with *everything* later.

The population (parameters and why)
-----------------------------------
``n_types = 5`` types; the last is a 5% minority; 2% of users are outliers from no type. Type means are drawn
once from ``population_seed``, with fixed roles:

- base appeal of a regular category: ``2.0 + 0.5 z`` (engagement in arbitrary units, e.g. minutes; a fresh
  item is worth about 2, and types differ in what they like by about a quarter of that);
- satiation rate of a regular category: uniform on ``[0.2, 0.5]``; at most ``1 / (1 - 0.7) = 3.3`` exposure,
  so a category served every step loses 0.7 to 1.7 of its appeal (people want variety within a session);
- clickbait satiates little (``0.1``): it is made to be "one more";
- **susceptible** types (``susceptible_types``, default type 1 and the minority): clickbait beats their
  favourite regular category by a *pull* uniform on ``[0.5, 1.0]`` in the moment; their harm is such that the
  habit stock of a user served clickbait every step (``h = 1 / (1 - 0.95) = 20``) costs ``1.5`` engagement on
  every item, more than the largest pull, so clickbait lowers their long-term satisfaction (harm ``0.075``);
- other types find clickbait unappealing (``1.0 + 0.25 z``) and nearly harmless (habit cost ``0.1``,
  harm ``0.005``);
- exposure half-life ``0.7 -> 1.9`` steps (within-session satiation); habit half-life ``0.95 -> 13.5`` steps
  (a habit builds and fades over tens of interactions; by step 100 a stock started at 0 carries 99.4% of its
  steady state, so the second half of a 200-step episode measures the level a policy sustains);
- within a type, users differ by ``N(0, sd^2)`` per coordinate with sd ``0.2`` (appeals), ``0.05``
  (satiation rates) and ``0.01`` (harm), about 10-20% of each coordinate's scale; outliers are drawn around the
  average type mean with three times those sds; reward noise sd ``0.5`` (as in ``LinearTypes-v0``).

These were fixed from the rationale above before any planning policy was run on the simulator.

Definitions used by the satiation benchmark (``warmstart.bench.satiation``)
--------------------------------------------------------------------------
- The **engagement** of a step is the *expected* reward of the item served, ``phi(a, s) . theta`` under the
  user's true ``theta`` (``info["expected_reward"]``); noise is excluded so that differences are not luck.
- **Short-term reward**: the mean engagement over a new user's first ``SHORT_TERM_STEPS = 20`` steps
  (``short_term``).
- **Long-term satisfaction**: the mean engagement over the second half of the episode, steps 101-200 of a
  200-step episode (``long_term``). The habit's cost is paid in engagement with every item, so this is the
  user's satisfaction with the service once the policy's own choices have shaped their habits.

The environment
---------------
``SatiationEnv``: one user per episode, new users start unexposed (``e = 0, h = 0``). The observation is the
candidates' features ``(C, d)``; ``info`` carries ground truth for evaluation harnesses only (never in
observations): ``expected_reward`` (engagement of the served item), ``regret`` (best candidate's engagement
now minus the served one: a myopic regret, not the long-term one), ``habit`` (``h`` before the step) and
``habit_cost`` (engagement lost to the habit at this step, ``harm * h``). The true user is
``env.unwrapped.user``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

import gymnasium as gym
import numpy as np

from warmstart.sim.drift import DriftSchedule, other_type_ids
from warmstart.sim.linear_types import EventLog
from warmstart.sim.users import OUTLIER, UserBatch, draw_users, type_shares

ENV_ID = "warmstart/Satiation-v0"
HORIZON = 200
SHORT_TERM_STEPS = 20


def short_term(engagement: np.ndarray) -> np.ndarray:
    """Short-term reward per user: mean engagement over the first ``SHORT_TERM_STEPS`` steps of
    ``engagement (N, T)`` (all steps if ``T`` is shorter).

    >>> short_term(np.array([[1.0, 2.0, 3.0, 4.0], [0.0, 0.0, 2.0, 2.0]])).tolist()   # T = 4 < 20: every step
    [2.5, 1.0]
    """
    return np.asarray(engagement)[:, :SHORT_TERM_STEPS].mean(axis=1)


def long_term(engagement: np.ndarray) -> np.ndarray:
    """Long-term satisfaction per user: mean engagement over the second half of ``engagement (N, T)``
    (steps ``T // 2 + 1`` to ``T``; 101-200 for the 200-step episode).

    >>> long_term(np.array([[1.0, 2.0, 3.0, 4.0], [0.0, 0.0, 2.0, 2.0]])).tolist()    # steps 3 and 4
    [3.5, 2.0]
    """
    engagement = np.asarray(engagement)
    return engagement[:, engagement.shape[1] // 2 :].mean(axis=1)


@dataclass(frozen=True, kw_only=True)
class SatiationDynamics:
    """The known state dynamics and feature map (the structure; user-specific coefficients are in ``theta``).

    >>> dyn = SatiationDynamics(n_categories=2, exposure_decay=0.5, habit_decay=0.9, clickbait=(1,))
    >>> e, h = dyn.advance(np.zeros(2), np.zeros(()), np.array(1))
    >>> dyn.features(e, h)[1].tolist()
    [0.0, 1.0, 0.0, 1.0, 1.0]
    """

    n_categories: int = 6
    exposure_decay: float = 0.7
    habit_decay: float = 0.95
    clickbait: tuple[int, ...] = (5,)

    def __post_init__(self) -> None:
        if self.n_categories < 1:
            raise ValueError(f"n_categories: expected a positive integer, got {self.n_categories}")
        if not 0.0 <= self.exposure_decay < 1.0 or not 0.0 <= self.habit_decay < 1.0:
            raise ValueError(f"exposure_decay, habit_decay: expected values in [0, 1), got {self.exposure_decay} "
                             f"and {self.habit_decay}")
        if any(not 0 <= c < self.n_categories for c in self.clickbait) or len(set(self.clickbait)) != len(
            self.clickbait
        ):
            raise ValueError(f"clickbait: expected distinct categories in [0, {self.n_categories - 1}], "
                             f"got {self.clickbait}")

    @property
    def dim(self) -> int:
        return 2 * self.n_categories + 1

    @property
    def is_clickbait(self) -> np.ndarray:
        """``(C,)`` 0/1 floats: 1 for the categories that build the habit stock."""
        out = np.zeros(self.n_categories)
        out[list(self.clickbait)] = 1.0
        return out

    def features(self, exposure: np.ndarray, habit: np.ndarray) -> np.ndarray:
        """Candidate features ``(..., C, d)`` (candidate ``i`` is category ``i``) in states ``exposure (..., C)``,
        ``habit (...)``."""
        C = self.n_categories
        exposure = np.asarray(exposure, dtype=float)
        habit = np.asarray(habit, dtype=float)
        X = np.zeros((*exposure.shape[:-1], C, self.dim))
        idx = np.arange(C)
        X[..., idx, idx] = 1.0
        X[..., idx, C + idx] = exposure
        X[..., 2 * C] = habit[..., None]
        return X

    def advance(self, exposure: np.ndarray, habit: np.ndarray, category: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The next state after serving ``category (...)`` in states ``exposure (..., C)``, ``habit (...)``."""
        category = np.asarray(category)
        onehot = (category[..., None] == np.arange(self.n_categories)).astype(float)
        return (self.exposure_decay * np.asarray(exposure) + onehot,
                self.habit_decay * np.asarray(habit) + self.is_clickbait[category])

    def read_state(self, X: np.ndarray, name: str = "actions") -> tuple[np.ndarray, np.ndarray, float]:
        """The categories ``(A,)``, their exposures ``(A,)`` and the habit stock, read off candidate features
        ``X (A, d)`` made by ``features`` (any subset of the categories, in any order, each at most once).
        A ``ValueError`` naming ``name`` for anything else.

        >>> dyn = SatiationDynamics(n_categories=2, exposure_decay=0.5, habit_decay=0.9, clickbait=(1,))
        >>> X = dyn.features(np.array([1.0, 0.5]), np.array(2.0))       # exposures 1 and 0.5, habit 2
        >>> categories, exposure, habit = dyn.read_state(X[::-1])      # candidates in any order
        >>> categories.tolist(), exposure.tolist(), habit
        ([1, 0], [0.5, 1.0], 2.0)
        >>> dyn.read_state(np.zeros((2, 4)))
        Traceback (most recent call last):
        ...
        ValueError: actions: expected Satiation features of shape (n_actions, 5), got (2, 4)
        """
        C = self.n_categories
        X = np.asarray(X, dtype=float)
        if X.ndim != 2 or X.shape[1] != self.dim:
            raise ValueError(f"{name}: expected Satiation features of shape (n_actions, {self.dim}), got {X.shape}")
        rows = np.arange(X.shape[0])
        cats = np.argmax(X[:, :C], axis=1)
        onehot = np.zeros((X.shape[0], C))
        onehot[rows, cats] = 1.0
        exposure = X[rows, C + cats]
        off = X[:, C : 2 * C].copy()
        off[rows, cats] = 0.0
        habit = X[:, 2 * C]
        if (not np.array_equal(X[:, :C], onehot) or np.any(off != 0.0) or np.any(exposure < 0)
                or np.unique(cats).size != cats.size):
            raise ValueError(f"{name}: expected Satiation features [onehot(category), onehot(category) * exposure, "
                             "habit] with distinct categories and non-negative exposures")
        if np.any(habit < 0) or np.ptp(habit) > 1e-9 * max(1.0, float(np.abs(habit).max())):
            raise ValueError(f"{name}: expected the same non-negative habit stock (last column) on every candidate")
        return cats, exposure, float(habit[0])


@dataclass(frozen=True, kw_only=True)
class SatiationConfig:
    """Simulator settings; the defaults and their rationale are in the module docstring.

    >>> cfg = SatiationConfig()                    # 6 categories (the last clickbait), 5 types, d = 2 C + 1
    >>> cfg.dim, cfg.dynamics().clickbait, cfg.to_dict()["susceptible_types"]
    (13, (5,), [1, 4])
    >>> cfg.type_shares().round(3).tolist()        # 4 types, a 5% minority, 2% outliers
    [0.232, 0.232, 0.232, 0.232, 0.05, 0.02]
    """

    n_categories: int = 6
    clickbait: tuple[int, ...] = (5,)
    exposure_decay: float = 0.7
    habit_decay: float = 0.95
    n_types: int = 5
    susceptible_types: tuple[int, ...] = (1, 4)
    minority_share: float = 0.05
    outlier_share: float = 0.02
    base_mean: float = 2.0
    base_spread: float = 0.5
    satiation_range: tuple[float, float] = (0.2, 0.5)
    clickbait_satiation: float = 0.1
    pull_range: tuple[float, float] = (0.5, 1.0)
    clickbait_base_other: float = 1.0
    habit_cost_susceptible: float = 1.5
    habit_cost_other: float = 0.1
    within_sd: tuple[float, float, float] = (0.2, 0.05, 0.01)
    outlier_sd: tuple[float, float, float] = (0.6, 0.15, 0.03)
    noise_sd: float = 0.5
    population_seed: int = 2024

    def __post_init__(self) -> None:
        self.dynamics()  # validates categories and decays
        if self.n_types < 1:
            raise ValueError(f"n_types: expected a positive integer, got {self.n_types}")
        if any(not 0 <= k < self.n_types for k in self.susceptible_types):
            raise ValueError(f"susceptible_types: expected types in [0, {self.n_types - 1}], "
                             f"got {self.susceptible_types}")
        if not 0 <= self.minority_share < 1 or not 0 <= self.outlier_share < 1:
            raise ValueError("minority_share and outlier_share: expected values in [0, 1)")
        if self.minority_share + self.outlier_share >= 1:
            raise ValueError("minority_share + outlier_share: expected a sum below 1")
        if self.n_categories - len(self.clickbait) < 1:
            raise ValueError("clickbait: expected at least one regular (non-clickbait) category")
        if min(self.noise_sd, self.base_spread, *self.within_sd, *self.outlier_sd) < 0:
            raise ValueError("noise_sd, base_spread, within_sd, outlier_sd: expected non-negative values")
        for name in ("satiation_range", "pull_range"):
            lo, hi = getattr(self, name)
            if not 0 <= lo <= hi:
                raise ValueError(f"{name}: expected 0 <= low <= high, got {(lo, hi)}")

    def dynamics(self) -> SatiationDynamics:
        return SatiationDynamics(n_categories=self.n_categories, exposure_decay=self.exposure_decay,
                                 habit_decay=self.habit_decay, clickbait=tuple(self.clickbait))

    @property
    def dim(self) -> int:
        return 2 * self.n_categories + 1

    @property
    def minority_type(self) -> int:
        return self.n_types - 1

    def to_dict(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}

    def type_shares(self) -> np.ndarray:
        """Probability of each type and, last, of an outlier, for a user drawn from the population."""
        return type_shares(self.n_types, self.minority_share, self.outlier_share)


@dataclass
class SatiationPopulation:
    """The true population: type means (drawn once from ``population_seed``), user and log samplers.

    >>> truth = SatiationPopulation()
    >>> susceptible = truth.describe()[1]                               # type 1: clickbait pulls, then harms
    >>> susceptible["susceptible"], round(susceptible["clickbait_appeal"], 3), round(susceptible["harm"], 3)
    (True, 3.609, 0.075)
    >>> mean, cov, noise_var = truth.type_prior(1)
    >>> mean.shape, cov.shape, noise_var
    ((13,), (13, 13), 0.25)
    >>> rng = np.random.default_rng(0)
    >>> users = truth.sample_users(4, rng)
    >>> users.type_id.tolist(), truth.other_type_users(users, rng).type_id.tolist()
    ([2, 1, 0, 0], [1, 3, 4, 4])
    >>> log = truth.logged(n_users=3, n_events=5, seed=0)                 # uniform over the 6 categories
    >>> log.candidates.shape, round(float(log.propensity[0, 0]), 3)
    ((3, 5, 6, 13), 0.167)
    """

    config: SatiationConfig = field(default_factory=SatiationConfig)

    def __post_init__(self) -> None:
        cfg = self.config
        self.dynamics = cfg.dynamics()
        C, K = cfg.n_categories, cfg.n_types
        cb = self.dynamics.is_clickbait.astype(bool)
        rng = np.random.default_rng(cfg.population_seed)
        h_max = 1.0 / (1.0 - cfg.habit_decay)  # the habit stock of a user served clickbait every step
        base = cfg.base_mean + cfg.base_spread * rng.standard_normal((K, C))
        sat = rng.uniform(*cfg.satiation_range, size=(K, C))
        sat[:, cb] = cfg.clickbait_satiation
        susceptible = np.isin(np.arange(K), cfg.susceptible_types)
        pull = rng.uniform(*cfg.pull_range, size=(K, C))
        other = cfg.clickbait_base_other + 0.5 * cfg.base_spread * rng.standard_normal((K, C))
        best_regular = base[:, ~cb].max(axis=1, keepdims=True)
        base[:, cb] = np.where(susceptible[:, None], best_regular + pull, other)[:, cb]
        harm = np.where(susceptible, cfg.habit_cost_susceptible, cfg.habit_cost_other) / h_max
        self.susceptible = susceptible
        self.type_means = np.hstack([base, -sat, -harm[:, None]])
        self._within_sd = np.repeat(np.asarray(cfg.within_sd), [C, C, 1])
        self._outlier_sd = np.repeat(np.asarray(cfg.outlier_sd), [C, C, 1])

    def type_prior(self, type_id: int) -> tuple[np.ndarray, np.ndarray, float]:
        """True prior (mean, covariance, noise variance) of a type, or of outliers for ``-1``."""
        cfg = self.config
        if type_id == OUTLIER:
            return self.type_means.mean(0), np.diag(self._outlier_sd**2), cfg.noise_sd**2
        return self.type_means[type_id], np.diag(self._within_sd**2), cfg.noise_sd**2

    def sample_users(
        self, n: int, rng: np.random.Generator, kind: Literal["population", "minority", "outlier"] = "population"
    ) -> UserBatch:
        return draw_users(self.config.type_shares(), self.type_means, self._within_sd, self.type_means.mean(0),
                          self._outlier_sd, n, rng, kind)

    def other_type_users(self, users: UserBatch, rng: np.random.Generator) -> UserBatch:
        """For each user, a user of another type (any type for an outlier): for the drift schedules."""
        other = other_type_ids(users.type_id, self.config.n_types, rng)
        z = rng.standard_normal((len(users), self.config.dim))
        return UserBatch(self.type_means[other] + self._within_sd * z, other)

    def logged(self, n_users: int, n_events: int, seed: int) -> EventLog:
        """A training log of new users served by a uniform-random logging policy (propensity ``1 / C``).

        Every user starts unexposed; the exposure and habit features then vary with the random choices, which
        is what lets the population fit learn the satiation rates and the harm.
        """
        rng = np.random.default_rng(seed)
        users = self.sample_users(n_users, rng)
        C, d = self.config.n_categories, self.config.dim
        action = rng.integers(C, size=(n_users, n_events))
        cands = np.empty((n_users, n_events, C, d))
        e, h = np.zeros((n_users, C)), np.zeros(n_users)
        for t in range(n_events):
            cands[:, t] = self.dynamics.features(e, h)
            e, h = self.dynamics.advance(e, h, action[:, t])
        chosen = np.take_along_axis(cands, action[:, :, None, None], axis=2)[:, :, 0]
        reward = np.einsum("ntd,nd->nt", chosen, users.theta)
        reward += self.config.noise_sd * rng.standard_normal(reward.shape)
        prop = np.full(action.shape, 1.0 / C)
        return EventLog(cands, action, prop, reward, users)

    def describe(self) -> list[dict[str, Any]]:
        """Each true type in plain numbers: share, favourite regular category, clickbait appeal, harm and the
        engagement its habit costs at the always-clickbait steady state."""
        cfg = self.config
        C = cfg.n_categories
        cb = self.dynamics.is_clickbait.astype(bool)
        shares = cfg.type_shares()
        out = []
        for k in range(cfg.n_types):
            mu = self.type_means[k]
            regular = np.flatnonzero(~cb)
            out.append({
                "type": k,
                "share": float(shares[k]),
                "susceptible": bool(self.susceptible[k]),
                "favourite_category": int(regular[np.argmax(mu[regular])]),
                "best_regular_appeal": float(mu[regular].max()),
                "clickbait_appeal": float(mu[:C][cb].max()),
                "satiation_rates": (-mu[C : 2 * C]).tolist(),
                "harm": float(-mu[2 * C]),
                "habit_cost_at_steady_state": float(-mu[2 * C] / (1.0 - cfg.habit_decay)),
            })
        return out


class SatiationEnv(gym.Env):
    """One user per episode: observe the candidates' features ``(C, d)``, serve a category, get the noisy
    engagement. ``reset(seed=...)`` draws a new, unexposed user (``options={"kind": "minority"}`` or
    ``"outlier"`` draws from those groups; ``{"switch_at": s}`` or ``{"misleading_start": m}`` add a drift
    schedule, ``warmstart.sim.drift``: the exposure and habit carry over, the preferences change); the episode
    is truncated after ``horizon`` steps.

    >>> env = SatiationEnv()
    >>> obs, info = env.reset(seed=0)
    >>> obs.shape, info["habit"]
    ((6, 13), 0.0)
    >>> obs, reward, terminated, truncated, info = env.step(5)
    >>> float(obs[0, -1]), sorted(info)
    (1.0, ['expected_reward', 'habit', 'habit_cost', 'regret', 'step'])
    """

    metadata = {"render_modes": []}  # noqa: RUF012 -- Gymnasium declares it as a plain class attribute

    def __init__(self, config: SatiationConfig | None = None, horizon: int = HORIZON, **overrides: Any) -> None:
        cfg = config or SatiationConfig()
        if overrides:
            cfg = replace(cfg, **overrides)
        if horizon < 1:
            raise ValueError(f"horizon: expected a positive integer, got {horizon}")
        self.config = cfg
        self.population = SatiationPopulation(cfg)
        self.dynamics = self.population.dynamics
        self.horizon = int(horizon)
        C, d = cfg.n_categories, cfg.dim
        high = np.ones((C, d))
        # the stocks stay below their geometric-series limits; the margin absorbs float rounding
        high[:, C : 2 * C] = (1.0 + 1e-9) / (1.0 - cfg.exposure_decay)
        high[:, 2 * C] = (1.0 + 1e-9) / (1.0 - cfg.habit_decay)
        self.observation_space = gym.spaces.Box(np.zeros((C, d)), high, dtype=np.float64)
        self.action_space = gym.spaces.Discrete(C)
        self.user: UserBatch | None = None
        self.exposure = np.zeros(C)
        self.habit = 0.0
        self._t = 0

    def _obs(self) -> np.ndarray:
        return self.dynamics.features(self.exposure, np.asarray(self.habit))

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self._schedule = DriftSchedule.for_population(options, self.population, self.np_random)
        self.user = self._schedule.user
        self.exposure = np.zeros(self.config.n_categories)
        self.habit = 0.0
        self._t = 0
        return self._obs(), {"step": 0, "habit": 0.0}

    def step(self, action: int):
        if self.user is None:
            raise RuntimeError("step: call reset() before step()")
        if not self.action_space.contains(action):
            raise ValueError(f"action: expected an integer in [0, {self.config.n_categories - 1}], got {action!r}")
        a = int(action)
        theta = self.user.theta[0]
        means = self._obs() @ theta
        reward = float(means[a] + self.config.noise_sd * self.np_random.standard_normal())
        info = {
            "step": self._t + 1,
            "expected_reward": float(means[a]),
            "regret": float(means.max() - means[a]),
            "habit": float(self.habit),
            "habit_cost": float(-theta[-1] * self.habit),
        }
        e, h = self.dynamics.advance(self.exposure, np.asarray(self.habit), np.asarray(a))
        self.exposure, self.habit = e, float(h)
        self._t += 1
        switched = self._schedule.due(self._t)
        if switched is not None:
            self.user = switched
        return self._obs(), reward, False, self._t >= self.horizon, info


def register_satiation() -> None:
    """Register ``warmstart/Satiation-v0`` with Gymnasium (once; importing this module does it).

    >>> register_satiation()
    >>> gym.spec(ENV_ID).entry_point
    'warmstart.sim.satiation:SatiationEnv'
    """
    if ENV_ID not in gym.registry:
        gym.register(id=ENV_ID, entry_point="warmstart.sim.satiation:SatiationEnv")


register_satiation()

__all__ = ["ENV_ID", "HORIZON", "SHORT_TERM_STEPS", "SatiationConfig", "SatiationDynamics", "SatiationEnv",
           "SatiationPopulation", "long_term", "register_satiation", "short_term"]
