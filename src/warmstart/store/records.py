"""What the store hands out and raises: ``EventRecord`` (one logged decision, validated before it is written),
its reading from a row of ``events``, and the store's errors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


class StoreError(Exception):
    """Base class of the store's errors.

    >>> from warmstart.store.store import Store
    >>> store = Store.open("errors.db")
    >>> try:
    ...     store.set_reward("no-such-event", 1.0)
    ... except StoreError as exc:                                   # any of the store's errors
    ...     print(type(exc).__name__, exc)
    NotFoundError event_id: no event 'no-such-event'
    >>> store.close()
    """


class ConflictError(StoreError):
    """The write contradicts what is stored (another decision under the id, another reward, a stale belief).

    >>> import numpy as np
    >>> from warmstart.store.store import Store
    >>> store = Store.open("conflict.db")
    >>> store.append_event(EventRecord("e1", "ann", 0, (1.0,), np.array([1.0]), personalised=False))
    True
    >>> store.append_event(EventRecord("e1", "bob", 0, (1.0,), np.array([1.0]), personalised=False))
    Traceback (most recent call last):
    ...
    warmstart.store.records.ConflictError: event_id: 'e1' is already used by another decision
    >>> store.close()
    """


class StaleBeliefError(ConflictError):
    """A belief write named a version that another writer has moved past: re-read and apply again.

    >>> from warmstart.store.store import Store
    >>> store = Store.open("stale.db")
    >>> store.put_belief("ann", b"mine", population_version=1, n_events=1, expected_version=None)
    1
    >>> store.put_belief("ann", b"theirs", population_version=1, n_events=1, expected_version=None)
    Traceback (most recent call last):
    ...
    warmstart.store.records.StaleBeliefError: belief of 'ann': written by another worker first
    >>> store.close()
    """


class NotFoundError(StoreError):
    """The event, user or population version named does not exist.

    >>> from warmstart.store.store import Store
    >>> store = Store.open("missing.db")
    >>> store.activate(7)
    Traceback (most recent call last):
    ...
    warmstart.store.records.NotFoundError: population version: no version 7
    >>> store.close()
    """


@dataclass(frozen=True)
class EventRecord:
    """One ranked decision: who, when, which action among the candidates, with what probabilities.

    >>> import numpy as np
    >>> record = EventRecord(event_id="e1", user_id="ann", action=1, probabilities=(0.25, 0.75),
    ...                      features=np.array([0.0, 1.0]), personalised=True)
    >>> record.validate().propensity
    0.75
    >>> EventRecord("e2", "ann", 1, (0.5, 0.25), np.array([0.0, 1.0]), personalised=True).validate()
    Traceback (most recent call last):
    ...
    ValueError: probabilities: expected non-negative numbers summing to 1, got [0.5, 0.25]
    """

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
    """A user or event id: a non-empty string of at most ``limit`` characters.

    >>> check_id("user_id", "ann", 128)
    >>> check_id("user_id", "", 128)
    Traceback (most recent call last):
    ...
    ValueError: user_id: expected a non-empty string of at most 128 characters, got ''
    """
    if not isinstance(value, str) or not 0 < len(value) <= limit:
        raise ValueError(f"{name}: expected a non-empty string of at most {limit} characters, got {value!r}")


def event_from_row(row: Any) -> EventRecord:
    """The ``EventRecord`` of a row of ``events`` (a mapping of its columns).

    >>> import numpy as np
    >>> row = {"event_id": "e1", "user_id": "ann", "action": 1, "probabilities": [0.25, 0.75],
    ...        "features": np.array([0.0, 1.0]).tobytes(), "personalised": 1, "population_version": 3,
    ...        "created_at": 1700000000.0, "reward": None, "reward_default": 0, "candidates": None}
    >>> record = event_from_row(row)
    >>> record.propensity, record.features.tolist(), record.population_version, record.reward
    (0.75, [0.0, 1.0], 3, None)
    """
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
