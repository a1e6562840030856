"""Reading named columns from CSV (stdlib ``csv``) or Parquet (pyarrow, when installed) into numpy arrays, and
the value helpers the loaders share."""

from __future__ import annotations

import csv
import gzip
from pathlib import Path

import numpy as np


def _read_csv_columns(path: Path, wanted: dict[str, str]) -> dict[str, np.ndarray]:
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rt", newline="", encoding="utf-8") as fh:  # type: ignore[operator]
            reader = csv.reader(fh)
            header = next(reader, None)
            if header is None:
                raise ValueError(f"{path}: expected a header row, got an empty file")
            where = _column_positions(path, header, wanted)
            data: dict[str, list[str]] = {k: [] for k in wanted}
            for lineno, row in enumerate(reader, start=2):
                if not row:
                    continue
                if len(row) < len(header):
                    raise ValueError(f"{path}: line {lineno}: expected {len(header)} fields, got {len(row)}")
                for k, j in where.items():
                    data[k].append(row[j])
    except OSError as exc:
        raise ValueError(f"path: expected a readable file, got {path} ({exc.strerror})") from exc
    return {k: np.array(v, dtype=str) for k, v in data.items()}


def _read_parquet_columns(path: Path, wanted: dict[str, str]) -> dict[str, np.ndarray]:
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise ValueError(f"path: reading Parquet ({path.name}) needs pyarrow; pip install pyarrow, "
                         "or use CSV") from exc
    try:
        schema = pq.read_schema(path)
    except OSError as exc:
        raise ValueError(f"path: expected a readable Parquet file, got {path} ({exc})") from exc
    _column_positions(path, list(schema.names), wanted)
    table = pq.read_table(path, columns=sorted(set(wanted.values())))
    return {k: np.asarray(table.column(c).to_numpy(zero_copy_only=False)) for k, c in wanted.items()}


def _column_positions(path: Path, header: list[str], wanted: dict[str, str]) -> dict[str, int]:
    missing = [f"{k}={c!r}" for k, c in wanted.items() if c not in header]
    if missing:
        raise ValueError(f"{path}: expected columns {', '.join(missing)}, got columns {header}")
    return {k: header.index(c) for k, c in wanted.items()}


def _numeric(values: np.ndarray) -> np.ndarray | None:
    if values.dtype.kind in "biuf":
        return values.astype(float)
    if values.dtype.kind == "M":
        return values.astype("datetime64[ns]").astype(np.int64).astype(float)
    try:
        return values.astype(float)
    except (TypeError, ValueError):
        return None


def _as_text(values: np.ndarray) -> np.ndarray:
    out = values.astype(str)
    if values.dtype.kind == "O":
        out[np.array([v is None for v in values], dtype=bool)] = ""
    return out


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _starts(lengths: np.ndarray) -> np.ndarray:
    out = np.zeros(lengths.shape[0] + 1, dtype=np.int64)
    np.cumsum(lengths, out=out[1:])
    return out


def _subset_rows(starts: np.ndarray, lengths: np.ndarray, idx: np.ndarray, what: str
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows of the blocks ``idx`` (distinct, in the order given) of a record stored as contiguous blocks:
    ``(lengths of the chosen blocks, their new starts, the row indices)``; ``what`` names the blocks."""
    n = lengths.shape[0]
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        bad = idx[(idx < 0) | (idx >= n)][0]
        raise ValueError(f"{what}_indices: expected indices in [0, {n - 1}], got {bad}")
    if np.unique(idx).size != idx.size:
        raise ValueError(f"{what}_indices: expected distinct {what}s, got repeated indices")
    lens = lengths[idx]
    new_starts = _starts(lens)
    rows = np.repeat(starts[idx] - new_starts[:-1], lens) + np.arange(new_starts[-1])
    return lens, new_starts, rows
