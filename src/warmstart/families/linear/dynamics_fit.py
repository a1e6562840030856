"""Fitting response dynamics from an event log: the decays and the feature set by the in-sample marginal
likelihood of the one-type hierarchical model and Wald tests, the per-type coefficients by the linear family's
EM (``warmstart.families.linear.dynamics`` has the model).

**The data.** Events sorted by user then time (``DynamicsData``: ``user``, ``time``, each event's item
categories ``cats (n, C)``, the static features of each event's item ``static (n, p)``, ``reward``); no
state and no dynamic feature is given: they are computed here from the times and the items.

**The criterion** (``choose_dynamics``). A candidate structure (decays, habit categories, practice) is scored
by the log marginal likelihood, summed over *every* training user, of the one-type linear-Gaussian hierarchical
model with a full covariance (``warmstart.families.linear.hierarchical``: exact, no local optimum, no starting
grouping; a mixture of types is one Gaussian with their spread in its covariance). Two decays and a handful of
columns against tens of thousands of events need no held-out split. Candidates with the same columns are
compared by their likelihood (the decays); added columns are judged by a test fixed before any result:

1. **the decays**, with a habit stock *per category* (so that no category is assumed to build the habit):
   the exposure half-life over ``exposure_half_lives`` (the habit half-life at the middle of its grid), then
   the habit half-life over ``habit_half_lives``, then each refined by a pattern search in log half-life
   (``refine_steps`` halvings of a step starting at the grids' spacing);
2. **which categories build the habit**: at step 1's decays, a one-sided Wald test per category of the
   *population-mean* coefficient of its habit stock, with a robust (sandwich) standard error: the categories
   with ``z < Phi^-1(habit_alpha / C)`` (a habit that harms, Bonferroni over the ``C`` categories; 5%
   familywise: ``z < -2.39`` for 6 categories) build the habit, their stocks summed into one. A small harm
   shared by every type moves the population mean, so it is seen even where each type's own coefficient is
   noisy;
3. **practice** (``log(1 + n_c)`` columns) kept when it raises the log likelihood by more than BIC's
   ``log(N_users) / 2`` per added parameter (its means and the covariance's new rows);
4. the decays refined again with the chosen columns (``polish_steps`` halvings from half the grid spacing),
   then each to within ``decay_tol`` in log2 half-life by Brent's bounded search on the last step either side
   of the best (``dynamics_search``; ``decay_tol=None`` stops at the steps). The steps alone leave the decay on
   a lattice of the grid: on the satiation benchmark's log the half-lives were 2.00 and 11.3 (lattice points)
   where the criterion is highest at 1.92 and 13.0 (the simulator's 1.94 and 13.5), 3.5 log-likelihood units
   higher, and the susceptible type's harm, whose column scales with the habit stock, was fitted 0.080
   instead of 0.075 (the simulator's 0.075; 1.5 bootstrap SEs).

5. **the number of types** (``k_selection="validation"``, the default, when ``config.fit.n_types`` is not
   set): with the chosen structure, the latest ``validation_fraction`` of the training users by arrival are the
   validation users; for each K in ``config.fit.k_range`` (until ``config.fit.patience`` K in a row do not
   improve) a population with K fixed is fitted on the others and scored by the mean over validation users
   of the log marginal likelihood of their first ``n_early`` events, as the item space's choice does
   (``warmstart.families.linear.space``). BIC (``k_selection="fit"``: ``config.fit``'s own selection) charges
   every type of a full-covariance model ``d + d (d + 1) / 2 + 1`` parameters (105 for ``Satiation-v0``'s
   13 columns, 400 log-likelihood units on 2,000 users), more than the separation of two real types of a
   quarter of the users earns: on the satiation benchmark's log it merged two of the four big types.

Then the population is fitted on every training user with the chosen structure by the linear family's own fit
(``config.fit``: restarts, moves; K as step 5 chose, or by ``config.fit``'s selection). The choice, every candidate's score, the tests and the timings are
kept in ``population.diagnostics.dynamics``, so ``learned_dynamics(population)`` rebuilds the model from a saved
population file.

>>> data = _example_data(n_users=200, seed=0)
>>> cfg = DynamicsFitConfig(exposure_half_lives=(1.0, 2.0, 4.0), habit_half_lives=(8.0, 16.0, 32.0),
...                         refine_steps=1, polish_steps=1, fit=FitConfig(n_types=2, split_merge=False))
>>> population, spec = fit_dynamics(data, cfg)
>>> spec.habit_categories, round(spec.exposure_decay, 2), population.diagnostics.dynamics["spec"]["practice"]
((1,), 0.71, False)
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np

from warmstart.data.events import EventData
from warmstart.families.linear.dynamics import (
    FORMAT_VERSION,
    DynamicsSpec,
    LearnedDynamics,
    dynamic_columns,
    history_states,
)
from warmstart.families.linear.dynamics_search import _decay, _log2_spacing, _Search, habit_tests
from warmstart.families.linear.fit import FitConfig, fit_population
from warmstart.families.linear.model import Summary, log_evidence, logsumexp_rows, summarise_rows
from warmstart.families.linear.population import Population

Progress = Callable[[str, float], None]


@dataclass(frozen=True, eq=False)
class DynamicsData:
    """Events for the dynamics fit, sorted by user then time: ``user (n,)`` in ``[0, n_users)``, ``time (n,)``,
    ``cats (n, C)`` the categories of each event's item (0/1), ``static (n, p)`` its static features,
    ``reward (n,)``; the users arrive in the order of their first events.

    >>> data = _example_data(n_users=3, seed=0, n_events=2)
    >>> data.n_categories, data.first_times().tolist(), data.summary(DynamicsSpec(n_categories=2)).dim
    (2, [0.0, 2.0, 4.0], 4)
    >>> data.rows(DynamicsSpec(n_categories=2)).shape
    (6, 4)
    """

    user: np.ndarray
    time: np.ndarray
    cats: np.ndarray
    static: np.ndarray
    reward: np.ndarray
    n_users: int

    def __post_init__(self) -> None:
        n = self.user.shape[0]
        for name in ("time", "reward"):
            if getattr(self, name).shape != (n,):
                raise ValueError(f"{name}: expected ({n},), one per event, got {getattr(self, name).shape}")
        for name in ("cats", "static"):
            arr = getattr(self, name)
            if arr.ndim != 2 or arr.shape[0] != n:
                raise ValueError(f"{name}: expected ({n}, columns), one row per event, got {arr.shape}")
        if n and (np.any(np.diff(self.user) < 0) or self.user[0] < 0 or self.user[-1] >= self.n_users):
            raise ValueError(f"user: expected indices in [0, {self.n_users}) sorted ascending")

    @property
    def n_categories(self) -> int:
        return int(self.cats.shape[1])

    @staticmethod
    def from_events(events: EventData, item_categories: np.ndarray, item_static: np.ndarray | None = None,
                    static_rows: np.ndarray | None = None) -> DynamicsData:
        """From an event log and its items' categories ``(n_items, C)``; the static features are
        ``static_rows (n_events, p)`` when given, else ``item_static (n_items, p)`` of each event's item, else
        the categories themselves.

        >>> ev = EventData.from_rows(["u", "u"], [0.0, 1.0], ["a", "b"], [1.0, 2.0])
        >>> DynamicsData.from_events(ev, np.eye(2)).cats.tolist()
        [[1.0, 0.0], [0.0, 1.0]]
        """
        cats = np.asarray(item_categories, dtype=float)[events.item]
        if static_rows is None:
            static_rows = cats if item_static is None else np.asarray(item_static, dtype=float)[events.item]
        return DynamicsData(events.user, events.time, cats, np.asarray(static_rows, dtype=float), events.reward,
                            events.n_users)

    def first_times(self) -> np.ndarray:
        """Each user's first time (``+inf`` for a user with no event); see the class's example."""
        out = np.full(self.n_users, np.inf)
        np.minimum.at(out, self.user, self.time)
        return out

    def rows(self, spec: DynamicsSpec) -> np.ndarray:
        """Every event's features under ``spec``: the static ones, then the dynamic ones (see the class)."""
        parts = ("exposure",) + (("habit",) if spec.n_habit else ()) + (("count",) if spec.practice else ())
        states = history_states(self.user, self.time, self.cats, spec, parts)
        return np.hstack([self.static, dynamic_columns(spec, self.cats, states)])

    def summary(self, spec: DynamicsSpec) -> Summary:
        """The users' statistics over ``rows(spec)`` (see the class's example)."""
        return summarise_rows(self.user, self.rows(spec), self.reward, self.n_users)


@dataclass(frozen=True, kw_only=True)
class DynamicsFitConfig:
    """Settings of the dynamics fit (see the module docstring); half-lives in units of ``time_unit``.

    >>> DynamicsFitConfig().to_dict()["exposure_half_lives"]
    [0.5, 1.0, 2.0, 4.0, 8.0]
    >>> DynamicsFitConfig(habit_half_lives=(8.0, 4.0))
    Traceback (most recent call last):
    ...
    ValueError: habit_half_lives: expected increasing positive half-lives, got (8.0, 4.0)
    """

    exposure_half_lives: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0, 8.0)
    habit_half_lives: tuple[float, ...] = (4.0, 8.0, 16.0, 32.0, 64.0)
    refine_steps: int = 3
    polish_steps: int = 2
    habit: bool = True
    practice: bool = True
    per_category: bool = True
    time_unit: float = 1.0
    habit_alpha: float = 0.05
    search_max_iter: int = 300
    decay_tol: float | None = 0.02
    fit: FitConfig = field(default_factory=FitConfig)
    seed: int = 0
    k_selection: Literal["validation", "fit"] = "validation"
    validation_fraction: float = 0.2
    n_early: int = 10

    def __post_init__(self) -> None:
        for name in ("exposure_half_lives", "habit_half_lives"):
            grid = getattr(self, name)
            if not grid or any(not (h > 0 and math.isfinite(h)) for h in grid) or list(grid) != sorted(set(grid)):
                raise ValueError(f"{name}: expected increasing positive half-lives, got {grid}")
        if self.refine_steps < 0 or self.polish_steps < 0 or self.search_max_iter < 1:
            raise ValueError("refine_steps, polish_steps: expected >= 0; search_max_iter: expected >= 1")
        if self.decay_tol is not None and not 0 < self.decay_tol < 1:
            raise ValueError(f"decay_tol: expected None or a tolerance in (0, 1) (log2 half-life), got "
                             f"{self.decay_tol}")
        if not 0 < self.habit_alpha < 1:
            raise ValueError(f"habit_alpha: expected a level in (0, 1), got {self.habit_alpha}")
        if self.k_selection not in ("validation", "fit"):
            raise ValueError(f"k_selection: expected 'validation' or 'fit', got {self.k_selection!r}")
        if not 0 < self.validation_fraction < 1 or self.n_early < 1:
            raise ValueError(f"validation_fraction: expected a value in (0, 1), got {self.validation_fraction}; "
                             f"n_early: expected >= 1, got {self.n_early}")

    def to_dict(self) -> dict[str, Any]:
        """The settings as JSON (see the class's example)."""
        d = {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items() if k != "fit"}
        d["fit"] = {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.fit.__dict__.items()}
        return d


def _last_step(grid: tuple[float, ...], cfg: DynamicsFitConfig) -> float:
    """The last step in log2 half-life the pattern searches took for a decay on ``grid`` (the continuous
    search's bracket is that step either side of the best)."""
    spacing = _log2_spacing(grid)
    if cfg.polish_steps:
        return spacing / 2.0**cfg.polish_steps
    return spacing / 2.0 ** max(cfg.refine_steps - 1, 0)


def choose_dynamics(data: DynamicsData, config: DynamicsFitConfig | None = None, progress: Progress | None = None
                    ) -> tuple[DynamicsSpec, dict[str, Any]]:
    """The structure chosen on ``data``'s training users (steps 1-4 of the module docstring) and the record of
    the choice (what ``diagnostics.dynamics`` keeps).

    >>> cfg = DynamicsFitConfig(exposure_half_lives=(1.0, 2.0), habit_half_lives=(8.0, 16.0), refine_steps=0,
    ...                         polish_steps=0, practice=False, fit=FitConfig(n_types=2))
    >>> spec, record = choose_dynamics(_example_data(n_users=120, seed=0), cfg)
    >>> spec.habit_categories, record["habit_tests"]["chosen"], sorted(record)[:4]
    ((1,), [1], ['candidates', 'columns', 'config', 'criterion'])
    """
    cfg = config or DynamicsFitConfig()
    report = progress or (lambda msg, frac: None)
    t0 = time.perf_counter()
    search = _Search(data.summary, data.n_users, cfg.search_max_iter, report)
    C, p = data.n_categories, int(data.static.shape[1])
    ex, hb = cfg.exposure_half_lives, cfg.habit_half_lives
    spec = DynamicsSpec(n_categories=C, exposure_decay=_decay(ex[len(ex) // 2]), habit_decay=_decay(hb[len(hb) // 2]),
                        per_category=cfg.per_category, time_unit=cfg.time_unit)
    if cfg.habit:
        spec = replace(spec, habit_categories=tuple(range(C)), per_category_habit=True)
    spec = search.line(spec, "exposure_decay", ex)
    if cfg.habit:
        spec = search.line(spec, "habit_decay", hb)
    spec = search.pattern(spec, "exposure_decay", _log2_spacing(ex), cfg.refine_steps)
    tests: dict[str, Any] = {}
    if cfg.habit:
        spec = search.pattern(spec, "habit_decay", _log2_spacing(hb), cfg.refine_steps)
        tests = habit_tests(search.fit(spec), spec, p, cfg.habit_alpha)
        spec = replace(spec, habit_categories=tuple(tests["chosen"]), per_category_habit=False)
    if cfg.practice:
        base, more = search.fit(spec), search.fit(replace(spec, practice=True))
        if more.loglik - base.loglik > 0.5 * math.log(data.n_users) * (more.n_params() - base.n_params()):
            spec = replace(spec, practice=True)
    spec = search.pattern(spec, "exposure_decay", _log2_spacing(ex) / 2, cfg.polish_steps)
    if spec.habit_categories:
        spec = search.pattern(spec, "habit_decay", _log2_spacing(hb) / 2, cfg.polish_steps)
    if cfg.decay_tol is not None:
        spec = search.continuous(spec, "exposure_decay", _last_step(ex, cfg), cfg.decay_tol)
        if spec.habit_categories:
            spec = search.continuous(spec, "habit_decay", _last_step(hb, cfg), cfg.decay_tol)
    record = {"format_version": FORMAT_VERSION, "spec": spec.to_dict(), "static_dim": p,
              "columns": spec.columns(p), "half_lives": list(spec.half_lives()),
              "criterion": "in-sample log marginal likelihood of every training user under the one-type "
                           "hierarchical linear model (full covariance, exact) for the decays; one-sided Wald "
                           "tests (robust SE, Bonferroni) of the habit columns' population means for the habit "
                           "categories; BIC for practice",
              "habit_tests": tests, "loglik": search.score(spec), "n_users": int(data.n_users),
              "candidates": search.table, "config": cfg.to_dict(), "seconds": time.perf_counter() - t0}
    return spec, record


def _early_rows(data: DynamicsData, n_early: int) -> np.ndarray:
    """A mask of each user's first ``n_early`` events (the events are sorted by user then time)."""
    n = data.user.size
    first = np.r_[True, data.user[1:] != data.user[:-1]] if n else np.zeros(0, dtype=bool)
    starts = np.flatnonzero(first)
    pos = np.arange(n) - np.repeat(starts, np.diff(np.r_[starts, n]))
    return pos < n_early


def choose_n_types(data: DynamicsData, spec: DynamicsSpec, config: DynamicsFitConfig | None = None
                   ) -> tuple[int, dict[str, Any]]:
    """Step 5 of the module docstring: K by the validation users' early events under populations fitted on
    the other training users with K fixed; the chosen K and the table (every K's mean score, and the lead of
    the best over the runner-up with its standard error over the validation users).

    >>> data = _example_data(n_users=150, seed=0)
    >>> spec = DynamicsSpec(n_categories=2, habit_categories=(1,))
    >>> k, table = choose_n_types(data, spec, DynamicsFitConfig(fit=FitConfig(k_range=(1, 3), n_init=1)))
    >>> k, [row["K"] for row in table["path"]], table["n_validation"]
    (2, [1, 2, 3], 30)
    """
    cfg = config or DynamicsFitConfig()
    order = np.argsort(data.first_times(), kind="stable")
    n_val = max(1, round(cfg.validation_fraction * data.n_users))
    if data.n_users - n_val < 2:
        raise ValueError(f"data: expected at least {n_val + 2} users to choose K on validation users, got "
                         f"{data.n_users}")
    val, fit_users = np.sort(order[-n_val:]), np.sort(order[:-n_val])
    rows = data.rows(spec)
    summary = summarise_rows(data.user, rows, data.reward, data.n_users)
    early = _early_rows(data, cfg.n_early) & np.isin(data.user, val)
    remap = np.full(data.n_users, -1)
    remap[val] = np.arange(n_val)
    val_early = summarise_rows(remap[data.user[early]], rows[early], data.reward[early], n_val)
    path: list[dict[str, Any]] = []
    scores: list[np.ndarray] = []
    best, since_best = -1, 0
    for k in range(cfg.fit.k_range[0], min(cfg.fit.k_range[1], fit_users.size - 1) + 1):
        pop = fit_population(summary[fit_users], replace(cfg.fit, n_types=k, split_merge=False, seed=cfg.seed))
        per_user = logsumexp_rows(log_evidence(val_early, pop.components) + pop.log_weights)
        scores.append(per_user)
        path.append({"K": k, "score": float(per_user.mean()), "fit_loglik": pop.diagnostics.loglik})
        if best < 0 or per_user.mean() > scores[best].mean():
            best, since_best = len(scores) - 1, 0
        else:
            since_best += 1
            if since_best >= cfg.fit.patience:
                break
    table: dict[str, Any] = {"criterion": f"mean log marginal likelihood of the validation users' first "
                                          f"{cfg.n_early} events, populations fitted on the other training "
                                          "users with K fixed", "n_validation": int(n_val),
                             "n_fitting": int(fit_users.size), "path": path, "chosen": path[best]["K"]}
    others = [i for i in range(len(scores)) if i != best]
    if others:
        runner = max(others, key=lambda i: scores[i].mean())
        lead = scores[best] - scores[runner]
        table["lead"] = {"over_K": path[runner]["K"], "value": float(lead.mean()),
                         "se": float(lead.std(ddof=1) / math.sqrt(lead.size)) if lead.size > 1 else float("nan")}
    return int(path[best]["K"]), table


def fit_dynamics(data: DynamicsData, config: DynamicsFitConfig | None = None, progress: Progress | None = None
                 ) -> tuple[Population, DynamicsSpec]:
    """Choose the structure (``choose_dynamics``) and fit the population on every user with it
    (``config.fit``); the choice is in ``population.diagnostics.dynamics``.

    >>> population, spec = _example_fit()
    >>> population.diagnostics.dynamics["spec"] == spec.to_dict()
    True
    """
    cfg = config or DynamicsFitConfig()
    report = progress or (lambda msg, frac: None)
    spec, record = choose_dynamics(data, cfg, lambda m, f: report(f"choice: {m}", 0.8 * f))
    fit_cfg = replace(cfg.fit, seed=cfg.seed)
    if cfg.k_selection == "validation" and cfg.fit.n_types is None:
        report("the number of types on validation users", 0.8)
        t0 = time.perf_counter()
        k, record["n_types_choice"] = choose_n_types(data, spec, cfg)
        record["n_types_choice"]["seconds"] = time.perf_counter() - t0
        fit_cfg = replace(fit_cfg, n_types=k)
    report("the population with the chosen dynamics", 0.9)
    t0 = time.perf_counter()
    population = fit_population(data.summary(spec), fit_cfg)
    record["final_fit_s"] = time.perf_counter() - t0
    return with_dynamics(population, record), spec


def with_dynamics(population: Population, record: dict[str, Any]) -> Population:
    """``population`` with the dynamics' record in its diagnostics (``diagnostics.dynamics``).

    >>> population, spec = _example_fit()
    >>> with_dynamics(population, {"note": 1}).diagnostics.dynamics
    {'note': 1}
    """
    return replace(population, diagnostics=population.diagnostics.replace(dynamics=record))


def dynamics_spec(population: Population) -> DynamicsSpec:
    """The structure a population was fitted with, from its diagnostics (a ``ValueError`` without one, or
    with a format version this release does not read).

    >>> population, spec = _example_fit()
    >>> dynamics_spec(population) == spec
    True
    """
    record = population.diagnostics.dynamics
    if not record or "spec" not in record:
        raise ValueError("population: expected a population fitted with learned dynamics (diagnostics.dynamics), "
                         "got none")
    if record.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"population: expected dynamics format version {FORMAT_VERSION}, got "
                         f"{record.get('format_version')!r}")
    return DynamicsSpec.from_dict(record["spec"])


def learned_dynamics(population: Population) -> LearnedDynamics:
    """The planner's model (``LearnedDynamics``) of a population fitted with learned dynamics on a catalogue
    of categories.

    >>> population, spec = _example_fit()
    >>> again = Population.load(population.save("population.npz"))
    >>> learned_dynamics(again).spec == spec, learned_dynamics(again).dim == population.dim
    (True, True)
    """
    dyn = LearnedDynamics(dynamics_spec(population))
    if dyn.dim != population.dim:
        raise ValueError(f"population: expected features of dimension {dyn.dim} for its dynamics (a catalogue of "
                         f"categories), got {population.dim}")
    return dyn


def _example_data(n_users: int, seed: int, n_events: int = 30) -> DynamicsData:
    """A small catalogue of 2 categories (1 builds a habit that costs two types differently), one event per
    unit of time, uniform-random choices: exposure decay 0.7, habit decay 0.95 (the true values)."""
    rng = np.random.default_rng(seed)
    true = LearnedDynamics(DynamicsSpec(n_categories=2, exposure_decay=0.7, habit_decay=0.95, habit_categories=(1,)))
    theta = np.array([[2.0, 2.5, -0.4, -0.1, -0.1], [2.5, 1.5, -0.2, -0.3, -0.005]])
    kind = rng.integers(2, size=n_users)
    user = np.repeat(np.arange(n_users), n_events)
    action = rng.integers(2, size=(n_users, n_events))
    reward = np.empty((n_users, n_events))
    for u in range(n_users):
        state = true.new_state()
        for t in range(n_events):
            reward[u, t] = true.candidates(state)[action[u, t]] @ theta[kind[u]] + 0.3 * rng.standard_normal()
            state = true.step(state, int(action[u, t]))
    cats = np.eye(2)[action.ravel()]
    times = (user * n_events + np.tile(np.arange(n_events), n_users)).astype(float)
    return DynamicsData(user, times, cats, cats, reward.ravel(), n_users)


@functools.lru_cache(maxsize=1)  # the examples share one fit (frozen results: nothing can change it)
def _example_fit() -> tuple[Population, DynamicsSpec]:
    cfg = DynamicsFitConfig(exposure_half_lives=(1.0, 2.0, 4.0), habit_half_lives=(8.0, 16.0, 32.0), refine_steps=1,
                            polish_steps=0, practice=False, fit=FitConfig(n_types=2, split_merge=False))
    return fit_dynamics(_example_data(n_users=120, seed=0), cfg)
