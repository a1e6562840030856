"""Atomic file writes: a reader never sees a half-written population, log or benchmark JSON."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np


def atomic_write(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file and a rename; create parent folders."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return path


def jsonable(obj: Any) -> Any:
    """``obj`` with numpy arrays and scalars turned into lists and Python numbers, dict keys into strings, so
    that ``json.dumps`` takes it (fit diagnostics stored in metadata)."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    return obj
