"""Where the real data sets are found, and how their files are read whether plain or gzipped.

``find_dataset`` tries, in order: an explicit folder (and nothing else); else ``$WARMSTART_DATA`` when set,
or ``../shared/data`` next to the repository (or the working directory); then copies installed with software
(the Open Bandit Dataset sample in obp's wheel); then the copy shipped in this package
(``warmstart/data/datasets/<folder>``, files gzipped). ``search_shipped=False``, or the environment variable
``WARMSTART_NO_SHIPPED_DATA=1``, leaves out the installed and shipped copies (to test the error path)."""

from __future__ import annotations

import gzip
import os
from collections.abc import Callable, Iterable
from pathlib import Path

#: The repository's root when warmstart runs from a checkout (``src/warmstart/data/_paths.py``).
REPO = Path(__file__).resolve().parents[3]
#: The data sets shipped with the package.
SHIPPED = Path(__file__).resolve().parent / "datasets"
NO_SHIPPED_ENV = "WARMSTART_NO_SHIPPED_DATA"


def data_file(folder: Path, name: str) -> Path | None:
    """``folder/name``, else ``folder/name.gz``, else ``None``."""
    for c in (folder / name, folder / f"{name}.gz"):
        if c.is_file():
            return c
    return None


def has_files(folder: Path, names: Iterable[str]) -> bool:
    """Whether every file of ``names`` is in ``folder``, plain or gzipped."""
    return all(data_file(folder, n) is not None for n in names)


def read_text(folder: Path, name: str) -> str:
    """The text of ``folder/name`` or of ``folder/name.gz`` (UTF-8); ``FileNotFoundError`` naming both."""
    path = data_file(folder, name)
    if path is None:
        raise FileNotFoundError(f"{folder / name}: expected this file or {name}.gz, got neither")
    if path.suffix == ".gz":
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            return fh.read()
    return path.read_text(encoding="utf-8")


def _unique(paths: Iterable[Path]) -> list[Path]:
    out: list[Path] = []
    seen: set[Path] = set()
    for p in paths:
        key = p.resolve()
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


def find_dataset(folder: str, root: str | os.PathLike[str] | None, complete: Callable[[Path], bool],
                 holds: str, *, search_shipped: bool = True, installed: Iterable[Path] = ()) -> Path:
    """The first candidate folder for data set ``folder`` that ``complete`` accepts (order in the module's
    docstring; ``installed`` are copies installed with other software); a ``ValueError`` naming every place
    tried (``holds`` says what was looked for) otherwise."""
    env = os.environ.get("WARMSTART_DATA")
    copies = search_shipped and os.environ.get(NO_SHIPPED_ENV, "") in ("", "0")
    if root is not None:
        candidates = [Path(root), Path(root) / folder]
    else:
        if env:
            candidates = [Path(env) / folder, Path(env)]
        else:
            candidates = [base / "shared" / "data" / folder for base in (REPO.parent, Path.cwd().parent)]
        if copies:
            candidates += [*installed, *[p for p in (SHIPPED / folder,) if p.is_dir()]]
    candidates = _unique(candidates)
    for c in candidates:
        if complete(c):
            return c
    if root is not None:
        fix = "pass root= a folder that holds them"
    else:
        fix = f"pass root= or set WARMSTART_DATA to the folder that holds {folder}/"
        if not copies:
            fix += f" (installed and shipped copies left out: search_shipped=False or {NO_SHIPPED_ENV} set)"
    tried = " or ".join(str(c) for c in candidates)
    raise ValueError(f"root: expected a folder with {holds}, got none at {tried}; {fix}")
