"""Drift schedules shared by the simulators: a user who switches type, and a misleading start.

``reset(options=...)`` of ``warmstart/LinearTypes-v0`` and ``warmstart/Satiation-v0`` takes

- ``{"switch_at": s}``: after ``s`` steps a user of another type answers (a shared account changing hands, a
  life change): steps ``s + 1`` on;
- ``{"misleading_start": m}``: a user of another type answers the first ``m`` steps, then the user.

``env.unwrapped.user`` is always the user answering the current step, so ``info["expected_reward"]`` and
``info["regret"]`` are against whoever answered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from warmstart.sim.users import OUTLIER, UserBatch

OPTIONS = ("kind", "switch_at", "misleading_start")


@dataclass(frozen=True, kw_only=True)
class DriftSpec:
    """A drift schedule for every episode of a run, by value: ``switch_at`` (another type answers from step
    ``switch_at + 1`` on) or ``misleading_start`` (another type answers the first ``misleading_start`` steps,
    then the user). ``options()`` is the ``reset`` options it stands for; ``answering`` says who answers each
    step of many users at once (what a benchmark that serves users without the environment needs).

    >>> drift = DriftSpec(switch_at=5)
    >>> drift.options(), drift.step
    ({'switch_at': 5}, 5)
    >>> DriftSpec()
    Traceback (most recent call last):
    ValueError: drift: expected exactly one of switch_at and misleading_start, got neither
    """

    switch_at: int | None = None
    misleading_start: int | None = None

    def __post_init__(self) -> None:
        given = {k: v for k, v in (("switch_at", self.switch_at), ("misleading_start", self.misleading_start))
                 if v is not None}
        if len(given) != 1:
            raise ValueError(f"drift: expected exactly one of switch_at and misleading_start, got "
                             f"{sorted(given) or 'neither'}")
        for name, value in given.items():
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
                raise ValueError(f"drift.{name}: expected a positive integer, got {value!r}")

    def options(self) -> dict[str, int]:
        """The ``reset(options=...)`` of the environments for this schedule.

        >>> DriftSpec(misleading_start=3).options()
        {'misleading_start': 3}
        """
        return {k: int(v) for k, v in (("switch_at", self.switch_at), ("misleading_start", self.misleading_start))
                if v is not None}

    @property
    def step(self) -> int:
        """The step after which the other user stops or starts answering."""
        return int(self.switch_at if self.switch_at is not None else self.misleading_start)  # type: ignore[arg-type]

    def answering(self, own: np.ndarray, other: np.ndarray, steps: int) -> np.ndarray:
        """``(n, steps, d)``: the parameters of whoever answers each step of ``n`` users, from their own
        ``own (n, d)`` and the other users' ``other (n, d)``.

        >>> own, other = np.zeros((2, 3)), np.ones((2, 3))            # two users, three parameters
        >>> DriftSpec(switch_at=5).answering(own, other, 8)[0, :, 0].tolist()
        [0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0]
        >>> DriftSpec(misleading_start=2).answering(own, other, 4)[0, :, 0].tolist()
        [1.0, 1.0, 0.0, 0.0]
        """
        theta = np.repeat(np.asarray(own, dtype=float)[:, None], steps, axis=1)
        if self.switch_at is not None:
            theta[:, self.switch_at :] = np.asarray(other)[:, None]
        else:
            theta[:, : self.misleading_start] = np.asarray(other)[:, None]
        return theta


def other_type_ids(type_id: np.ndarray, n_types: int, rng: np.random.Generator) -> np.ndarray:
    """For each user, a type other than theirs (any type for an outlier), uniformly.

    >>> other_type_ids(np.array([0, 1, 2, OUTLIER]), n_types=3, rng=np.random.default_rng(0)).tolist()
    [2, 0, 1, 0]
    """
    if n_types < 2:
        raise ValueError("other_type_ids: expected a population with at least 2 types")
    shift = rng.integers(1, n_types, size=type_id.shape[0])
    return np.where(type_id == OUTLIER, rng.integers(n_types, size=type_id.shape[0]), (type_id + shift) % n_types)


@dataclass
class DriftSchedule:
    """Who answers which steps of one episode: ``user`` now, then each ``(step, user)`` of ``pending``.

    >>> from warmstart.sim.linear_types import LinearTypesConfig, LinearTypesPopulation
    >>> truth = LinearTypesPopulation(LinearTypesConfig(dim=3, n_types=3))
    >>> schedule = DriftSchedule.for_population({"switch_at": 3}, truth, np.random.default_rng(0))
    >>> schedule.user.type_id.tolist(), [(step, u.type_id.tolist()) for step, u in schedule.pending]
    ([1], [(3, [2])])
    >>> schedule.due(2) is None, schedule.due(3).type_id.tolist()    # after 3 steps the type-2 user answers
    (True, [2])
    >>> ann, bob = UserBatch(np.zeros((1, 2)), np.array([0])), UserBatch(np.ones((1, 2)), np.array([1]))
    >>> misled = DriftSchedule.from_options({"misleading_start": 2}, lambda kind: ann, lambda user: bob)
    >>> misled.user is bob, misled.pending == [(2, ann)]              # bob's 2 steps first, then ann
    (True, True)
    >>> DriftSchedule.from_options({"switch": 3}, lambda kind: ann, lambda user: bob)
    Traceback (most recent call last):
    ...
    ValueError: options: unknown keys ['switch']; expected some of ['kind', 'switch_at', 'misleading_start']
    """

    user: UserBatch
    pending: list[tuple[int, UserBatch]] = field(default_factory=list)

    @staticmethod
    def from_options(options: dict[str, Any] | None, draw: Callable[[str], UserBatch],
                     other: Callable[[UserBatch], UserBatch]) -> DriftSchedule:
        """Parse ``reset`` options (errors name the key) and draw the users: ``draw(kind)`` the user,
        ``other(user)`` a user of another type."""
        options = dict(options or {})
        unknown = sorted(set(options) - set(OPTIONS))
        if unknown:
            raise ValueError(f"options: unknown keys {unknown}; expected some of {list(OPTIONS)}")
        switch_at, misleading = options.get("switch_at"), options.get("misleading_start")
        if switch_at is not None and misleading is not None:
            raise ValueError("options: expected at most one of switch_at and misleading_start")
        for name, value in (("switch_at", switch_at), ("misleading_start", misleading)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int | np.integer)
                                      or value < 1):
                raise ValueError(f"options.{name}: expected a positive integer, got {value!r}")
        own = draw(options.get("kind", "population"))
        if switch_at is not None:
            return DriftSchedule(own, [(int(switch_at), other(own))])
        if misleading is not None:
            return DriftSchedule(other(own), [(int(misleading), own)])
        return DriftSchedule(own)

    @staticmethod
    def for_population(options: dict[str, Any] | None, population: Any, rng: np.random.Generator) -> DriftSchedule:
        """``from_options`` drawing from a simulator's population (its ``sample_users`` and
        ``other_type_users``) with ``rng``: what the environments' ``reset`` does."""
        return DriftSchedule.from_options(options, lambda kind: population.sample_users(1, rng, kind=kind),
                                          lambda user: population.other_type_users(user, rng))

    def due(self, steps_done: int) -> UserBatch | None:
        """The user who takes over once ``steps_done`` steps are done, or ``None`` if nobody does then."""
        if self.pending and steps_done == self.pending[0][0]:
            self.user = self.pending.pop(0)[1]
            return self.user
        return None
