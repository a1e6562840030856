"""The ``als`` replay peer: implicit-feedback matrix factorisation with per-user recalculation.

This is the recommender many teams run for new users today: ``implicit``'s ``AlternatingLeastSquares``
(Hu, Koren and Volinsky, "Collaborative Filtering for Implicit Feedback Datasets", ICDM 2008) fitted once on
the training users' ``(user x item)`` matrix, a most-popular list until the new user has liked something, and
then the user's factor recomputed from their own row after every event (``recalculate_user``: a least-squares
solve against the fixed item factors, what ``model.recommend(0, row, recalculate_user=True)`` does before it
ranks). At each replay step it plays the candidate with the highest score ``user_factor . item_factor``; the
argmax over the candidates is taken here rather than by ``recommend(items=...)``, which sorts the candidate
ids before ranking, so that ties go to the first candidate as in the other replay baselines.

**Rewards to confidences.** implicit reads each stored value ``v`` of the matrix as a preference with a
confidence: ``v > 0`` means "liked" (``p = 1``) with confidence ``c = v``, ``v < 0`` means "disliked"
(``p = 0``) with confidence ``c = -v``, and every cell not stored is ``p = 0`` with confidence 1. A log's
reward is not a count, so it is turned into one here, from the training rewards only:

- the threshold ``m`` is the training users' mean reward: a reward above ``m`` is a like, one at or below it a
  dislike (ratings 0.5-5 on MovieLens: ``m = 3.49``, so 4 stars and up are likes, as in implicit's own
  MovieLens example; 0/1 rewards: 1 is a like and 0 a dislike);
- the strength ``z`` is the distance from ``m`` as a share of the way to the training extreme on that side,
  ``(r - m) / (max - m)`` for likes and ``(m - r) / (m - min)`` for dislikes, in ``[0, 1]`` (a 5-star rating
  and a 0/1 reward of 1 are ``z = 1``; 4 stars is ``z = 0.33``), so ``alpha`` means the same on any scale;
- a like is stored as ``1 + alpha * z``; a dislike either as ``-(1 + alpha * z)`` (``negatives="disliked"``:
  a shown item the user did not like pulls the user's factor away from it, the one way the model can express
  an observed negative) or not at all (``negatives="ignored"``: the practitioner's usual "keep the ratings >=
  4, drop the rest", an observed dislike then counts as much as an item never shown).

A user's repeated events for an item count once, with their mean reward (as the replay scores them).

**Before the first like** the folded-in factor is zero (only liked items enter the right-hand side of the
solve), so the peer ranks by training popularity instead: the number of training users who liked the item
(ties: the first candidate, and candidates come in a random order). Dislikes before the first like are kept
and enter the solve once a like arrives.

**Settings are chosen on the training users only** (``tune_als``): the latest ``validation_fraction`` of them
by first event are held out, each setting of a small grid (factors, regularization, alpha, the treatment of
dislikes) is fitted on the rest, the held-out users are replayed exactly as the benchmark replays new users
(all their items are candidates), and the setting with the best mean reward over steps ``1..window`` wins; the
model is then refitted on every training user.

**Reproducible and bounded:** implicit's CPU solver runs with ``num_threads=1`` and the BLAS is held to one
thread while fitting (``threadpoolctl``), the initial factors come from ``random_state`` (the seed), so the
same seed gives the same factors and the same choices. implicit is an optional dependency: ``pip install
'warmstart[peers]'``.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from warmstart.data.events import EventData
from warmstart.policies.base import Decision

if TYPE_CHECKING:
    from warmstart.bench.replay import ReplayContext

_INSTALL_HINT = "the 'als' replay peer needs implicit (>= 0.7): pip install 'warmstart[peers]'"
NEGATIVES = ("ignored", "disliked")


def _implicit_als() -> Any:
    """implicit's CPU ``AlternatingLeastSquares`` class, or an ImportError that says how to install it."""
    try:
        from implicit.cpu.als import AlternatingLeastSquares
    except ImportError as exc:
        raise ImportError(_INSTALL_HINT) from exc
    return AlternatingLeastSquares


# ---------------------------------------------------------------------------------------------- settings
@dataclass(frozen=True, kw_only=True)
class ALSSettings:
    """One setting of the peer; validated at construction.

    >>> ALSSettings(factors=8, regularization=0.1, alpha=10.0).to_dict()
    {'factors': 8, 'regularization': 0.1, 'alpha': 10.0, 'negatives': 'disliked', 'iterations': 15}
    """

    factors: int = 32
    regularization: float = 0.1
    alpha: float = 10.0
    negatives: str = "disliked"
    iterations: int = 15

    def __post_init__(self) -> None:
        if not isinstance(self.factors, int) or self.factors < 1:
            raise ValueError(f"factors: expected a positive integer, got {self.factors!r}")
        if not np.isfinite(self.regularization) or self.regularization <= 0:
            raise ValueError(f"regularization: expected a positive number, got {self.regularization!r}")
        if not np.isfinite(self.alpha) or self.alpha < 0:
            raise ValueError(f"alpha: expected a non-negative number, got {self.alpha!r}")
        if self.negatives not in NEGATIVES:
            raise ValueError(f"negatives: expected one of {NEGATIVES}, got {self.negatives!r}")
        if not isinstance(self.iterations, int) or self.iterations < 1:
            raise ValueError(f"iterations: expected a positive integer, got {self.iterations!r}")

    def to_dict(self) -> dict[str, Any]:
        return {"factors": self.factors, "regularization": self.regularization, "alpha": self.alpha,
                "negatives": self.negatives, "iterations": self.iterations}


@dataclass(frozen=True, kw_only=True)
class ALSGrid:
    """The settings ``tune_als`` tries: every combination, in this order (ties go to the first)."""

    factors: tuple[int, ...] = (2, 8, 32, 64)
    regularization: tuple[float, ...] = (0.01, 0.1, 1.0)
    alpha: tuple[float, ...] = (1.0, 10.0, 40.0)
    negatives: tuple[str, ...] = NEGATIVES
    iterations: int = 15

    def __post_init__(self) -> None:
        for name in ("factors", "regularization", "alpha", "negatives"):
            if not getattr(self, name):
                raise ValueError(f"{name}: expected at least one value to try, got none")
        self.settings()  # each combination validates itself

    def settings(self) -> list[ALSSettings]:
        combos = itertools.product(self.factors, self.regularization, self.alpha, self.negatives)
        return [ALSSettings(factors=f, regularization=r, alpha=a, negatives=n, iterations=self.iterations)
                for f, r, a, n in combos]

    def to_dict(self) -> dict[str, Any]:
        return {"factors": list(self.factors), "regularization": list(self.regularization),
                "alpha": list(self.alpha), "negatives": list(self.negatives), "iterations": self.iterations}


@dataclass(frozen=True)
class Confidence:
    """Reward to signed confidence (see the module docstring), fixed from the training rewards.

    >>> conf = Confidence.from_rewards(np.array([0.0, 1.0, 1.0, 0.0]))
    >>> conf.threshold, conf(np.array([1.0, 0.0]), alpha=10.0, negatives="disliked").tolist()
    (0.5, [11.0, -11.0])
    """

    threshold: float
    above: float  # max training reward - threshold (>0)
    below: float  # threshold - min training reward (>0)

    @classmethod
    def from_rewards(cls, reward: np.ndarray) -> Confidence:
        m = float(np.mean(reward))
        tiny = 1e-12 * max(1.0, abs(m))
        return cls(m, max(float(np.max(reward)) - m, tiny), max(m - float(np.min(reward)), tiny))

    def __call__(self, reward: np.ndarray, *, alpha: float, negatives: str) -> np.ndarray:
        """Signed confidences: ``1 + alpha * z`` for a like, ``-(1 + alpha * z)`` or 0 (not stored) for a
        dislike."""
        r = np.asarray(reward, dtype=np.float64)
        like = r > self.threshold
        z = np.where(like, (r - self.threshold) / self.above, (self.threshold - r) / self.below)
        z = z.clip(0.0, 1.0)
        c = 1.0 + alpha * z
        return np.where(like, c, -c if negatives == "disliked" else 0.0)

    def to_dict(self) -> dict[str, Any]:
        return {"threshold": self.threshold, "max_minus_threshold": self.above,
                "threshold_minus_min": self.below}


# ---------------------------------------------------------------------------------------------- the model
def _user_item_means(train: EventData) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(user, item, mean reward)`` for every distinct pair of the log."""
    keys, inverse = np.unique(train.user * np.int64(train.n_items) + train.item, return_inverse=True)
    mean = np.bincount(inverse.ravel(), weights=train.reward) / np.bincount(inverse.ravel())
    return keys // train.n_items, keys % train.n_items, mean


class _FittedALS:
    """implicit's model fitted on the training matrix, with what scoring a new user needs."""

    def __init__(self, train: EventData, settings: ALSSettings, *, seed: int) -> None:
        ALS = _implicit_als()
        self.settings = settings
        self.confidence = Confidence.from_rewards(train.reward)
        user, item, mean = _user_item_means(train)
        value = self.confidence(mean, alpha=settings.alpha, negatives=settings.negatives)
        keep = value != 0
        matrix = sp.csr_matrix((value[keep].astype(np.float32), (user[keep], item[keep])),
                               shape=(train.n_users, train.n_items))
        # the popularity list: training users who liked the item
        self.popularity = np.bincount(item[mean > self.confidence.threshold], minlength=train.n_items)
        with threadpool_limits(1, "blas"):
            # alpha=1: the confidences above already carry alpha (implicit would multiply the values by it)
            self.model = ALS(factors=settings.factors, regularization=settings.regularization, alpha=1.0,
                             iterations=settings.iterations, num_threads=1, random_state=seed)
            self.model.fit(matrix, show_progress=False)
            _ = self.model.YtY  # cached now, under the one-thread BLAS
        self.n_items = train.n_items

    def user_factor(self, items: Sequence[int], values: Sequence[float]) -> np.ndarray:
        """The folded-in factor of a user whose row holds ``values`` (signed confidences) at ``items``."""
        row = sp.csr_matrix((np.asarray(values, dtype=np.float32), np.asarray(items, dtype=np.int32),
                             np.array([0, len(items)], dtype=np.int32)), shape=(1, self.n_items))
        # a factors x factors solve in implicit's own code: no BLAS thread pool to hold here
        return np.asarray(self.model.recalculate_user(0, row), dtype=np.float64)


@dataclass
class ALSUser:
    """A new user's row: the items shown so far with their signed confidences, and the factor they give."""

    items: list[int] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    factor: np.ndarray | None = None  # None until the first like


class ALSAgent:
    """A ``ReplayAgent`` over a fitted model: popularity until the first like, then the folded-in factor."""

    def __init__(self, fitted: _FittedALS) -> None:
        self.fitted = fitted

    def settings(self) -> dict[str, Any]:
        return {**self.fitted.settings.to_dict(), "confidence": self.fitted.confidence.to_dict()}

    def new_user(self) -> ALSUser:
        return ALSUser()

    def act(self, state: ALSUser, X: np.ndarray, items: np.ndarray) -> Decision:
        if state.factor is None:
            scores = self.fitted.popularity[items].astype(np.float64)
        else:
            scores = self.fitted.model.item_factors[items].astype(np.float64) @ state.factor
        a = int(np.argmax(scores))
        probs = np.zeros(items.shape[0])
        probs[a] = 1.0
        return Decision(a, 1.0, probs)

    def update(self, state: ALSUser, X: np.ndarray, items: np.ndarray, action: int, reward: float) -> None:
        s = self.fitted.settings
        value = float(self.fitted.confidence(np.array([reward]), alpha=s.alpha, negatives=s.negatives)[0])
        if value == 0.0:
            return
        state.items.append(int(items[action]))
        state.values.append(value)
        if max(state.values) > 0:
            state.factor = self.fitted.user_factor(state.items, state.values)


# ---------------------------------------------------------------------------------------------- tuning
@dataclass(frozen=True)
class ALSTuning:
    """What ``tune_als`` chose and why: every setting's validation score, the held-out users' ids."""

    chosen: ALSSettings
    grid: ALSGrid
    scores: list[float]  # one per ``grid.settings()``, mean reward over steps 1..window: what is chosen on
    scores_all_steps: list[float]  # the same over every replayed step, for the record
    window: int
    steps: int
    validation_users: np.ndarray  # user ids (``train.user_ids``) held out for validation
    n_fit_users: int
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {"grid": self.grid.to_dict(), "window": f"1-{self.window}",
                "validation": [{**s.to_dict(), "mean_reward": v, f"mean_reward_1-{self.steps}": w}
                               for s, v, w in zip(self.grid.settings(), self.scores, self.scores_all_steps,
                                                  strict=True)],
                "n_fit_users": self.n_fit_users, "n_validation_users": int(self.validation_users.shape[0])}


def tune_als(train: EventData, *, seed: int, steps: int = 20, window: int = 10,
             validation_fraction: float = 0.2, grid: ALSGrid | None = None) -> ALSTuning:
    """Choose the peer's setting on the training users only.

    The latest ``validation_fraction`` of ``train``'s users by first event are held out; every setting of
    ``grid`` (default ``ALSGrid()``) is fitted on the others and replays the held-out users for ``steps``
    steps with all their items as candidates; the best mean reward over steps ``1..window`` wins (ties: the
    first in grid order).
    """
    from warmstart.bench.replay_tuning import validation_replay

    grid = grid or ALSGrid()
    _implicit_als()  # fail before splitting when implicit is missing
    result = validation_replay(train, lambda part, setting: ALSAgent(_FittedALS(part, setting, seed=seed)),
                               grid.settings(), seed=seed, steps=steps, window=window,
                               validation_fraction=validation_fraction)
    return ALSTuning(chosen=result.best, grid=grid, scores=result.scores, scores_all_steps=result.scores_all_steps,
                     window=window, steps=steps, validation_users=result.validation_users,
                     n_fit_users=result.n_fit_users, seconds=result.seconds)


# ---------------------------------------------------------------------------------------------- the peer
class ImplicitALSPeer(ALSAgent):
    """The ``als`` replay peer: ``tune_als`` on ``context.train``, then refit on every training user with the
    chosen setting (``settings=`` skips the tuning: for tests and fixed runs)."""

    def __init__(self, context: ReplayContext, *, seed: int = 0, settings: ALSSettings | None = None,
                 grid: ALSGrid | None = None, steps: int = 20, window: int = 10) -> None:
        _implicit_als()
        if int(seed) < 0:
            raise ValueError(f"seed: expected a non-negative integer, got {seed}")
        self.seed = int(seed)
        self.tuning: ALSTuning | None = None
        if settings is None:
            self.tuning = tune_als(context.train, seed=self.seed, steps=steps, window=window, grid=grid)
            settings = self.tuning.chosen
        super().__init__(_FittedALS(context.train, settings, seed=self.seed))

    def settings(self) -> dict[str, Any]:
        import implicit

        return {
            "model": f"implicit {implicit.__version__} AlternatingLeastSquares (CPU, conjugate gradient), "
                     "user factor recalculated after every event",
            **super().settings(),
            "before_first_like": "training popularity: the number of training users who liked the item",
            "tuning": None if self.tuning is None else self.tuning.to_dict(),
            "seed": self.seed,
        }
