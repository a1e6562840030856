"""``fit --log FILE --family linear_dynamics --categories SPEC``: the response-dynamics family
(``warmstart.families.linear.dynamic_family``) fitted on a user's own event log.

**The items' categories** (``--categories``), one of:

- ``f_3,f_4,f_5``: feature columns of the log (``f_*``, comma-separated) holding 0 or 1 for every item: an
  item belongs to the categories whose column is 1 (none, one or several);
- ``genre``: one other column of the log, per item (every row of an item holds the same value): its values are
  the categories, several in one value separated by ``|`` (``Comedy|Drama``, MovieLens' genres); an empty value
  is an item of no category. The categories are numbered in sorted order of their names.

**The static features** of an item: its categories (0/1; each type's appeal of each category), then the log's
other ``f_*`` columns, then the constant, each kept only when it is not a linear combination of those before it
(a catalogue of one category per item keeps the categories alone, and ``type_plan`` can plan for it). The
learned item space of ``fit --log`` is not used: the columns of the log are.

**A candidate** as ``warmstart serve`` must receive it (``dynamic_family.candidate_rows``): ``[static features
(p), categories (C), time]``, the time counted in units of ``--time-unit`` from an origin: ``(t - origin) /
unit`` with ``t`` the log's time (seconds since 1970-01-01 UTC for timestamps) and the origin 0 for a log of
numbers, the UTC midnight before the log's first event for timestamps (seconds since 1970 would exceed the
service's bound on features, 1e6 by default). ``OUT.items.npz`` holds each item's first ``p + C`` numbers;
``record["candidates"]`` in the population file names every column, the origin and the unit; ``fit`` prints
them.

**The structure** (decays, habit categories, practice) is chosen on every user of the log by
``dynamics_fit.fit_dynamics`` (the candidates scored by the one-type hierarchical model's marginal likelihood,
the habit categories by Wald tests, practice by BIC), then K by the linear family's fit (``--k-max``,
``--n-types``, ``--selection``, ``--restarts``, ``--seed``). The half-lives are searched in units of
``--time-unit`` (default: the median gap between a user's consecutive events at different times).

>>> item_ids = np.array(["a", "b", "c"])
>>> catalogue = catalogue_from_values(item_ids, ["news", "gossip|news", ""], "genre", np.zeros((3, 0)), [])
>>> catalogue.categories, catalogue.cats.tolist()
(['gossip', 'news'], [[0.0, 1.0], [1.0, 1.0], [0.0, 0.0]])
>>> catalogue.static_names                    # the constant is not a combination of the categories here
['category gossip', 'category news', '1']
>>> catalogue.row_names()[-1], len(catalogue.row_names())
('time', 6)
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.table import Table

from warmstart.cli._common import CliError, out, progress_bar

NAME = "linear_dynamics"
_PANEL = "Learned response dynamics (--family linear_dynamics)"
# the options of ``fit`` that only this family reads, declared here to keep ``fit``'s signature short
Categories = Annotated[str | None, typer.Option(
    "--categories", rich_help_panel=_PANEL, help="The items' categories: 0/1 feature columns (f_3,f_4) or one "
    "per-item column whose values (several split by |) are the categories.")]
TimeUnit = Annotated[float | None, typer.Option(
    "--time-unit", rich_help_panel=_PANEL, help="The unit of the half-lives, in the log's time units (seconds "
    "for timestamps; default: the median gap between a user's consecutive events).")]
ExposureHalfLives = Annotated[str | None, typer.Option(
    "--exposure-half-lives", rich_help_panel=_PANEL, help="Satiation half-lives searched, in time units "
    "(default 0.5,1,2,4,8).")]
HabitHalfLives = Annotated[str | None, typer.Option(
    "--habit-half-lives", rich_help_panel=_PANEL, help="Habit half-lives searched, in time units (default "
    "4,8,16,32,64).")]
Refine = Annotated[bool, typer.Option(
    "--refine/--no-refine", rich_help_panel=_PANEL, help="Refine the half-lives between the grid's values (a "
    "pattern search, then Brent's search to 0.02 in log2 half-life).")]
Practice = Annotated[bool, typer.Option(
    "--practice/--no-practice", rich_help_panel=_PANEL, help="Test a practice curve (log(1 + events in the "
    "category)).")]
#: the log's columns that cannot hold categories
_RESERVED = ("user", "time", "item", "reward", "propensity")
_FEATURE = re.compile(r"f_(\d+)$")


@dataclass(frozen=True)
class DynamicsOptions:
    """The options of ``fit`` that only ``--family linear_dynamics`` reads, as given (``None``: not given).

    >>> DynamicsOptions(categories="genre").given()
    ['--categories']
    >>> DynamicsOptions(refine=False, practice=False).given()
    ['--no-refine', '--no-practice']
    """

    categories: str | None = None
    time_unit: float | None = None
    exposure_half_lives: str | None = None
    habit_half_lives: str | None = None
    refine: bool = True
    practice: bool = True

    def given(self) -> list[str]:
        """The options given on the command line (the flags' non-default values)."""
        named = [("--categories", self.categories), ("--time-unit", self.time_unit),
                 ("--exposure-half-lives", self.exposure_half_lives), ("--habit-half-lives", self.habit_half_lives)]
        return ([name for name, value in named if value is not None] + ([] if self.refine else ["--no-refine"])
                + ([] if self.practice else ["--no-practice"]))


def check_dynamics_options(family: str, options: DynamicsOptions, *, dp_epsilon: float | None,
                           fair_attribute: str | None, choose_space: bool | None) -> None:
    """The options ``--family linear_dynamics`` needs and refuses, checked before the log is read.

    >>> check_dynamics_options("auto", DynamicsOptions(time_unit=60.0), dp_epsilon=None, fair_attribute=None,
    ...                        choose_space=None)
    Traceback (most recent call last):
    ...
    warmstart.cli._common.CliError: --time-unit: expected only with --family linear_dynamics, got --family auto
    """
    if family != NAME:
        if options.given():
            raise CliError(f"{', '.join(options.given())}: expected only with --family {NAME}, got --family {family}")
        return
    if dp_epsilon is not None:
        raise CliError(f"--dp-epsilon: expected no differential privacy with --family {NAME} (its structure search "
                       f"is not private), got --dp-epsilon {dp_epsilon}")
    if fair_attribute is not None:
        raise CliError(f"--fair-attribute: expected no fair-types constraint with --family {NAME} (fair types are "
                       f"fitted in the linear-Gaussian family), got --fair-attribute {fair_attribute!r}")
    if choose_space:
        raise CliError(f"--choose-space: expected no space choice with --family {NAME} (its item space is the "
                       "log's columns: --categories, the other f_* and the constant), got --choose-space; leave it "
                       "out or give --no-choose-space")
    if not options.categories:
        raise CliError(f"--categories: expected with --family {NAME}: the items' categories, as 0/1 feature "
                       "columns (--categories f_3,f_4) or one per-item column (--categories genre), got none")


# ---------------------------------------------------------------------------------------------- the catalogue
@dataclass(frozen=True)
class Catalogue:
    """The items' categories ``cats (n_items, C)`` and static features ``static (n_items, p)``, with their
    names, in the order of the log's item ids."""

    categories: list[str]
    cats: np.ndarray
    static: np.ndarray
    static_names: list[str]
    dropped: list[str]

    def rows(self) -> np.ndarray:
        """Each item's first ``p + C`` numbers of a candidate row (the time follows)."""
        return np.hstack([self.static, self.cats])

    def row_names(self) -> list[str]:
        """The names of a candidate row's ``p + C + 1`` numbers (see the module's example)."""
        return [*self.static_names, *(f"in {c}" for c in self.categories), "time"]


def _static(cats: np.ndarray, categories: list[str], rest: np.ndarray, rest_names: list[str]
            ) -> tuple[np.ndarray, list[str], list[str]]:
    """The categories, then each other feature and the constant that is not a combination of those before it."""
    cols, names, dropped = [cats], [f"category {c}" for c in categories], []
    candidates = [*(rest[:, j] for j in range(rest.shape[1])), np.ones(cats.shape[0])]
    for col, name in zip(candidates, [*rest_names, "1"], strict=True):
        current = np.column_stack(cols)
        if np.linalg.matrix_rank(np.column_stack([current, col])) > np.linalg.matrix_rank(current):
            cols.append(col[:, None])
            names.append(name)
        else:
            dropped.append(name)
    return np.column_stack(cols), names, dropped


def catalogue_from_features(item_ids: np.ndarray, features: np.ndarray | None, names: list[str]) -> Catalogue:
    """Categories from 0/1 feature columns ``names`` (``f_j``) of the items' ``features (n_items, d)``.

    >>> features = np.array([[1.0, 0.5], [0.0, 2.0], [0.0, 1.0]])
    >>> catalogue = catalogue_from_features(np.array(["a", "b", "c"]), features, ["f_0"])
    >>> catalogue.cats.tolist(), catalogue.static_names
    ([[1.0], [0.0], [0.0]], ['category f_0', 'f_1', '1'])
    """
    d = 0 if features is None else features.shape[1]
    index = [int(m.group(1)) for m in map(_FEATURE.match, names) if m]
    unknown = [n for n, j in zip(names, index, strict=True) if j >= d]
    if unknown:
        has = f"f_0 .. f_{d - 1}" if d else "it has none"
        raise CliError(f"--categories: expected feature columns of the log ({has}), got "
                       f"{', '.join(repr(n) for n in unknown)}")
    assert features is not None
    cats = features[:, index]
    for j, name in enumerate(names):
        bad = ~np.isin(cats[:, j], (0.0, 1.0))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise CliError(f"--categories {name}: expected 0 or 1 for every item, got {float(cats[i, j])!r} for item "
                           f"{str(item_ids[i])!r}")
        if not cats[:, j].any():
            raise CliError(f"--categories {name}: expected at least one item in the category, got 0 for every item")
    rest = [j for j in range(d) if j not in index]
    static, static_names, dropped = _static(cats, list(names), features[:, rest], [f"f_{j}" for j in rest])
    return Catalogue(list(names), cats, static, static_names, dropped)


def catalogue_from_values(item_ids: np.ndarray, values: list[str], column: str, rest: np.ndarray,
                          rest_names: list[str]) -> Catalogue:
    """Categories from one value per item (``|`` separates several; empty: none); see the module's example."""
    sets = [sorted({v.strip() for v in value.split("|") if v.strip()}) for value in values]
    categories = sorted({c for s in sets for c in s})
    if not categories:
        raise CliError(f"--categories {column}: expected category names in the column, got only empty values")
    number = {c: k for k, c in enumerate(categories)}
    cats = np.zeros((len(item_ids), len(categories)))
    for i, s in enumerate(sets):
        cats[i, [number[c] for c in s]] = 1.0
    static, static_names, dropped = _static(cats, categories, rest, rest_names)
    return Catalogue(categories, cats, static, static_names, dropped)


def _item_values(path: Path, item_ids: np.ndarray, column: str) -> list[str]:
    """One value of ``column`` per item of ``item_ids``, read from the log; rows of an item that disagree are
    an error naming the item and the rows."""
    from warmstart.data._columns import _as_text, read_columns

    raw = read_columns(path, {"item": "item", "value": column})
    items, values = _as_text(raw["item"]), _as_text(raw["value"])
    ids, inverse = np.unique(items, return_inverse=True)
    inverse = inverse.ravel()
    if not np.array_equal(ids, item_ids):  # one reader of the same file: cannot happen
        raise CliError(f"--categories {column}: the column's items do not match the log's")
    first = np.full(ids.size, -1, dtype=np.int64)
    first[inverse[::-1]] = np.arange(items.size)[::-1]
    differs = values != values[first[inverse]]
    if differs.any():
        r = int(np.flatnonzero(differs)[0])
        f = int(first[inverse[r]])
        raise CliError(f"--categories {column}: expected the same value in every row of an item, got item "
                       f"{str(items[r])!r} with {str(values[f])!r} in row {f + 1} and {str(values[r])!r} in row {r + 1}")
    return [str(v) for v in values[first]]


def read_catalogue(path: Path, events: Any, spec: str) -> Catalogue:
    """The catalogue of ``--categories SPEC`` for the log at ``path`` (read as ``events``)."""
    from warmstart.data._columns import read_header

    names = [n.strip() for n in spec.split(",")]
    if any(not n for n in names) or len(set(names)) != len(names):
        raise CliError(f"--categories: expected distinct column names separated by commas, got {spec!r}")
    header = read_header(path)
    missing = [n for n in names if n not in header]
    if missing:
        raise CliError(f"--categories: expected columns of the log, got no column {missing[0]!r} (columns: "
                       f"{', '.join(header)})")
    if all(_FEATURE.match(n) for n in names):
        return catalogue_from_features(events.item_ids, events.features, names)
    if len(names) > 1 or names[0] in _RESERVED:
        raise CliError(f"--categories: expected f_* feature columns (0/1, comma-separated) or one per-item column "
                       f"other than {', '.join(_RESERVED)}, got {spec!r}")
    d = 0 if events.features is None else events.features.shape[1]
    rest = np.zeros((events.n_items, 0)) if events.features is None else events.features
    return catalogue_from_values(events.item_ids, _item_values(path, events.item_ids, names[0]), names[0], rest,
                                 [f"f_{j}" for j in range(d)])


# ---------------------------------------------------------------------------------------------- the fit
def median_gap(user: np.ndarray, times: np.ndarray) -> float:
    """The median gap between a user's consecutive events at different times (events sorted by user, time).

    >>> median_gap(np.array([0, 0, 0, 1, 1]), np.array([0.0, 2.0, 2.0, 5.0, 8.0]))
    2.5
    """
    gaps = np.diff(times)[(np.diff(user) == 0) & (np.diff(times) > 0)]
    if gaps.size == 0:
        raise CliError("--time-unit: could not be chosen from the log (no user has two events at different times); "
                       "expected --time-unit")
    return float(np.median(gaps))


def _half_lives(text: str | None, option: str, default: tuple[float, ...]) -> tuple[float, ...]:
    if text is None:
        return default
    try:
        return tuple(float(v) for v in text.split(","))
    except ValueError as exc:
        raise CliError(f"{option}: expected half-lives separated by commas (1,2,4), got {text!r}") from exc


def dynamics_config(options: DynamicsOptions, fit_cfg: Any, unit: float) -> Any:
    """The dynamics fit's settings from the options (``fit_cfg``: the ``FitConfig`` of ``fit``'s options), for
    times counted in units of ``unit`` (the structure's own unit is then 1)."""
    from warmstart.families.linear.dynamics_fit import DynamicsFitConfig

    base = DynamicsFitConfig()
    if not (unit > 0 and math.isfinite(unit)):
        raise CliError(f"--time-unit: expected a positive number of the log's time units (seconds for "
                       f"timestamps), got {unit}")
    ex = _half_lives(options.exposure_half_lives, "--exposure-half-lives", base.exposure_half_lives)
    hb = _half_lives(options.habit_half_lives, "--habit-half-lives", base.habit_half_lives)
    try:
        return replace(base, exposure_half_lives=ex, habit_half_lives=hb, time_unit=1.0, practice=options.practice,
                       refine_steps=base.refine_steps if options.refine else 0,
                       polish_steps=base.polish_steps if options.refine else 0,
                       decay_tol=base.decay_tol if options.refine else None, fit=fit_cfg, seed=fit_cfg.seed)
    except ValueError as exc:
        raise CliError("--" + str(exc).replace("_", "-", 2)) from exc


def fit_dynamics_log(log: Path | None, out_path: Path, fit_cfg: Any, bounds: Any, options: DynamicsOptions) -> None:
    """``fit --log FILE --family linear_dynamics``: read, fit, write the population and the items' rows, print
    what was chosen and how to serve it."""
    from warmstart.data.events import load_events
    from warmstart.families.linear.dynamic_family import from_linear
    from warmstart.families.linear.dynamics_fit import DynamicsData, fit_dynamics
    from warmstart.families.linear.item_features import save_item_features

    assert log is not None  # fit checked --family linear_dynamics has --log
    try:
        events = load_events(log, bounds=bounds)
        assert options.categories is not None
        catalogue = read_catalogue(log, events, options.categories)
    except ValueError as exc:
        raise CliError(str(exc).replace("(max_reward)", "(--max-reward)").replace("(max_feature)", "(--max-feature)")
                       ) from exc
    unit = options.time_unit if options.time_unit is not None else median_gap(events.user, events.time)
    config = dynamics_config(options, fit_cfg, unit)
    origin = time_origin(events.time, events.time_kind)
    # the rows' time is counted in units from an origin (the service bounds features, 1e6 by default: seconds
    # since 1970 would exceed it), so the structure's own unit is 1
    scaled = replace(events, time=(events.time - origin) / unit)
    data = DynamicsData.from_events(scaled, catalogue.cats, catalogue.static)
    with progress_bar(f"fit {NAME} ({events.n_users:,} users, {events.n_events:,} events)") as bar:
        t0 = time.perf_counter()
        try:
            linear, spec = fit_dynamics(data, config, bar)
        except ValueError as exc:
            raise CliError(f"--log: {exc}") from exc
        elapsed = time.perf_counter() - t0
    population = from_linear(linear)
    items_path = out_path.with_suffix(".items.npz")
    record = candidates_record(catalogue, TimeScale(events.time_kind, origin, unit, options.time_unit is None,
                                                    float(np.abs(scaled.time).max())), items_path.name)
    population = replace(population, record={**(population.record or {}), "candidates": record})
    population.save(out_path)
    save_item_features(items_path, events.item_ids, catalogue.rows(), {"source": f"{NAME} candidate rows",
                                                                       "columns": catalogue.row_names()[:-1]})
    print_dynamics(population, spec, record, elapsed, out_path)
    out.print(f"wrote {out_path} and {items_path} (each item's candidate row without the time)", soft_wrap=True,
              markup=False, highlight=False)


@dataclass(frozen=True)
class TimeScale:
    """How a candidate row's time is counted: ``(t - origin) / unit`` of the log's times ``t`` (seconds since
    1970 UTC for timestamps); ``largest`` the largest such value in the log.

    >>> TimeScale("timestamp", 1704067200.0, 3600.0, False, 10.0).describe()
    '(seconds since 1970 UTC - 1704067200) / 3600: hours since 2024-01-01T00:00:00Z'
    >>> TimeScale("number", 0.0, 2.0, True, 10.0).describe()
    "(the log's time - 0) / 2"
    """

    kind: str
    origin: float
    unit: float
    chosen: bool
    largest: float

    def describe(self) -> str:
        if self.kind != "timestamp":
            return f"(the log's time - {self.origin:g}) / {self.unit:g}"
        since = datetime.fromtimestamp(self.origin, UTC).isoformat().replace("+00:00", "Z")
        named = {1.0: "seconds", 60.0: "minutes", 3600.0: "hours", 86400.0: "days"}.get(self.unit, f"units of "
                                                                                         f"{self.unit:g} s")
        return f"(seconds since 1970 UTC - {self.origin:.0f}) / {self.unit:g}: {named} since {since}"


def time_origin(times: np.ndarray, kind: str) -> float:
    """Where a candidate row's time counts from: 0 for a log of numbers, the UTC midnight before the first
    event for timestamps.

    >>> time_origin(np.array([1704070000.0]), "timestamp"), time_origin(np.array([5.0]), "number")
    (1704067200.0, 0.0)
    """
    return float(np.floor(times.min() / 86400.0) * 86400.0) if kind == "timestamp" else 0.0


def candidates_record(catalogue: Catalogue, scale: TimeScale, items: str) -> dict[str, Any]:
    """What a client needs to build a candidate row, kept in the population's ``record["candidates"]``."""
    return {"layout": "[static features, categories (0/1), time]", "columns": catalogue.row_names(),
            "static": catalogue.static_names, "categories": catalogue.categories, "dropped": catalogue.dropped,
            "time": scale.describe(), "time_origin": scale.origin, "time_unit": scale.unit,
            "time_kind": scale.kind, "largest_time": scale.largest,
            "time_unit_source": "median gap between a user's events" if scale.chosen else "--time-unit",
            "items": items}


# ---------------------------------------------------------------------------------------------- printing
def _duration(units: float, unit: float, timestamps: bool) -> str:
    """Half-lives in the time unit, and in hours or days for timestamps."""
    text = f"{units:.2f} units"
    if timestamps:
        seconds = units * unit
        text += f" ({seconds / 86400:.2f} days)" if seconds >= 86400 else f" ({seconds / 3600:.2f} h)"
    return text


def print_dynamics(population: Any, spec: Any, record: dict[str, Any], elapsed: float, path: Path) -> None:
    """What was chosen (half-lives, habit categories, practice, K; each type's dynamic coefficients) and how to
    serve the population with the candidate rows a client sends."""
    names, unit = record["categories"], record["time_unit"]
    stamps = record["time_kind"] == "timestamp"
    exposure, habit = spec.half_lives()
    dyn, k = population.record["dynamics"], population.record["linear"]["n_types"]
    habits = ", ".join(names[c] for c in spec.habit_categories)
    lines = [f"categories: {', '.join(f'{c} {n}' for c, n in enumerate(names))}",
             f"time unit: {unit:g}{' s' if stamps else ''} ({record['time_unit_source']})",
             f"satiation: exposure half-life {_duration(exposure, unit, stamps)}",
             f"habit: built by {habits}, half-life {_duration(habit, unit, stamps)}" if habits
             else "habit: no category builds a habit",
             f"practice (log(1 + events in the category)): {'modelled' if spec.practice else 'not modelled'}",
             (f"K = {k} type{'s' if k > 1 else ''} (and the novel component); the structure chosen on "
              f"{dyn['n_users']:,} users among {len(dyn['candidates'])} candidates (decays by the marginal "
              "likelihood of a one-type model, habit categories by Wald tests, practice by BIC)")]
    for line in lines:
        out.print(line, soft_wrap=True, markup=False, highlight=False)
    p = len(record["static"])
    columns = [c.replace("satiation", "satiation per exposure:").replace("practice", "practice:")
               for c in spec.columns(p)[p:]]
    if spec.per_category:
        columns = [re.sub(r"\d+$", lambda m: names[int(m.group(0))], c) if not c.startswith("habit") else c
                   for c in columns]
    table = Table(title=f"each type's mean dynamic coefficients, weight in brackets ({elapsed:.1f} s)")
    table.add_column("coefficient")
    for t in range(population.n_types):
        table.add_column(f"{'novel' if t == k else f'type {t}'} ({population.weights[t]:.3f})", justify="right")
    mu = population.params["mu"]
    for j, col in enumerate(columns):  # one row per coefficient: a catalogue may have many categories
        table.add_row(col.replace("habit", "habit per unit of stock"), *(f"{v:+.4f}" for v in mu[:, p + j]))
    out.print(table)
    _print_serving(population, record, path)


def _print_serving(population: Any, record: dict[str, Any], path: Path) -> None:
    try:
        population.model.plan_dynamics(population.params)
        plan = "type_plan plans with the learned dynamics (send each category at most once)"
    except ValueError:
        plan = "type_plan needs a catalogue of one category per item and no other static feature"
    columns = record["columns"]
    # the service bounds features (1e6 by default): room for ten times the log's span
    bound = 10.0 ** math.ceil(math.log10(max(10.0 * record["largest_time"], 1.0)))
    flag = f" --max-feature {bound:.0e}" if bound > 1e6 else ""
    out.print(f"serve: warmstart serve --db warmstart.db --population {path}{flag} (type_ts; --policy type_greedy, "
              f"or {plan}). A candidate is {len(columns)} numbers: [{', '.join(columns)}], the time "
              f"{record['time']}; {record['items']} holds each item's row without the time", soft_wrap=True,
              markup=False, highlight=False)
