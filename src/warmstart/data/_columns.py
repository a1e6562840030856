"""Reading a file's header and named columns from CSV (stdlib ``csv``) or Parquet (pyarrow, when installed) into
numpy arrays, and the value helpers the loaders share: parsing numbers, times and ids from a column's values and
checking them, with errors that name the column and the row."""

from __future__ import annotations

import csv
import gzip
from datetime import UTC, datetime
from pathlib import Path

import numpy as np


def _csv_header(path: Path) -> list[str]:
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rt", newline="", encoding="utf-8") as fh:  # type: ignore[operator]
            header = next(csv.reader(fh), None)
    except OSError as exc:
        raise ValueError(f"path: expected a readable file, got {path} ({exc.strerror or exc})") from exc
    if header is None:
        raise ValueError(f"{path}: expected a header row, got an empty file")
    return list(header)


def _parquet_header(path: Path) -> list[str]:
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise ValueError(f"path: reading Parquet ({path.name}) needs pyarrow; pip install pyarrow, "
                         "or use CSV") from exc
    try:
        return list(pq.read_schema(path).names)
    except OSError as exc:
        raise ValueError(f"path: expected a readable Parquet file, got {path} ({exc})") from exc

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


def _check_finite_rows(name: str, arr: np.ndarray) -> None:
    bad = ~np.isfinite(arr)
    if bad.any():
        r = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{name}: expected finite numbers in every row, got {arr[r]} in row {r + 1}")


def _check_propensity(name: str, p: np.ndarray) -> None:
    bad = ~((p > 0) & (p <= 1))  # NaN fails both comparisons
    if bad.any():
        r = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{name}: expected probabilities in (0, 1] in every row, got {p[r]} in row {r + 1}")


def _parse_numbers(values: np.ndarray, column: str) -> np.ndarray:
    num = _numeric(values)
    if num is None:
        text = _as_text(values)
        r = next(i for i, v in enumerate(text.tolist()) if not _is_number(v))
        raise ValueError(f"{column}: expected a number in every row, got {str(text[r])!r} in row {r + 1}")
    return num


def _parse_time(values: np.ndarray, column: str) -> tuple[np.ndarray, str]:
    """Numbers as they are; ISO 8601 timestamps (or datetime columns) as seconds since 1970 UTC."""
    if values.dtype.kind == "M":
        if np.isnat(values).any():
            raise ValueError(f"{column}: expected a time in every row, got a missing time in row "
                             f"{int(np.flatnonzero(np.isnat(values))[0]) + 1}")
        return values.astype("datetime64[ns]").astype(np.int64) / 1e9, "timestamp"
    num = _numeric(values)
    if num is not None:
        _check_finite_rows(column, num)
        return num, "number"
    text = _as_text(values)
    uniq, inverse = np.unique(text, return_inverse=True)
    numeric_like = [v for v in uniq.tolist() if _is_number(v)]
    if numeric_like:  # all-numeric columns were parsed above, so this is a mix
        other = next(v for v in uniq.tolist() if not _is_number(v))
        raise ValueError(f"{column}: expected all numbers or all ISO 8601 timestamps, got a mix such as "
                         f"{numeric_like[0]!r} and {other!r}")
    seconds = np.empty(uniq.shape[0])
    for j, v in enumerate(uniq.tolist()):
        try:
            stamp = datetime.fromisoformat(v)
        except ValueError:
            raise ValueError(f"{column}: expected a number or an ISO 8601 timestamp in every row, got {v!r} "
                             f"in row {int(np.argmax(text == v)) + 1}") from None
        if stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=UTC)
        seconds[j] = stamp.timestamp()
    return seconds[inverse.ravel()], "timestamp"


def _user_ids(values: np.ndarray, column: str) -> np.ndarray:
    """Integer ids when every id is an integer written plainly ("007" stays text), else text."""
    if values.dtype.kind in "iu":
        return values.astype(np.int64)
    text = _as_text(values)
    if np.any(text == ""):
        raise ValueError(f"{column}: expected an id in every row, got an empty id in row "
                         f"{int(np.argmax(text == '')) + 1}")
    try:
        ids = text.astype(np.int64)
    except (TypeError, ValueError, OverflowError):
        return text
    return ids if np.array_equal(ids.astype(str), text) else text


def check_blocks(owner: np.ndarray, starts: np.ndarray, n_rows: int, who: str, builder: str) -> np.ndarray:
    """The block lengths of a record sorted by owner (a user's events, a student's responses): ``starts`` must
    run from 0 to ``n_rows`` without dropping, and ``owner[r]`` must be the index of the block holding row ``r``
    (``builder`` is what sorts rows so). A ``ValueError`` naming the field otherwise."""
    if starts.ndim != 1 or starts.shape[0] < 1 or starts[0] != 0 or starts[-1] != n_rows:
        raise ValueError(f"starts: expected offsets from 0 to {n_rows} (n_{who}s + 1 values), got "
                         f"{starts[:3].tolist()}...{starts[-1:].tolist()} of shape {starts.shape}")
    lens = np.diff(starts)
    if np.any(lens < 0):
        raise ValueError(f"starts: expected non-decreasing offsets, got a drop at {who} {int(np.argmax(lens < 0))}")
    if not np.array_equal(owner, np.repeat(np.arange(lens.shape[0]), lens)):
        raise ValueError(f"{who}: expected rows sorted by {who} index 0..n_{who}s-1 matching starts, got another "
                         f"order (build with {builder} to sort)")
    return lens
