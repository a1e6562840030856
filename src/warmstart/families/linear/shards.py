"""Per-user statistics in Parquet shards: the population fit's input when it does not fit in one memory.

A folder of shards holds ``manifest.json`` (format ``warmstart.summary_shards``, version 1: the dimension, the
user count, each shard's file, users and events) and ``shard-00000.parquet``, ... with one row per user:
``user`` (the id, integer or text), ``n`` and ``c`` (doubles), ``b`` (``d`` doubles) and ``A`` (``d * d``
doubles, row-major), the additive summary of ``warmstart.families.linear.model.Summary``. Shards are written
in user order, and a fit reads them in that order.

Shards are the unit of distributed work (``warmstart.families.linear.backend``): a Ray worker loads one shard, keeps
it in the object store and runs every E-step pass over it. Keep ``shard_users`` a multiple of the fit's
``chunk`` (2,000 by default; the default 100,000 is) so that every backend cuts the users into the same
chunks and so gives the same population to the last bit; otherwise they agree to rounding.

>>> import tempfile, numpy as np
>>> from warmstart.families.linear.model import Summary
>>> s = Summary(np.tile(np.eye(2), (5, 1, 1)), np.ones((5, 2)), np.ones(5), np.ones(5))
>>> shards = write_summary_shards(tempfile.mkdtemp(), s, user_ids=np.arange(10, 15), shard_users=2)
>>> shards.n_users, len(shards.shards), shards[np.array([4, 0])].b.shape
(5, 3, (2, 2))

Requires the ``scale`` extra (pyarrow).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from warmstart._persist import FormatError, check_meta
from warmstart.families.linear.model import Summary

FORMAT = "warmstart.summary_shards"
VERSION = 1
MANIFEST = "manifest.json"


class ShardsFormatError(FormatError):
    """A shards folder whose manifest cannot be read: another format, an unknown version or damaged (a missing
    manifest or shard file is a ``FileNotFoundError``).

    >>> import pathlib
    >>> pathlib.Path("other").mkdir()
    >>> _ = pathlib.Path("other", "manifest.json").write_text('{"format": "other", "version": 1}')
    >>> SummaryShards.open("other")
    Traceback (most recent call last):
    ...
    warmstart.families.linear.shards.ShardsFormatError: other/manifest.json: expected format ...
    """


@dataclass(frozen=True)
class ShardInfo:
    """One shard of the manifest: its file, users and events.

    >>> import numpy as np
    >>> stats = Summary(np.tile(np.eye(2), (5, 1, 1)), np.arange(10.0).reshape(5, 2), np.ones(5),
    ...                 np.arange(1.0, 6.0))                                  # 5 users with 1..5 events
    >>> write_summary_shards("info", stats, shard_users=2).shards[0]
    ShardInfo(file='shard-00000.parquet', n_users=2, n_events=3.0)
    """

    file: str
    n_users: int
    n_events: float


class SummaryShards:
    """A folder of summary shards, opened by ``SummaryShards.open(folder)``; nothing is read until asked.

    ``shards[index]`` (an array of user rows, counted across shards in order) gathers those users' statistics
    into memory, in the order given; ``read(i)`` one shard; ``read_all()`` everything.

    >>> import numpy as np
    >>> stats = Summary(np.tile(np.eye(2), (5, 1, 1)), np.arange(10.0).reshape(5, 2), np.ones(5),
    ...                 np.arange(1.0, 6.0))                                  # 5 users with 1..5 events
    >>> _ = write_summary_shards("shards", stats, user_ids=np.arange(10, 15), shard_users=2)
    >>> shards = SummaryShards.open("shards")
    >>> shards.n_users, shards.n_events, [p.name for p in shards.paths()]
    (5, 15.0, ['shard-00000.parquet', 'shard-00001.parquet', 'shard-00002.parquet'])
    >>> shards.read(1).n.tolist(), shards.user_ids(1).tolist(), shards.head(2).n_users   # the second shard
    ([3.0, 4.0], [12, 13], 4)
    >>> shards[np.array([4, 0])].n.tolist(), shards.read_all().b[4].tolist()             # users 4 and 0
    ([5.0, 1.0], [8.0, 9.0])
    >>> shards.gather(np.array([3]), lambda wanted: [shards.read(i)[rows] for i, rows in wanted]).n.tolist()
    [4.0]
    """

    def __init__(self, folder: Path, dim: int, shards: Sequence[ShardInfo]) -> None:
        self.folder = folder
        self.dim = dim
        self.shards = tuple(shards)
        self.offsets = np.concatenate([[0], np.cumsum([s.n_users for s in self.shards])]).astype(np.int64)

    @staticmethod
    def open(folder: str | os.PathLike[str]) -> SummaryShards:
        folder = Path(folder)
        path = folder / MANIFEST
        if not path.is_file():
            raise FileNotFoundError(f"shards: expected a folder with {MANIFEST} (written by write_summary_shards or "
                                    f"`warmstart stats`), got {str(folder)!r}")
        try:
            meta = json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise ShardsFormatError(f"{path}: expected a JSON manifest of format {FORMAT!r}, got an unreadable file "
                                    f"({type(exc).__name__}: {exc})") from exc
        meta = check_meta(meta, name=FORMAT, version=VERSION, error=ShardsFormatError, prefix=str(path),
                          version_key="version")
        try:
            infos = [ShardInfo(str(s["file"]), int(s["n_users"]), float(s["n_events"])) for s in meta["shards"]]
            dim, n_users = int(meta["dim"]), int(meta["n_users"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ShardsFormatError(f"{path}: expected dim, n_users and shards (each with file, n_users, n_events) "
                                    f"in the manifest ({type(exc).__name__}: {exc})") from exc
        for info in infos:
            if Path(info.file).name != info.file or not (folder / info.file).is_file():
                raise FileNotFoundError(f"{path}: shard {info.file!r}: expected a file in {str(folder)!r}")
        shards = SummaryShards(folder, dim, infos)
        if shards.n_users != n_users:
            raise ShardsFormatError(f"{path}: n_users: expected the shards' total {shards.n_users}, got {n_users}")
        return shards

    @property
    def n_users(self) -> int:
        return int(self.offsets[-1])

    @property
    def n_events(self) -> float:
        return float(sum(s.n_events for s in self.shards))

    def paths(self) -> list[Path]:
        return [self.folder / s.file for s in self.shards]

    def head(self, n_shards: int) -> SummaryShards:
        """The first ``n_shards`` shards as a set of their own (for scaling curves)."""
        if not 1 <= n_shards <= len(self.shards):
            raise ValueError(f"n_shards: expected 1 .. {len(self.shards)}, got {n_shards}")
        return SummaryShards(self.folder, self.dim, self.shards[:n_shards])

    def read(self, i: int) -> Summary:
        return read_shard(self.paths()[i], self.dim, self.shards[i].n_users)

    def user_ids(self, i: int) -> np.ndarray:
        import pyarrow.parquet as pq

        return pq.read_table(self.paths()[i], columns=["user"]).column("user").to_numpy()

    def read_all(self) -> Summary:
        summary = Summary.zeros(self.n_users, self.dim)
        for i in range(len(self.shards)):
            summary[int(self.offsets[i]) : int(self.offsets[i + 1])] = self.read(i)
        return summary

    def __iter__(self) -> Iterator[Summary]:
        return (self.read(i) for i in range(len(self.shards)))

    def __getitem__(self, index: np.ndarray) -> Summary:
        return self.gather(index, lambda wanted: [self.read(i)[rows] for i, rows in wanted])

    def gather(self, index: np.ndarray,
               fetch: Callable[[list[tuple[int, np.ndarray]]], list[Summary]]) -> Summary:
        """The users at rows ``index`` in the order given; ``fetch([(shard, rows in it), ...])`` returns those
        rows of each shard (read here by ``shards[index]``, by Ray's workers in ``RayBackend.take``)."""
        index = np.asarray(index, dtype=np.int64)
        if index.ndim != 1 or (index.size and (index.min() < 0 or index.max() >= self.n_users)):
            raise IndexError(f"index: expected user rows in [0, {self.n_users}), got {index.min()} .. {index.max()}")
        shard = np.searchsorted(self.offsets, index, side="right") - 1
        at = {int(i): np.nonzero(shard == i)[0] for i in np.unique(shard)}
        parts = fetch([(i, index[rows] - self.offsets[i]) for i, rows in at.items()])
        out = Summary.zeros(index.size, self.dim)
        for rows, part in zip(at.values(), parts, strict=True):
            out[rows] = part
        return out


def read_shard(path: Path, dim: int, n_users: int) -> Summary:
    """One shard's statistics, checked against the manifest's dimension and user count.

    >>> import numpy as np
    >>> stats = Summary(np.tile(np.eye(2), (5, 1, 1)), np.arange(10.0).reshape(5, 2), np.ones(5),
    ...                 np.arange(1.0, 6.0))                                  # 5 users with 1..5 events
    >>> shards = write_summary_shards("read", stats, shard_users=2)
    >>> read_shard(shards.paths()[2], dim=2, n_users=1).n.tolist()         # the last shard holds user 4
    [5.0]
    >>> read_shard(shards.paths()[2], dim=2, n_users=2)
    Traceback (most recent call last):
    ...
    warmstart.families.linear.shards.ShardsFormatError: read/shard-00002.parquet: expected 2 users ...
    """
    import pyarrow.parquet as pq

    table = pq.read_table(path, columns=["n", "c", "b", "A"])
    if table.num_rows != n_users:
        raise ShardsFormatError(f"{path}: expected {n_users} users (the manifest's), got {table.num_rows}")

    def values(name: str, width: int) -> np.ndarray:
        column = table.column(name).combine_chunks()
        flat = column.flatten() if width > 1 else column
        out = np.array(flat.to_numpy(zero_copy_only=False), dtype=np.float64)
        if out.size != n_users * width:
            raise ShardsFormatError(f"{path}: column {name!r}: expected {width} values per user, got {out.size} "
                                    "in all")
        return out

    return Summary(values("A", dim * dim).reshape(n_users, dim, dim), values("b", dim).reshape(n_users, dim),
                   values("c", 1), values("n", 1))


class ShardWriter:
    """Write users' statistics to shards as they come (in batches of any size), ``shard_users`` per shard;
    ``close()`` writes the manifest last, so a folder with a manifest is always complete.

    >>> import numpy as np
    >>> stats = Summary(np.tile(np.eye(2), (5, 1, 1)), np.arange(10.0).reshape(5, 2), np.ones(5),
    ...                 np.arange(1.0, 6.0))                                  # 5 users with 1..5 events
    >>> writer = ShardWriter("writer", dim=2, shard_users=3)
    >>> writer.add(np.array(["a", "b"]), stats[:2])
    >>> writer.add(np.array(["c", "d"]), stats[2:4])                        # the first shard is full: written
    >>> [info.n_users for info in writer.infos]
    [3]
    >>> shards = writer.close()                                             # the rest, then the manifest
    >>> [info.n_users for info in shards.shards], shards.user_ids(0).tolist()
    ([3, 1], ['a', 'b', 'c'])
    >>> failed = ShardWriter("half", dim=2, shard_users=1)
    >>> failed.add(np.array([1]), stats[:1])
    >>> failed.abort()                                                      # after an error: nothing left
    >>> is_shards("half")
    False
    """

    def __init__(self, folder: str | os.PathLike[str], dim: int, shard_users: int = 100_000) -> None:
        if shard_users < 1:
            raise ValueError(f"shard_users: expected a positive number of users per shard, got {shard_users}")
        if dim < 1:
            raise ValueError(f"dim: expected a positive dimension, got {dim}")
        self.folder = Path(folder)
        if self.folder.exists() and any(self.folder.iterdir()):
            raise FileExistsError(f"shards: expected a new or empty folder, got {str(self.folder)!r} with files in it")
        self.folder.mkdir(parents=True, exist_ok=True)
        self.dim, self.shard_users = dim, shard_users
        self.infos: list[ShardInfo] = []
        self._ids: list[np.ndarray] = []
        self._parts: list[Summary] = []
        self._pending = 0

    def add(self, user_ids: np.ndarray, summary: Summary) -> None:
        if summary.dim != self.dim:
            raise ValueError(f"summary: expected dimension {self.dim}, got {summary.dim}")
        if len(user_ids) != summary.n_users:
            raise ValueError(f"user_ids: expected {summary.n_users} ids (one per user), got {len(user_ids)}")
        self._ids.append(np.asarray(user_ids))
        self._parts.append(summary)
        self._pending += summary.n_users
        while self._pending >= self.shard_users:
            self._flush(self.shard_users)

    def _flush(self, n: int) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        ids = self._ids[0] if len(self._ids) == 1 else np.concatenate(self._ids)
        parts = self._parts[0] if len(self._parts) == 1 else Summary.concatenate(self._parts)
        head, ids_rest, rest = parts[:n], ids[n:], parts[n:]
        self._ids, self._parts, self._pending = [ids_rest], [rest], rest.n_users
        d = self.dim
        table = pa.table({
            "user": pa.array(ids[:n].tolist() if ids.dtype == object else ids[:n]),
            "n": pa.array(head.n, type=pa.float64()),
            "c": pa.array(head.c, type=pa.float64()),
            "b": pa.FixedSizeListArray.from_arrays(pa.array(head.b.reshape(-1), type=pa.float64()), d),
            "A": pa.FixedSizeListArray.from_arrays(pa.array(head.A.reshape(-1), type=pa.float64()), d * d),
        })
        name = f"shard-{len(self.infos):05d}.parquet"
        pq.write_table(table, self.folder / name)
        self.infos.append(ShardInfo(name, n, float(head.n.sum())))

    def close(self) -> SummaryShards:
        if self._pending:
            self._flush(self._pending)
        if not self.infos:
            raise ValueError("shards: no users were written")
        return _write_manifest(self.folder, self.dim, self.infos)

    def abort(self) -> None:
        """Remove what was written (after an error), so no half-written folder is left behind."""
        shutil.rmtree(self.folder, ignore_errors=True)


def _write_manifest(folder: Path, dim: int, infos: Sequence[ShardInfo]) -> SummaryShards:
    manifest = {"format": FORMAT, "version": VERSION, "dim": dim, "n_users": sum(s.n_users for s in infos),
                "shards": [s.__dict__ for s in infos]}
    tmp = folder / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=1))
    tmp.replace(folder / MANIFEST)
    return SummaryShards.open(folder)


def merge_shards(folders: Sequence[str | os.PathLike[str]], out: str | os.PathLike[str]) -> SummaryShards:
    """One shards folder from several (say, one per partition of a log by user, each summarised on its own
    machine by ``warmstart stats``): their shard files, hard-linked (copied across file systems) into ``out`` in
    the order given, under one manifest. A user must be in one part only; the fit does not need the parts in
    user order.

    >>> import numpy as np
    >>> stats = Summary(np.tile(np.eye(2), (5, 1, 1)), np.arange(10.0).reshape(5, 2), np.ones(5),
    ...                 np.arange(1.0, 6.0))                                  # 5 users with 1..5 events
    >>> _ = write_summary_shards("part-1", stats[:3], user_ids=np.arange(3), shard_users=2)
    >>> _ = write_summary_shards("part-2", stats[3:], user_ids=np.arange(3, 5), shard_users=2)
    >>> merged = merge_shards(["part-1", "part-2"], "all")
    >>> merged.n_users, len(merged.shards), merged.read_all().n.tolist()
    (5, 3, [1.0, 2.0, 3.0, 4.0, 5.0])
    """
    parts = [SummaryShards.open(f) for f in folders]
    if not parts:
        raise ValueError("folders: expected at least one shards folder")
    dims = {p.dim for p in parts}
    if len(dims) != 1:
        raise ValueError(f"folders: expected shards of one dimension, got dimensions {sorted(dims)}")
    target = Path(out)
    if target.exists() and any(target.iterdir()):
        raise FileExistsError(f"out: expected a new or empty folder, got {str(target)!r} with files in it")
    target.mkdir(parents=True, exist_ok=True)
    infos: list[ShardInfo] = []
    try:
        for part in parts:
            for path, info in zip(part.paths(), part.shards, strict=True):
                name = f"shard-{len(infos):05d}.parquet"
                try:
                    os.link(path, target / name)
                except OSError:
                    shutil.copyfile(path, target / name)
                infos.append(ShardInfo(name, info.n_users, info.n_events))
        return _write_manifest(target, dims.pop(), infos)
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise


def write_summary_shards(folder: str | os.PathLike[str], summary: Summary, user_ids: np.ndarray | None = None,
                         shard_users: int = 100_000) -> SummaryShards:
    """Write ``summary`` (rows in user order; ``user_ids`` default to ``0 .. N-1``) as shards in ``folder``.

    >>> import numpy as np
    >>> stats = Summary(np.tile(np.eye(2), (5, 1, 1)), np.arange(10.0).reshape(5, 2), np.ones(5),
    ...                 np.arange(1.0, 6.0))                                  # 5 users with 1..5 events
    >>> shards = write_summary_shards("written", stats, shard_users=2)
    >>> shards.n_users, len(shards.shards), sorted(p.name for p in shards.folder.iterdir())[-1]
    (5, 3, 'shard-00002.parquet')
    """
    summary.validate()
    ids = np.arange(summary.n_users) if user_ids is None else np.asarray(user_ids)
    writer = ShardWriter(folder, summary.dim, shard_users)
    try:
        writer.add(ids, summary)
        return writer.close()
    except BaseException:
        writer.abort()
        raise


def is_shards(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a folder of shards (holds a manifest).

    >>> import numpy as np
    >>> stats = Summary(np.tile(np.eye(2), (2, 1, 1)), np.ones((2, 2)), np.ones(2), np.ones(2))
    >>> _ = write_summary_shards("checked", stats)
    >>> is_shards("checked"), is_shards(".")
    (True, False)
    """
    return (Path(path) / MANIFEST).is_file()

