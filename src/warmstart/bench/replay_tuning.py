"""Settings of a replay peer chosen on the training users only: the latest share of them by first event is held
out, each candidate setting is fitted on the others and replays the held-out users (all their items as
candidates), and the best mean reward over the first steps wins. Nothing about the new users is read.

>>> from warmstart.data.events import EventData
>>> from warmstart.bench.replay_popularity import PopularityBaseline
>>> rows = [("u00", 0.0, "good", 0.8), ("u00", 1.0, "lucky", 1.0)]                    # lucky: rewarded once
>>> rows += [(f"u{u:02d}", float(u), item, r) for u in range(1, 16) for item, r in (("good", 0.8), ("bad", 0.0))]
>>> rows += [(f"u{u}", float(u), item, r) for u in range(16, 20) for item, r in (("good", 0.8), ("lucky", 0.0))]
>>> train = EventData.from_rows(*zip(*rows))
>>> result = validation_replay(train, PopularityBaseline.fitted, [0.0, 5.0], seed=0, steps=1, window=1)
>>> result.scores, result.best, result.n_fit_users, result.validation_users.tolist()   # the plain mean: lucky
([0.0, 0.8], 5.0, 16, ['u16', 'u17', 'u18', 'u19'])
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import numpy as np

from warmstart.data.events import EventData

if TYPE_CHECKING:
    from warmstart.bench.replay import ReplayAgent

S = TypeVar("S")


@dataclass(frozen=True)
class Validation(Generic[S]):
    """Every candidate setting's validation score, and which users were held out."""

    settings: list[S]
    scores: list[float]  # mean reward over steps 1..window: what is chosen on
    scores_all_steps: list[float]  # the same over every replayed step, for the record
    window: int
    steps: int
    validation_users: np.ndarray  # user ids held out
    n_fit_users: int
    seconds: float

    @property
    def best(self) -> S:
        """The best setting (rounded scores, so that settings equal up to float noise tie: the first wins)."""
        return self.settings[int(np.argmax(np.round(self.scores, 12)))]


def validation_replay(train: EventData, build: Callable[[EventData, S], ReplayAgent], settings: Sequence[S], *,
                      seed: int, steps: int = 20, window: int = 10,
                      validation_fraction: float = 0.2) -> Validation[S]:
    """Score each of ``settings``: ``build(fit_part, setting)`` is the agent fitted on the earlier users, which
    then replays the latest ``validation_fraction`` of ``train``'s users for ``steps`` steps."""
    from warmstart.bench.replay import _new_users, _serve, split_by_first_event

    if not 0 < validation_fraction < 1:
        raise ValueError(f"validation_fraction: expected a value in (0, 1), got {validation_fraction}")
    if not 1 <= window <= steps:
        raise ValueError(f"window: expected 1 <= window <= steps ({steps}), got {window}")
    if not settings:
        raise ValueError("settings: expected at least one setting to validate, got none")
    t0 = time.perf_counter()
    fit_idx, val_idx = split_by_first_event(train, 1.0 - validation_fraction)
    fit_part, val_part = train.subset(fit_idx), train.subset(val_idx)
    users = _new_users(val_part, steps, seed)
    features = np.zeros((train.n_items, 1))  # the peers tuned here do not read item features
    scores, scores_all = [], []
    for setting in settings:
        rewards = _serve(build(fit_part, setting), users, features, None, steps)
        scores.append(float(np.nanmean(rewards[:, :window], axis=1).mean()))
        scores_all.append(float(np.nanmean(rewards, axis=1).mean()))
    return Validation(list(settings), scores, scores_all, window, steps, val_part.user_ids, fit_part.n_users,
                      time.perf_counter() - t0)


def validation_record(result: Validation[Any], describe: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
    """The JSON record of a validation: each setting (``describe(setting)``) with its scores (not the seconds:
    a benchmark's document is the same for the same seed; its timing says how long).

    >>> v = Validation([1, 2], [0.5, 0.6], [0.4, 0.5], 10, 20, np.array(["a"]), 4, 0.1)
    >>> validation_record(v, lambda m: {"m": m})["validation"][1]
    {'m': 2, 'mean_reward': 0.6, 'mean_reward_1-20': 0.5}
    """
    return {"window": f"1-{result.window}",
            "validation": [{**describe(s), "mean_reward": v, f"mean_reward_1-{result.steps}": w}
                           for s, v, w in zip(result.settings, result.scores, result.scores_all_steps, strict=True)],
            "n_fit_users": result.n_fit_users, "n_validation_users": int(result.validation_users.shape[0])}
