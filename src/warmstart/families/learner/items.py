"""Item difficulty for learner types: one log-odds offset per item, shared by every type and hidden state.

An item's offset ``d`` shifts the log odds of a correct answer in both hidden states (``logit G' = logit G +
d``, ``logit (1 - S') = logit (1 - S) + d``; ``warmstart.families.learner.belief.item_adjusted``): an easy item
(``d > 0``) is answered right more often whether or not the skill is known, so a right answer to it is weaker
evidence of knowing the skill. This is the item-effect idea of KT-IDEM (Pardos and Heffernan, 2011) with one
shrunken parameter per item instead of a guess and a slip each, so that items with a handful of responses
stay close to their skill.

The offsets are fitted after the types, by backfitting: predict the training students online with the
current offsets, then for every item take the Newton solution of its penalised logistic likelihood (Gaussian
prior ``N(0, prior_sd^2)``) with the predictions' log odds as the fixed part; repeat. ``prior_sd`` is chosen
on held-out students by log loss (``choose_prior_sd``). Items never seen in training get offset 0; so does
every item of a log without item ids (all ``-1``, as the generic format allows), where there is nothing to fit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from warmstart.families.learner.belief import DEFAULT_GRID, PersonalGrid, predict_online
from warmstart.families.learner.fit import LearnerPopulation

_CLIP = 1e-6


@dataclass(frozen=True, eq=False)
class ItemOffsets:
    """Per-item log-odds offsets (``offset (n_items,)``), the training responses behind each, the prior.

    >>> import numpy as np
    >>> offsets = ItemOffsets(offset=np.array([1.0, -0.5]), count=np.array([30.0, 12.0]), prior_sd=1.0)
    >>> offsets.for_responses(np.array([0, 1, 1, -1, 5])).tolist()   # -1 and 5: unknown items
    [1.0, -0.5, -0.5, 0.0, 0.0]
    >>> ItemOffsets(np.zeros(0), np.zeros(0), 1.0).for_responses(np.array([0, 3])).tolist()  # no item table
    [0.0, 0.0]
    """

    offset: np.ndarray
    count: np.ndarray
    prior_sd: float

    def for_responses(self, item: np.ndarray) -> np.ndarray:
        """The offset of every response's item; unknown items (``-1`` or beyond the table) get 0."""
        item = np.asarray(item, dtype=np.int64)
        if self.offset.size == 0:  # no item table (a log without item ids)
            return np.zeros(item.shape)
        ok = (item >= 0) & (item < self.offset.size)
        return np.where(ok, self.offset[np.where(ok, item, 0)], 0.0)


def _check(item: np.ndarray, n: int, n_items: int) -> np.ndarray:
    item = np.asarray(item)
    if item.shape != (n,) or item.dtype.kind not in "iu":
        raise ValueError(f"item: expected {n} integer item ids (-1 for unknown), got {item.dtype} of shape "
                         f"{item.shape}")
    if item.size and item.max() >= n_items:
        raise ValueError(f"item: expected ids below n_items = {n_items}, got {int(item.max())}")
    return item.astype(np.int64)


def has_items(item: np.ndarray) -> bool:
    """Whether any response has a known item (an id other than ``-1``).

    >>> import numpy as np
    >>> has_items(np.array([-1, -1, 4])), has_items(np.full(3, -1))
    (True, False)
    """
    return bool(np.any(np.asarray(item) >= 0))


def fit_item_offsets(
    population: LearnerPopulation, student: np.ndarray, skill: np.ndarray, item: np.ndarray,
    correct: np.ndarray, n_items: int, *, prior_sd: float = 1.0, grid: PersonalGrid | None = DEFAULT_GRID,
    rounds: int = 4, newton_steps: int = 6,
) -> ItemOffsets:
    """Fit one offset per item on a training log (sorted by student, then time) given fitted types. With no
    known item in the log (every id ``-1``, or ``n_items = 0``) every offset is 0 and nothing is fitted.

    >>> import numpy as np
    >>> from warmstart.sim.learners import simulate_learners
    >>> pop = LearnerPopulation(np.array([0.8, 0.2]), L0=np.full((2, 2), 0.1),   # 2 types, 2 skills:
    ...     T=np.array([[0.4, 0.4], [0.05, 0.05]]), F=np.zeros((2, 2)),         # fast and slow learners
    ...     G=np.full((2, 2), 0.2), S=np.full((2, 2), 0.1), skill_names=("add", "sub"))
    >>> log = simulate_learners(pop, 60, 10, rng=0)                      # 60 students, 10 responses each
    >>> right = log.correct == 1
    >>> coin = np.random.default_rng(0).integers(0, 2, right.size)
    >>> item = np.where(right, coin, 1 + coin)         # right answers on item 0 or 1, wrong ones on 1 or 2
    >>> offsets = fit_item_offsets(pop, log.student, log.skill, item, log.correct, n_items=4)
    >>> offsets.offset.round(2).tolist(), offsets.count.tolist()        # item 0 easy, item 2 hard, 3 unseen
    ([4.03, 0.25, -4.7, 0.0], [153.0, 303.0, 144.0, 0.0])
    >>> no_ids = np.full(right.size, -1)
    >>> fit_item_offsets(pop, log.student, log.skill, no_ids, log.correct, n_items=0).offset.size  # nothing
    0
    """
    if not prior_sd > 0:
        raise ValueError(f"prior_sd: expected a positive number, got {prior_sd}")
    if rounds < 1 or newton_steps < 1:
        raise ValueError(f"rounds, newton_steps: expected positive integers, got {rounds}, {newton_steps}")
    y = np.asarray(correct, dtype=float)
    item = _check(item, y.size, n_items)
    seen = item >= 0
    it = item[seen]
    count = np.bincount(it, minlength=n_items).astype(float)
    prec = 1.0 / prior_sd**2
    offset = np.zeros(n_items)
    if it.size == 0:  # no item ids: the offsets stay at their prior mean
        return ItemOffsets(offset, count, float(prior_sd))
    for _ in range(rounds):
        rows_offset = np.where(seen, offset[np.where(seen, item, 0)], 0.0)
        p = np.clip(predict_online(population, student, skill, correct, grid=grid, item_offset=rows_offset),
                    _CLIP, 1 - _CLIP)
        z = np.log(p[seen] / (1 - p[seen]))
        step = np.zeros(n_items)
        for _ in range(newton_steps):
            q = 1.0 / (1.0 + np.exp(-(z + step[it])))
            grad = np.bincount(it, weights=y[seen] - q, minlength=n_items) - prec * (offset + step)
            hess = np.bincount(it, weights=q * (1 - q), minlength=n_items) + prec
            step += grad / hess
        offset = offset + step
    return ItemOffsets(offset, count, float(prior_sd))


def choose_prior_sd(
    population: LearnerPopulation, train: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    heldout: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray], n_items: int,
    *, candidates: Sequence[float] = (0.25, 0.5, 1.0, 2.0), grid: PersonalGrid | None = DEFAULT_GRID,
) -> tuple[ItemOffsets, dict[str, float]]:
    """Fit offsets on ``train`` = ``(student, skill, item, correct)`` for every candidate prior, keep the one
    with the lowest online log loss on ``heldout`` students; returns it and the log loss per candidate.

    Without item ids in ``train`` (every id ``-1``) there is no choice to make: the offsets are all 0 (under
    the first candidate prior) and the scores are empty; ``has_items`` tells a caller beforehand.

    >>> import numpy as np
    >>> from warmstart.sim.learners import simulate_learners
    >>> pop = LearnerPopulation(np.array([0.8, 0.2]), L0=np.full((2, 2), 0.1),   # 2 types, 2 skills:
    ...     T=np.array([[0.4, 0.4], [0.05, 0.05]]), F=np.zeros((2, 2)),         # fast and slow learners
    ...     G=np.full((2, 2), 0.2), S=np.full((2, 2), 0.1), skill_names=("add", "sub"))
    >>> log = simulate_learners(pop, 60, 10, rng=0)                      # 60 students, 10 responses each
    >>> right = log.correct == 1
    >>> coin = np.random.default_rng(0).integers(0, 2, right.size)
    >>> item = np.where(right, coin, 1 + coin)         # right answers on item 0 or 1, wrong ones on 1 or 2
    >>> rows = (log.student, log.skill, item, log.correct)
    >>> train = tuple(x[log.student < 40] for x in rows)                  # 40 students fit the offsets,
    >>> heldout = tuple(x[log.student >= 40] for x in rows)               # 20 others score them
    >>> best, scores = choose_prior_sd(pop, train, heldout, n_items=4)
    >>> best.prior_sd, {sd: round(loss, 3) for sd, loss in scores.items()}   # strong effects: widest prior
    (2.0, {'0.25': 0.437, '0.5': 0.347, '1.0': 0.306, '2.0': 0.291})
    """
    if len(candidates) == 0:
        raise ValueError("candidates: expected at least one prior standard deviation, got none")
    ts, tk, ti, tc = train
    hs, hk, hi, hc = heldout
    if not has_items(ti):
        return fit_item_offsets(population, ts, tk, ti, tc, n_items, prior_sd=candidates[0], grid=grid), {}
    scores: dict[str, float] = {}
    best: ItemOffsets | None = None
    for sd in candidates:
        fit = fit_item_offsets(population, ts, tk, ti, tc, n_items, prior_sd=sd, grid=grid)
        p = np.clip(predict_online(population, hs, hk, hc, grid=grid, item_offset=fit.for_responses(hi)),
                    _CLIP, 1 - _CLIP)
        y = np.asarray(hc, dtype=float)
        scores[str(sd)] = float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
        if best is None or scores[str(sd)] < scores[str(best.prior_sd)]:
            best = fit
    assert best is not None
    return best, scores
