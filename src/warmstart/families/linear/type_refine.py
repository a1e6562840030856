"""Item features refined with the types: the learned item space fitted alternately with the types.

``choose_space`` learns the items first, by a factorisation in which every user is shrunk towards one
isotropic ridge prior, and then fits the types in that space. Refining alternates the two (a mixture of
factor models fitted by alternation). Each round:

1. *users*: every user's ``theta_u = (level, beta_u, p_u)`` becomes their posterior mean under the
   population (each type's mean and covariance, weighted by the user's type probabilities), from all of
   their events;
2. *items*: every item's ``(c_i, q_i)`` becomes the ridge regression of its rewards, minus each user's
   level, on the users' ``(beta_u, p_u)``, with the factorisation's penalties. ``beta_u``, a user's weight
   on the item bias, is 1 in the factorisation and the user's own here;
3. the population is refitted (same K, no split-and-merge moves) on the events' leave-user-out rows over
   the new items, EM starting from the round before's population (``fit_population(start=..)``): the
   alternation climbs from where it was rather than restarting each round.

So the items are placed where the types say the users are, not where one isotropic prior does. Zero rounds
is the factorisation alone.

``choose_space`` tries ``SpaceConfig.type_rounds`` rounds for ours' chosen space and K, and for ``pooled``'s
chosen space (K = 1: the one Gaussian prior, full covariance, in the user step), and keeps the round count
with the best score on the validation users' early events, by the same criterion as every other choice
(``choose_rounds``). A space with content columns is not refined.

>>> from warmstart.families.linear.space_features import SMALL_ITEMS, Space, _two_tastes
>>> from warmstart.families.linear.fit import FitConfig
>>> events = _two_tastes(n_users=40, n_items=8, seed=0)
>>> space = Space(n_factors=1, factor_reg=1.0, type_rounds=2)
>>> steps = refined_fit(events, space, 2, SMALL_ITEMS, FitConfig(seed=0))
>>> len(steps), steps[-1].learned.features.shape, steps[-1].learned.info["space"]["name"]
(3, (8, 3), 'bias + 1 factor (reg 1), items refined by the types (2 rounds)')
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from warmstart.data.events import EventData
from warmstart.families.linear.fit import FitConfig, fit_population
from warmstart.families.linear.item_features import (
    ItemFeatureConfig,
    ItemFeatures,
    _group_matrix,
    _pair_matrix,
    _ridge_batch,
    aggregate_entries,
)
from warmstart.families.linear.model import logsumexp_rows, summarise_rows, type_posterior
from warmstart.families.linear.population import Population
from warmstart.families.linear.space_features import (
    Space,
    SpaceFeatures,
    _assemble,
    _better,
    _factorise,
    _mean_se,
    early_log_likelihood,
    early_summary,
    one_prior,
)


@dataclass(frozen=True, eq=False)
class Refined:
    """One step of the alternation: the items (``fit``: ``features`` and the users' ``theta`` as
    ``user_factors``), the space's features assembled from them (``learned``) and the population fitted on
    their leave-user-out rows.

    >>> from warmstart.families.linear.space_features import SMALL_ITEMS, _two_tastes
    >>> events = _two_tastes(n_users=40, n_items=8, seed=0)
    >>> step = refined_fit(events, Space(n_factors=1, factor_reg=1.0, type_rounds=1), 2, SMALL_ITEMS,
    ...                    FitConfig(seed=0))[-1]
    >>> step.fit.user_factors.shape, step.learned.features.shape, step.population.n_types
    ((40, 3), (8, 3), 2)
    """

    fit: ItemFeatures
    learned: SpaceFeatures
    population: Population


def posterior_means(events: EventData, features: np.ndarray, population: Population,
                    chunk: int = 2000) -> np.ndarray:
    """Every user's posterior mean ``(n_users, d)`` under ``population`` (its types and the novel component,
    weighted by the user's probabilities of them), from all of their events over ``features``; in chunks of
    users to bound memory.

    >>> from warmstart.families.linear.model import GaussianTypes
    >>> types = GaussianTypes(np.array([[1.0], [-1.0]]), np.stack([0.01 * np.eye(1)] * 2), np.full(2, 0.1))
    >>> ev = EventData.from_rows(["a", "b"], [0, 1], ["x", "x"], [1.0, -1.0])
    >>> posterior_means(ev, np.array([[1.0]]), Population(types, np.array([0.5, 0.5]))).round(2).tolist()
    [[1.0], [-1.0]]
    """
    X = np.asarray(features, dtype=np.float64)
    summary = summarise_rows(events.user, X[events.item], events.reward, events.n_users)
    out = np.empty((events.n_users, X.shape[1]))
    terms = population.components.precision()
    for start in range(0, events.n_users, chunk):
        sl = slice(start, start + chunk)
        post = type_posterior(summary[sl], population.components, terms)
        log_w = post.log_evidence + population.log_weights
        prob = np.exp(log_w - logsumexp_rows(log_w)[:, None])
        out[sl] = np.einsum("uk,ukd->ud", prob, post.mean)
    return out


def refine_items(events: EventData, fit: ItemFeatures, population: Population) -> ItemFeatures:
    """One round of the alternation's user and item steps (see the module docstring): the items re-solved
    given every user's posterior mean under ``population`` over ``fit``'s features. The result's
    ``user_factors`` are those means (``leave_user_out`` reads each user's own weight on the item bias from
    them); items without events keep ``(1, 0, .., 0)``.

    >>> from warmstart.families.linear.space_features import SMALL_ITEMS, _two_tastes
    >>> events = _two_tastes(n_users=40, n_items=8, seed=0)
    >>> fit = _factorise(events, SMALL_ITEMS)
    >>> population = fit_population(summarise_rows(events.user, fit.features[events.item], events.reward, 40),
    ...                             FitConfig(n_types=2, split_merge=False))
    >>> again = refine_items(events, fit, population)
    >>> again.features.shape, bool(np.all(again.features[:, 0] == 1.0))
    ((8, 3), True)
    """
    cfg = fit.config
    theta = posterior_means(events, fit.features, population)
    eu, ei, er, counts = aggregate_entries(events.user, events.item, events.reward, events.n_items)
    w = counts if cfg.weighting == "count" else np.ones_like(counts)
    penalty = np.r_[max(cfg.bias_reg, 1e-12), np.full(cfg.n_factors, cfg.reg)]
    side = _ridge_batch(_group_matrix(ei, w, events.n_items), _pair_matrix(ei, eu, w, events.n_items, theta.shape[0]),
                        theta[:, 1:], eu, er - theta[eu, 0], penalty)
    features = np.column_stack([np.ones(events.n_items), side])
    resid = er - np.einsum("ed,ed->e", theta[eu], features[ei])
    rmse = float(np.sqrt((w @ resid**2) / w.sum()))
    return replace(fit, features=features, user_factors=theta, rmse=rmse)


def _refit(events: EventData, fit: ItemFeatures, space: Space, n_types: int, population: FitConfig,
           start: Population | None = None) -> Refined:
    learned = _assemble(fit, events, space)
    fixed = replace(population, n_types=n_types, split_merge=False)
    return Refined(fit, learned, fit_population(learned.summary(events), fixed, start=start))


def refined_fit(events: EventData, space: Space, n_types: int, item_config: ItemFeatureConfig,
                population: FitConfig, start: Refined | None = None) -> list[Refined]:
    """The factorisation of ``space`` (``item_config`` its settings) with the K = ``n_types`` population
    fitted on it, then ``space.type_rounds`` rounds of the alternation: ``type_rounds + 1`` steps, the
    factorisation's first. ``start``: that first step when it is fitted already (``choose_space`` has it).
    Spaces with content columns are not refined (a ``ValueError`` if asked to be).

    >>> from warmstart.families.linear.space_features import SMALL_ITEMS, _two_tastes
    >>> events = _two_tastes(n_users=40, n_items=8, seed=0)
    >>> steps = refined_fit(events, Space(n_factors=1, factor_reg=1.0, type_rounds=2), 2, SMALL_ITEMS,
    ...                     FitConfig(seed=0))
    >>> [step.learned.info["space"]["type_rounds"] for step in steps[1:]], steps[0].population.n_types
    ([1, 2], 2)
    """
    if space.content and space.type_rounds:
        raise ValueError(f"space: {space.name!r}: items refined by the types are for learned spaces only, "
                         "not with content columns")
    base = replace(space, type_rounds=0)
    steps = [start or _refit(events, _factorise(events, base.item_config(item_config)), base, n_types,
                             population)]
    for r in range(1, space.type_rounds + 1):
        step = _round(events, steps[-1], replace(space, type_rounds=r), n_types, population)
        if step is None:  # the alternation broke down: the rounds that fitted are kept, and say how many
            break
        steps.append(step)
    return steps


def _round(events: EventData, previous: Refined, space: Space, n_types: int, population: FitConfig
           ) -> Refined | None:
    """One round of the alternation from ``previous``, or None where it breaks down: the refined items or the
    refitted types are not finite. On a log of small rewards with a few huge ones (1e6 among values near 1,
    within the bounds) the item step and the types' noise can feed each other until the EM's sums overflow;
    the round is then not taken, rather than stopping the fit or storing a non-finite population.

    >>> from warmstart.families.linear.space_features import SMALL_ITEMS, _two_tastes
    >>> events = _two_tastes(n_users=40, n_items=8, seed=0)
    >>> first = refined_fit(events, Space(n_factors=1, factor_reg=1.0), 2, SMALL_ITEMS, FitConfig(seed=0))[0]
    >>> step = _round(events, first, Space(n_factors=1, factor_reg=1.0, type_rounds=1), 2, FitConfig(seed=0))
    >>> step.learned.info["space"]["type_rounds"], bool(np.isfinite(step.learned.features).all())
    (1, True)
    """
    with np.errstate(all="ignore"):  # what broke down is checked below, not warned about on the way
        try:
            fit = refine_items(events, previous.fit, previous.population)
            if not np.isfinite(fit.features).all():
                return None
            step = _refit(events, fit, space, n_types, population, start=previous.population)
        except (ValueError, np.linalg.LinAlgError):  # e.g. the M-step's weights not finite
            return None
    comps = step.population.components
    finite = all(np.isfinite(a).all() for a in (comps.mu, comps.cov, comps.noise_var, step.population.weights))
    return step if finite else None


def choose_rounds(fit_part: EventData, val_part: EventData, space: Space, n_types: int, who: str,
                  rounds: int, item_config: ItemFeatureConfig, population: FitConfig, n_early: int,
                  start: Refined | None = None) -> tuple[int, dict[str, Any], Refined]:
    """How many rounds (0 to ``rounds``) of the alternation serve ``who`` (``ours``: the mixture with K =
    ``n_types``; ``pooled``: the one prior of a K = 1 fit) best: each round's fit on ``fit_part`` is scored by
    the mean log marginal likelihood of ``val_part``'s first ``n_early`` events (ties: fewer rounds). Returns
    ``(rounds chosen, record, the chosen step)``; the record holds every round's score, its standard error
    and the chosen count's lead over none (paired over the validation users, with its standard error).

    >>> from warmstart.families.linear.space_features import SMALL_ITEMS, _two_tastes
    >>> fit_part, val_part = _two_tastes(n_users=40, n_items=8, seed=0), _two_tastes(n_users=10, n_items=8, seed=1)
    >>> space = Space(n_factors=1, factor_reg=1.0)
    >>> chosen, record, step = choose_rounds(fit_part, val_part, space, 2, "ours", 1, SMALL_ITEMS,
    ...                                      FitConfig(seed=0), n_early=3)
    >>> record["rounds_tried"], chosen == int(np.argmax(record["scores"]))
    ([0, 1], True)
    """
    steps = refined_fit(fit_part, replace(space, type_rounds=rounds), n_types, item_config, population, start)
    values = []
    for step in steps:
        prior = one_prior(step.population, "pooled") if who == "pooled" else step.population
        values.append(early_log_likelihood(prior, early_summary(val_part, step.learned.features, n_early)))
    stats = [_mean_se(v) for v in values]
    best = 0
    for r in range(1, len(steps)):
        if _better(stats[r][0], stats[best][0]):
            best = r
    lead, lead_se = _mean_se(values[best] - values[0])
    record = {"rounds_tried": list(range(len(steps))), "scores": [m for m, _ in stats],
              "se": [se for _, se in stats], "chosen": best, "lead_over_none": lead, "lead_se": lead_se}
    return best, record, steps[best]


def refine_chosen(fit_part: EventData, val_part: EventData, starts: dict[str, tuple[Space, int, Refined]],
                  rounds: int, item_config: ItemFeatureConfig, population: FitConfig, n_early: int,
                  report: Callable[[str, float], None]) -> dict[str, tuple[Space, dict[str, Any], Refined]]:
    """``choose_rounds`` for each chooser of ``starts`` (``{who: (its chosen space, its K, its fit on
    fit_part)}``): ``{who: (the space with the chosen rounds, the record, the chosen step)}``.

    >>> from warmstart.families.linear.space_features import SMALL_ITEMS, _two_tastes
    >>> fit_part, val_part = _two_tastes(n_users=40, n_items=8, seed=0), _two_tastes(n_users=10, n_items=8, seed=1)
    >>> space = Space(n_factors=1, factor_reg=1.0)
    >>> start = refined_fit(fit_part, space, 2, SMALL_ITEMS, FitConfig(seed=0))[0]
    >>> out = refine_chosen(fit_part, val_part, {"ours": (space, 2, start)}, 1, SMALL_ITEMS, FitConfig(seed=0),
    ...                     n_early=3, report=lambda msg, frac: None)
    >>> chosen_space, record, step = out["ours"]
    >>> chosen_space.type_rounds == record["chosen"], record["rounds_tried"]
    (True, [0, 1])
    """
    out: dict[str, tuple[Space, dict[str, Any], Refined]] = {}
    for who, (space, k, start) in starts.items():
        report(f"{who}: items refined by the types", 0.95)
        chosen, record, step = choose_rounds(fit_part, val_part, space, k, who, rounds, item_config, population,
                                             n_early, start)
        out[who] = (replace(space, type_rounds=chosen), record, step)
    return out
