"""The ``popularity`` replay baseline: each item's mean reward among the training users, pulled towards the
overall mean by ``m`` prior events, ``m`` chosen by replaying the training users' validation split."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from warmstart.data.events import EventData
from warmstart.policies.base import Decision

if TYPE_CHECKING:
    from warmstart.bench.replay import ReplayContext


#: the prior strengths ``popularity`` chooses from on the training users' validation split: an item's score is
#: its mean reward pulled towards the training mean as ``m`` more events at that mean would (0: the plain mean,
#: which puts an item rewarded once at the top)
POPULARITY_SHRINKAGE = (0.0, 1.0, 3.0, 10.0, 30.0, 100.0)


class PopularityBaseline:
    """Play the candidate with the highest shrunk mean reward among the training users: ``(sum + m * mean) /
    (count + m)``, items they never had at the training mean. ``m`` is chosen on the training users'
    validation split (``warmstart.bench.replay_tuning``) unless given. Deterministic; ties go to the first
    candidate (candidates come in a random order)."""

    def __init__(self, context: ReplayContext, *, seed: int = 0, shrinkage: float | None = None) -> None:
        from warmstart.bench.replay_tuning import validation_replay

        self.validation = None
        if shrinkage is None:
            self.validation = validation_replay(context.train, PopularityBaseline.fitted, POPULARITY_SHRINKAGE,
                                                seed=seed)
            shrinkage = self.validation.best
        self._fit(context.train, float(shrinkage))

    @classmethod
    def fitted(cls, train: EventData, shrinkage: float) -> PopularityBaseline:
        """The baseline on ``train`` with a given ``shrinkage`` (no validation)."""
        self = cls.__new__(cls)
        self.validation = None
        self._fit(train, float(shrinkage))
        return self

    def _fit(self, train: EventData, shrinkage: float) -> None:
        if not shrinkage >= 0:
            raise ValueError(f"shrinkage: expected a non-negative number of prior events, got {shrinkage}")
        counts = np.bincount(train.item, minlength=train.n_items)
        sums = np.bincount(train.item, weights=train.reward, minlength=train.n_items)
        overall = float(train.reward.mean())
        self.shrinkage = shrinkage
        self.item_mean = np.where(counts > 0, (sums + shrinkage * overall) / np.maximum(counts + shrinkage, 1e-300),
                                  overall)

    def settings(self) -> dict[str, Any]:
        from warmstart.bench.replay_tuning import validation_record

        return {"score": "training mean reward of the item shrunk towards the training mean by m prior events "
                         "(training mean for unseen items)", "m": self.shrinkage,
                "tuning": None if self.validation is None else validation_record(self.validation,
                                                                                  lambda m: {"m": m})}

    def new_user(self) -> None:
        return None

    def act(self, state: None, X: np.ndarray, items: np.ndarray) -> Decision:
        a = int(np.argmax(self.item_mean[items]))
        probs = np.zeros(items.shape[0])
        probs[a] = 1.0
        return Decision(a, 1.0, probs)

    def update(self, state: None, X: np.ndarray, items: np.ndarray, action: int, reward: float) -> None:
        pass
