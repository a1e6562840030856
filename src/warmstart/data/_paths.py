"""Where the data sets in ``shared/data`` are found: an explicit folder, ``$WARMSTART_DATA``, or
``../shared/data`` next to the repository (or the working directory)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path


def find_dataset(folder: str, root: str | os.PathLike[str] | None, complete: Callable[[Path], bool],
                 holds: str) -> Path:
    """The first candidate folder for data set ``folder`` that ``complete`` accepts; a ``ValueError`` naming
    every place tried (``holds`` says what was looked for) otherwise."""
    if root is not None:
        candidates = [Path(root), Path(root) / folder]
    elif os.environ.get("WARMSTART_DATA"):
        candidates = [Path(os.environ["WARMSTART_DATA"]) / folder, Path(os.environ["WARMSTART_DATA"])]
    else:
        repo = Path(__file__).resolve().parents[3]
        candidates = [repo.parent / "shared" / "data" / folder, Path.cwd().parent / "shared" / "data" / folder]
    for c in candidates:
        if complete(c):
            return c
    raise ValueError(f"root: expected a folder with {holds}, got none at {' or '.join(str(c) for c in candidates)}; "
                     f"pass root= or set WARMSTART_DATA to the folder that holds {folder}/")
