"""Per-user sufficient statistics of event logs too large for memory, computed by DuckDB.

The population fit needs, per user, only ``A = sum x x'``, ``b = sum x r``, ``c = sum r^2`` and ``n`` (the
additive summary of ``warmstart.families.linear.model``). DuckDB computes them with one ``GROUP BY user``
aggregate over the log (CSV or Parquet in the generic event format of ``warmstart.data.events``: a ``user``
column, a ``reward`` column and the item's features ``f_0 .. f_{d-1}`` on every row, or an ``items`` table to
join them from), streaming through the file with bounded memory: the log is never loaded into Python, and
only the ``N x (d (d + 3) / 2 + 2)`` aggregates come back, in record batches written straight into the
summary's arrays.

>>> import tempfile, pathlib, numpy as np
>>> tmp = pathlib.Path(tempfile.mkdtemp()) / "events.csv"
>>> _ = tmp.write_text("user,time,item,reward,f_0,f_1\\nb,1,x,1.0,1,0\\na,1,y,2.0,0,1\\nb,2,y,0.5,0,1\\n")
>>> stats = log_statistics(tmp)
>>> stats.user_ids.tolist(), stats.summary.n.tolist(), stats.summary.b.tolist()
(['a', 'b'], [1.0, 2.0], [[0.0, 2.0], [1.0, 0.5]])

Requires the ``scale`` extra (``duckdb``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from warmstart.families.linear.model import Summary

if TYPE_CHECKING:
    from warmstart.families.linear.shards import SummaryShards

Progress = Callable[[str, float], None]
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_NUMERIC = re.compile(r"^(U?(TINY|SMALL|BIG|HUGE)?INT(EGER)?|DOUBLE|FLOAT|REAL|DECIMAL.*)$")


@dataclass(frozen=True)
class UserStatistics:
    """``summary`` row ``i`` belongs to ``user_ids[i]`` (sorted: numerically for integer ids, else as text).

    >>> import pathlib
    >>> _ = pathlib.Path("events.csv").write_text("user,time,item,reward,f_0,f_1\\n"
    ...                                           "b,1,x,1.0,1,0\\na,1,y,2.0,0,1\\nb,2,y,0.5,0,1\\n")
    >>> stats = log_statistics("events.csv")
    >>> stats.user_ids.tolist(), stats.summary.n_users, stats.summary.dim
    (['a', 'b'], 2, 2)
    """

    user_ids: np.ndarray
    summary: Summary


def _reader(path: Path) -> str:
    text = str(path).replace("'", "''")
    name = path.name.lower()
    if name.endswith((".parquet", ".pq")) or path.is_dir():
        glob = f"{text}/**/*.parquet" if path.is_dir() else text
        return f"read_parquet('{glob}')"
    if name.endswith((".csv", ".csv.gz")):
        return f"read_csv('{text}', header = true, auto_detect = true)"
    raise ValueError(f"log: expected a .csv, .csv.gz, .parquet or .pq file (or a folder of Parquet files), "
                     f"got {str(path)!r}")


def _quoted(name: str, what: str) -> str:
    if not _NAME.match(name):
        raise ValueError(f"{what}: expected a plain column name (letters, digits, _), got {name!r}")
    return f'"{name}"'


def log_statistics(path: str | os.PathLike[str], *, user: str = "user", reward: str = "reward",
                   feature_prefix: str = "f_", items: str | os.PathLike[str] | None = None, item: str = "item",
                   memory_limit: str = "3GB", threads: int | None = None, batch_rows: int = 100_000,
                   progress: Progress | None = None) -> UserStatistics:
    """Per-user ``(A, b, c, n)`` of every event in the log at ``path``.

    Features come from the log's ``{feature_prefix}0 ..`` columns, or, with ``items``, from that table (CSV or
    Parquet with an ``item`` column and the feature columns) joined on ``item``. ``memory_limit`` and
    ``threads`` bound DuckDB (it spills to a temporary folder beyond the limit). Errors name the column.

    >>> import pathlib
    >>> _ = pathlib.Path("events.csv").write_text("user,time,item,reward,f_0,f_1\\n"
    ...                                           "b,1,x,1.0,1,0\\na,1,y,2.0,0,1\\nb,2,y,0.5,0,1\\n")
    >>> stats = log_statistics("events.csv", threads=1)
    >>> stats.summary.n.tolist(), stats.summary.A[1].tolist()          # user b: items x and y once each
    ([1.0, 2.0], [[1.0, 0.0], [0.0, 1.0]])
    >>> _ = pathlib.Path("items.csv").write_text("item,g_0\\nx,2.0\\ny,3.0\\n")   # features from a table
    >>> log_statistics("events.csv", items="items.csv", feature_prefix="g_").summary.b.tolist()
    [[6.0], [3.5]]
    >>> log_statistics("events.csv", reward="clicks")
    Traceback (most recent call last):
    ...
    ValueError: log: expected a reward column 'clicks', got columns ['user', 'time', 'item', 'reward', ...]
    """
    report = progress or (lambda msg, frac: None)
    with _grouped(path, user, reward, feature_prefix, items, item, memory_limit, threads, batch_rows,
                  report) as (n_users, d, batches):
        summary = Summary.zeros(n_users, d)
        ids: list[np.ndarray] = []
        row = 0
        for batch_ids, part in batches:
            rows = slice(row, row + part.n_users)
            summary[rows] = part
            ids.append(batch_ids)
            row += part.n_users
    report("done", 1.0)
    user_ids = np.concatenate(ids) if ids else np.zeros(0, dtype=object)
    return UserStatistics(user_ids, summary)


def log_statistics_to_shards(path: str | os.PathLike[str], out: str | os.PathLike[str], *, shard_users: int = 100_000,
                             user: str = "user", reward: str = "reward", feature_prefix: str = "f_",
                             items: str | os.PathLike[str] | None = None, item: str = "item",
                             memory_limit: str = "3GB", threads: int | None = None, batch_rows: int = 100_000,
                             progress: Progress | None = None) -> SummaryShards:
    """``log_statistics`` written straight to Parquet shards in the folder ``out`` (``warmstart.families.linear.shards``),
    so that neither the log nor its users' statistics are ever all in memory: what the Ray backend and the
    sampled fit read. On an error, nothing is left in ``out``.

    >>> import pathlib
    >>> _ = pathlib.Path("events.csv").write_text("user,time,item,reward,f_0,f_1\\n"
    ...                                           "b,1,x,1.0,1,0\\na,1,y,2.0,0,1\\nb,2,y,0.5,0,1\\n")
    >>> shards = log_statistics_to_shards("events.csv", "shards", shard_users=1, threads=1)
    >>> shards.n_users, len(shards.shards), shards.user_ids(1).tolist(), shards.read(1).n.tolist()
    (2, 2, ['b'], [2.0])
    """
    from warmstart.families.linear.shards import ShardWriter

    report = progress or (lambda msg, frac: None)
    writer: ShardWriter | None = None
    try:
        with _grouped(path, user, reward, feature_prefix, items, item, memory_limit, threads, batch_rows,
                      report) as (_, d, batches):
            writer = ShardWriter(out, d, shard_users)
            for batch_ids, part in batches:
                writer.add(batch_ids, part)
        shards = writer.close()
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    report("done", 1.0)
    return shards


@contextmanager
def _grouped(path: str | os.PathLike[str], user: str, reward: str, feature_prefix: str,
             items: str | os.PathLike[str] | None, item: str, memory_limit: str, threads: int | None,
             batch_rows: int, report: Progress) -> Iterator[tuple[int, int, Iterator[tuple[np.ndarray, Summary]]]]:
    """DuckDB's ``GROUP BY user`` of the log: ``(n_users, d, batches of (user ids, their summary))``."""
    import duckdb

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"log: expected an existing file or folder, got {str(path)!r}")
    con = duckdb.connect(config={"memory_limit": memory_limit, **({"threads": threads} if threads else {})})
    try:
        source = _reader(path)
        described = con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
        columns = [r[0] for r in described]
        types = {r[0]: str(r[1]) for r in described}
        u, y = _quoted(user, "user"), _quoted(reward, "reward")
        for name, what in ((user, "user"), (reward, "reward")):
            if name not in columns:
                raise ValueError(f"log: expected a {what} column {name!r}, got columns {columns}")
        if items is not None:
            ipath = Path(items)
            idesc = con.execute(f"DESCRIBE SELECT * FROM {_reader(ipath)}").fetchall()
            icols = [r[0] for r in idesc]
            types.update({r[0]: str(r[1]) for r in idesc if r[0] != item})
            feats = _features(icols, feature_prefix, f"items table {str(ipath)!r}")
            if item not in columns or item not in icols:
                raise ValueError(f"items: expected an {item!r} column in the log and in the items table")
            it = _quoted(item, "item")
            joined = ", ".join("i." + _quoted(name, "feature") for name in feats)
            source = f"(SELECT e.{u}, e.{y}, {joined} FROM {source} e JOIN {_reader(ipath)} i ON e.{it} = i.{it})"
        else:
            feats = _features(columns, feature_prefix, "log")
        for name in (reward, *feats):
            if not _NUMERIC.match(types.get(name, "")):
                raise ValueError(f"log: column {name!r}: expected numbers, got {types.get(name)} values")
        d = len(feats)
        f = [_quoted(name, "feature") for name in feats]
        iu = np.triu_indices(d)
        missing = " OR ".join(f"{c} IS NULL" for c in (y, *f))
        aggregates = ["COUNT(*) AS n", f"COUNT(*) FILTER (WHERE {missing}) AS missing", f"SUM({y} * {y}) AS c"]
        aggregates += [f"SUM({f[i]} * {y}) AS b{i}" for i in range(d)]
        aggregates += [f"SUM({f[i]} * {f[j]}) AS a{i}_{j}" for i, j in zip(*iu, strict=True)]
        n_users = int(con.execute(f"SELECT COUNT(DISTINCT {u}) FROM {source}").fetchall()[0][0])
        report(f"aggregating {n_users:,} users", 0.05)
        query = f"SELECT {u} AS user_id, {', '.join(aggregates)} FROM {source} GROUP BY {u} ORDER BY {u}"

        def batches() -> Iterator[tuple[np.ndarray, Summary]]:
            row = 0
            with con.sql(query).to_arrow_reader(batch_size=batch_rows) as reader:  # streams the grouped rows
                for batch in reader:
                    part = Summary.zeros(batch.num_rows, d)
                    _fill(part, batch, 0, feats, user, reward)
                    yield batch.column(0).to_numpy(zero_copy_only=False), part
                    row += batch.num_rows
                    report("aggregating", 0.05 + 0.9 * row / max(n_users, 1))

        yield n_users, d, batches()
    except duckdb.Error as exc:
        raise ValueError(f"log {str(path)!r}: DuckDB could not read it ({type(exc).__name__}: {exc})") from exc
    finally:
        con.close()


def _fill(summary: Summary, batch: Any, row: int, feats: list[str], user: str, reward: str) -> None:
    """Write one record batch of aggregates (``user_id, n, c, b0.., a{i}_{j}..``) into rows ``row..``."""
    cols = {name: batch.column(k) for k, name in enumerate(batch.schema.names)}
    if cols["user_id"].null_count:
        raise ValueError(f"log: column {user!r} has empty values")
    if np.any(cols["missing"].to_numpy(zero_copy_only=False) > 0):
        raise ValueError(f"log: column {reward!r} or a feature column has empty values")
    sl = slice(row, row + batch.num_rows)
    summary.n[sl] = cols["n"].to_numpy(zero_copy_only=False)
    summary.c[sl] = _finite(cols["c"], reward)
    for k, name in enumerate(feats):
        summary.b[sl, k] = _finite(cols[f"b{k}"], name)
    for p, q in zip(*np.triu_indices(len(feats)), strict=True):
        v = _finite(cols[f"a{p}_{q}"], feats[p])
        summary.A[sl, p, q] = v
        summary.A[sl, q, p] = v


def _features(columns: list[str], prefix: str, where: str) -> list[str]:
    found = {int(c[len(prefix):]): c for c in columns if c.startswith(prefix) and c[len(prefix):].isdigit()}
    if not found:
        raise ValueError(f"{where}: expected feature columns {prefix}0, {prefix}1, ..., got columns {columns}")
    if sorted(found) != list(range(len(found))):
        raise ValueError(f"{where}: expected feature columns {prefix}0 .. {prefix}{len(found) - 1} without gaps, "
                         f"got {sorted(found.values())}")
    return [found[i] for i in range(len(found))]


def _finite(values: Any, column: str) -> np.ndarray:
    if values.null_count:
        raise ValueError(f"log: column {column!r} has empty values")
    out = values.to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
    if not np.all(np.isfinite(out)):
        raise ValueError(f"log: column {column!r} has empty or non-finite values")
    return out
