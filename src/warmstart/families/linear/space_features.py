"""The item spaces ``choose_space`` chooses among, their features learned from some users' events, and the
criterion's pieces (early events' statistics and log likelihood, the one-prior peers' priors). See
``warmstart.families.linear.space`` for the choice itself.

**Fitting on learned features.** A population is fitted on its users' statistics over the item features, and
learned features are fitted on those same users' rewards: an item few users had carries their rewards in its
``c_i`` and ``q_i`` (an item one user had fits that user's reward exactly), so in-sample statistics show the
types too little noise and too much weight on the learned columns, and a prior fitted on them is overconfident
on a new user, whose items' features never saw them (on a simulator's log, where no two events share an
item, every learned space's K = 1 prior scored about -7e6). So the populations of ``choose_space`` are fitted on each event's
*leave-user-out* features (``item_features.leave_user_out``: the item's ridge solution without that user's
entry; an item only that user had looks unseen), what a new user's items look like, while new users are
served with the features fitted on everyone (``SpaceFeatures``: ``rows`` and ``features``). ``fit_from_events`` (the fit without the
choice) is unchanged."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from warmstart.data.events import EventData
from warmstart.families.linear.fit import FitConfig, fit_population  # noqa: F401  (the examples use them)
from warmstart.families.linear.item_features import (
    ItemFeatureConfig,
    ItemFeatures,
    fit_item_features,
    leave_user_out,
)
from warmstart.families.linear.model import (
    GaussianTypes,
    Summary,
    log_evidence,
    logsumexp_rows,
    summarise_rows,
)
from warmstart.families.linear.population import Population

#: a quick factorisation for the examples (the default runs up to 100 alternations)
SMALL_ITEMS = ItemFeatureConfig(n_factors=1, reg=1.0, bias_reg=1.0, max_iter=30)


# ---------------------------------------------------------------------------------------------- spaces
@dataclass(frozen=True, kw_only=True)
class Space:
    """An item space: ``[1, c_i, q_i (n_factors), content columns (content)]``; ``factor_reg`` the latent
    factors' ridge penalty (``None`` without factors); ``type_rounds`` rounds of the items refined by the
    types (``warmstart.families.linear.type_refine``; 0: the factorisation's items).

    >>> Space(n_factors=2, factor_reg=50.0).name, Space(content=True).name
    ('bias + 2 factors (reg 50)', 'content + bias')
    >>> Space(n_factors=2, factor_reg=10.0, type_rounds=1).name
    'bias + 2 factors (reg 10), items refined by the types (1 round)'
    >>> Space(n_factors=2)
    Traceback (most recent call last):
    ...
    ValueError: factor_reg: expected a positive penalty with latent factors (n_factors > 0), got None
    """

    n_factors: int = 0
    content: bool = False
    factor_reg: float | None = None
    type_rounds: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.type_rounds, bool) or not isinstance(self.type_rounds, int) or self.type_rounds < 0:
            raise ValueError(f"type_rounds: expected a non-negative integer, got {self.type_rounds!r}")
        if isinstance(self.n_factors, bool) or not isinstance(self.n_factors, int) or self.n_factors < 0:
            raise ValueError(f"n_factors: expected a non-negative integer, got {self.n_factors!r}")
        if self.n_factors == 0 and self.factor_reg is not None:
            raise ValueError(f"factor_reg: expected None without latent factors (n_factors = 0), got "
                             f"{self.factor_reg!r}")
        if self.n_factors > 0 and (self.factor_reg is None or not math.isfinite(self.factor_reg)
                                   or self.factor_reg <= 0):
            raise ValueError(f"factor_reg: expected a positive penalty with latent factors (n_factors > 0), "
                             f"got {self.factor_reg!r}")

    @property
    def name(self) -> str:
        """A short name: ``bias``, ``content + bias``, with ``+ k factors (reg r)`` when it has factors."""
        parts = ["content + bias" if self.content else "bias"]
        if self.n_factors:
            plural = "s" if self.n_factors > 1 else ""
            parts.append(f"{self.n_factors} factor{plural} (reg {self.factor_reg:g})")
        rounds = f", items refined by the types ({self.type_rounds} round{'s' * (self.type_rounds > 1)})"
        return " + ".join(parts) + (rounds if self.type_rounds else "")

    def item_config(self, base: ItemFeatureConfig) -> ItemFeatureConfig:
        """The factorisation of this space: ``base`` with this space's factors and their penalty.

        >>> Space(n_factors=4, factor_reg=10.0).item_config(ItemFeatureConfig()).reg
        10.0
        """
        reg = base.reg if self.factor_reg is None else self.factor_reg
        return replace(base, n_factors=self.n_factors, reg=reg)

    def to_dict(self) -> dict[str, Any]:
        """The space as JSON: its name and fields.

        >>> Space(content=True).to_dict()
        {'name': 'content + bias', 'n_factors': 0, 'content': True, 'factor_reg': None}
        """
        out = {"name": self.name, "n_factors": self.n_factors, "content": self.content,
               "factor_reg": self.factor_reg}
        return {**out, "type_rounds": self.type_rounds} if self.type_rounds else out


def content_columns(features: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """The log's item features without the columns equal for every item (a constant would duplicate the
    space's own 1; an all-zero column carries nothing): ``(columns kept, their indices)``.

    >>> cols, kept = content_columns(np.array([[1.0, 0.0, 2.0], [1.0, 1.0, 2.0], [1.0, 1.0, 2.0]]))
    >>> cols.tolist(), kept
    ([[0.0], [1.0], [1.0]], [1])
    """
    X = np.asarray(features, dtype=np.float64)
    kept = [j for j in range(X.shape[1]) if np.ptp(X[:, j]) > 0] if X.shape[0] else []
    return X[:, kept], kept


@dataclass(frozen=True, eq=False)
class SpaceFeatures:
    """A space's item features learned from some users' events: ``features (n_items, d)`` for new users
    (rows follow ``item_ids``), ``rows (n_events, d)`` each of those events' features with its own user left
    out of the factorisation (``leave_user_out``: what the population is fitted on), ``info`` how they were
    made (the population's ``diagnostics.item_features``).

    >>> events = _two_tastes(n_users=40, n_items=8, seed=0)
    >>> learned = space_features(events, Space(n_factors=1, factor_reg=1.0), SMALL_ITEMS)
    >>> learned.features.shape, learned.rows.shape, learned.summary(events).n_users
    ((8, 3), (320, 3), 40)
    """

    features: np.ndarray
    rows: np.ndarray
    info: dict[str, Any]

    def summary(self, events: EventData) -> Summary:
        """The statistics of ``events`` (the events these features were learned from) over ``rows``."""
        return summarise_rows(events.user, self.rows, events.reward, events.n_users)


def _assemble(fit: ItemFeatures, events: EventData, space: Space) -> SpaceFeatures:
    """The space's features from a factorisation of ``events`` (``[1, c, q]``) and the log's content
    columns."""
    X = fit.features
    rows = leave_user_out(fit, events.user, events.item, events.reward)
    # "learned" as fit_from_events says it (the same (1, c, q) layout), "log+learned" with content columns
    info: dict[str, Any] = {"source": "log+learned" if space.content else "learned", "space": space.to_dict()}
    names = ["overall level", "item popularity", *[f"latent factor {j + 1}" for j in range(space.n_factors)]]
    if space.content:
        if events.features is None:
            raise ValueError(f"space: {space.name!r} needs the log's own item features (f_* columns), got a "
                             "log without any")
        cols, kept = content_columns(events.features)
        X, rows = np.hstack([X, cols]), np.hstack([rows, cols[events.item]])
        info["content_columns"] = kept
        info["dropped_content_columns"] = [j for j in range(events.features.shape[1]) if j not in kept]
        names += [f"f_{j}" for j in kept]
    info["dim"] = int(X.shape[1])
    info["feature_names"] = names
    info["population_rows"] = "leave-user-out"
    info["factorisation"] = fit.diagnostics()
    return SpaceFeatures(X, rows, info)


def _factorise(events: EventData, config: ItemFeatureConfig) -> ItemFeatures:
    return fit_item_features(events.user, events.item, events.reward, n_users=events.n_users,
                             n_items=events.n_items, config=config)


def collapsed(fit: ItemFeatures, tol: float = 1e-3) -> bool:
    """Whether a factorisation's latent factors shrank to nothing: their root mean square over the items is at
    most ``tol`` times the item bias's (a penalty too strong for the log's rewards drives them to zero, and the
    space is then the biases-only one). A factorisation without factors is not collapsed.

    >>> events = _two_tastes(n_users=40, n_items=8, seed=0)
    >>> loose, strong = (_factorise(events, replace(SMALL_ITEMS, reg=r)) for r in (1.0, 1e6))
    >>> collapsed(loose), collapsed(strong)
    (False, True)
    """
    X = fit.features
    if X.shape[1] <= 2:
        return False
    rms = np.sqrt(np.mean(X[:, 2:] ** 2))
    return bool(rms <= tol * np.sqrt(np.mean(X[:, 1] ** 2)))


def space_features(events: EventData, space: Space,
                   item_config: ItemFeatureConfig | None = None) -> SpaceFeatures:
    """The item features of ``space`` learned from ``events``' users (``SpaceFeatures``); ``item_config``
    (default ``ItemFeatureConfig()``) gives the factorisation's other settings (``bias_reg``, ``weighting``,
    iterations, seed).

    >>> events = _two_tastes(n_users=40, n_items=8, seed=0)
    >>> learned = space_features(events, Space(n_factors=1, factor_reg=1.0), SMALL_ITEMS)
    >>> learned.features.shape, learned.info["space"]["name"], bool((learned.features[:, 0] == 1).all())
    ((8, 3), 'bias + 1 factor (reg 1)', True)
    """
    if space.type_rounds:
        raise ValueError(f"space: {space.name!r} needs the types to refine its items: fit it with "
                         "fit_in_space (or type_refine.refined_fit)")
    base = item_config or ItemFeatureConfig()
    return _assemble(_factorise(events, space.item_config(base)), events, space)


@dataclass(frozen=True, kw_only=True)
class SpaceScores:
    """One space's scores (mean over validation users of the early events' log marginal likelihood):
    ``mixture`` per K (ours), ``pooled`` and ``from_scratch`` (the one-prior peers); ``dim`` the space's.

    ``*_se`` are the scores' standard errors over validation users (differences below a couple of them are
    noise).

    >>> row = SpaceScores(space=Space(), dim=2, mixture={1: -5.0, 2: -4.5}, pooled=-5.1, from_scratch=-6.0)
    >>> row.best_k(), row.to_dict()["mixture"]
    (2, {'1': -5.0, '2': -4.5})
    """

    space: Space
    dim: int
    mixture: dict[int, float]
    pooled: float
    from_scratch: float
    mixture_se: dict[int, float] = field(default_factory=dict)
    pooled_se: float | None = None
    from_scratch_se: float | None = None
    #: the space's latent factors shrank to nothing (``collapsed``): it is the biases-only space under another
    #: name, scored but never chosen while a space that is not collapsed is in the table
    collapsed: bool = False
    #: wall time of the space's factorisation and fits (not in ``to_dict``: same seed, same record)
    seconds: float = 0.0

    def best_k(self) -> int:
        """The K with the best mixture score (ties: the smallest)."""
        return min(self.mixture, key=lambda k: (-self.mixture[k], k))

    def to_dict(self) -> dict[str, Any]:
        return {"space": self.space.to_dict(), "dim": self.dim,
                "mixture": {str(k): v for k, v in self.mixture.items()}, "pooled": self.pooled,
                "from_scratch": self.from_scratch, "collapsed": self.collapsed,
                "se": {"mixture": {str(k): v for k, v in self.mixture_se.items()}, "pooled": self.pooled_se,
                       "from_scratch": self.from_scratch_se}}


# ---------------------------------------------------------------------------------------------- the criterion
def _mean_se(values: np.ndarray) -> tuple[float, float]:
    """The mean of per-user values and its standard error (0 for one user)."""
    n = values.shape[0]
    return float(values.mean()), float(values.std(ddof=1) / math.sqrt(n)) if n > 1 else 0.0


def _better(score: float, best: float) -> bool:
    """Strictly better beyond float noise, so that the first in grid order wins a tie."""
    return score > best + 1e-9 * max(1.0, abs(best))


def early_summary(events: EventData, features: np.ndarray, n_early: int) -> Summary:
    """Every user's statistics over their first ``n_early`` events in time order (all of them when fewer).

    >>> ev = EventData.from_rows(["a", "a", "a", "b"], [0, 1, 2, 0], ["x", "y", "x", "y"], [1.0, 2, 3, 4])
    >>> early_summary(ev, np.array([[1.0], [1.0]]), n_early=2).b.ravel().tolist()   # a: 1 + 2; b: 4
    [3.0, 4.0]
    """
    if n_early < 1:
        raise ValueError(f"n_early: expected a positive number of events, got {n_early}")
    X = np.asarray(features, dtype=np.float64)
    pos = np.arange(events.n_events) - events.starts[events.user]
    keep = pos < n_early
    return summarise_rows(events.user[keep], X[events.item[keep]], events.reward[keep], events.n_users)


def early_log_likelihood(population: Population, summary: Summary) -> np.ndarray:
    """Per user, the log marginal likelihood of the events in ``summary`` under ``population`` (the
    mixture over its components): ``logsumexp_k(log w_k + log evidence_k)``, the sum of the one-step-ahead
    predictive log densities of the user's rewards.

    >>> events = _two_tastes(n_users=40, n_items=8, seed=0)
    >>> learned = space_features(events, Space(), SMALL_ITEMS)
    >>> population = fit_population(learned.summary(events), FitConfig(n_types=1, split_merge=False))
    >>> early_log_likelihood(population, early_summary(events, learned.features, n_early=3)).shape
    (40,)
    """
    return logsumexp_rows(log_evidence(summary, population.components) + population.log_weights)


def one_prior(population: Population, peer: str) -> Population:
    """The single Gaussian prior a one-prior peer starts from, from a K = 1 ``population``: ``pooled`` its
    type (what ``pooled_ts`` fits), ``from_scratch`` ``N(0, v I)`` with ``v = tr(cov + mu mu') / d`` and the
    type's noise (what ``from_scratch_ts`` builds from a population).

    >>> types = GaussianTypes(np.array([[1.0, 1.0], [0.0, 0.0]]), np.stack([np.eye(2), 4 * np.eye(2)]),
    ...                       np.array([0.5, 0.5]))
    >>> prior = one_prior(Population(types, np.array([0.99, 0.01])), "from_scratch")
    >>> prior.n_components, prior.components.mu[0].tolist(), prior.components.cov[0].tolist()
    (1, [0.0, 0.0], [[2.0, 0.0], [0.0, 2.0]])
    """
    if population.n_types != 1:
        raise ValueError(f"population: expected a K = 1 fit, got {population.n_types} types")
    comps = population.components
    if peer == "pooled":
        types = comps.select([0])
    elif peer == "from_scratch":
        d = comps.dim
        v = float(np.trace(comps.cov[0] + np.outer(comps.mu[0], comps.mu[0]))) / d
        types = GaussianTypes(np.zeros((1, d)), v * np.eye(d)[None], comps.noise_var[:1].copy())
    else:
        raise ValueError(f"peer: expected 'pooled' or 'from_scratch', got {peer!r}")
    return Population(types, np.ones(1))


def _two_tastes(n_users: int, n_items: int, seed: int) -> EventData:
    """The examples' log: every user rates every item in a random order; half like the first half of the
    items, half the second."""
    rng = np.random.default_rng(seed)
    user = np.repeat(np.arange(n_users), n_items)
    item = np.concatenate([rng.permutation(n_items) for _ in range(n_users)])
    like = (user % 2 == 0) == (item < n_items // 2)
    reward = np.where(like, 1.0, 0.0) + 0.2 * rng.standard_normal(user.shape[0])
    time_ = user * n_items + np.tile(np.arange(n_items), n_users)
    return EventData.from_rows(user, time_, [f"i{i}" for i in item], reward)
