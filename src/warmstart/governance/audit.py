"""Audits of what a population infers about users: outcomes per inferred type and per group (fairness); the
log, item features and type inference they share with the leakage audit (``warmstart.governance.leakage``).

Both start from an event log and a fitted population. A user's inferred type is their exact posterior over the
population's types and the novel component given all their logged events (``infer_types``: the summaries of
``warmstart fit --log``, ``event_summary``, then ``responsibilities``). The item features come from the log's
``f_*`` columns or, for a population fitted on learned features, from the ``.items.npz`` file ``warmstart fit
--log`` wrote beside it (``item_features_for``).

Fairness (``fairness_audit``): per segment of users (each MAP inferred type, each type weighted by
responsibility, each value of a user-supplied group column, each true type on the simulator), the mean reward
per user, per event, in the first events and after them, with 95% bootstrap CIs over users and the disparity
flags; the statistics, the report and its files are in ``warmstart.governance.fairness`` (their names are
importable from here too).

Leakage: ``warmstart.governance.leakage``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from warmstart import stats
from warmstart.data._columns import _as_text, _user_ids, read_columns
from warmstart.data.events import EventData, events_from_log, load_events
from warmstart.families.linear.events import event_summary
from warmstart.families.linear.fit import responsibilities
from warmstart.families.linear.population import Population
from warmstart.governance.fairness import (
    DEFAULT_MARGIN,
    FAIRNESS_COLUMNS,
    FIRST_EVENTS,
    METRICS,
    FairnessReport,
    Segment,
    Stat,
    bootstrap_stats,
    build_segments,
    fairness_markdown,
    fairness_rows,
    rule_and_config,
    segment_stats,
    user_outcomes,
    write_fairness,
)

#: the names users import from here: the log, item features and type inference (also the leakage audit's), the
#: fairness audit, and its report and output (defined in ``warmstart.governance.fairness``)
__all__ = [
    "DEFAULT_MARGIN", "FAIRNESS_COLUMNS", "FIRST_EVENTS", "METRICS", "TRUE_TYPE", "AuditLog",
    "FairnessReport", "ItemFeatureSource", "Progress", "Segment", "Stat", "TypeInference", "check_dimension",
    "fairness_audit", "fairness_markdown", "fairness_rows", "feature_names", "infer_types",
    "item_features_for", "load_audit_log", "per_user_values", "write_fairness",
]

Progress = Callable[[str, float], None]

TRUE_TYPE = "true_type"


def _quiet(message: str, fraction: float) -> None:
    pass


@contextmanager
def _no_nan_warnings() -> Iterator[None]:
    """Silence numpy's "All-NaN slice" and "Mean of empty slice" warnings: undefined values become ``None``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


# ---------------------------------------------------------------------------------------------- the log
@dataclass(frozen=True, eq=False)
class AuditLog:
    """An event log with per-user columns: ``columns[name]`` holds one text value per user, aligned with
    ``events.user_ids`` (a group, a sensitive attribute, a true type).

    >>> events = EventData.from_rows(["u1", "u2", "u1"], [0, 0, 1], ["x", "y", "y"], [1.0, 0.0, 0.5])
    >>> audit = AuditLog(events, {"group": ["north", "south"]})
    >>> audit.column("group").tolist()
    ['north', 'south']
    >>> audit.column("age", "--group")
    Traceback (most recent call last):
    ...
    ValueError: --group 'age': expected a per-user column of memory, got no such column (per-user columns ...
    """

    events: EventData
    columns: Mapping[str, np.ndarray] = field(default_factory=dict)
    source: str = "memory"

    def __post_init__(self) -> None:
        cols = {}
        for name, values in self.columns.items():
            arr = np.asarray(values)
            if arr.shape != (self.events.n_users,):
                raise ValueError(f"column {name!r}: expected one value per user, shape ({self.events.n_users},), "
                                 f"got shape {arr.shape}")
            cols[name] = _as_text(arr)
        object.__setattr__(self, "columns", cols)

    def column(self, name: str, option: str = "column") -> np.ndarray:
        """The per-user values of ``name``; a ``ValueError`` naming it (and ``option``) when absent."""
        if name not in self.columns:
            have = sorted(self.columns) or ["none"]
            raise ValueError(f"{option} {name!r}: expected a per-user column of {self.source}, got no such column "
                             f"(per-user columns read: {', '.join(have)})")
        return self.columns[name]


def load_audit_log(path: str | Path, columns: Sequence[str] = (), *, user: str = "user") -> AuditLog:
    """Read an event log (CSV or Parquet, ``docs/formats.md``) and the per-user ``columns`` named.

    A simulated log (``.npz`` from ``warmstart simulate``) is read as events too (``events_from_log``) and
    carries its ground truth as the column ``true_type`` (``outlier`` for users of no type). A per-user column
    must hold one value for every row of a user: a missing column, an empty value, or two values for one user
    raise a ``ValueError`` naming the column (and the user).

    >>> import warmstart as ws
    >>> from warmstart.data.bandit_log import save_log
    >>> cfg = ws.sim.LinearTypesConfig(dim=3, n_types=3, minority_share=0.3, outlier_share=0.0)
    >>> log = ws.sim.LinearTypesPopulation(cfg).logged(90, 20, seed=0)          # 90 users of 3 types
    >>> save_log("log.npz", log)                                                # with the true types
    >>> audit = load_audit_log("log.npz")
    >>> audit.events.n_users, audit.events.n_events, audit.column("true_type")[:5].tolist()
    (90, 1800, ['1', '0', '0', '0', '2'])
    """
    path = Path(path)
    if path.name.lower().endswith(".npz"):
        return _load_simulated(path, columns)
    events = load_events(path, user=user)
    if not columns:
        return AuditLog(events, {}, str(path))

    def select(header: list[str]) -> dict[str, str]:
        missing = [c for c in columns if c not in header]
        if missing:
            raise ValueError(f"column {missing[0]!r}: expected a per-user column, got no such column "
                             f"(columns: {', '.join(header)})")
        return {"user": user, **{f"col {j}": c for j, c in enumerate(columns)}}

    raw = read_columns(path, select)
    ids = _user_ids(raw["user"], user)
    index = np.searchsorted(events.user_ids, ids)
    index = np.clip(index, 0, events.n_users - 1)
    if not np.array_equal(events.user_ids[index], ids):  # cannot happen for a file load_events read
        raise ValueError(f"{path}: column {user!r} could not be matched to the users of the log")
    cols = {c: per_user_values(events.n_users, index, raw[f"col {j}"], c, events.user_ids)
            for j, c in enumerate(columns)}
    return AuditLog(events, cols, str(path))


def per_user_values(n_users: int, user_index: np.ndarray, values: np.ndarray, name: str,
                    user_ids: np.ndarray | None = None) -> np.ndarray:
    """One value per user from per-row values (``user_index[r]`` the user of row ``r``); a ``ValueError``
    naming the column when a row is empty or a user has two different values.

    >>> import numpy as np
    >>> per_user_values(2, np.array([0, 0, 1]), np.array(["x", "x", "y"]), "group").tolist()
    ['x', 'y']
    >>> per_user_values(2, np.array([0, 0, 1]), np.array(["x", "z", "y"]), "group")
    Traceback (most recent call last):
    ...
    ValueError: column 'group': expected one value per user (the column must be constant within a user), ...
    """
    text = _as_text(np.asarray(values))
    ids = np.arange(n_users) if user_ids is None else user_ids
    empty = np.isin(np.char.lower(np.char.strip(text.astype(str))), ["", "nan", "none", "null"])
    if empty.any():
        r = int(np.flatnonzero(empty)[0])
        raise ValueError(f"column {name!r}: expected a value in every row, got a missing value in row {r + 1} "
                         f"(user {ids[user_index[r]]!s})")
    first = np.full(n_users, -1, dtype=np.int64)
    first[user_index[::-1]] = np.arange(user_index.shape[0])[::-1]
    if np.any(first < 0):
        u = int(np.flatnonzero(first < 0)[0])
        raise ValueError(f"column {name!r}: expected a value for every user, got none for user {ids[u]!s}")
    ref = text[first]
    differs = text != ref[user_index]
    if differs.any():
        r = int(np.flatnonzero(differs)[0])
        u = user_index[r]
        raise ValueError(f"column {name!r}: expected one value per user (the column must be constant within a "
                         f"user), got {str(ref[u])!r} and {str(text[r])!r} for user {ids[u]!s} (row {r + 1})")
    return ref


def _load_simulated(path: Path, columns: Sequence[str]) -> AuditLog:
    from warmstart.data.bandit_log import OUTLIER_TYPE, load_log, load_truth

    log = load_log(path)
    truth_type = load_truth(path).get("type")
    if np.any(log.action < 0):
        raise ValueError(f"log file {path}: expected every event logged (no action -1 padding); export a padded "
                         "log as an event file (CSV or Parquet) instead")
    events = events_from_log(log)
    cols: dict[str, np.ndarray] = {}
    if truth_type is not None:
        cols[TRUE_TYPE] = np.where(truth_type == OUTLIER_TYPE, "outlier", truth_type.astype(str))
    audit = AuditLog(events, cols, str(path))
    for c in columns:
        audit.column(c)
    return audit


# ---------------------------------------------------------------------------------------------- inference
@dataclass(frozen=True, eq=False)
class ItemFeatureSource:
    """Item features aligned with ``events.item_ids`` and where they came from.

    >>> events = EventData.from_rows(["u1", "u2"], [0, 0], ["x", "y"], [1.0, 0.0], features=[[1, 0], [0, 1]])
    >>> source = item_features_for(events)
    >>> source.source, source.names, source.features.tolist(), source.items_without_features
    ('log', ['f_0', 'f_1'], [[1.0, 0.0], [0.0, 1.0]], 0)
    """

    features: np.ndarray
    source: str  # "log", "items file" or "given"
    names: list[str]
    items_without_features: int = 0


def feature_names(dim: int, learned: bool) -> list[str]:
    """Readable names of item features: ``f_0..`` for a log's own, the factorisation's meaning when learned.

    >>> feature_names(2, learned=False), feature_names(3, learned=True)
    (['f_0', 'f_1'], ['overall level', 'item popularity', 'latent factor 1'])
    """
    if not learned:
        return [f"f_{j}" for j in range(dim)]
    names = ["overall level", "item popularity"]  # (1, item bias c_i, ...): see models.item_features
    return (names + [f"latent factor {j + 1}" for j in range(dim - 2)])[:dim]


def item_features_for(events: EventData, items_path: str | Path | None = None) -> ItemFeatureSource:
    """The item features to infer types with: the log's ``f_*`` columns, or those of an ``.items.npz`` file
    (``warmstart fit --log`` writes one beside a population fitted on learned features). Items the file does
    not know get ``(1, 0, .., 0)``, what the factorisation gives an item no training user had.

    >>> events = EventData.from_rows(["u1", "u2"], [0, 0], ["x", "y"], [1.0, 0.0], features=[[1, 0], [0, 1]])
    >>> item_features_for(events).features.shape                  # the log's own f_* columns
    (2, 2)
    >>> item_features_for(EventData.from_rows(["u1"], [0], ["x"], [1.0]))
    Traceback (most recent call last):
    ...
    ValueError: item features: expected the log's feature columns f_0.. or an items file (...), got neither
    """
    if items_path is None:
        if events.features is None:
            raise ValueError("item features: expected the log's feature columns f_0.. or an items file (the "
                             "population.items.npz that `warmstart fit --log` writes; --items FILE), got neither")
        return ItemFeatureSource(events.features, "log", feature_names(events.features.shape[1], False))
    from warmstart.families.linear.item_features import load_item_features

    ids, X, meta = load_item_features(items_path)
    info = meta.get("info") or {}
    learned = info.get("source") == "learned"
    # a file from the space choice names its features (content columns after the bias and factors)
    names = info.get("feature_names")
    if not (isinstance(names, list) and len(names) == X.shape[1]):
        names = feature_names(X.shape[1], learned)
    lookup = {str(i): k for k, i in enumerate(ids.tolist())}
    rows = np.array([lookup.get(str(i), -1) for i in events.item_ids.tolist()], dtype=np.int64)
    out = np.zeros((events.n_items, X.shape[1]))
    out[rows >= 0] = X[rows[rows >= 0]]
    if np.any(rows < 0):
        if not learned:
            raise ValueError(f"items file {items_path}: expected features for every item of the log, got none "
                             f"for {int((rows < 0).sum())} items such as {events.item_ids[rows < 0][0]!r}")
        out[rows < 0, 0] = 1.0
    return ItemFeatureSource(out, "items file", [str(n) for n in names], int((rows < 0).sum()))


def check_dimension(population: Population, features: np.ndarray, where: str = "the log") -> None:
    """A ``ValueError`` saying how to fix it when the item features and the population disagree on ``d``.

    >>> import warmstart as ws
    >>> from warmstart.data.bandit_log import save_log
    >>> cfg = ws.sim.LinearTypesConfig(dim=3, n_types=3, minority_share=0.3, outlier_share=0.0)
    >>> log = ws.sim.LinearTypesPopulation(cfg).logged(90, 20, seed=0)          # 90 users of 3 types
    >>> save_log("log.npz", log)                                                # with the true types
    >>> population = ws.fit_population(log, ws.FitConfig(n_types=3, split_merge=False))
    >>> import numpy as np
    >>> check_dimension(population, np.zeros((5, 3)))          # d = 3 on both sides: nothing to say
    >>> check_dimension(population, np.zeros((5, 4)))
    Traceback (most recent call last):
    ...
    ValueError: item features: expected 3 features per item (the population's dimension), got 4 from ...
    """
    d = int(features.shape[1])
    if d != population.dim:
        raise ValueError(f"item features: expected {population.dim} features per item (the population's "
                         f"dimension), got {d} from {where}; use the population fitted on this log's features "
                         f"(or the items file written with it)")


@dataclass(frozen=True, eq=False)
class TypeInference:
    """Every user's posterior over the population's components: ``probs (N, K + 1)`` (novel last), ``n_events
    (N,)``, the component names and where the item features came from.

    >>> import warmstart as ws
    >>> from warmstart.data.bandit_log import save_log
    >>> cfg = ws.sim.LinearTypesConfig(dim=3, n_types=3, minority_share=0.3, outlier_share=0.0)
    >>> log = ws.sim.LinearTypesPopulation(cfg).logged(90, 20, seed=0)          # 90 users of 3 types
    >>> save_log("log.npz", log)                                                # with the true types
    >>> population = ws.fit_population(log, ws.FitConfig(n_types=3, split_merge=False))
    >>> inference = infer_types(load_audit_log("log.npz").events, population)
    >>> inference.probs.shape, inference.type_names, inference.feature_source
    ((90, 4), ['type 0', 'type 1', 'type 2', 'novel'], 'log')
    >>> inference.map_type[:8].tolist(), inference.confidence[:3].round(3).tolist()
    ([0, 1, 1, 1, 2, 2, 0, 2], [0.999, 0.996, 0.994])
    """

    probs: np.ndarray
    n_events: np.ndarray
    type_names: list[str]
    feature_source: str

    @property
    def map_type(self) -> np.ndarray:
        """Index of each user's most probable component."""
        return np.argmax(self.probs, axis=1)

    @property
    def confidence(self) -> np.ndarray:
        """Probability of each user's most probable component."""
        return self.probs.max(axis=1)


def infer_types(events: EventData, population: Population, features: np.ndarray | ItemFeatureSource | None = None,
                *, chunk: int = 2000, progress: Progress | None = None) -> TypeInference:
    """Each user's type posterior from all their events: the summaries ``warmstart fit --log`` fits on
    (``event_summary``), then ``responsibilities`` under ``population``. ``features`` default to the log's.

    >>> import warmstart as ws
    >>> from warmstart.data.bandit_log import save_log
    >>> cfg = ws.sim.LinearTypesConfig(dim=3, n_types=3, minority_share=0.3, outlier_share=0.0)
    >>> log = ws.sim.LinearTypesPopulation(cfg).logged(90, 20, seed=0)          # 90 users of 3 types
    >>> save_log("log.npz", log)                                                # with the true types
    >>> population = ws.fit_population(log, ws.FitConfig(n_types=3, split_merge=False))
    >>> inference = infer_types(load_audit_log("log.npz").events, population)
    >>> inference.map_type[:8].tolist(), log.users.type_id[:8].tolist()   # the true groups, the fit's labels
    ([0, 1, 1, 1, 2, 2, 0, 2], [1, 0, 0, 0, 2, 2, 1, 2])
    """
    src = features if isinstance(features, ItemFeatureSource) else (
        item_features_for(events) if features is None else ItemFeatureSource(np.asarray(features, float), "given",
                                                                              feature_names(np.shape(features)[1],
                                                                                            False)))
    check_dimension(population, src.features)
    report = progress or _quiet
    summary = event_summary(events, src.features)
    parts = []
    for start in range(0, summary.n_users, chunk):
        report("inferring types", start / max(summary.n_users, 1))
        parts.append(responsibilities(summary[start : start + chunk], population, chunk=chunk))
    report("inferring types", 1.0)
    probs = np.vstack(parts) if parts else np.zeros((0, population.n_components))
    return TypeInference(probs, events.lengths(), population.type_names(), src.source)


# ---------------------------------------------------------------------------------------------- fairness
def fairness_audit(log: AuditLog | EventData, population: Population, *, group: str | None = None,
                   true_type: str | None = None, features: np.ndarray | ItemFeatureSource | None = None,
                   inference: TypeInference | None = None, margin: float = DEFAULT_MARGIN, n_boot: int = 1000,
                   first_events: int = FIRST_EVENTS, min_users: int = 5, weighted: bool = True, seed: int = 0,
                   progress: Progress | None = None) -> FairnessReport:
    """Outcomes per inferred type (MAP, and responsibility-weighted when ``weighted``), per value of the
    per-user column ``group`` and per true type (the column ``true_type``), with bootstrap CIs and the
    disparity flags described in ``warmstart.governance.fairness``.

    >>> import warmstart as ws
    >>> from warmstart.data.bandit_log import save_log
    >>> cfg = ws.sim.LinearTypesConfig(dim=3, n_types=3, minority_share=0.3, outlier_share=0.0)
    >>> log = ws.sim.LinearTypesPopulation(cfg).logged(90, 20, seed=0)          # 90 users of 3 types
    >>> save_log("log.npz", log)                                                # with the true types
    >>> population = ws.fit_population(log, ws.FitConfig(n_types=3, split_merge=False))
    >>> report = fairness_audit(load_audit_log("log.npz"), population, true_type="true_type", n_boot=200)
    >>> per_user = report.overall.per_user                    # mean reward per user, 95% CI over users
    >>> report.n_users, round(per_user.mean, 3), [round(x, 3) for x in per_user.ci95]
    (90, 0.034, [-0.038, 0.123])
    >>> [s.label for s in report.segments if s.kind != "inferred type (weighted)"]
    ['inferred type: type 0', 'inferred type: type 1', 'inferred type: type 2', 'true type: 0', ...]
    """
    if not margin >= 0 or n_boot < 1 or first_events < 1 or min_users < 1:
        raise ValueError(f"margin >= 0, n_boot >= 1, first_events >= 1 and min_users >= 1 are required, got "
                         f"{margin}, {n_boot}, {first_events}, {min_users}")
    audit = log if isinstance(log, AuditLog) else AuditLog(log)
    events = audit.events
    group_values = audit.column(group, "--group") if group is not None else None
    true_values = audit.column(true_type, "--true-type") if true_type is not None else None
    report = progress or _quiet
    inf = inference or infer_types(events, population, features,
                                   progress=lambda m, f: report(m, 0.2 * f))
    if inf.probs.shape[0] != events.n_users:
        raise ValueError(f"inference: expected {events.n_users} users, got {inf.probs.shape[0]}")
    N = events.n_users
    W, meta = _segment_columns(inf, weighted, (("group", group_values), ("true type", true_values)))
    o = user_outcomes(events, first_events)
    point = segment_stats(W, o, np.ones((1, N)))[0]
    rng = np.random.default_rng([seed, 17])
    boots = bootstrap_stats(W, o, n_boot, rng, lambda m, f: report(m, 0.2 + 0.8 * f))
    with np.errstate(invalid="ignore"), _no_nan_warnings():
        lo, hi = stats.interval(boots, axis=0, omit_nan=True)
    segments = build_segments(meta, W, o, point, lo, hi, inf.confidence, inf.map_type, population.novel_index,
                              inf.type_names, margin, min_users)
    report("done", 1.0)
    rule, config = rule_and_config(group=group, true_type=true_type, margin=margin, n_boot=n_boot,
                                   first_events=first_events, min_users=min_users, weighted=weighted, seed=seed,
                                   feature_source=inf.feature_source)
    pop = {"n_types": population.n_types, "dim": population.dim, "fingerprint": population.fingerprint(),
           "type_names": inf.type_names}
    return FairnessReport(segments[0], segments[1:], config, rule, audit.source, N, events.n_events, pop)


def _segment_columns(inf: TypeInference, weighted: bool,
                     columns: Sequence[tuple[str, np.ndarray | None]]) -> tuple[np.ndarray, list[tuple[str, str]]]:
    """The segments as per-user weights ``W (N, n_segments)`` and their ``(kind, name)``: every user, each MAP
    inferred type with users, each type by responsibility (``weighted``), each value of the given columns."""
    map_t = inf.map_type
    cols: list[np.ndarray] = [np.ones(inf.probs.shape[0])]
    meta: list[tuple[str, str]] = [("all", "all users")]
    for k, name in enumerate(inf.type_names):
        if np.any(map_t == k):
            cols.append((map_t == k).astype(float))
            meta.append(("inferred type", name))
    if weighted:
        for k, name in enumerate(inf.type_names):
            cols.append(inf.probs[:, k])
            meta.append(("inferred type (weighted)", name))
    for kind, values in columns:
        if values is not None:
            for v in _sorted_labels(values):
                cols.append((values == v).astype(float))
                meta.append((kind, v))
    return np.column_stack(cols), meta


def _sorted_labels(values: np.ndarray) -> list[str]:
    """Distinct labels, numerically when every label is a number."""
    uniq = np.unique(values).tolist()
    try:
        return sorted(uniq, key=float)
    except ValueError:
        return uniq
