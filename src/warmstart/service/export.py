"""Every stored user's inferred type, streamed out of the service's store in batches.

The service keeps each user's belief in its store (a few hundred bytes to a few KB) and only a bounded cache of
decoded beliefs in memory, so millions of users cost database rows, not server memory. Operations over all of
them, such as this export (what a product team segments users by), read the beliefs in batches
(``Store.iter_beliefs``: keyset pages of ``batch_size`` users, one short read each), decode a batch, write its
rows and drop it: memory holds one batch whatever the number of users. The serving cache is left alone, so an
export does not evict the users being served.

The output is CSV (or Parquet, with the ``scale`` extra, for a ``.parquet`` path): ``user_id``, ``top_type``,
``top_probability``, ``events_learned_from`` and one ``p_<type>`` column per type (``novel`` last). It is written
to a temporary file and renamed at the end, so a failed export leaves nothing behind.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from warmstart._persist import FormatError
from warmstart.service.engine import Engine
from warmstart.store.store import Store

Progress = Callable[[str, float], None]


@dataclass(frozen=True)
class ExportResult:
    path: Path
    population_version: int
    users: int
    unreadable: int
    batches: int
    largest_batch: int


def _columns(names: list[str]) -> list[str]:
    return ["user_id", "top_type", "top_probability", "events_learned_from", *(f"p_{n}" for n in names)]


@contextmanager
def _row_writer(path: Path, columns: list[str]) -> Iterator[Callable[[list[list[Any]]], None]]:
    """``write(rows)`` appending to a temporary file beside ``path``, renamed to ``path`` on success."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        if path.suffix in (".parquet", ".pq"):
            import pyarrow as pa
            import pyarrow.parquet as pq

            schema = pa.schema([("user_id", pa.string()), ("top_type", pa.string()),
                                ("top_probability", pa.float64()), ("events_learned_from", pa.float64()),
                                *((c, pa.float64()) for c in columns[4:])])
            with pq.ParquetWriter(tmp, schema) as writer:
                yield lambda rows: writer.write_table(pa.Table.from_pylist(
                    [dict(zip(columns, r, strict=True)) for r in rows], schema=schema))
        else:
            with open(tmp, "w", newline="") as fh:
                out = csv.writer(fh)
                out.writerow(columns)
                yield out.writerows
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def export_types(store: Store, out: str | os.PathLike[str], *, policy: str = "auto", batch_size: int = 1000,
                 progress: Progress | None = None) -> ExportResult:
    """Write every user's type probabilities under the active population to ``out`` (CSV or Parquet)."""
    path = Path(out)
    if path.suffix not in (".csv", ".parquet", ".pq"):
        raise ValueError(f"out: expected a .csv or .parquet path, got {str(path)!r}")
    if batch_size < 1:
        raise ValueError(f"batch_size: expected at least 1 belief per batch, got {batch_size}")
    report = progress or (lambda msg, frac: None)
    eng = Engine(store, policy=policy, cache_size=0, explore=0)  # reads beliefs, decides nothing
    names = eng.population.type_names()
    total = max(store.count_beliefs(eng.version), 1)
    users = unreadable = batches = largest = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with _row_writer(path, _columns(names)) as write:
        for batch in store.iter_beliefs(batch_size, population_version=eng.version):
            rows = []
            for user_id, stored in batch:
                try:
                    held = eng.summary(eng.policy.state_from_bytes(stored[0]))
                except FormatError:
                    unreadable += 1
                    continue
                probs = held.type_probs if held.type_probs is not None else np.full(len(names), np.nan)
                k = int(np.argmax(probs))
                rows.append([user_id, names[k], float(probs[k]), float(held.n_events), *map(float, probs)])
            write(rows)
            users += len(rows)
            batches += 1
            largest = max(largest, len(batch))
            report(f"{users:,} users", users / total)
    return ExportResult(path, eng.version, users, unreadable, batches, largest)
