"""Generic event logs: who was shown which item, when, and what reward followed.

The format (CSV, ``.csv`` or ``.csv.gz``, or Parquet, ``.parquet`` / ``.pq`` through pyarrow), one row per
event:

=============== ========== ===================================================================================
column          required   meaning
=============== ========== ===================================================================================
``user``        yes        any id; integer ids (every value an integer) sort numerically, others as text
``time``        yes        a number, or an ISO 8601 timestamp (``2009-09-17T10:04:00``, a ``Z`` or ``+02:00``
                           suffix allowed; naive times are taken as UTC); orders a user's events and, across
                           users, says who came first (replay splits users by their first event)
``item``        yes        the action's id (text); the same id is the same item for every user
``reward``      yes        a finite number
``propensity``  no         the logging policy's probability of the action, in ``(0, 1]``
``f_0..f_{d-1}`` no        item features (another prefix with ``feature_prefix=``); every row of an item must
                           carry the same values, because a feature vector belongs to the item
=============== ========== ===================================================================================

Other columns are ignored. Timestamps become seconds since 1970-01-01 UTC (``EventData.time_kind ==
"timestamp"``). Rows are sorted by user and then by time; ties keep file order. **Duplicate ``(user, time,
item)`` rows are allowed** and kept as separate events (a repeated exposure, or a log that records time at
coarse resolution); the replay shows an item once per user and scores it with the mean of that user's rewards
for it (see ``warmstart.bench.replay``).

``export_events`` writes a logged-feedback record (``TrainingLog``, such as a simulator's ``EventLog``) in this format, and ``from_kt`` turns a knowledge-tracing
record (``KTData``) into events.

>>> ev = EventData.from_rows(["b", "a", "b"], [2.0, 5.0, 1.0], ["x", "y", "y"], [1.0, 0.0, 0.5])
>>> ev.user_ids.tolist(), ev.user.tolist(), ev.time.tolist(), ev.item_ids[ev.item].tolist()
(['a', 'b'], [0, 1, 1], [5.0, 1.0, 2.0], ['y', 'y', 'x'])
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from warmstart._io import atomic_write
from warmstart._validate import DEFAULT_BOUNDS, Bounds, bound_message, first_out_of_bounds
from warmstart.data._columns import (
    _as_text,
    _check_finite_rows,
    _check_propensity,
    _parse_numbers,
    _parse_time,
    _starts,
    _subset_rows,
    _user_ids,
    check_blocks,
    file_errors,
    read_columns,
)
from warmstart.data.kt import KTData

if TYPE_CHECKING:
    from warmstart.data.bandit_log import TrainingLog

EVENT_COLUMNS = ("user", "time", "item", "reward")
TIME_KINDS = ("number", "timestamp")


@dataclass(frozen=True, eq=False)
class EventData:
    """Events of many users, one row each, sorted by user and then by time.

    ``user[r]`` indexes ``user_ids`` (the block of user ``u`` is ``starts[u]:starts[u + 1]``), ``time[r]`` is
    a float (seconds since 1970 UTC when ``time_kind == "timestamp"``), ``item[r]`` indexes ``item_ids``,
    ``reward[r]`` a finite float, ``propensity`` ``(n_events,)`` in ``(0, 1]`` or ``None``. ``features`` is
    ``(n_items, d)`` (row ``i`` belongs to ``item_ids[i]``) or ``None``. The record is checked at construction.
    Build one with ``from_rows`` (any row order) or ``load_events``.

    >>> ev = EventData.from_rows(["b", "a", "b"], [2.0, 5.0, 1.0], ["x", "y", "y"], [1.0, 0.0, 0.5])
    >>> ev.n_users, ev.n_events, ev.lengths().tolist(), ev.first_times().tolist()
    (2, 3, [1, 2], [5.0, 1.0])
    >>> only_b = ev.subset([1])                                  # user "b", renumbered 0; the items are kept
    >>> only_b.user_ids.tolist(), only_b.n_events, only_b.item_ids.tolist()
    (['b'], 2, ['x', 'y'])
    >>> {k: ev.describe()[k] for k in ("n_users", "n_items_used", "mean_reward")}
    {'n_users': 2, 'n_items_used': 2, 'mean_reward': 0.5}
    """

    user: np.ndarray
    time: np.ndarray
    item: np.ndarray
    reward: np.ndarray
    user_ids: np.ndarray
    item_ids: np.ndarray
    starts: np.ndarray
    features: np.ndarray | None = None
    propensity: np.ndarray | None = None
    time_kind: str = "number"

    def __post_init__(self) -> None:
        for name, dtype in (("user", np.int64), ("item", np.int64), ("starts", np.int64),
                            ("time", np.float64), ("reward", np.float64)):
            arr = np.asarray(getattr(self, name))
            if arr.dtype != dtype:
                if arr.size and dtype == np.int64 and not np.issubdtype(arr.dtype, np.integer):
                    raise ValueError(f"{name}: expected integers, got dtype {arr.dtype}")
                try:
                    arr = arr.astype(dtype)
                except (TypeError, ValueError) as exc:
                    raise ValueError(f"{name}: expected numbers, got dtype {arr.dtype}") from exc
            object.__setattr__(self, name, arr)
        object.__setattr__(self, "user_ids", np.asarray(self.user_ids))
        object.__setattr__(self, "item_ids", np.asarray(self.item_ids, dtype=str))
        for name in ("features", "propensity"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, np.asarray(value, dtype=np.float64))
        self.validate()

    # ------------------------------------------------------------------------------------------ building
    @classmethod
    def from_rows(cls, user: Sequence[Any] | np.ndarray, time: Sequence[Any] | np.ndarray,
                  item: Sequence[Any] | np.ndarray, reward: Sequence[Any] | np.ndarray, *,
                  features: np.ndarray | None = None, propensity: Sequence[float] | np.ndarray | None = None,
                  bounds: Bounds | None = DEFAULT_BOUNDS) -> EventData:
        """Build from rows in any order, as a file holds them.

        ``time`` holds numbers or ISO 8601 strings; ``features``, when given, is ``(n_events, d)``, one
        vector per row, and must agree across the rows of an item. Users are numbered in sorted order of
        their ids (numeric when every id is an integer), items in sorted order of their ids (as text).
        Rewards and features must be within ``bounds`` (``warmstart._validate.Bounds``, ``|value| <= 1e6`` by
        default; None: finite is enough).
        """
        columns: dict[str, np.ndarray] = {"user": np.asarray(user), "time": np.asarray(time),
                                          "item": np.asarray(item), "reward": np.asarray(reward)}
        if propensity is not None:
            columns["propensity"] = np.asarray(propensity)
        names = {k: k for k in columns}
        feats = None
        if features is not None:
            feats = np.asarray(features)
            n = columns["reward"].shape[0]
            if feats.ndim != 2 or feats.shape[0] != n:
                raise ValueError(f"features: expected shape ({n}, d), one row per event, got shape {feats.shape}")
        return _assemble(columns, names, feats, "features", bounds)

    # ------------------------------------------------------------------------------------------ views
    @property
    def n_events(self) -> int:
        return int(self.reward.shape[0])

    @property
    def n_users(self) -> int:
        return int(self.starts.shape[0] - 1)

    @property
    def n_items(self) -> int:
        return int(self.item_ids.shape[0])

    @property
    def dim(self) -> int | None:
        """Number of item features, or ``None`` when the log has none."""
        return None if self.features is None else int(self.features.shape[1])

    def __len__(self) -> int:
        return self.n_events

    def lengths(self) -> np.ndarray:
        """Number of events of each user."""
        return np.diff(self.starts)

    def first_times(self) -> np.ndarray:
        """Time of each user's first event (users with no event get ``+inf``)."""
        out = np.full(self.n_users, np.inf)
        has = self.lengths() > 0
        out[has] = self.time[self.starts[:-1][has]]
        return out

    def subset(self, user_indices: Sequence[int] | np.ndarray) -> EventData:
        """The events of the given users (indices, in the order given), renumbered ``0 .. len - 1``. The item
        vocabulary and features are kept, so item ids mean the same thing in every subset."""
        idx = np.asarray(user_indices, dtype=np.int64).ravel()
        lens, new_starts, rows = _subset_rows(self.starts, self.lengths(), idx, "user")
        return EventData(user=np.repeat(np.arange(idx.size, dtype=np.int64), lens), time=self.time[rows],
                         item=self.item[rows], reward=self.reward[rows], user_ids=self.user_ids[idx],
                         item_ids=self.item_ids, starts=new_starts, features=self.features,
                         propensity=None if self.propensity is None else self.propensity[rows],
                         time_kind=self.time_kind)

    def with_rewards(self, reward: Sequence[float] | np.ndarray) -> EventData:
        """The same events with other rewards (one per row, checked as at construction): e.g. a rating turned
        into liked or not.

        >>> ev = EventData.from_rows(["a", "a", "b"], [0, 1, 0], ["x", "y", "x"], [4.5, 2.0, 4.0])
        >>> ev.with_rewards((ev.reward >= 4).astype(float)).reward.tolist()
        [1.0, 0.0, 1.0]
        """
        return replace(self, reward=np.asarray(reward, dtype=np.float64))

    def with_features(self, features: np.ndarray | None) -> EventData:
        """The same events with other item features ``(n_items, d)`` (or none), checked as at construction.

        >>> ev = EventData.from_rows(["a", "b"], [0, 0], ["x", "y"], [1.0, 0.0])
        >>> ev.with_features(np.eye(2)).dim
        2
        >>> ev.with_features(np.ones((3, 2)))
        Traceback (most recent call last):
        ...
        ValueError: features: expected shape (2, d) with d >= 1, one row per item, got shape (3, 2)
        """
        return replace(self, features=None if features is None else np.asarray(features, dtype=np.float64))

    def describe(self) -> dict[str, Any]:
        """Counts for benchmark JSON."""
        lens = self.lengths()
        return {"n_users": self.n_users, "n_events": self.n_events, "n_items": self.n_items,
                "n_items_used": int(np.unique(self.item).size), "dim": self.dim, "time_kind": self.time_kind,
                "has_propensity": self.propensity is not None,
                "mean_reward": float(self.reward.mean()) if self.n_events else float("nan"),
                "median_length": float(np.median(lens)) if lens.size else float("nan")}

    # ------------------------------------------------------------------------------------------ checks
    def validate(self) -> None:
        """Check shapes, ranges, finiteness and the sorted layout; raise ``ValueError`` naming the field.
        Construction calls it, so a record that exists is valid:

        >>> EventData(user=[0, 0], time=[2.0, 1.0], item=[0, 0], reward=[1.0, 0.0], user_ids=["a"],
        ...           item_ids=["x"], starts=[0, 2])
        Traceback (most recent call last):
        ...
        ValueError: time: expected each user's events in time order, got row 1 earlier than row 0
        """
        n = self.reward.shape[0]
        for name in ("user", "time", "item"):
            if getattr(self, name).shape != (n,):
                raise ValueError(f"{name}: expected shape ({n},) like reward, got shape {getattr(self, name).shape}")
        lens = check_blocks(self.user, self.starts, n, "user", "EventData.from_rows")
        if self.user_ids.shape != (lens.shape[0],) or np.unique(self.user_ids).size != lens.shape[0]:
            raise ValueError(f"user_ids: expected {lens.shape[0]} distinct ids, got shape {self.user_ids.shape} "
                             f"with {np.unique(self.user_ids).size} distinct")
        if np.unique(self.item_ids).size != self.item_ids.shape[0] or self.item_ids.ndim != 1:
            raise ValueError("item_ids: expected distinct ids, got duplicates")
        if n and (self.item.min() < 0 or self.item.max() >= self.n_items):
            bad = self.item[(self.item < 0) | (self.item >= self.n_items)][0]
            raise ValueError(f"item: expected indices in [0, {self.n_items - 1}], got {int(bad)}")
        _check_finite_rows("time", self.time)
        _check_finite_rows("reward", self.reward)
        if n > 1:
            same_user = self.user[1:] == self.user[:-1]
            if np.any(same_user & (self.time[1:] < self.time[:-1])):
                r = int(np.flatnonzero(same_user & (self.time[1:] < self.time[:-1]))[0]) + 1
                raise ValueError(f"time: expected each user's events in time order, got row {r} earlier than "
                                 f"row {r - 1}")
        if self.propensity is not None:
            if self.propensity.shape != (n,):
                raise ValueError(f"propensity: expected shape ({n},), got shape {self.propensity.shape}")
            _check_propensity("propensity", self.propensity)
        if self.features is not None:
            if self.features.ndim != 2 or self.features.shape[0] != self.n_items or self.features.shape[1] < 1:
                raise ValueError(f"features: expected shape ({self.n_items}, d) with d >= 1, one row per item, "
                                 f"got shape {self.features.shape}")
            if not np.isfinite(self.features).all():
                i = int(np.flatnonzero(~np.isfinite(self.features).all(axis=1))[0])
                raise ValueError(f"features: expected finite numbers, got a non-finite value for item "
                                 f"{str(self.item_ids[i])!r}")
        if self.time_kind not in TIME_KINDS:
            raise ValueError(f"time_kind: expected one of {TIME_KINDS}, got {self.time_kind!r}")


# ---------------------------------------------------------------------------------------------- parsing
def _assemble(columns: dict[str, np.ndarray], names: dict[str, str], features: np.ndarray | None,
              feature_name: str, bounds: Bounds | None) -> EventData:
    """Parse and check raw columns (text or numbers; rewards and features within ``bounds`` unless None), sort,
    and build ``EventData``. Rows are numbered from 1 in the order given (a file's data rows)."""
    n = columns["reward"].shape[0]
    for key, arr in columns.items():
        if arr.shape != (n,):
            raise ValueError(f"{names[key]}: expected shape ({n},) like {names['reward']}, got shape {arr.shape}")
    if n == 0:
        raise ValueError(f"{names['reward']}: expected at least one event, got an empty log")
    reward = _parse_numbers(columns["reward"], names["reward"])
    _check_finite_rows(names["reward"], reward)
    if bounds is not None:
        bounds.check_rewards(reward, name=names["reward"])
    time, time_kind = _parse_time(columns["time"], names["time"])
    prop = None
    if "propensity" in columns:
        prop = _parse_numbers(columns["propensity"], names["propensity"])
        _check_propensity(names["propensity"], prop)
    ids = _user_ids(columns["user"], names["user"])
    item_text = _as_text(columns["item"])
    if np.any(item_text == ""):
        raise ValueError(f"{names['item']}: expected an item id in every row, got an empty id in row "
                         f"{int(np.argmax(item_text == '')) + 1}")
    item_ids, item = np.unique(item_text, return_inverse=True)
    item = item.ravel()
    feats = None
    if features is not None:
        feats = _item_features(features, item, item_ids, feature_name, bounds)
    user_ids, user = np.unique(ids, return_inverse=True)
    user = user.ravel()
    perm = np.lexsort((np.arange(n), time, user))
    return EventData(user=user[perm], time=time[perm], item=item[perm], reward=reward[perm], user_ids=user_ids,
                     item_ids=item_ids, starts=_starts(np.bincount(user, minlength=user_ids.shape[0])),
                     features=feats, propensity=None if prop is None else prop[perm], time_kind=time_kind)


def _item_features(row_features: np.ndarray, item: np.ndarray, item_ids: np.ndarray, name: str,
                   bounds: Bounds | None) -> np.ndarray:
    """One feature vector per item from per-row features, checking every row of an item agrees (and, unless
    ``bounds`` is None, that every value is within its bound)."""
    if row_features.dtype.kind not in "biuf":
        cols = [_parse_numbers(row_features[:, j], _feature_column(name, j)) for j in range(row_features.shape[1])]
        row_features = np.stack(cols, axis=1) if cols else np.zeros((item.shape[0], 0))
    X = row_features.astype(np.float64)
    if X.shape[1] == 0:
        raise ValueError(f"{name}: expected at least one feature column, got none")
    bad = ~np.isfinite(X).all(axis=1)
    if bad.any():
        r = int(np.flatnonzero(bad)[0])
        j = int(np.flatnonzero(~np.isfinite(X[r]))[0])
        raise ValueError(f"{_feature_column(name, j)}: expected finite numbers in every row, got {X[r, j]} in row "
                         f"{r + 1}")
    if bounds is not None:
        at = first_out_of_bounds(X, bounds.max_feature)
        if at is not None:
            raise ValueError(bound_message(_feature_column(name, at[1]), bounds.max_feature, "max_feature",
                                           float(X[at])) + f" in row {at[0] + 1}")
    first = np.full(item_ids.shape[0], -1, dtype=np.int64)
    first[item[::-1]] = np.arange(item.shape[0])[::-1]  # first row of each item
    out = X[first]
    differs = ~np.isclose(X, out[item], rtol=1e-9, atol=1e-12).all(axis=1)
    if differs.any():
        r = int(np.flatnonzero(differs)[0])
        raise ValueError(f"{name}: expected the same features in every row of an item, got item "
                         f"{str(item_ids[item[r]])!r} with {out[item[r]].tolist()} in row {int(first[item[r]]) + 1} "
                         f"and {X[r].tolist()} in row {r + 1}")
    return out


def _feature_column(name: str, j: int) -> str:
    """The name of feature column ``j``: ``f_3`` for a file's ``f_*`` columns, ``features[3]`` otherwise."""
    return name.replace("*", str(j)) if "*" in name else f"{name}[{j}]"


# ---------------------------------------------------------------------------------------------- files
def load_events(path: str | os.PathLike[str], *, user: str = "user", time: str = "time", item: str = "item",
                reward: str = "reward", propensity: str | None = "propensity",
                feature_prefix: str | None = "f_", bounds: Bounds | None = DEFAULT_BOUNDS) -> EventData:
    """Read an event log from CSV (``.csv``, ``.csv.gz``) or Parquet (``.parquet``, ``.pq``; needs pyarrow).

    The column names can be changed; ``propensity`` is read when the file has that column (``None``: never),
    and item features from the columns named ``feature_prefix`` followed by ``0, 1, ..`` (``None``: none).
    Errors name the file and the column: a missing column, a non-number reward, a non-finite reward, a
    propensity outside ``(0, 1]``, a time that is neither a number nor an ISO 8601 timestamp, an item whose
    rows disagree on its features, a reward or feature beyond ``bounds`` (``warmstart._validate.Bounds``:
    ``|value| <= 1e6`` by default, the ``--max-reward`` / ``--max-feature`` of the command line; None: finite
    is enough). Rows are numbered from 1, the first line after the header.

    >>> import pathlib, warmstart as ws
    >>> _ = pathlib.Path("events.csv").write_text(
    ...     "user,time,item,reward,f_0,f_1\\n"
    ...     "u1,2009-09-17T10:04:00,song-a,1.0,0.5,1.0\\n"
    ...     "u2,2009-09-17T10:00:00,song-b,0.0,0.0,2.0\\n"
    ...     "u1,2009-09-17T10:01:00,song-b,0.5,0.0,2.0\\n")
    >>> ev = ws.load_events("events.csv")
    >>> ev.n_users, ev.n_items, ev.dim, ev.time_kind, ev.item_ids[ev.item].tolist()  # u1's, in time order
    (2, 2, 2, 'timestamp', ['song-b', 'song-a', 'song-b'])
    """
    path = Path(path)
    names = {"user": user, "time": time, "item": item, "reward": reward}

    def select(header: list[str]) -> dict[str, str]:
        wanted = dict(names)
        if propensity is not None and propensity in header:
            wanted["propensity"] = propensity
        wanted.update({f"feature {j}": col for j, col in enumerate(_feature_columns(header, feature_prefix))})
        return wanted

    cols = read_columns(path, select)
    n_features = sum(k.startswith("feature ") for k in cols)
    feats = np.stack([cols.pop(f"feature {j}") for j in range(n_features)], axis=1) if n_features else None
    with file_errors(path):
        return _assemble(cols, {**names, "propensity": str(propensity)}, feats, f"{feature_prefix}*", bounds)


def _feature_columns(header: list[str], prefix: str | None) -> list[str]:
    """The feature columns ``prefix0 .. prefix{d-1}`` in index order; a gap is an error."""
    if not prefix:
        return []
    pattern = re.compile(re.escape(prefix) + r"(\d+)$")
    found = {int(m.group(1)): col for col in header if (m := pattern.match(col))}
    if not found:
        return []
    d = max(found) + 1
    if sorted(found) != list(range(d)):
        missing = [f"{prefix}{j}" for j in range(d) if j not in found]
        raise ValueError(f"expected feature columns {prefix}0..{prefix}{d - 1} without gaps, got "
                         f"{sorted(found.values())} (missing {', '.join(missing[:5])})")
    return [found[j] for j in range(d)]


def save_events(data: EventData, path: str | os.PathLike[str], *, feature_prefix: str = "f_") -> Path:
    """Write ``data`` in the event format: CSV (``.csv``, ``.csv.gz``) or Parquet (``.parquet``, ``.pq``).

    Columns ``user, time, item, reward``, then ``propensity`` when present, then ``f_0..f_{d-1}`` when the
    data has features. Timestamps are written as ISO 8601 UTC; floats in shortest round-trip form, so
    ``load_events`` reads the same arrays back. Written atomically.

    >>> ev = EventData.from_rows([7, 3, 7], [0.5, 1.0, 2.0], ["x", "y", "x"], [1.0, 0.0, 0.25],
    ...                          features=[[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    >>> save_events(ev, "events.csv.gz").name
    'events.csv.gz'
    >>> back = load_events("events.csv.gz")
    >>> back.user_ids.tolist(), back.reward.tolist(), back.features.tolist()
    ([3, 7], [0.0, 1.0, 0.25], [[1.0, 0.0], [0.0, 1.0]])
    """
    path = Path(path)
    columns: dict[str, np.ndarray] = {"user": data.user_ids[data.user]}
    if data.time_kind == "timestamp":
        columns["time"] = np.array([datetime.fromtimestamp(t, tz=UTC).isoformat() for t in data.time.tolist()],
                                   dtype=object)
    elif data.n_events and np.all(data.time == np.round(data.time)) and np.abs(data.time).max() < 2**53:
        columns["time"] = data.time.astype(np.int64)
    else:
        columns["time"] = data.time
    columns["item"] = data.item_ids[data.item]
    columns["reward"] = data.reward
    if data.propensity is not None:
        columns["propensity"] = data.propensity
    if data.features is not None:
        X = data.features[data.item]
        for j in range(X.shape[1]):
            columns[f"{feature_prefix}{j}"] = X[:, j]
    lower = path.name.lower()
    if lower.endswith((".csv", ".csv.gz")):
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(list(columns))
        writer.writerows(zip(*(c.tolist() for c in columns.values())))
        raw = buf.getvalue().encode("utf-8")
        return atomic_write(path, gzip.compress(raw, mtime=0) if lower.endswith(".gz") else raw)
    if lower.endswith((".parquet", ".pq")):
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError as exc:
            raise ValueError(f"path: writing Parquet ({path.name}) needs pyarrow; pip install pyarrow, "
                             "or write CSV") from exc
        table = pa.table({k: (v.tolist() if v.dtype.kind in "OU" else v) for k, v in columns.items()})
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink)
        return atomic_write(path, sink.getvalue().to_pybytes())
    raise ValueError(f"path: expected a .csv, .csv.gz, .parquet or .pq file, got {path.name!r}")


# ---------------------------------------------------------------------------------------------- arrival
def split_by_first_event(events: EventData, train_fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the earlier and the later users: the earliest ``train_fraction`` by first event (ties by
    index), at least one on each side. The replay's split into training and new users, and the split of
    training users into fitting and validation users (``warmstart.families.linear.space``).

    >>> ev = EventData.from_rows(["late", "early", "mid"], [9, 1, 5], ["a", "a", "b"], [1.0, 0.0, 1.0])
    >>> earlier, later = split_by_first_event(ev, 0.6)
    >>> ev.user_ids[earlier].tolist(), ev.user_ids[later].tolist()
    (['early', 'mid'], ['late'])
    """
    if events.n_users < 2:
        raise ValueError(f"events: expected at least 2 users to split, got {events.n_users}")
    order = np.argsort(events.first_times(), kind="stable")
    n_train = min(max(round(train_fraction * events.n_users), 1), events.n_users - 1)
    return order[:n_train], order[n_train:]


# ---------------------------------------------------------------------------------------------- sources
def events_from_log(log: TrainingLog) -> EventData:
    """A simulator ``EventLog`` as events: each logged event becomes one row and its chosen candidate one item.

    The simulator draws fresh candidate features at every event, so no two events share an item: the item of
    user ``u``'s event ``t`` is ``"u{u}-t{t}-a{a}"`` (``a`` the chosen candidate's index; zero-padded so
    that ids sort in log order) and carries that candidate's features. Candidates that were offered but not
    chosen have no reward and are not written. Users are ``0 .. N-1`` and arrive one after another:
    ``time = u * T + t``. ``propensity`` is the logged one. The ground truth (``log.users``) is not part of
    the format; keep it beside the file if you need it.

    >>> import warmstart as ws
    >>> log = ws.sim.LinearTypesPopulation(ws.sim.LinearTypesConfig(dim=3, n_actions=4)).logged(2, 3, seed=0)
    >>> ev = events_from_log(log)
    >>> ev.n_users, ev.n_events, ev.dim, ev.item_ids[:2].tolist(), ev.time.tolist()
    (2, 6, 3, ['u0-t0-a1', 'u0-t1-a2'], [0.0, 1.0, 2.0, 3.0, 4.0, 5.0])
    """
    N, T = log.action.shape
    wu, wt, wa = (len(str(max(k - 1, 0))) for k in (N, T, log.candidates.shape[2]))
    u = np.repeat(np.arange(N), T)
    t = np.tile(np.arange(T), N)
    a = log.action.ravel()
    item_ids = np.array([f"u{uu:0{wu}d}-t{tt:0{wt}d}-a{aa:0{wa}d}" for uu, tt, aa in zip(u, t, a)])
    chosen = np.take_along_axis(log.candidates, log.action[:, :, None, None], axis=2)[:, :, 0]
    # ids sort in (u, t) order, so the row order is already the item order: no vocabulary sort needed
    return EventData(user=u, time=(u * T + t).astype(np.float64), item=np.arange(N * T), reward=log.reward.ravel(),
                     user_ids=np.arange(N), item_ids=item_ids, starts=np.arange(N + 1) * T,
                     features=chosen.reshape(N * T, -1), propensity=log.propensity.ravel(), time_kind="number")


def export_events(log: TrainingLog, path: str | os.PathLike[str]) -> Path:
    """Write a simulator ``EventLog`` as an event file (CSV or Parquet by suffix); see ``events_from_log``.

    >>> import warmstart as ws
    >>> log = ws.sim.LinearTypesPopulation(ws.sim.LinearTypesConfig(dim=3, n_actions=4)).logged(2, 3, seed=0)
    >>> path = export_events(log, "events.csv")
    >>> path.read_text().splitlines()[0]
    'user,time,item,reward,propensity,f_0,f_1,f_2'
    >>> load_events(path).n_events
    6
    """
    return save_events(events_from_log(log), path)


def from_kt(data: KTData) -> EventData:
    """Knowledge-tracing responses as events: user = student, item = skill, reward = correct (0 or 1).

    There are no item features (learn them with ``warmstart.families.linear.item_features``). The items are the
    skill vocabulary (``item_ids`` = ``data.skill_names``, so unused skills are items with no events). Time is
    the row index of ``data``: students one after another in ``data``'s student order, each in answer order.
    ASSISTments 2009 (``load_assistments2009``) has no timestamps, so this order stands in for time; there
    students are numbered in ascending order of their ASSISTments user id (``load_assistments2009``'s
    numbering, not the order of the rows in the AKT files), and a replay split "by first event" is a split by
    that id order.

    >>> kt = KTData.from_responses(["s2", "s1", "s2"], [0, 1, 1], [1, 0, 1], skill_names=["+", "-", "*"])
    >>> ev = from_kt(kt)
    >>> ev.user_ids.tolist(), ev.item_ids.tolist(), ev.item.tolist(), ev.reward.tolist()
    (['s1', 's2'], ['+', '-', '*'], [1, 0, 1], [0.0, 1.0, 1.0])
    """
    n = data.n_responses
    return EventData(user=data.student, time=np.arange(n, dtype=np.float64), item=data.skill,
                     reward=data.correct.astype(np.float64), user_ids=data.student_ids,
                     item_ids=np.array(data.skill_names, dtype=str), starts=data.starts, time_kind="number")
