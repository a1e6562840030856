"""The one reader of tabular files, and the value helpers the loaders share.

``read_columns`` reads named columns of a CSV (``.csv``, ``.csv.gz``; stdlib ``csv``, every value as text) or
Parquet file (``.parquet``, ``.pq``; pyarrow, the file's own types) into numpy arrays: every loader of a table
(events, knowledge-tracing responses, off-policy logs, the audit's per-user columns, the Open Bandit Dataset)
reads through it, so all of them take the same suffixes, check the header the same way and name the file, the
line and the column in their errors. The helpers below turn a column's values (text from CSV, typed from
Parquet) into numbers, times and ids, with errors that name the column and the row (rows count from 1 after
the header); ``file_errors`` puts the file's name in front of them.

>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
>>> _ = path.write_text("a,b,c\\n1,x,2.5\\n")
>>> cols = read_columns(path, {"first": "a", "third": "c"})
>>> cols["first"].tolist(), _parse_numbers(cols["third"], "c").tolist()
(['1'], [2.5])
"""

from __future__ import annotations

import csv
import gzip
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

#: the suffixes ``read_columns`` reads: CSV, gzipped CSV, Parquet
TABLE_SUFFIXES = (".csv", ".csv.gz", ".parquet", ".pq")
_CSV_SUFFIXES = (".csv", ".csv.gz")

#: which columns to read: ``{key: column name}``, or a function of the file's header that returns them (it
#: may raise ``ValueError`` for a header it cannot use; the message gets the file's name in front)
Selection = Mapping[str, str] | Callable[[list[str]], Mapping[str, str]]


def read_columns(path: str | os.PathLike[str], select: Selection) -> dict[str, np.ndarray]:
    """The columns ``select`` names, keyed as it keys them, one value per data row in file order.

    From CSV every value is text (``str`` arrays; the header's fields are the names, blank lines are skipped);
    from Parquet each column keeps the type pyarrow gives it. A ``ValueError`` names the file and the problem:
    a suffix other than ``.csv``, ``.csv.gz``, ``.parquet``, ``.pq``; a missing or unreadable file; an empty
    file; the columns of ``select`` the header lacks (and the header); a CSV line with fewer fields than the
    header; Parquet without pyarrow installed.
    """
    path = Path(path)
    lower = path.name.lower()
    if lower.endswith(_CSV_SUFFIXES):
        return _read_csv(path, select)
    if lower.endswith((".parquet", ".pq")):
        return _read_parquet(path, select)
    raise ValueError(f"path: expected a .csv, .csv.gz, .parquet or .pq file, got {path.name!r}")


@contextmanager
def file_errors(path: str | os.PathLike[str]) -> Iterator[None]:
    """Put ``path`` in front of the ``ValueError`` raised inside (a column's parse error becomes the file's)."""
    try:
        yield
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from exc


def _selected(path: Path, header: list[str], select: Selection) -> dict[str, int]:
    """Each selected key's position in ``header``."""
    if callable(select):
        with file_errors(path):
            select = select(list(header))
    missing = [f"{k}={c!r}" for k, c in select.items() if c not in header]
    if missing:
        raise ValueError(f"{path}: expected columns {', '.join(missing)}, got columns {header}")
    return {k: header.index(c) for k, c in select.items()}


def read_header(path: str | os.PathLike[str]) -> list[str]:
    """The column names of a file ``read_columns`` reads, with the same errors for a missing, empty or
    unknown file."""
    path = Path(path)
    lower = path.name.lower()
    if lower.endswith(_CSV_SUFFIXES):
        with _csv_rows(path) as (header, _):
            return header
    if lower.endswith((".parquet", ".pq")):
        return _parquet_header(path)
    raise ValueError(f"path: expected a .csv, .csv.gz, .parquet or .pq file, got {path.name!r}")


@contextmanager
def _csv_rows(path: Path) -> Iterator[tuple[list[str], Iterator[list[str]]]]:
    """The header and a reader of the rows after it; an unreadable file is a ``ValueError`` naming it."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rt", newline="", encoding="utf-8") as fh:  # type: ignore[operator]
            reader = csv.reader(fh)
            header = next(reader, None)
            if header is None:
                raise ValueError(f"{path}: expected a header row, got an empty file")
            yield header, reader
    except OSError as exc:
        raise ValueError(f"path: expected a readable file, got {path} ({exc.strerror or exc})") from exc


def _read_csv(path: Path, select: Selection) -> dict[str, np.ndarray]:
    with _csv_rows(path) as (header, reader):
        where = _selected(path, header, select)
        data: dict[str, list[str]] = {k: [] for k in where}
        for lineno, row in enumerate(reader, start=2):
            if not row:
                continue
            if len(row) < len(header):
                raise ValueError(f"{path}: line {lineno}: expected {len(header)} fields, got {len(row)}")
            for k, j in where.items():
                data[k].append(row[j])
    return {k: np.array(v, dtype=str) for k, v in data.items()}


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


def _read_parquet(path: Path, select: Selection) -> dict[str, np.ndarray]:
    header = _parquet_header(path)  # first: it says what to install when pyarrow is missing
    import pyarrow.parquet as pq

    names = {k: header[j] for k, j in _selected(path, header, select).items()}
    table = pq.read_table(path, columns=sorted(set(names.values())))
    return {k: np.asarray(table.column(c).to_numpy(zero_copy_only=False)) for k, c in names.items()}


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


def _parse_integers(values: np.ndarray, column: str) -> np.ndarray:
    """``int64`` from integers or from integers written as text (``"3"``, not ``"3.0"``)."""
    if values.dtype.kind in "iu":
        return values.astype(np.int64)
    text = _as_text(values)
    try:
        return text.astype(np.int64)
    except (TypeError, ValueError, OverflowError):
        pass
    for r, v in enumerate(text.tolist()):
        try:
            int(v)
        except ValueError:
            raise ValueError(f"{column}: expected an integer in every row, got {v!r} in row {r + 1}") from None
    raise ValueError(f"{column}: expected integers that fit in 64 bits, got larger ones")


def _parse_datetimes(values: np.ndarray, column: str) -> np.ndarray:
    """``datetime64[ns]`` in UTC from a datetime column or ISO 8601 text (naive times taken as UTC), exact to
    the microsecond (text is parsed by ``datetime.fromisoformat``, so the offset ``+00:00`` is understood)."""
    if values.dtype.kind == "M":
        out = values.astype("datetime64[ns]")
    else:
        text = _as_text(values)
        uniq, inverse = np.unique(text, return_inverse=True)
        ns = np.empty(uniq.shape[0], dtype=np.int64)
        epoch = datetime(1970, 1, 1, tzinfo=UTC)
        for j, v in enumerate(uniq.tolist()):
            try:
                stamp = datetime.fromisoformat(v)
            except ValueError:
                raise ValueError(f"{column}: expected an ISO 8601 timestamp in every row, got {v!r} in row "
                                 f"{int(np.argmax(text == v)) + 1}") from None
            delta = (stamp if stamp.tzinfo is not None else stamp.replace(tzinfo=UTC)) - epoch
            ns[j] = ((delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds) * 1_000
        out = ns[inverse.ravel()].view("datetime64[ns]")
    if np.isnat(out).any():
        raise ValueError(f"{column}: expected a time in every row, got a missing time in row "
                         f"{int(np.flatnonzero(np.isnat(out))[0]) + 1}")
    return out


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
