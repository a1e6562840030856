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
record (``KTData``) into events. The record itself (``EventData``, built and checked from rows) and the split of
users by their first event are in ``warmstart.data.event_data``.

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
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from warmstart._io import atomic_write
from warmstart._validate import DEFAULT_BOUNDS, Bounds
from warmstart.data._columns import file_errors, read_columns
from warmstart.data.event_data import EVENT_COLUMNS, TIME_KINDS, EventData, _assemble, split_by_first_event
from warmstart.data.kt import KTData

if TYPE_CHECKING:
    from warmstart.data.bandit_log import TrainingLog

# the record and the split by arrival are defined in warmstart.data.event_data; importing them from here works too
__all__ = ["EVENT_COLUMNS", "TIME_KINDS", "EventData", "events_from_log", "export_events", "from_kt", "load_events",
           "save_events", "split_by_first_event"]


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
