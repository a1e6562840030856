"""Conversions between logged feedback records and user summaries."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np

from warmstart._io import atomic_write
from warmstart.policies.base import TrainingLog
from warmstart.sim.linear_types import EventLog


def training_log(log: EventLog) -> TrainingLog:
    """The part of a simulated log a policy may see: no ground truth."""
    return TrainingLog(log.candidates, log.action, log.propensity, log.reward)


LOG_FORMAT = "warmstart.banditlog"
LOG_VERSION = 1


def save_log(path, log: EventLog) -> None:
    """Write a simulated log as ``.npz`` (no pickle): the logged feedback plus ground truth arrays whose names
    start with ``truth_`` (fitting ignores them; evaluation may read them)."""
    buf = io.BytesIO()
    np.savez(
        buf,
        meta=np.array(json.dumps({"format": LOG_FORMAT, "format_version": LOG_VERSION})),
        candidates=log.candidates,
        action=log.action,
        propensity=log.propensity,
        reward=log.reward,
        truth_theta=log.users.theta,
        truth_type=log.users.type_id,
    )
    atomic_write(path, buf.getvalue())


def load_log(path) -> TrainingLog:
    """Read a log written by ``save_log``; a clear ``ValueError`` for anything else."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"log file: expected an existing file, got {str(path)!r}")
    with open(path, "rb") as fh:
        if fh.read(2) != b"PK":
            raise ValueError(f"log file {path}: not a readable warmstart log (expected an .npz archive)")
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"])) if "meta" in z.files else {}
            if meta.get("format") != LOG_FORMAT:
                raise ValueError(f"log file {path}: expected format {LOG_FORMAT!r}, got {meta.get('format')!r}")
            if meta.get("format_version") != LOG_VERSION:
                raise ValueError(
                    f"log file {path}: format_version {meta.get('format_version')!r} is not supported "
                    f"(reads {LOG_VERSION})"
                )
            log = TrainingLog(z["candidates"], z["action"], z["propensity"], z["reward"])
    except (zipfile.BadZipFile, OSError, EOFError, KeyError) as exc:
        raise ValueError(f"log file {path}: not a readable warmstart log ({type(exc).__name__}: {exc})") from exc
    try:
        return log.validate()
    except ValueError as exc:
        raise ValueError(f"log file {path}: {exc}") from exc
