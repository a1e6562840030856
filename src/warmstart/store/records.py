"""What the store hands out and raises: ``EventRecord`` (one logged decision, validated before it is written),
its reading from a row of ``events``, and the store's errors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


class StoreError(Exception):
    """Base class of the store's errors."""


class ConflictError(StoreError):
    """The write contradicts what is stored (another decision under the id, another reward, a stale belief)."""


class StaleBeliefError(ConflictError):
    """A belief write named a version that another writer has moved past: re-read and apply again."""


class NotFoundError(StoreError):
    """The event, user or population version named does not exist."""


@dataclass(frozen=True)
class EventRecord:
    """One ranked decision: who, when, which action among the candidates, with what probabilities."""

    event_id: str
    user_id: str
    action: int
    probabilities: tuple[float, ...]
    features: np.ndarray  # the chosen action's features
    personalised: bool
    population_version: int | None = None
    created_at: float = 0.0
    reward: float | None = None
    reward_default: bool = False
    candidates: np.ndarray | None = None  # every candidate's features (n_actions, d), for offline evaluation

    @property
    def propensity(self) -> float:
        return self.probabilities[self.action]

    def validate(self) -> EventRecord:
        check_id("event_id", self.event_id, 64)
        check_id("user_id", self.user_id, 128)
        p = np.asarray(self.probabilities, dtype=float)
        if p.ndim != 1 or p.size == 0 or not np.isfinite(p).all() or (p < 0).any() or abs(p.sum() - 1) > 1e-6:
            raise ValueError(f"probabilities: expected non-negative numbers summing to 1, got {list(self.probabilities)}")
        if not 0 <= self.action < p.size:
            raise ValueError(f"action: expected an index in [0, {p.size - 1}], got {self.action}")
        if not p[self.action] > 0:
            raise ValueError(f"probabilities: the chosen action {self.action} must have a positive probability")
        f = np.asarray(self.features, dtype=float)
        if f.ndim != 1 or not np.isfinite(f).all():
            raise ValueError(f"features: expected a 1-d array of finite numbers, got shape {f.shape}")
        if self.candidates is not None:
            c = np.asarray(self.candidates, dtype=float)
            if c.shape != (p.size, f.size) or not np.isfinite(c).all():
                raise ValueError(f"candidates: expected {p.size} x {f.size} finite numbers (one row per action), "
                                 f"got shape {c.shape}")
            if not np.array_equal(c[self.action], f):
                raise ValueError(f"candidates: row {self.action} (the chosen action) differs from features")
        return self


def check_id(name: str, value: object, limit: int) -> None:
    """A user or event id: a non-empty string of at most ``limit`` characters."""
    if not isinstance(value, str) or not 0 < len(value) <= limit:
        raise ValueError(f"{name}: expected a non-empty string of at most {limit} characters, got {value!r}")


def event_from_row(row: Any) -> EventRecord:
    """The ``EventRecord`` of a row of ``events`` (a mapping of its columns)."""
    return EventRecord(
        event_id=row["event_id"], user_id=row["user_id"], action=int(row["action"]),
        probabilities=tuple(float(x) for x in row["probabilities"]),
        features=np.frombuffer(row["features"], dtype="<f8").copy(), personalised=bool(row["personalised"]),
        population_version=row["population_version"], created_at=float(row["created_at"]),
        reward=row["reward"], reward_default=bool(row["reward_default"]),
        candidates=_candidates(row.get("candidates"), len(row["probabilities"])),
    )


def _candidates(data: bytes | None, n_actions: int) -> np.ndarray | None:
    return None if data is None else np.frombuffer(data, dtype="<f8").reshape(n_actions, -1).copy()
