"""Stored formats: one writer and one reader for versioned ``.npz`` files and for versioned byte headers.

Every ``.npz`` file and every belief byte string warmstart stores goes through here, and the shards' manifest
uses ``check_meta`` (``docs/formats.md``):

- ``NpzFormat``: an ``.npz`` archive of a 0-d JSON ``meta`` array (``format``, ``format_version``, the format's
  own fields and, for the formats that always had it, ``warmstart_version``) and named arrays, written atomically
  (``warmstart._io.atomic_write``) and read with ``allow_pickle=False``. ``NpzFormat.load`` / ``from_bytes``
  check, in order: the file exists; it is a readable zip archive; ``meta`` is a 0-d text array holding a JSON
  object; the format name; the version (a newer one says to upgrade warmstart); the required arrays are present;
  each has an accepted dtype (and number of dimensions, when the format fixes it); and finite values where the
  format requires them. Each check raises the format's own error class, a subclass of ``FormatError``.
- ``ByteHeader``: a little-endian ``struct`` header (magic, version ``u8``, then the format's fields) and the
  arrays after it, for the beliefs a store keeps. ``unpack`` checks the length, the magic and the version;
  ``body`` checks the exact length and reads the arrays.

Error messages name the file or source, what was expected and what was found. The writers produce the same
bytes as the per-format code they replaced (``tests/test_formats.py`` compares them with files written before).
"""

from __future__ import annotations

import io
import json
import os
import struct
import zipfile
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from warmstart._io import atomic_write
from warmstart._version import __version__

#: what a dtype kind is called in messages
_KINDS = {"f": "float", "i": "integer", "u": "unsigned integer", "b": "boolean", "U": "text", "S": "bytes",
          "c": "complex", "O": "object", "M": "datetime", "m": "timedelta", "V": "structured"}
#: what can go wrong opening or reading an archive (numpy raises ValueError for pickled or malformed members)
_UNREADABLE = (zipfile.BadZipFile, OSError, ValueError, EOFError, KeyError, TypeError, struct.error)


class FormatError(ValueError):
    """Stored data that cannot be read: another format, an unknown version, missing or bad arrays, damaged.

    Each format raises its own subclass (``PopulationFormatError``, ``BeliefFormatError``, ...)."""


def _kinds(kinds: str) -> str:
    return " or ".join(_KINDS.get(k, k) for k in kinds)


def check_meta(meta: object, *, name: str, version: int, error: type[FormatError], prefix: str,
               version_key: str = "format_version") -> dict[str, Any]:
    """``meta`` as a dict after checking it is a JSON object naming format ``name`` at version ``version``
    (under ``version_key``); ``error("{prefix}: ...")`` otherwise."""
    if not isinstance(meta, dict):
        raise error(f"{prefix}: expected a JSON object naming format {name!r} as metadata, got {meta!r:.200}")
    if meta.get("format") != name:
        raise error(f"{prefix}: expected format {name!r}, got {meta.get('format')!r}")
    got = meta.get(version_key)
    if got != version:
        newer = isinstance(got, int) and not isinstance(got, bool) and got > version
        raise error(f"{prefix}: {version_key} {got!r} is not supported by warmstart {__version__} (reads version "
                    f"{version}){'; upgrade warmstart' if newer else ''}")
    return meta


@dataclass(frozen=True)
class Array:
    """A required array of an ``.npz`` format: the dtype kinds accepted (``"fiub"``: any number), the dtype it
    is read as (``None``: as stored), the number of dimensions when fixed, and whether values must be finite."""

    name: str
    kinds: str = "fiub"
    dtype: str | None = "float64"
    ndim: int | None = None
    finite: bool = True


class Stored(NamedTuple):
    """What ``NpzFormat`` read: the metadata and the arrays by name."""

    meta: dict[str, Any]
    arrays: dict[str, np.ndarray]


@dataclass(frozen=True)
class NpzFormat:
    """A versioned ``.npz`` format: its ``name`` and ``version``, its required ``arrays``, the ``error`` it raises
    and ``what`` its messages call a file (``"population file"``). ``stamp`` writes ``warmstart_version`` into
    the metadata (the formats that did not before keep not doing it, so their bytes stay the same)."""

    name: str
    version: int
    arrays: tuple[Array, ...]
    error: type[FormatError]
    what: str
    stamp: bool = True
    _by_name: dict[str, Array] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {a.name: a for a in self.arrays})

    # ------------------------------------------------------------------ writing
    def to_bytes(self, arrays: Mapping[str, Any], meta: Mapping[str, Any] | None = None,
                 meta_tail: Mapping[str, Any] | None = None) -> bytes:
        """The archive's bytes: ``meta`` holds ``format``, ``format_version``, the fields of ``meta``,
        ``warmstart_version`` (when ``stamp``) and the fields of ``meta_tail``, in that order (the order is
        part of the bytes); then ``arrays`` in their order, as given (no conversion). No pickle."""
        missing = [a.name for a in self.arrays if a.name not in arrays]
        if missing or "meta" in arrays:
            raise ValueError(f"arrays: expected {', '.join(a.name for a in self.arrays)} (and not meta) for "
                             f"format {self.name!r}, got {', '.join(arrays)}")
        pickled = [name for name, value in arrays.items() if np.asarray(value).dtype.kind == "O"]
        if pickled:  # numpy would pickle them (savez takes allow_pickle only from numpy 2.1)
            raise ValueError(f"arrays: expected numbers or text, got Python objects in {pickled}")
        doc: dict[str, Any] = {"format": self.name, "format_version": self.version, **(meta or {})}
        if self.stamp:
            doc["warmstart_version"] = __version__
        doc.update(meta_tail or {})
        buf = io.BytesIO()
        np.savez(buf, meta=np.array(json.dumps(doc)), **arrays)
        return buf.getvalue()

    def save(self, path: str | os.PathLike[str], arrays: Mapping[str, Any], meta: Mapping[str, Any] | None = None,
             meta_tail: Mapping[str, Any] | None = None) -> Path:
        """Write ``to_bytes(arrays, meta, meta_tail)`` to ``path`` atomically (a temporary file, then a rename)."""
        return atomic_write(path, self.to_bytes(arrays, meta, meta_tail))

    # ------------------------------------------------------------------ reading
    def fail(self, source: object, message: str) -> FormatError:
        """The format's error, naming ``source``: raise ``fmt.fail(path, "...")``."""
        return self.error(f"{self.what} {source}: {message}")

    def load(self, path: str | os.PathLike[str], *, read: Collection[str] | None = None,
             extra: Callable[[str], bool] | None = None) -> Stored:
        """Read and check the file at ``path`` (see ``from_bytes``); the arrays are read from the file, not from
        a copy of it in memory (a log's candidates can be hundreds of MB)."""
        path = Path(path)
        if not path.is_file():
            raise self.error(f"{self.what}: expected an existing file, got {str(path)!r}")
        try:
            with open(path, "rb") as fh:
                head, size = fh.read(8), os.fstat(fh.fileno()).st_size
        except OSError as exc:
            raise self.fail(path, f"not readable ({type(exc).__name__}: {exc})") from exc
        return self._read(path, head, size, path, read, extra)

    def from_bytes(self, data: bytes, source: object = "bytes", *, read: Collection[str] | None = None,
                   extra: Callable[[str], bool] | None = None) -> Stored:
        """Read and check an archive's bytes; errors name ``source``. Every required array must be present;
        those in ``read`` (default: all) are read and checked, as are, unchecked and as stored, the other
        arrays whose name ``extra`` accepts."""
        return self._read(io.BytesIO(data), bytes(data[:8]), len(data), source, read, extra)

    def _read(self, file: Path | io.BytesIO, head: bytes, size: int, source: object,
              read: Collection[str] | None, extra: Callable[[str], bool] | None) -> Stored:
        wanted = [a.name for a in self.arrays] if read is None else list(read)
        unknown = sorted(set(wanted) - set(self._by_name))
        if unknown:
            raise ValueError(f"read: expected names among {sorted(self._by_name)}, got {unknown}")
        label = f"warmstart {self.what.removesuffix(' file')}"
        prefix = f"{self.what} {source}"
        if head[:2] != b"PK":
            raise self.fail(source, not_an_archive(label, f"an .npz archive of format {self.name!r}", head, size))
        try:
            with np.load(file, allow_pickle=False) as z:
                names = list(z.files)
                if "meta" not in names:
                    raise self.fail(source, f"expected a 'meta' array naming format {self.name!r}, got arrays "
                                            f"{sorted(names)}")
                meta = self._meta(z["meta"], prefix)
                required = ["meta", *(a.name for a in self.arrays)]
                missing = sorted(set(required) - set(names))
                if missing:
                    raise self.fail(source, f"expected arrays {', '.join(required)}; missing {missing}")
                arrays = {name: self.check_array(name, z[name], prefix) for name in wanted}
                if extra is not None:
                    arrays.update({n: np.asarray(z[n]) for n in names if n not in required and extra(n)})
        except FormatError:
            raise
        except _UNREADABLE as exc:
            raise self.fail(source, unreadable_archive(label, f"an .npz archive of format {self.name!r}", exc)
                            ) from exc
        return Stored(meta, arrays)

    def check_meta(self, meta: object, prefix: str) -> dict[str, Any]:
        """``meta`` (e.g. from a store's JSON) checked for this format's name and version; errors start with
        ``prefix`` (what the data is and where it came from)."""
        return check_meta(meta, name=self.name, version=self.version, error=self.error, prefix=prefix)

    def check_array(self, name: str, value: Any, prefix: str) -> np.ndarray:
        """``value`` checked as this format's array ``name`` (dtype, dimensions, finite values) and converted to
        its dtype; errors start with ``prefix``."""
        spec = self._by_name[name]
        arr = np.asarray(value)
        if arr.dtype.kind not in spec.kinds:
            raise self.error(f"{prefix}: array {name}: expected {_kinds(spec.kinds)} values, got dtype {arr.dtype}")
        if spec.ndim is not None and arr.ndim != spec.ndim:
            raise self.error(f"{prefix}: array {name}: expected {spec.ndim} dimensions, got shape {arr.shape}")
        if spec.dtype is not None:
            arr = np.array(arr, dtype=spec.dtype)
        if spec.finite and arr.dtype.kind in "fc":
            bad = ~np.isfinite(arr)
            if bad.any():
                first = tuple(int(i) for i in np.argwhere(bad)[0])
                raise self.error(f"{prefix}: array {name} holds non-finite values (expected finite numbers; "
                                 f"{int(bad.sum())} of {arr.size} are not, the first {arr[first]} at index {first})")
        return arr

    def _meta(self, arr: np.ndarray, prefix: str) -> dict[str, Any]:
        if arr.dtype.kind != "U" or arr.ndim != 0:
            raise self.error(f"{prefix}: array meta: expected a 0-d text array holding JSON, got dtype {arr.dtype} "
                             f"with shape {arr.shape}")
        try:
            meta = json.loads(str(arr))
        except ValueError as exc:
            raise self.error(f"{prefix}: array meta: expected JSON, got {str(arr)[:80]!r} ({exc})") from exc
        return self.check_meta(meta, prefix)


def not_an_archive(label: str, expected: str, head: bytes, size: int) -> str:
    """Why bytes that do not start as a zip archive are not a readable ``label``.

    >>> not_an_archive("warmstart demo", "an .npz archive", b"user,tim", 40)
    "not a readable warmstart demo (expected an .npz archive, which starts with b'PK', got 40 bytes starting with b'user,tim')"
    """
    return f"not a readable {label} (expected {expected}, which starts with b'PK', got {size} bytes starting with {head!r})"


def unreadable_archive(label: str, expected: str, exc: BaseException) -> str:
    """Why an archive numpy could not read is not a readable ``label``; pickled objects are named as such, and
    numpy's advice (``allow_pickle=True``, which would run the file's code) is not passed on.

    >>> unreadable_archive("warmstart demo", "an .npz archive", ValueError("Object arrays cannot be loaded when "
    ...                    "allow_pickle=False")).split(";")[0]
    'not a readable warmstart demo: it holds pickled Python objects, which warmstart never loads (no pickle)'
    """
    if "allow_pickle" in str(exc):
        return (f"not a readable {label}: it holds pickled Python objects, which warmstart never loads (no pickle); "
                f"expected {expected} with numeric and text arrays, as warmstart writes it")
    return f"not a readable {label} ({type(exc).__name__}: {exc})"


@dataclass(frozen=True)
class ByteHeader:
    """A versioned little-endian byte format: ``magic``, version ``u8``, then the ``struct`` ``fields``, then
    arrays. ``what`` names the bytes in messages (``"belief bytes"``), ``kind`` what they are (``"warmstart
    belief"``)."""

    magic: bytes
    version: int
    fields: str
    error: type[FormatError]
    what: str
    kind: str
    struct: struct.Struct = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "struct", struct.Struct(f"<{len(self.magic)}sB{self.fields}"))

    @property
    def size(self) -> int:
        return self.struct.size

    def fail(self, message: str) -> FormatError:
        return self.error(f"{self.what}: {message}")

    def pack(self, *values: Any) -> bytes:
        """The header's bytes: magic, version, then ``values`` in the order of ``fields``."""
        return self.struct.pack(self.magic, self.version, *values)

    def unpack(self, data: bytes) -> tuple[Any, ...]:
        """The header's fields after magic and version, after checking the length, the magic and the version."""
        if len(data) < self.size:
            raise self.fail(f"expected at least {self.size} bytes (the header), got {len(data)}")
        magic, version, *values = self.struct.unpack_from(data)
        if magic != self.magic:
            raise self.fail(f"not a {self.kind} (bad magic: expected {self.magic!r}, got {magic!r})")
        if version != self.version:
            newer = "; upgrade warmstart" if version > self.version else ""
            raise self.fail(f"format version {version} is not supported by warmstart {__version__} (reads version "
                            f"{self.version}){newer}")
        return tuple(values)

    def body(self, data: bytes, layout: Sequence[tuple[str, str, int]], rest: int = 0, detail: str = ""
             ) -> tuple[dict[str, np.ndarray], int]:
        """The arrays after the header, ``layout`` being ``(name, little-endian dtype, count)`` in order, and the
        offset where they end; the data must be exactly the header, the arrays and ``rest`` more bytes
        (``detail`` says what decided the length, in the message). The arrays are read-only views."""
        sizes = [np.dtype(dtype).itemsize * count for _, dtype, count in layout]
        expected = self.size + sum(sizes) + rest
        if len(data) != expected:
            raise self.fail(f"expected {expected} bytes{detail}, got {len(data)}")
        out, at = {}, self.size
        for (name, dtype, count), size in zip(layout, sizes, strict=True):
            out[name] = np.frombuffer(data, dtype=dtype, count=count, offset=at)
            at += size
        return out, at

    def check_finite(self, name: str, values: np.ndarray) -> None:
        bad = ~np.isfinite(values)
        if bad.any():
            raise self.fail(f"non-finite values in {name} (expected finite numbers; {int(bad.sum())} of "
                            f"{values.size} are not)")
