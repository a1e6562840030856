"""How strongly the item bias is shrunk, chosen by the first decisions it leads to.

Every learned space holds the item bias ``c_i`` of the factorisation (``item_features``), shrunk towards zero
(the overall level) by the ridge penalty ``bias_reg``: an item a few users liked is pulled back as if
``bias_reg`` more events at the mean had been seen. Before a new user has said anything, the item bias is
what ranks the items, so the penalty decides the first recommendations. The predictive likelihood that
chooses the space and K (``warmstart.families.linear.space``) scores every early event alike and hardly
sees the top of the ranking, where an item that few users rated and all of them liked is most likely a lucky
draw; on MovieLens's 0/1 "liked" log the likelihood-optimal (empirical Bayes) penalty is about 5 while the
items ranked first by it are liked less often than with a penalty of 30 or more.

The penalty is therefore chosen the way the ``popularity`` baseline chooses its prior strength: on the
training users only, by the reward of the items the bias would show first. The training users are cut by
arrival into ``n_folds`` folds; for each fold and each candidate penalty the biases-only factorisation is
fitted on the other folds' users, each of the fold's users gets their own distinct items ranked by it (ties in
a seeded random order, as a replay's candidates come), and scores the mean of their logged reward over the
first ``n_top`` of them (their mean reward per item, as the replay rewards a shown item). The criterion is the
mean over every training user (each is scored once, by a fit that never saw them); the largest wins, a tie the
smaller penalty. The choice is then the penalty of every space's factorisation (ours' and the one-prior
peers' alike).

See ``choose_bias_reg`` for an example.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from warmstart.data.events import EventData
from warmstart.families.linear.item_features import ItemFeatureConfig, aggregate_entries, fit_item_features


@dataclass(frozen=True, kw_only=True)
class BiasChoice:
    """The chosen ``bias_reg``, each candidate's score (mean over training users of the mean reward of their
    first ``n_top`` items by the bias) with its standard error over users, and the chosen one's lead over the
    runner-up with the lead's standard error (paired: the same users).

    >>> BiasChoice(chosen=10.0, scores={10.0: 0.7, 30.0: 0.6}, se={10.0: 0.01, 30.0: 0.01}, margin=0.1,
    ...            margin_se=0.02, n_top=10, n_folds=5, n_users=100).to_dict()["chosen"]
    10.0
    """

    chosen: float
    scores: dict[float, float]
    se: dict[float, float]
    margin: float | None
    margin_se: float | None
    n_top: int
    n_folds: int
    n_users: int

    def to_dict(self) -> dict[str, Any]:
        """The choice as JSON (``SpaceChoice.to_dict``'s ``bias_penalty``)."""
        return {"criterion": f"mean over the training users ({self.n_folds} folds by arrival, each scored by a "
                             f"biases-only factorisation of the other folds) of the mean reward of their first "
                             f"{self.n_top} items ranked by the item bias",
                "chosen": self.chosen,
                "candidates": [{"bias_reg": b, "score": s, "se": self.se[b]} for b, s in self.scores.items()],
                "margin": self.margin, "margin_se": self.margin_se, "n_users": self.n_users}


def top_reward(events: EventData, score: np.ndarray, n_top: int, seed: int) -> np.ndarray:
    """Per user of ``events``: the mean of their mean reward per distinct item over their first ``n_top``
    items ranked by ``score`` (one value per item index; ties in a random order from ``seed`` and the user).

    >>> from warmstart.data.events import EventData
    >>> ev = EventData.from_rows(["u", "u", "u", "v"], [1, 2, 3, 1], ["a", "b", "c", "a"], [1.0, 0.0, 1.0, 0.0])
    >>> top_reward(ev, np.array([3.0, 2.0, 1.0]), n_top=2, seed=0).tolist()
    [0.5, 0.0]
    """
    user, item, mean, _ = aggregate_entries(events.user, events.item, events.reward, events.n_items)
    keys: np.ndarray = np.random.default_rng([seed, 11]).random(size=int(user.shape[0]))
    order = np.lexsort((keys, -score[item], user))  # by user, then score descending, ties by the keys
    user, mean = user[order], mean[order]
    starts = np.searchsorted(user, np.arange(events.n_users + 1))
    rank = np.arange(user.shape[0]) - starts[user]
    top = rank < n_top
    sums = np.bincount(user[top], weights=mean[top], minlength=events.n_users)
    counts = np.bincount(user[top], minlength=events.n_users)
    return sums / np.maximum(counts, 1)


def bias_candidates(values: Sequence[float]) -> tuple[float, ...]:
    """The candidate penalties, checked: distinct, positive and finite, at least one; ascending.

    >>> bias_candidates([30, 10])
    (10.0, 30.0)
    >>> bias_candidates([10, 0])
    Traceback (most recent call last):
    ...
    ValueError: bias_reg: expected distinct positive penalties (at least one), got [10, 0]
    """
    out = sorted(float(c) for c in values)
    if not out or len(set(out)) != len(out) or not all(math.isfinite(c) and c > 0 for c in out):
        raise ValueError(f"bias_reg: expected distinct positive penalties (at least one), got {list(values)}")
    return tuple(out)


def choose_bias_reg(events: EventData, candidates: Sequence[float], *, n_top: int, n_folds: int = 5,
                    base: ItemFeatureConfig | None = None, seed: int = 0) -> BiasChoice:
    """Choose the item bias's penalty among ``candidates`` on ``events`` (training users only; see the module
    docstring). ``base`` gives the factorisation's other settings (its ``n_factors`` is ignored: biases only).

    >>> from warmstart.families.linear.space_features import _two_tastes
    >>> events = _two_tastes(n_users=40, n_items=8, seed=0)
    >>> choice = choose_bias_reg(events, (30.0, 1.0), n_top=2, n_folds=4, base=ItemFeatureConfig(max_iter=20))
    >>> list(choice.scores), choice.n_folds, choice.chosen == max(choice.scores, key=choice.scores.__getitem__)
    ([1.0, 30.0], 4, True)
    """
    cands = bias_candidates(candidates)
    if events.n_users < 2:
        raise ValueError(f"events: expected at least 2 users to choose the bias penalty on, got {events.n_users}")
    folds = np.array_split(np.argsort(events.first_times(), kind="stable"), min(n_folds, events.n_users))
    values = {c: np.empty(events.n_users) for c in cands}
    cfg = replace(base or ItemFeatureConfig(), n_factors=0, seed=seed)
    for f, held in enumerate(folds):
        fit_part = events.subset(np.setdiff1d(np.arange(events.n_users), held))
        val_part = events.subset(held)
        for c in cands:
            fit = fit_item_features(fit_part.user, fit_part.item, fit_part.reward, n_users=fit_part.n_users,
                                    n_items=fit_part.n_items, config=replace(cfg, bias_reg=c))
            values[c][held] = top_reward(val_part, fit.features[:, 1], n_top, seed + f)
    means = {c: float(v.mean()) for c, v in values.items()}
    ses = {c: float(v.std(ddof=1) / math.sqrt(v.size)) if v.size > 1 else 0.0 for c, v in values.items()}
    best = cands[0]
    for c in cands[1:]:
        if means[c] > means[best] + 1e-12:
            best = c
    others = [c for c in cands if c != best]
    margin = margin_se = None
    if others:
        second = max(others, key=lambda c: (means[c], -c))
        diff = values[best] - values[second]
        margin, margin_se = float(diff.mean()), float(diff.std(ddof=1) / math.sqrt(diff.size))
    return BiasChoice(chosen=best, scores=means, se=ses, margin=margin, margin_se=margin_se, n_top=n_top,
                      n_folds=len(folds), n_users=events.n_users)
