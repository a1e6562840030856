"""The response-dynamics family, ``linear_dynamics``: the linear-Gaussian family over features that carry the
user's recent history (``warmstart.families.linear.dynamics``: satiation per category decaying with time, a
habit stock, practice), with the history kept in each user's belief.

It composes the linear family (``LinearGaussian``): the per-type coefficients, the E-step and M-step, the
per-type posterior of a user's coefficients are the linear family's, over the features ``[static, dynamic
columns]`` (``DynamicsSpec.columns``) that this family computes from a user's history. It sits in the linear
family's folder because it is built on that family (families are otherwise independent, ``tests/test_layers.py``).

**A candidate as a caller shows it** (``dim = p + C + 1``): ``[static features (p), the item's categories (C,
0/1), the time of the event]`` (``candidate_rows``). The family computes each candidate's features from the
user's state at that time, so ``type_ts`` / ``type_greedy`` serve it unchanged and ``type_plan`` plans with it.

**Parameters** (arrays with the type first, stored as they are by ``TypePopulation``): the linear family's
``mu (K, D)``, ``cov (K, D, D)``, ``noise_var (K,)`` over ``D = p + spec.n_dynamic()`` features, and
``dynamics (K, 8 + C)``, the ``DynamicsSpec`` as numbers (the same row for every type: ``SPEC_VERSION``, ``C``,
the two decays, ``per_category_habit``, ``practice``, ``per_category``, ``time_unit``, then the habit categories
as a 0/1 mask), so that the structure is in the population file and in its fingerprint. The population's
``record["dynamics"]`` keeps how it was chosen, as JSON.

**A user's state** (``new_state``): the linear family's per-type posterior (``mean (K, D)``, ``cov (K, D, D)``)
and the dynamic state, shared by the types (it is observed, not inferred): ``exposure (C,)`` and ``habit (C,)``,
the decayed counts at the user's latest event with that event added divided by the decay (so that ``decay **
gap`` times them is the state ``gap`` units later: ``history_states``' rule), ``count (C,)`` (events per
category) and ``clock (2,)`` (whether there is a latest event, and its time).

**Statistics**: ``summarise`` reads events (``DynamicsData``: user, time, categories, static features, reward)
or a ``TrainingLog`` whose candidates are the rows above (with ``LinearDynamics(n_categories=C)``); the linear
statistics are computed for the spec the parameters carry and kept (``DynamicsEvents``).

**The fit**: ``fit`` chooses the structure on the training users and fits the types
(``dynamics_fit.fit_dynamics``), or fits the types under a given ``spec``; the generic EM runs under the
family's ``spec`` (or the one ``choose_dynamics`` picks, once per statistics). A population fitted by
``warmstart bench dynamics`` (the linear family's ``Population`` with ``diagnostics.dynamics``) becomes one
of this family with ``from_linear``.

>>> import numpy as np
>>> from warmstart.families.generic import TypeBelief
>>> spec = DynamicsSpec(n_categories=2, exposure_decay=0.5, habit_decay=0.9, habit_categories=(1,))
>>> population = example_population(spec)         # one type: appeals 1 and 1.2, satiation rates 0.3, harm 0.1
>>> population.family, population.dim             # candidates: [static (2), categories (2), time]
('linear_dynamics', 5)
>>> X = candidate_rows(np.eye(2), np.eye(2), time=0.0)
>>> X.tolist()
[[1.0, 0.0, 1.0, 0.0, 0.0], [0.0, 1.0, 0.0, 1.0, 0.0]]
>>> belief = TypeBelief.fresh(population)
>>> population.model.expected_values(belief.state, population.params, X)[0].round(2).tolist()   # type 0
[1.0, 1.2]
>>> belief.observe(X[1], 1.2)                                   # served category 1 at time 0
>>> X1 = candidate_rows(np.eye(2), np.eye(2), time=1.0)          # one unit later: satiated, a habit
>>> population.model.expected_values(belief.state, population.params, X1)[0].round(2).tolist()
[0.9, 0.8]
>>> belief.state["exposure"].tolist(), belief.state["clock"].tolist()
([0.0, 2.0], [1.0, 0.0])
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from warmstart._io import jsonable
from warmstart.data.bandit_log import TrainingLog
from warmstart.families.generic import TypePopulation
from warmstart.families.linear.dynamics import (
    FORMAT_VERSION,
    DynamicsSpec,
    HistoryStates,
    LearnedDynamics,
    dynamic_columns,
)
from warmstart.families.linear.dynamics_fit import (
    DynamicsData,
    DynamicsFitConfig,
    choose_dynamics,
    dynamics_spec,
    fit_dynamics,
    with_dynamics,
)
from warmstart.families.linear.family import LinearGaussian
from warmstart.families.linear.fit import FitConfig, fit_population
from warmstart.families.linear.model import GaussianTypes, Summary
from warmstart.families.linear.population import Population
from warmstart.families.protocol import Family, Params, State, register_family

#: the layout of ``params["dynamics"]``' rows (the first number of each row)
SPEC_VERSION = 1
_HEAD = 8
_LINEAR = ("mu", "cov", "noise_var")
NAME = "linear_dynamics"


# ---------------------------------------------------------------------------------------------- the spec
def encode_spec(spec: DynamicsSpec, n_types: int) -> np.ndarray:
    """``(n_types, 8 + C)``: the spec as the parameter ``dynamics`` stores it (the same row per type).

    >>> spec = DynamicsSpec(n_categories=2, habit_categories=(1,))
    >>> encode_spec(spec, 1).tolist()
    [[1.0, 2.0, 0.7, 0.95, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0]]
    >>> decode_spec({"dynamics": encode_spec(spec, 3)}) == spec
    True
    """
    mask = np.zeros(spec.n_categories)
    mask[list(spec.habit_categories)] = 1.0
    row = np.r_[SPEC_VERSION, spec.n_categories, spec.exposure_decay, spec.habit_decay, spec.per_category_habit,
                spec.practice, spec.per_category, spec.time_unit, mask].astype(float)
    return np.tile(row, (n_types, 1))


@functools.lru_cache(maxsize=64)
def _spec_of_row(row: tuple[float, ...]) -> DynamicsSpec:
    if row[0] != SPEC_VERSION:
        raise ValueError(f"params['dynamics']: expected layout version {SPEC_VERSION}, got {row[0]!r} (written by "
                         "another release?)")
    C = int(row[1])
    if C < 1 or row[1] != C or len(row) != _HEAD + C:
        raise ValueError(f"params['dynamics']: expected rows of {_HEAD} + C numbers with C = row[1] >= 1, got "
                         f"{len(row)} numbers with C = {row[1]!r}")
    flags = row[4:7]
    if any(f not in (0.0, 1.0) for f in flags) or any(m not in (0.0, 1.0) for m in row[_HEAD:]):
        raise ValueError("params['dynamics']: expected 0/1 flags and habit mask")
    return DynamicsSpec(n_categories=C, exposure_decay=row[2], habit_decay=row[3],
                        habit_categories=tuple(int(c) for c in np.flatnonzero(np.asarray(row[_HEAD:]))),
                        per_category_habit=bool(row[4]), practice=bool(row[5]), per_category=bool(row[6]),
                        time_unit=row[7])


def decode_spec(params: Params) -> DynamicsSpec:
    """The ``DynamicsSpec`` of a population's parameters; a ``ValueError`` naming ``params['dynamics']`` for
    rows that differ between types, an unknown layout version or a malformed row (see ``encode_spec``).

    >>> decode_spec(example_population().params).habit_categories
    (1,)
    >>> decode_spec({"dynamics": np.zeros((2, 9))})
    Traceback (most recent call last):
    ...
    ValueError: params['dynamics']: expected layout version 1, got 0.0 (written by another release?)
    """
    rows = np.asarray(params.get("dynamics"), dtype=float)
    if rows.ndim != 2 or rows.shape[0] < 1:
        raise ValueError(f"params['dynamics']: expected the spec as an array (K, {_HEAD} + C), got shape "
                         f"{rows.shape}")
    if np.any(rows != rows[0]):
        raise ValueError("params['dynamics']: expected the same structure for every type, got rows that differ")
    return _spec_of_row(tuple(float(v) for v in rows[0]))


def _linear(params: Params) -> Params:
    return {k: params[k] for k in _LINEAR}


def static_dim(params: Params, spec: DynamicsSpec | None = None) -> int:
    """``p``, the static features of a population's candidates (its features less the dynamic columns).

    >>> static_dim(example_population().params)
    2
    """
    spec = spec or decode_spec(params)
    p = int(np.shape(params["mu"])[1]) - spec.n_dynamic()
    if p < 0:
        raise ValueError(f"params['mu']: expected at least the {spec.n_dynamic()} dynamic columns of the spec, got "
                         f"{np.shape(params['mu'])[1]} features")
    return p


def candidate_rows(static: np.ndarray, cats: np.ndarray, time: float | np.ndarray) -> np.ndarray:
    """The rows a caller shows the family for candidates ``(A, p + C + 1)``: their static features
    ``(A, p)``, their items' categories ``(A, C)`` and the time of the event (one for all, or ``(A,)``).

    >>> candidate_rows(np.zeros((2, 0)), np.eye(2), 3.0).tolist()     # no static feature
    [[1.0, 0.0, 3.0], [0.0, 1.0, 3.0]]
    """
    static, cats = np.asarray(static, dtype=float), np.asarray(cats, dtype=float)
    t = np.broadcast_to(np.asarray(time, dtype=float), (cats.shape[0],))
    return np.hstack([static, cats, t[:, None]])


# ---------------------------------------------------------------------------------------------- statistics
@dataclass(eq=False)
class DynamicsEvents:
    """The statistics of the family: the users' events (``DynamicsData``) and, per spec asked for, the linear
    statistics of their features (computed once).

    >>> data = DynamicsData(np.array([0, 0, 1]), np.array([0.0, 1.0, 0.0]), np.eye(2)[[0, 0, 1]],
    ...                     np.eye(2)[[0, 0, 1]], np.array([1.0, 0.5, 2.0]), n_users=2)
    >>> stats = DynamicsEvents(data)
    >>> stats.n_users, stats.summary(DynamicsSpec(n_categories=2)).b[0].tolist()   # [static, satiation]
    (2, [1.5, 0.0, 0.5, 0.0])
    >>> stats.take(np.array([1])).data.reward.tolist()
    [2.0]
    """

    data: DynamicsData
    summaries: dict[DynamicsSpec, Summary] = field(default_factory=dict)
    chosen: DynamicsSpec | None = None

    @property
    def n_users(self) -> int:
        return int(self.data.n_users)

    def summary(self, spec: DynamicsSpec) -> Summary:
        if spec.n_categories != self.data.n_categories:
            raise ValueError(f"spec.n_categories: expected the events' {self.data.n_categories} categories, got "
                             f"{spec.n_categories}")
        if spec not in self.summaries:
            self.summaries[spec] = self.data.summary(spec)
        return self.summaries[spec]

    def take(self, index: np.ndarray | slice) -> DynamicsEvents:
        idx = np.arange(self.n_users)[index]
        d = self.data
        starts = np.searchsorted(d.user, np.arange(self.n_users), side="left")
        ends = np.searchsorted(d.user, np.arange(self.n_users), side="right")
        lengths = ends[idx] - starts[idx]
        offsets = np.repeat(starts[idx] - np.r_[0, np.cumsum(lengths)[:-1]], lengths)
        rows = offsets + np.arange(int(lengths.sum()))
        user = np.repeat(np.arange(idx.size), lengths)
        sub = DynamicsData(user, d.time[rows], d.cats[rows], d.static[rows], d.reward[rows], int(idx.size))
        return DynamicsEvents(sub, {s: v[idx] for s, v in self.summaries.items()}, self.chosen)


def events_of_log(log: TrainingLog, n_categories: int) -> DynamicsData:
    """The events of a logged-feedback record whose candidates are ``candidate_rows`` (``[static (p),
    categories (C), time]``); padded events skipped; each user's events must be in time order.

    >>> X = candidate_rows(np.eye(2), np.eye(2), 0.0)
    >>> cands = np.stack([np.stack([X, X + np.r_[0, 0, 0, 0, 1.0]])])       # 1 user, 2 events at times 0, 1
    >>> log = TrainingLog(cands, np.array([[1, 0]]), np.ones((1, 2)), np.array([[1.0, 2.0]]))
    >>> events_of_log(log, 2).time.tolist(), events_of_log(log, 2).cats.tolist()
    ([0.0, 1.0], [[0.0, 1.0], [1.0, 0.0]])
    """
    cands = np.asarray(log.candidates)
    p = cands.shape[-1] - n_categories - 1 if cands.ndim == 4 else -1
    if p < 0:
        raise ValueError(f"train_log.candidates: expected (N, T, A, p + {n_categories} + 1) rows [static, "
                         f"categories, time], got shape {cands.shape}")
    mask = np.asarray(log.action) >= 0
    chosen = log.chosen[mask]
    user = np.nonzero(mask)[0]
    return DynamicsData(user, chosen[:, -1], chosen[:, p : p + n_categories], chosen[:, :p],
                        np.asarray(log.reward, dtype=float)[mask], int(cands.shape[0]))


# ---------------------------------------------------------------------------------------------- the family
@register_family
class LinearDynamics(Family):
    """``reward = features(x, the user's history) . theta_user + noise``, ``theta`` of type ``k`` as in the linear
    family (see the module docstring). ``spec`` fixes the structure (else ``fit`` chooses it on the training
    users); ``n_categories`` says how many of a ``TrainingLog``'s candidate columns are categories (given by
    ``spec`` when there is one); ``config`` the dynamics fit's settings.

    The protocol's methods are shown on ``warmstart.families.protocol.Family`` and in the module docstring;
    the fit, on events of a small catalogue with a given structure:

    >>> from warmstart.families.linear.dynamics_fit import _example_data
    >>> spec = DynamicsSpec(n_categories=2, exposure_decay=0.7, habit_decay=0.95, habit_categories=(1,))
    >>> fam = LinearDynamics(spec)
    >>> stats = fam.summarise(_example_data(n_users=60, seed=0, n_events=20))
    >>> population = fam.fit(stats, fit={"n_types": 2, "split_merge": False})
    >>> population.family, population.n_types, population.dim, decode_spec(population.params) == spec
    ('linear_dynamics', 3, 5, True)
    >>> LinearDynamics().summarise(stats.data).n_users, LinearDynamics(n_categories=3).n_categories
    (60, 3)
    """

    name = NAME

    def __init__(self, spec: DynamicsSpec | None = None, *, n_categories: int | None = None,
                 config: DynamicsFitConfig | None = None) -> None:
        if spec is not None and n_categories is not None and n_categories != spec.n_categories:
            raise ValueError(f"n_categories: expected the spec's {spec.n_categories}, got {n_categories}")
        self.spec = spec
        self.n_categories = spec.n_categories if spec is not None else n_categories
        self.config = config or DynamicsFitConfig()
        self.linear = LinearGaussian()

    # ------------------------------------------------------------------------------------------ statistics
    def summarise(self, log: TrainingLog | DynamicsData) -> DynamicsEvents:
        if isinstance(log, DynamicsData):
            return DynamicsEvents(log)
        if self.n_categories is None:
            raise ValueError("n_categories: a TrainingLog's candidates do not say which columns are categories; "
                             "construct LinearDynamics(n_categories=C) or summarise a DynamicsData")
        return DynamicsEvents(events_of_log(log, self.n_categories))

    def n_users(self, stats: DynamicsEvents) -> int:
        return stats.n_users

    def take(self, stats: DynamicsEvents, index: np.ndarray | slice) -> DynamicsEvents:
        return stats.take(index)

    # ------------------------------------------------------------------------------------------ EM
    def _spec_for(self, stats: DynamicsEvents) -> DynamicsSpec:
        if self.spec is not None:
            return self.spec
        if stats.chosen is None:
            stats.chosen = choose_dynamics(stats.data, self.config)[0]
        return stats.chosen

    def initial(self, stats: DynamicsEvents, k: int, rng: np.random.Generator) -> tuple[Params, np.ndarray]:
        spec = self._spec_for(stats)
        params, weights = self.linear.initial(stats.summary(spec), k, rng)
        return {**params, "dynamics": encode_spec(spec, weights.size)}, weights

    def e_step(self, stats: DynamicsEvents, params: Params, weights: np.ndarray) -> tuple[float, Any]:
        return self.linear.e_step(stats.summary(decode_spec(params)), _linear(params), weights)

    def m_step(self, sums: Any, params: Params, n_users: int) -> tuple[Params, np.ndarray]:
        new, weights = self.linear.m_step(sums, _linear(params), n_users)
        return {**new, "dynamics": encode_spec(decode_spec(params), weights.size)}, weights

    def log_evidence(self, stats: DynamicsEvents, params: Params) -> np.ndarray:
        return self.linear.log_evidence(stats.summary(decode_spec(params)), _linear(params))

    def n_free(self, params: Params) -> int:
        return self.linear.n_free(_linear(params))

    def dim(self, params: Params) -> int:
        spec = decode_spec(params)
        return static_dim(params, spec) + spec.n_categories + 1

    # ------------------------------------------------------------------------------------------ belief
    def new_state(self, params: Params) -> State:
        C = decode_spec(params).n_categories
        return {**self.linear.new_state(_linear(params)), "exposure": np.zeros(C), "habit": np.zeros(C),
                "count": np.zeros(C), "clock": np.zeros(2)}

    def features(self, state: State, params: Params, X: np.ndarray, name: str = "X") -> np.ndarray:
        """``(A, D)``: the features the linear model reads of candidates ``X (A, p + C + 1)`` for a user in
        ``state`` (at each candidate's time); a ``ValueError`` naming ``name`` for a wrong width or a time
        before the user's latest event.

        >>> population = example_population()
        >>> fam, state = population.model, population.model.new_state(population.params)
        >>> fam.features(state, population.params, candidate_rows(np.eye(2), np.eye(2), 0.0)).tolist()
        [[1.0, 0.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0, 0.0]]
        >>> fam.features(state, population.params, np.zeros((2, 4)))
        Traceback (most recent call last):
        ...
        ValueError: X: expected candidates of shape (n, 5): [static (2), categories (2), time], got (2, 4)
        """
        spec = decode_spec(params)
        p, C = static_dim(params, spec), spec.n_categories
        X = np.asarray(X, dtype=float)
        if X.ndim != 2 or X.shape[1] != p + C + 1:
            raise ValueError(f"{name}: expected candidates of shape (n, {p + C + 1}): [static ({p}), categories "
                             f"({C}), time], got {X.shape}")
        exposure, habit = np.zeros((X.shape[0], C)), np.zeros((X.shape[0], C))
        if state["clock"][0]:
            gap = (X[:, -1] - state["clock"][1]) / spec.time_unit
            if np.any(gap < 0):
                raise ValueError(f"{name}: expected times (column {p + C}) not before the user's latest event at "
                                 f"{state['clock'][1]}, got {X[:, -1].min()}")
            exposure = spec.exposure_decay ** gap[:, None] * state["exposure"]
            habit = spec.habit_decay ** gap[:, None] * state["habit"]
        count = np.broadcast_to(state["count"], exposure.shape)
        dyn = dynamic_columns(spec, X[:, p : p + C], HistoryStates(exposure, habit, count))
        return np.hstack([X[:, :p], dyn])

    def observe(self, state: State, params: Params, x: np.ndarray, reward: float) -> np.ndarray:
        spec = decode_spec(params)
        x = np.asarray(x, dtype=float)
        f = self.features(state, params, x.reshape(1, -1), name="x")[0]
        logp = self.linear.observe(state, _linear(params), f, reward)
        p, C = static_dim(params, spec), spec.n_categories
        cats, t = x[p : p + C], float(x[-1])
        gap = (t - state["clock"][1]) / spec.time_unit if state["clock"][0] else 0.0
        state["exposure"][:] = spec.exposure_decay**gap * state["exposure"] + cats / spec.exposure_decay
        state["habit"][:] = spec.habit_decay**gap * state["habit"] + cats / spec.habit_decay
        state["count"] += cats
        state["clock"][:] = (1.0, t)
        return logp

    def draw_values(self, state: State, params: Params, k: int, X: np.ndarray,
                    rng: np.random.Generator) -> np.ndarray:
        return self.linear.draw_values(state, _linear(params), k, self.features(state, params, X), rng)

    def expected_values(self, state: State, params: Params, X: np.ndarray) -> np.ndarray:
        return self.linear.expected_values(state, _linear(params), self.features(state, params, X))

    def check_reward(self, reward: float) -> float:
        if not math.isfinite(reward):
            raise ValueError(f"reward: expected a finite number, got {reward}")
        return reward

    # ------------------------------------------------------------------------------------------ planning
    def plan_dynamics(self, params: Params) -> LearnedDynamics:
        """The planner's model of the dynamics (``LearnedDynamics``), for a catalogue of categories whose
        static features are the categories themselves (``p == C``); a ``ValueError`` otherwise.

        >>> example_population().model.plan_dynamics(example_population().params).dim
        5
        """
        spec = decode_spec(params)
        if static_dim(params, spec) != spec.n_categories:
            raise ValueError(f"params: expected a catalogue of categories (static features = the {spec.n_categories} "
                             f"categories) to plan with, got {static_dim(params, spec)} static features")
        return LearnedDynamics(spec)

    def plan_inputs(self, state: State, params: Params, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each type's posterior mean of the user's coefficients ``(K, D)`` and the candidates' features
        ``(A, D)``: what a planner (``HabitPlanner``) scores.

        >>> population = example_population()
        >>> fam, state = population.model, population.model.new_state(population.params)
        >>> [a.shape for a in fam.plan_inputs(state, population.params, candidate_rows(np.eye(2), np.eye(2), 0))]
        [(2, 5), (2, 5)]
        """
        return state["mean"], self.features(state, params, X)

    # ------------------------------------------------------------------------------------------ fit
    def fit(self, stats: DynamicsEvents, *, spec: DynamicsSpec | None = None, **config: Any) -> TypePopulation:
        """The population: the structure chosen on the training users (``fit_dynamics``) or the given
        ``spec`` (or the family's), the types by the linear family's full fit. ``config``: the fields of
        ``DynamicsFitConfig`` (``fit`` a ``FitConfig`` or a mapping of its fields)."""
        if isinstance(config.get("fit"), dict):
            config["fit"] = FitConfig(**config["fit"])
        cfg = replace(self.config, **config)
        spec = spec or self.spec
        if spec is None:
            population, _ = fit_dynamics(stats.data, cfg)
        else:
            p = int(stats.data.static.shape[1])
            record = {"format_version": FORMAT_VERSION, "spec": spec.to_dict(), "static_dim": p,
                      "columns": spec.columns(p), "criterion": "given"}
            population = with_dynamics(fit_population(stats.summary(spec), replace(cfg.fit, seed=cfg.seed)), record)
        return from_linear(population)


# ---------------------------------------------------------------------------------------------- populations
def from_linear(population: Population) -> TypePopulation:
    """A population of this family from the linear family's ``Population`` fitted with learned dynamics
    (``fit_dynamics``, ``warmstart bench dynamics``: its ``diagnostics.dynamics`` names the structure); the
    novel component is the last type.

    >>> linear, spec = to_linear(example_population())
    >>> back = from_linear(linear)
    >>> back.fingerprint() == example_population().fingerprint(), decode_spec(back.params) == spec
    (True, True)
    """
    spec = dynamics_spec(population)
    comps = population.components
    params = {"mu": comps.mu, "cov": comps.cov, "noise_var": comps.noise_var,
              "dynamics": encode_spec(spec, population.n_components)}
    static_dim(params, spec)
    record = {"dynamics": jsonable(population.diagnostics.dynamics),
              "linear": {"n_types": population.n_types, "novel_index": population.novel_index}}
    return TypePopulation(family=NAME, weights=population.weights, params=params, record=record)


def to_linear(population: TypePopulation) -> tuple[Population, DynamicsSpec]:
    """The linear family's ``Population`` (the last type as its novel component, the structure in
    ``diagnostics.dynamics``) and the spec of a population of this family: what ``mixture_plan`` plans with
    (with ``LearnedDynamics(spec)``) when the caller keeps the users' states.

    >>> linear, spec = to_linear(example_population())
    >>> type(linear).__name__, linear.dim, spec.habit_categories
    ('Population', 5, (1,))
    """
    if population.family != NAME:
        raise ValueError(f"population: expected a population of the family {NAME!r}, got {population.family!r}")
    spec = decode_spec(population.params)
    p = static_dim(population.params, spec)
    record = (population.record or {}).get("dynamics") or {
        "format_version": FORMAT_VERSION, "spec": spec.to_dict(), "static_dim": p, "columns": spec.columns(p)}
    types = GaussianTypes(*(np.asarray(population.params[k]) for k in _LINEAR))
    return with_dynamics(Population(types, population.weights), record), spec


def example_population(spec: DynamicsSpec | None = None) -> TypePopulation:
    """A one-type population (and the novel type) on a catalogue of two categories, for examples: appeals 1
    and 1.2, satiation rates 0.3, the habit (category 1) harms by 0.1 (``spec``'s structure, default the module
    docstring's).

    >>> example_population().n_types
    2
    """
    spec = spec or DynamicsSpec(n_categories=2, exposure_decay=0.5, habit_decay=0.9, habit_categories=(1,))
    mu = np.array([[1.0, 1.2, -0.3, -0.3, -0.1], [1.0, 1.0, 0.0, 0.0, 0.0]])
    params = {"mu": mu, "cov": np.stack([1e-4 * np.eye(5), np.eye(5)]), "noise_var": np.full(2, 0.25),
              "dynamics": encode_spec(spec, 2)}
    return TypePopulation(family=NAME, weights=np.array([0.95, 0.05]), params=params)


__all__ = ["NAME", "SPEC_VERSION", "DynamicsEvents", "LinearDynamics", "candidate_rows", "decode_spec",
           "encode_spec", "events_of_log", "example_population", "from_linear", "static_dim", "to_linear"]
