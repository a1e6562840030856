"""Logged bandit feedback: the record every bandit fit and policy reads, and its ``.npz`` file.

``TrainingLog`` holds, for ``N`` users with ``T`` events each, the offered candidates, the chosen index, its
logging propensity and the reward. Simulators produce it (``warmstart.sim.linear_types.EventLog`` adds the
ground truth); ``load_log`` reads it from the versioned ``.npz`` format (``docs/formats.md``); the linear family
summarises it (``warmstart.families.linear.summarise_log``).
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from warmstart._io import atomic_write
from warmstart._validate import check_finite, check_shape

#: the type id of an outlier (a user drawn from no type) in simulated logs' ground truth
OUTLIER_TYPE = -1


@dataclass(frozen=True)
class TrainingLog:
    """Logged bandit feedback of training users: ``candidates (N, T, A, d)``, ``action (N, T)``,
    ``propensity (N, T)``, ``reward (N, T)``. Ragged logs pad with ``action = -1``."""

    candidates: np.ndarray
    action: np.ndarray
    propensity: np.ndarray
    reward: np.ndarray

    @property
    def chosen(self) -> np.ndarray:
        """Features of the chosen action, ``(N, T, d)`` (padded events take candidate 0)."""
        idx = np.where(self.action >= 0, self.action, 0)
        return np.take_along_axis(self.candidates, idx[:, :, None, None], axis=2)[:, :, 0]

    def validate(self, dim: int | None = None) -> TrainingLog:
        """Check shapes, action indices, propensities and finite values of logged events; return self.
        Errors name the field, what was expected and what was given."""
        cands = np.asarray(self.candidates)
        if cands.ndim != 4 or (dim is not None and cands.shape[3] != dim):
            want = f"(N, T, A, {dim if dim is not None else 'd'})"
            raise ValueError(f"train_log.candidates: expected shape {want}, got shape {cands.shape}")
        n_users, n_events, n_actions, _ = cands.shape
        for name in ("action", "propensity", "reward"):
            check_shape(f"train_log.{name}", getattr(self, name), (n_users, n_events))
        action = np.asarray(self.action)
        if not np.issubdtype(action.dtype, np.integer):
            raise ValueError(f"train_log.action: expected integer action indices, got dtype {action.dtype}")
        out_of_range = (action < -1) | (action >= n_actions)
        if np.any(out_of_range):
            raise ValueError(
                f"train_log.action: expected indices in [-1, {n_actions - 1}], got {int(action[out_of_range][0])}"
            )
        logged = action >= 0
        p = np.asarray(self.propensity, dtype=float)[logged]
        if np.any(~(p > 0) | (p > 1)):
            raise ValueError("train_log.propensity: expected probabilities in (0, 1] on logged events")
        check_finite("train_log.reward", np.asarray(self.reward, dtype=float)[logged])
        for start in range(0, n_users, 1000):  # in chunks: the candidates can be hundreds of MB
            check_finite("train_log.candidates", cands[start : start + 1000][logged[start : start + 1000]])
        return self


def training_log(log: TrainingLog) -> TrainingLog:
    """The part of a (simulated) log a policy may see: the logged feedback, no ground truth."""
    return TrainingLog(log.candidates, log.action, log.propensity, log.reward)


LOG_FORMAT = "warmstart.banditlog"
LOG_VERSION = 1


def save_log(path: str | os.PathLike[str], log: TrainingLog) -> None:
    """Write a log as ``.npz`` (no pickle): the logged feedback, plus, for a simulated log, the ground truth
    arrays its ``truth_arrays()`` gives, under names that start with ``truth_`` (fitting ignores them;
    evaluation may read them with ``load_truth``)."""
    truth = log.truth_arrays() if hasattr(log, "truth_arrays") else {}
    buf = io.BytesIO()
    np.savez(
        buf,
        meta=np.array(json.dumps({"format": LOG_FORMAT, "format_version": LOG_VERSION})),
        candidates=log.candidates,
        action=log.action,
        propensity=log.propensity,
        reward=log.reward,
        **{f"truth_{k}": v for k, v in truth.items()},
    )
    atomic_write(path, buf.getvalue())


def load_log(path: str | os.PathLike[str]) -> TrainingLog:
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


def load_truth(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """The ground truth arrays of a simulated log written by ``save_log`` (names without the ``truth_``
    prefix: ``theta``, ``type``; a type of ``OUTLIER_TYPE`` marks an outlier); empty for a log without them."""
    with np.load(Path(path), allow_pickle=False) as z:
        return {k[len("truth_"):]: np.asarray(z[k]) for k in z.files if k.startswith("truth_")}
