"""Audits of what a population infers about users: outcomes per inferred type and per group (fairness); the
log, item features and type inference they share with the leakage audit (``warmstart.governance.leakage``).

Both start from an event log and a fitted population. A user's inferred type is their exact posterior over the
population's types and the novel component given all their logged events (``infer_types``: the summaries of
``warmstart fit --log``, ``event_summary``, then ``responsibilities``). The item features come from the log's
``f_*`` columns or, for a population fitted on learned features, from the ``.items.npz`` file ``warmstart fit
--log`` wrote beside it (``item_features_for``).

Fairness (``fairness_audit``): per segment (each MAP inferred type, each type weighted by responsibility,
each value of a user-supplied group column, each true type on the simulator) the number of users, the mean
reward per user (each user's mean over their events, averaged over users), per event (total reward over total
events), in each user's first ``first_events`` events (the cold-start experience) and after them, each with a
95% percentile bootstrap CI over users (the same resamples for every segment). A segment is flagged on a
metric when it has at least ``min_users`` users and its whole CI lies below the overall mean by more than
``margin`` times the overall mean's magnitude: ``ci_high < overall - margin * |overall|``.

Leakage: ``warmstart.governance.leakage``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from warmstart import stats
from warmstart._version import __version__
from warmstart.data._columns import _as_text, _read_csv_columns, _read_parquet_columns
from warmstart.data.events import (
    EventData,
    _csv_header,
    _parquet_header,
    _user_ids,
    events_from_log,
    load_events,
)
from warmstart.families.linear.events import event_summary
from warmstart.families.linear.fit import responsibilities
from warmstart.families.linear.population import Population

Progress = Callable[[str, float], None]

DEFAULT_MARGIN = 0.1
FIRST_EVENTS = 10
TRUE_TYPE = "true_type"
METRICS = ("per_user", "per_event", "first_events", "later_events")


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
    ``events.user_ids`` (a group, a sensitive attribute, a true type)."""

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
    """
    path = Path(path)
    if path.name.lower().endswith(".npz"):
        return _load_simulated(path, columns)
    events = load_events(path, user=user)
    lower = path.name.lower()
    header = _csv_header(path) if lower.endswith((".csv", ".csv.gz")) else _parquet_header(path)
    missing = [c for c in columns if c not in header]
    if missing:
        raise ValueError(f"column {missing[0]!r}: expected a per-user column in {path}, got no such column "
                         f"(columns: {', '.join(header)})")
    if not columns:
        return AuditLog(events, {}, str(path))
    wanted = {"user": user, **{f"col {j}": c for j, c in enumerate(columns)}}
    raw = (_read_csv_columns(path, wanted) if lower.endswith((".csv", ".csv.gz"))
           else _read_parquet_columns(path, wanted))
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
    naming the column when a row is empty or a user has two different values."""
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
    """Item features aligned with ``events.item_ids`` and where they came from."""

    features: np.ndarray
    source: str  # "log", "items file" or "given"
    names: list[str]
    items_without_features: int = 0


def feature_names(dim: int, learned: bool) -> list[str]:
    """Readable names of item features: ``f_0..`` for a log's own, the factorisation's meaning when learned."""
    if not learned:
        return [f"f_{j}" for j in range(dim)]
    names = ["overall level", "item popularity"]  # (1, item bias c_i, ...): see models.item_features
    return (names + [f"latent factor {j + 1}" for j in range(dim - 2)])[:dim]


def item_features_for(events: EventData, items_path: str | Path | None = None) -> ItemFeatureSource:
    """The item features to infer types with: the log's ``f_*`` columns, or those of an ``.items.npz`` file
    (``warmstart fit --log`` writes one beside a population fitted on learned features). Items the file does
    not know get ``(1, 0, .., 0)``, what the factorisation gives an item no training user had."""
    if items_path is None:
        if events.features is None:
            raise ValueError("item features: expected the log's feature columns f_0.. or an items file (the "
                             "population.items.npz that `warmstart fit --log` writes; --items FILE), got neither")
        return ItemFeatureSource(events.features, "log", feature_names(events.features.shape[1], False))
    from warmstart.families.linear.item_features import load_item_features

    ids, X, meta = load_item_features(items_path)
    learned = (meta.get("info") or {}).get("source") == "learned"
    lookup = {str(i): k for k, i in enumerate(ids.tolist())}
    rows = np.array([lookup.get(str(i), -1) for i in events.item_ids.tolist()], dtype=np.int64)
    out = np.zeros((events.n_items, X.shape[1]))
    out[rows >= 0] = X[rows[rows >= 0]]
    if np.any(rows < 0):
        if not learned:
            raise ValueError(f"items file {items_path}: expected features for every item of the log, got none "
                             f"for {int((rows < 0).sum())} items such as {events.item_ids[rows < 0][0]!r}")
        out[rows < 0, 0] = 1.0
    return ItemFeatureSource(out, "items file", feature_names(X.shape[1], learned), int((rows < 0).sum()))


def check_dimension(population: Population, features: np.ndarray, where: str = "the log") -> None:
    """A ``ValueError`` saying how to fix it when the item features and the population disagree on ``d``."""
    d = int(features.shape[1])
    if d != population.dim:
        raise ValueError(f"item features: expected {population.dim} features per item (the population's "
                         f"dimension), got {d} from {where}; use the population fitted on this log's features "
                         f"(or the items file written with it)")


@dataclass(frozen=True, eq=False)
class TypeInference:
    """Every user's posterior over the population's components: ``probs (N, K + 1)`` (novel last), ``n_events
    (N,)``, the component names and where the item features came from."""

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
    (``event_summary``), then ``responsibilities`` under ``population``. ``features`` default to the log's."""
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
    probs = np.vstack(parts) if parts else np.zeros((0, population.n_types + 1))
    return TypeInference(probs, events.lengths(), population.type_names(), src.source)


# ---------------------------------------------------------------------------------------------- fairness
@dataclass(frozen=True)
class Stat:
    """A mean and its 95% bootstrap CI (``None`` where undefined: no user in the segment has the events)."""

    mean: float | None
    ci95: tuple[float | None, float | None]


@dataclass(frozen=True)
class Segment:
    """Outcomes of one segment of users. ``n_users`` is a count, or the summed responsibilities of a
    responsibility-weighted type; ``disparity`` names the metrics on which it is flagged."""

    kind: str
    name: str
    n_users: float
    n_events: float
    per_user: Stat
    per_event: Stat
    first_events: Stat
    later_events: Stat
    mean_confidence: float | None
    novel_share: float | None
    disparity: tuple[str, ...] = ()
    inferred_as: dict[str, float] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return self.name if self.kind == "all" else f"{self.kind}: {self.name}"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "name": self.name, "n_users": self.n_users,
                               "n_events": self.n_events}
        for m in METRICS:
            s: Stat = getattr(self, m)
            out[m] = {"mean": s.mean, "ci95": list(s.ci95)}
        out.update(mean_confidence=self.mean_confidence, novel_share=self.novel_share,
                   inferred_as=self.inferred_as, disparity=list(self.disparity))
        return out


@dataclass(frozen=True)
class FairnessReport:
    """What ``fairness_audit`` found; ``to_dict()`` is ``fairness.json``."""

    overall: Segment
    segments: list[Segment]
    config: dict[str, Any]
    rule: str
    source: str
    n_users: int
    n_events: int
    population: dict[str, Any]

    @property
    def flagged(self) -> list[Segment]:
        return [s for s in self.segments if s.disparity]

    def to_dict(self) -> dict[str, Any]:
        return {"audit": "fairness", "version": __version__, "source": self.source, "n_users": self.n_users,
                "n_events": self.n_events, "population": self.population, "config": self.config,
                "rule": self.rule, "overall": self.overall.to_dict(),
                "segments": [s.to_dict() for s in self.segments],
                "flagged": [{"kind": s.kind, "name": s.name, "metrics": list(s.disparity)} for s in self.flagged]}


def _user_outcomes(events: EventData, first_n: int) -> dict[str, np.ndarray]:
    """Per user: number of events, total reward, mean reward, mean over the first ``first_n`` events, mean
    after them (0 where there is none) and whether there is any."""
    n = events.lengths().astype(float)
    total = np.bincount(events.user, weights=events.reward, minlength=events.n_users)
    pos = np.arange(events.n_events) - events.starts[events.user]
    early = pos < first_n
    n_first = np.bincount(events.user[early], minlength=events.n_users).astype(float)
    s_first = np.bincount(events.user[early], weights=events.reward[early], minlength=events.n_users)
    n_late = n - n_first
    s_late = total - s_first
    with np.errstate(invalid="ignore", divide="ignore"):
        return {"n": n, "total": total, "mean": np.where(n > 0, total / np.maximum(n, 1), 0.0),
                "first": np.where(n_first > 0, s_first / np.maximum(n_first, 1), 0.0),
                "late": np.where(n_late > 0, s_late / np.maximum(n_late, 1), 0.0), "has_late": n_late > 0,
                "has": n > 0}


def _segment_stats(W: np.ndarray, o: dict[str, np.ndarray], counts: np.ndarray) -> np.ndarray:
    """The four metrics of every segment (columns of ``W``, per-user weights) under every row of ``counts``
    (bootstrap multiplicities of users, or ones): ``(n_rows, 4, n_segments)``."""
    has = o["has"].astype(float)[:, None]
    late = o["has_late"].astype(float)[:, None]
    Wh = W * has
    blocks = [Wh * o["mean"][:, None], Wh, Wh * o["total"][:, None], Wh * o["n"][:, None], Wh * o["first"][:, None],
              W * late * o["late"][:, None], W * late]
    S = counts @ np.hstack(blocks)
    k = W.shape[1]
    num_u, den_u, num_e, den_e, num_f, num_l, den_l = (S[:, j * k : (j + 1) * k] for j in range(7))
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.stack([num_u / den_u, num_e / den_e, num_f / den_u, num_l / den_l], axis=1)
    out[~np.isfinite(out)] = np.nan
    return out


def _bootstrap_stats(W: np.ndarray, o: dict[str, np.ndarray], n_boot: int, rng: np.random.Generator,
                     report: Progress) -> np.ndarray:
    """``(n_boot, 4, n_segments)``: the metrics on users resampled with replacement (the same resamples for
    every segment), in chunks of resamples to bound memory."""
    return stats.bootstrap(lambda counts: _segment_stats(W, o, counts), W.shape[0], n_boot, rng, counts=True,
                           progress=lambda lo: report("bootstrap", lo / n_boot))


def _num(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def fairness_audit(log: AuditLog | EventData, population: Population, *, group: str | None = None,
                   true_type: str | None = None, features: np.ndarray | ItemFeatureSource | None = None,
                   inference: TypeInference | None = None, margin: float = DEFAULT_MARGIN, n_boot: int = 1000,
                   first_events: int = FIRST_EVENTS, min_users: int = 5, weighted: bool = True, seed: int = 0,
                   progress: Progress | None = None) -> FairnessReport:
    """Outcomes per inferred type (MAP, and responsibility-weighted when ``weighted``), per value of the
    per-user column ``group`` and per true type (the column ``true_type``), with bootstrap CIs and the
    disparity flags described in the module docstring."""
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
    names = inf.type_names
    map_t = inf.map_type
    cols: list[np.ndarray] = [np.ones(N)]
    meta: list[tuple[str, str]] = [("all", "all users")]
    for k, name in enumerate(names):
        if np.any(map_t == k):
            cols.append((map_t == k).astype(float))
            meta.append(("inferred type", name))
    if weighted:
        for k, name in enumerate(names):
            cols.append(inf.probs[:, k])
            meta.append(("inferred type (weighted)", name))
    for kind, values in (("group", group_values), ("true type", true_values)):
        if values is not None:
            for v in _sorted_labels(values):
                cols.append((values == v).astype(float))
                meta.append((kind, v))
    W = np.column_stack(cols)
    o = _user_outcomes(events, first_events)
    point = _segment_stats(W, o, np.ones((1, N)))[0]
    rng = np.random.default_rng([seed, 17])
    boots = _bootstrap_stats(W, o, n_boot, rng, lambda m, f: report(m, 0.2 + 0.8 * f))
    with np.errstate(invalid="ignore"), _no_nan_warnings():
        lo, hi = stats.interval(boots, axis=0, omit_nan=True)
    weight = W * o["has"][:, None]
    n_users = weight.sum(0)
    n_ev = (W * o["n"][:, None]).sum(0)
    conf = (W * inf.confidence[:, None]).sum(0)
    novel = (W * (map_t == population.novel_index)[:, None]).sum(0)
    composition = W.T @ np.eye(len(names))[map_t]  # (segments, K + 1): users of each MAP type
    segments: list[Segment] = []
    for j, (kind, name) in enumerate(meta):
        seg = [Stat(_num(point[m, j]), (_num(lo[m, j]), _num(hi[m, j]))) for m in range(4)]
        flags: tuple[str, ...] = ()
        if j > 0 and n_users[j] >= min_users:
            flags = tuple(METRICS[m] for m in range(4)
                          if np.isfinite(hi[m, j]) and np.isfinite(point[m, 0])
                          and hi[m, j] < point[m, 0] - margin * abs(point[m, 0]))
        w_sum = max(float(W[:, j].sum()), 1e-12)
        share = composition[j] / w_sum
        top = np.argsort(-share, kind="stable")[:3]
        segments.append(Segment(kind, name, float(n_users[j]), float(n_ev[j]), per_user=seg[0],
                                per_event=seg[1], first_events=seg[2], later_events=seg[3],
                                mean_confidence=float(conf[j] / w_sum), novel_share=float(novel[j] / w_sum),
                                disparity=flags,
                                inferred_as={names[k]: float(share[k]) for k in top if share[k] > 0}))
    report("done", 1.0)
    rule = (f"a segment with at least {min_users} users is flagged on a metric when its whole 95% CI lies below "
            f"the overall mean by more than {margin:g} x |overall mean| (ci_high < overall - {margin:g} x "
            "|overall|)")
    config = {"group": group, "true_type": true_type, "margin": margin, "margin_relative_to": "|overall mean|",
              "n_boot": n_boot, "first_events": first_events, "min_users": min_users, "weighted": weighted,
              "seed": seed, "feature_source": inf.feature_source,
              "metrics": {"per_user": "mean over users of each user's mean reward per event",
                          "per_event": "total reward / total events",
                          "first_events": f"mean over users of their mean reward in their first {first_events} "
                                          "events (the cold-start experience)",
                          "later_events": f"the same after their first {first_events} events (users with more)"}}
    pop = {"n_types": population.n_types, "dim": population.dim, "fingerprint": population.fingerprint(),
           "type_names": names}
    return FairnessReport(segments[0], segments[1:], config, rule, audit.source, N, events.n_events, pop)


def _sorted_labels(values: np.ndarray) -> list[str]:
    """Distinct labels, numerically when every label is a number."""
    uniq = np.unique(values).tolist()
    try:
        return sorted(uniq, key=float)
    except ValueError:
        return uniq


def _fmt(s: Stat, digits: int = 3) -> str:
    if s.mean is None:
        return "n/a"
    lo, hi = s.ci95
    ci = "" if lo is None or hi is None else f" [{lo:.{digits}f}, {hi:.{digits}f}]"
    return f"{s.mean:.{digits}f}{ci}"


def fairness_rows(report: FairnessReport, weighted: bool = False) -> list[list[str]]:
    """Table rows (overall first): segment, users, reward per user [CI], per event [CI], first events [CI],
    later events [CI], most common inferred types, flagged metrics. Responsibility-weighted rows only with
    ``weighted``."""
    rows = []
    for s in [report.overall, *report.segments]:
        if s.kind == "inferred type (weighted)" and not weighted:
            continue
        users = f"{s.n_users:.0f}" if s.kind != "inferred type (weighted)" else f"{s.n_users:.1f}"
        inferred = ", ".join(f"{k} {v:.0%}" for k, v in list(s.inferred_as.items())[:2])
        rows.append([s.label, users, _fmt(s.per_user), _fmt(s.per_event), _fmt(s.first_events),
                     _fmt(s.later_events), inferred, ", ".join(s.disparity)])
    return rows


FAIRNESS_COLUMNS = ("segment", "users", "reward/user [95% CI]", "reward/event [95% CI]", "first events [95% CI]",
                    "later events [95% CI]", "inferred as", "disparity")


def fairness_markdown(report: FairnessReport) -> str:
    """The fairness table as markdown, with the rule and the flagged segments."""
    head = "| " + " | ".join(FAIRNESS_COLUMNS) + " |\n|" + "---|" * len(FAIRNESS_COLUMNS) + "\n"
    body = "".join("| " + " | ".join(r) + " |\n" for r in fairness_rows(report, weighted=True))
    flagged = report.flagged
    tail = ("\nFlagged: " + "; ".join(f"{s.kind} {s.name} ({', '.join(s.disparity)})" for s in flagged)
            if flagged else "\nNo segment flagged.")
    return (f"# Fairness audit of {report.source}\n\n{report.n_users} users, {report.n_events} events; first "
            f"events = each user's first {report.config['first_events']}.\n\n{head}{body}\nRule: {report.rule}."
            f"{tail}\n")


def write_fairness(report: FairnessReport, out_dir: str | Path) -> tuple[Path, Path]:
    """Write ``fairness.json`` and ``fairness.md`` to ``out_dir``; return their paths."""
    import json

    from warmstart._io import atomic_write

    out = Path(out_dir)
    j = atomic_write(out / "fairness.json", json.dumps(report.to_dict(), indent=1, allow_nan=False).encode())
    m = atomic_write(out / "fairness.md", fairness_markdown(report).encode())
    return j, m
