"""The record of events: ``EventData``, one row per event (who was shown which item, when, and what reward
followed), sorted by user and then by time, checked at construction.

``EventData.from_rows`` parses and checks rows in any order, as a file holds them (``warmstart.data.events``,
which reads and writes the files, builds the record here too); ``split_by_first_event`` splits the users into the
earlier and the later ones, as they arrived.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

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
)

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
