"""Choosing the item space, the number of types and the factors' regularisation on validation users' early
events.

The linear model ``reward = x_item . theta_user + noise`` is only as good as its item features ``x``, and the
number of types K that BIC picks on the training users' whole histories is not the K that serves a new user
best over their first events. Both are chosen here on the training users only, by the quantity cold start is
about.

**The spaces.** Every space holds the item bias: the features of item ``i`` are ``[1, c_i, q_i, content_i]``,
where ``c_i`` (the item bias) and ``q_i`` (``n_factors`` latent factors, none for ``n_factors = 0``) come
from the biased matrix factorisation of the fitting users' rewards (``fit_item_features``; ``n_factors = 0``
is the biases-only factorisation) and ``content_i`` are the log's own item features when the space has
content (a column equal for every item is dropped: it would duplicate the constant). The grid: the learned
spaces (``n_factors`` in ``SpaceConfig.n_factors``) and, when the log has features, the content spaces
(content + bias, plus ``content_factors`` factors). Spaces with factors are tried with every
``factor_reg``.

**The criterion.** The training users are split by arrival (``split_by_first_event``): the latest
``validation_fraction`` are the validation users, the others the fitting users. In every space the
factorisation and the populations (K in ``n_types``, each fitted with K fixed and no split-and-merge moves)
are fitted on the fitting users; a validation user's items get their features from that fit (an item no
fitting user had gets ``c = 0, q = 0``). The score of a prior is the mean over validation users of the log
marginal likelihood of their first ``n_early`` events (in time order)::

    log p(r_1 .. r_m | x_1 .. x_m) = logsumexp_k (log w_k + log evidence_k)

which by the chain rule is the sum of the one-step-ahead predictive log densities ``log p(r_t | r_<t)``: how
well the prior predicts a new user's next reward while it learns them, the quantity cold start is about. Ours
(the mixture, novel component included) is the best (space, K); the one-prior peers get their own best space
by the same criterion: ``pooled`` (the K = 1 fit's single type, what ``pooled_ts`` fits) and ``from_scratch``
(``N(0, v I)`` with ``v`` and the noise from the K = 1 fit, what ``from_scratch_ts`` starts from). Ties go to
the first in grid order (spaces in order, K ascending). A space whose latent factors the penalty shrank to
nothing (``collapsed``: e.g. a penalty of 50 on 0/1 rewards) is the biases-only space under another name; it
is scored and shown, but not chosen while the table holds a space that is not collapsed (its score differs
from the biases-only space's by the EM's starts alone, and picking the best of copies favours noise).

**The item bias's penalty** is chosen before the spaces (``SpaceConfig.bias_reg``; ``bias_choice``): by the
logged reward of the items the bias alone ranks first for each training user, scored in folds by a fit that
never saw them, the way ``popularity`` chooses its prior strength. The likelihood scores every early event
alike and hardly sees the top of the ranking, which is what a new user is shown first. The chosen configurations are then refitted on every
training user (``fit_in_space``), and the whole table is kept in the population's diagnostics
(``FitDiagnostics.space``) so that a user can see why, with each choice's lead over the runner-up and that
lead's standard error over the validation users (a lead of a standard error or two is noise).

**Fitting on learned features**: the populations are fitted on each event's leave-user-out features and new
users served with the features fitted on everyone (see ``space_features``). **Items refined by the types**:
ours' and ``pooled``'s chosen spaces then try ``type_rounds`` rounds of the alternation of ``type_refine``.

>>> events = _two_tastes(n_users=60, n_items=10, seed=0)       # 60 users, 2 tastes over 10 items, no f_*
>>> cfg = SpaceConfig(n_factors=(0, 1), factor_reg=(1.0,), n_types=(1, 2), item_features=SMALL_ITEMS)
>>> choice = choose_space(events, cfg, seed=0)
>>> choice.ours.name, choice.n_types, choice.pooled.type_rounds
('bias + 1 factor (reg 1), items refined by the types (2 rounds)', 2, 2)
>>> population, learned = fit_chosen_space(events, cfg, seed=0)
>>> population.n_types, learned.features.shape, population.diagnostics.space["chosen"]["ours"]["n_types"]
(2, (10, 3), 2)
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from warmstart.data.events import EventData, split_by_first_event
from warmstart.families.linear.bias_choice import BiasChoice, bias_candidates, choose_bias_reg
from warmstart.families.linear.fit import FitConfig, fit_population
from warmstart.families.linear.item_features import ItemFeatureConfig, ItemFeatures
from warmstart.families.linear.population import Population
from warmstart.families.linear.space_features import (
    SMALL_ITEMS,
    Space,
    SpaceFeatures,
    SpaceScores,
    _assemble,
    _better,
    _factorise,
    _mean_se,
    _two_tastes,  # noqa: F401  (the examples use it)
    collapsed,
    content_columns,
    early_log_likelihood,
    early_summary,
    one_prior,
    space_features,
)
from warmstart.families.linear.type_refine import Refined, refine_chosen, refined_fit

__all__ = ["CHOOSERS", "SMALL_ITEMS", "Space", "SpaceChoice", "SpaceConfig", "SpaceFeatures", "SpaceScores",
           "choose_space", "collapsed", "content_columns", "early_log_likelihood", "early_summary", "fit_chosen_space",
           "fit_in_space", "one_prior", "space_features", "with_choice"]

Progress = Callable[[str, float], None]
#: who a choice is made for: ours (the mixture) and the two one-prior peers
CHOOSERS = ("ours", "pooled", "from_scratch")


# ---------------------------------------------------------------------------------------------- the choice
def _distinct_ints(name: str, values: Sequence[int], low: int, empty: bool = False) -> tuple[int, ...]:
    out = tuple(values)
    if (not out and not empty) or len(set(out)) != len(out) or any(
            isinstance(v, bool) or not isinstance(v, int | np.integer) or v < low for v in out):
        least = "" if empty else " (at least one)"
        raise ValueError(f"{name}: expected distinct integers >= {low}{least}, got {list(out)}")
    return tuple(int(v) for v in out)


@dataclass(frozen=True, kw_only=True)
class SpaceConfig:
    """The grid and the criterion of ``choose_space``; validated at construction.

    ``n_factors``: the learned spaces' numbers of latent factors (0: the item bias alone);
    ``content_factors``: the content spaces' (used only when the log has item features; empty: no content
    space; by default content + bias only, since each content space costs several learned ones: its dimension
    is the log's features' plus two); ``factor_reg``: the latent factors' penalties tried (a space with factors is tried with each);
    ``n_types``: ours' K tried (K = 1 is fitted in every space anyway, for the one-prior peers; a single value
    fixes ours' K and leaves only the space to choose); ``validation_fraction``: the latest share
    of the training users by arrival that score; ``n_early``: how many of a validation user's first events are
    scored; ``bias_reg``: the item bias's penalties tried, chosen first by the reward of the items the bias
    ranks first in ``bias_folds`` folds of the training users (``warmstart.families.linear.bias_choice``; the
    choice is every space's penalty; ``None``: ``item_features.bias_reg``, no choice); ``type_rounds``: up to
    how many rounds of the items refined by the types are tried for ours' and ``pooled``'s chosen spaces
    (``type_refine``; 0: none); ``item_features`` and ``population``: the factorisation's and the EM fit's other settings (their
    ``n_factors``, ``reg``, ``n_types``, ``split_merge`` and ``seed`` are set by the grid and the seed).

    >>> len(SpaceConfig().spaces(has_content=False)), len(SpaceConfig().spaces(has_content=True))
    (7, 8)
    >>> SpaceConfig(n_types=(0, 4))
    Traceback (most recent call last):
    ...
    ValueError: n_types: expected distinct integers >= 1 (at least one), got [0, 4]
    """

    n_factors: tuple[int, ...] = (0, 2, 4, 8)
    content_factors: tuple[int, ...] = (0,)
    factor_reg: tuple[float, ...] = (10.0, 50.0)
    n_types: tuple[int, ...] = (1, 2, 4, 8)
    validation_fraction: float = 0.2
    n_early: int = 10
    bias_reg: tuple[float, ...] | None = (3.0, 10.0, 30.0, 100.0)
    bias_folds: int = 5
    type_rounds: int = 2
    item_features: ItemFeatureConfig = field(default_factory=ItemFeatureConfig)
    population: FitConfig = field(default_factory=FitConfig)

    def __post_init__(self) -> None:
        object.__setattr__(self, "n_factors", _distinct_ints("n_factors", self.n_factors, 0))
        object.__setattr__(self, "content_factors", _distinct_ints("content_factors", self.content_factors, 0,
                                                                   empty=True))
        object.__setattr__(self, "n_types", _distinct_ints("n_types", self.n_types, 1))
        regs = tuple(float(r) for r in self.factor_reg)
        if not regs or len(set(regs)) != len(regs) or not all(math.isfinite(r) and r > 0 for r in regs):
            raise ValueError(f"factor_reg: expected distinct positive penalties (at least one), got "
                             f"{list(self.factor_reg)}")
        object.__setattr__(self, "factor_reg", regs)
        if not 0 < self.validation_fraction < 1:
            raise ValueError(f"validation_fraction: expected a value in (0, 1), got "
                             f"{self.validation_fraction}")
        if isinstance(self.n_early, bool) or not isinstance(self.n_early, int) or self.n_early < 1:
            raise ValueError(f"n_early: expected a positive number of events, got {self.n_early!r}")
        if self.bias_reg is not None:
            object.__setattr__(self, "bias_reg", bias_candidates(self.bias_reg))
        if isinstance(self.bias_folds, bool) or not isinstance(self.bias_folds, int) or self.bias_folds < 2:
            raise ValueError(f"bias_folds: expected an integer >= 2, got {self.bias_folds!r}")
        if isinstance(self.type_rounds, bool) or not isinstance(self.type_rounds, int) or self.type_rounds < 0:
            raise ValueError(f"type_rounds: expected a non-negative integer, got {self.type_rounds!r}")

    def spaces(self, has_content: bool) -> list[Space]:
        """The spaces of the grid, in order: the learned ones, then (``has_content``) the content ones."""
        out: list[Space] = []
        for content, grid in ((False, self.n_factors), (True, self.content_factors if has_content else ())):
            for k in grid:
                out.extend([Space(n_factors=k, content=content, factor_reg=r) for r in self.factor_reg] if k
                           else [Space(content=content)])
        return out

    def with_seed(self, seed: int) -> SpaceConfig:
        """The same grid with ``seed`` in the factorisation's and the fit's settings.

        >>> SpaceConfig().with_seed(3).population.seed
        3
        """
        return replace(self, item_features=replace(self.item_features, seed=seed),
                       population=replace(self.population, seed=seed))

    def to_dict(self) -> dict[str, Any]:
        """The settings as JSON.

        >>> SpaceConfig().to_dict()["n_types"]
        [1, 2, 4, 8]
        """
        pop = {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.population.__dict__.items()}
        return {"n_factors": list(self.n_factors), "content_factors": list(self.content_factors),
                "factor_reg": list(self.factor_reg), "n_types": list(self.n_types),
                "validation_fraction": self.validation_fraction, "n_early": self.n_early,
                "bias_reg": None if self.bias_reg is None else list(self.bias_reg), "bias_folds": self.bias_folds,
                "type_rounds": self.type_rounds,
                "item_features": self.item_features.to_dict(), "population": pop}


@dataclass(frozen=True, kw_only=True)
class SpaceChoice:
    """What ``choose_space`` chose and why: ours' space and K, each one-prior peer's space, the scores of
    every space (``table``, grid order), who scored (``validation_users``: ids of the latest training users)
    and on how many of their events.

    >>> events = _two_tastes(n_users=60, n_items=10, seed=0)
    >>> cfg = SpaceConfig(n_factors=(1,), factor_reg=(1.0,), n_types=(1, 2), item_features=SMALL_ITEMS)
    >>> choice = choose_space(events, cfg, seed=0)
    >>> choice.space_of("from_scratch").name, [round(choice.score_of(who), 1) for who in CHOOSERS]
    ('bias + 1 factor (reg 1)', [2.9, 1.5, -0.5])
    >>> sorted(choice.to_dict()["chosen"])
    ['from_scratch', 'ours', 'pooled']
    >>> choice.row_of("ours").space.name, choice.row_of("ours").best_k()    # its table row, before refinement
    ('bias + 1 factor (reg 1)', 2)
    """

    ours: Space
    n_types: int
    pooled: Space
    from_scratch: Space
    table: tuple[SpaceScores, ...]
    #: per chooser, the best other configuration and the chosen one's lead over it, with the lead's standard
    #: error over validation users (paired: the same users' events); None when there was nothing else
    margins: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    validation_users: np.ndarray
    n_fit_users: int
    n_validation_events: int
    config: SpaceConfig
    #: wall time of the choice (not in ``to_dict``: same seed, same record)
    seconds: float = 0.0
    #: ours' chosen (space, K) as the choice fitted it on the fitting users: the population and the space's
    #: features (``fit_in_space`` on the fitting users gives the same), so that a later step on the validation
    #: users (``replay_decision``, ``replay_logistic.choose_family``) need not fit them again; not in ``to_dict``
    ours_fit: tuple[Population, SpaceFeatures] | None = field(default=None, repr=False, compare=False)
    #: the choice of the item bias's penalty made before the spaces were scored (None: ``config.bias_reg`` is
    #: None); ``config.item_features.bias_reg`` holds the chosen one
    bias: BiasChoice | None = None
    #: per chooser refined (ours, pooled), the rounds of the items refined by the types tried and their scores
    #: (``type_refine.choose_rounds``); the chosen count is in that chooser's space
    refinement: dict[str, dict[str, Any]] = field(default_factory=dict)

    def space_of(self, who: str) -> Space:
        """The space chosen for ``who`` (``ours``, ``pooled`` or ``from_scratch``)."""
        if who not in CHOOSERS:
            raise ValueError(f"who: expected one of {list(CHOOSERS)}, got {who!r}")
        return getattr(self, who)

    def row_of(self, who: str) -> SpaceScores:
        """The table's row of the space chosen for ``who`` (before any refinement by the types)."""
        space = replace(self.space_of(who), type_rounds=0)
        return next(r for r in self.table if r.space == space)

    def score_of(self, who: str, refined: bool = True) -> float:
        """The chosen configuration's score for ``who``: with its items refined by the types when they are
        (``refined``), else its table score (what ``margins`` compare)."""
        rounds = self.space_of(who).type_rounds
        if refined and rounds:
            return float(self.refinement[who]["scores"][rounds])
        row = self.row_of(who)
        return row.mixture[self.n_types] if who == "ours" else getattr(row, who)

    def to_dict(self) -> dict[str, Any]:
        """The choice as JSON (``FitDiagnostics.space``, ``replay.json``'s ``fit.space``)."""
        chosen = {who: {"space": self.space_of(who).to_dict(),
                        "n_types": self.n_types if who == "ours" else 1,
                        "score": self.score_of(who, refined=False), "refined_score": self.score_of(who),
                        **(self.margins.get(who) or {})}
                  for who in CHOOSERS}
        return {"criterion": f"mean over validation users of the log marginal likelihood of their first "
                             f"{self.config.n_early} events",
                "chosen": chosen, "n_fit_users": self.n_fit_users,
                "n_validation_users": int(self.validation_users.shape[0]),
                "n_validation_events": self.n_validation_events,
                "table": [r.to_dict() for r in self.table], "config": self.config.to_dict(),
                "bias_penalty": None if self.bias is None else self.bias.to_dict(), "refinement": self.refinement}


def choose_space(events: EventData, config: SpaceConfig | None = None, seed: int = 0,
                 progress: Progress | None = None) -> SpaceChoice:
    """Choose ours' space and K and each one-prior peer's space on ``events`` (the training users only; see
    the module docstring). Same events, config and seed: same choice.

    >>> events = _two_tastes(n_users=60, n_items=10, seed=0)
    >>> cfg = SpaceConfig(n_factors=(0, 1), factor_reg=(1.0,), n_types=(1, 2), item_features=SMALL_ITEMS)
    >>> choice = choose_space(events, cfg, seed=0)
    >>> [(r.space.name, r.best_k()) for r in choice.table]
    [('bias', 2), ('bias + 1 factor (reg 1)', 2)]
    >>> choice.n_fit_users, choice.validation_users.shape[0]
    (48, 12)
    """
    cfg = (config or SpaceConfig()).with_seed(seed)
    report = progress or (lambda msg, frac: None)
    t0 = time.perf_counter()
    fit_idx, val_idx = split_by_first_event(events, 1.0 - cfg.validation_fraction)
    fit_part, val_part = events.subset(fit_idx), events.subset(val_idx)
    if fit_part.n_users < 2:
        raise ValueError(f"events: expected at least 2 fitting users besides the validation users, got "
                         f"{fit_part.n_users} of {events.n_users} users")
    bias = None
    if cfg.bias_reg is not None:  # the item bias's penalty first: every space's factorisation uses it
        report("item bias penalty", 0.0)
        bias = choose_bias_reg(events, cfg.bias_reg, n_top=cfg.n_early, n_folds=cfg.bias_folds,
                               base=cfg.item_features, seed=seed)
        cfg = replace(cfg, item_features=replace(cfg.item_features, bias_reg=bias.chosen))
    spaces = cfg.spaces(has_content=events.features is not None)
    factorisations: dict[tuple[int, float | None], ItemFeatures] = {}
    table: list[SpaceScores] = []
    per_user: list[dict[tuple[str, int], np.ndarray]] = []
    ks = [k for k in sorted(cfg.n_types) if k < fit_part.n_users]
    if not ks:
        raise ValueError(f"n_types: expected a K below the {fit_part.n_users} fitting users, got "
                         f"{list(cfg.n_types)}")
    fitted: list[tuple[dict[int, Population], SpaceFeatures]] = []  # per space: its populations, its features
    for s_idx, space in enumerate(spaces):
        report(f"space {space.name}", s_idx / len(spaces))
        row, values, kept = _score_space(space, fit_part, val_part, factorisations, ks, cfg)
        table.append(row)
        per_user.append(values)
        fitted.append(kept)
    chosen, margins = _pick(table, per_user, ks)
    ours_row, ours_k = chosen["ours"]
    spaces = [table[chosen[who][0]].space for who in CHOOSERS]
    starts = {}  # ours' and pooled's chosen fits, where the items refined by the types start
    for who, space in zip(CHOOSERS[:2], spaces, strict=False):
        i, k = chosen[who]
        if not space.content:
            factorisation = factorisations[space.n_factors, space.factor_reg]
            starts[who] = (space, k, Refined(factorisation, fitted[i][1], fitted[i][0][k]))
    refined = refine_chosen(fit_part, val_part, starts, cfg.type_rounds, cfg.item_features, cfg.population,
                            cfg.n_early, report) if cfg.type_rounds else {}
    spaces = [refined[who][0] if who in refined else space for who, space in zip(CHOOSERS, spaces, strict=True)]
    step = refined["ours"][2] if "ours" in refined else None
    report("done", 1.0)
    return SpaceChoice(ours=spaces[0], n_types=ours_k, pooled=spaces[1], from_scratch=spaces[2],
                       table=tuple(table), margins=margins, validation_users=val_part.user_ids,
                       n_fit_users=fit_part.n_users,
                       n_validation_events=int(np.minimum(val_part.lengths(), cfg.n_early).sum()), config=cfg,
                       seconds=time.perf_counter() - t0, bias=bias,
                       ours_fit=(fitted[ours_row][0][ours_k], fitted[ours_row][1]) if step is None
                       else (step.population, step.learned),
                       refinement={who: record for who, (_, record, _) in refined.items()})


def _score_space(space: Space, fit_part: EventData, val_part: EventData,
                 factorisations: dict[tuple[int, float | None], ItemFeatures], ks: list[int], cfg: SpaceConfig
                 ) -> tuple[SpaceScores, dict[tuple[str, int], np.ndarray],
                            tuple[dict[int, Population], SpaceFeatures]]:
    """One space's row of the table, its per-validation-user values ``{(who, K): values}`` and ours'
    populations per K with the items' features: the factorisation (shared by spaces with the same factors,
    kept in ``factorisations``) and the populations fitted on ``fit_part``, scored on ``val_part``'s early
    events."""
    t1 = time.perf_counter()
    key = (space.n_factors, space.factor_reg)
    if key not in factorisations:
        factorisations[key] = _factorise(fit_part, space.item_config(cfg.item_features))
    learned = _assemble(factorisations[key], fit_part, space)
    train_summary = learned.summary(fit_part)
    val_summary = early_summary(val_part, learned.features, cfg.n_early)
    values: dict[tuple[str, int], np.ndarray] = {}  # (who, K) -> per validation user
    populations: dict[int, Population] = {}
    for k in sorted({1, *ks}):  # K = 1 for the one-prior peers whether or not ours may have it
        population = fit_population(train_summary, replace(cfg.population, n_types=k, split_merge=False))
        populations[k] = population  # K = 1 too: the pooled peer's refinement starts from it
        if k in ks:
            values["ours", k] = early_log_likelihood(population, val_summary)
        if k == 1:
            for peer in ("pooled", "from_scratch"):
                values[peer, 1] = early_log_likelihood(one_prior(population, peer), val_summary)
    stats = {key: _mean_se(v) for key, v in values.items()}
    row = SpaceScores(space=space, dim=int(learned.features.shape[1]),
                      mixture={k: stats["ours", k][0] for k in ks},
                      pooled=stats["pooled", 1][0], from_scratch=stats["from_scratch", 1][0],
                      mixture_se={k: stats["ours", k][1] for k in ks},
                      pooled_se=stats["pooled", 1][1], from_scratch_se=stats["from_scratch", 1][1],
                      collapsed=collapsed(factorisations[key]), seconds=time.perf_counter() - t1)
    return row, values, (populations, learned)


def _pick(table: list[SpaceScores], per_user: list[dict[tuple[str, int], np.ndarray]], ks: list[int]
          ) -> tuple[dict[str, tuple[int, int]], dict[str, dict[str, Any] | None]]:
    """Per chooser, the best (row, K) of the table (grid order: spaces in order, K ascending; the first of
    equal scores wins) and its lead over the runner-up with the lead's standard error."""
    chosen: dict[str, tuple[int, int]] = {}  # who -> (row, K)
    margins: dict[str, dict[str, Any] | None] = {}
    rows = [i for i in range(len(table)) if not table[i].collapsed] or list(range(len(table)))
    for who in CHOOSERS:
        # grid order: spaces in order, K ascending; the first of equal scores wins
        ranked = [(i, k) for i in rows for k in (ks if who == "ours" else [1])]
        scores = [float(per_user[i][who, k].mean()) for i, k in ranked]
        best = 0
        for j in range(1, len(ranked)):
            if _better(scores[j], scores[best]):
                best = j
        chosen[who] = ranked[best]
        others = [j for j in range(len(ranked)) if j != best]
        if not others:
            margins[who] = None
            continue
        second = max(others, key=lambda j: (scores[j], -j))
        (i1, k1), (i2, k2) = ranked[best], ranked[second]
        diff = per_user[i1][who, k1] - per_user[i2][who, k2]
        margins[who] = {"runner_up": {"space": table[i2].space.name, "n_types": k2, "score": scores[second]},
                        "margin": float(diff.mean()), "margin_se": _mean_se(diff)[1]}
    return chosen, margins


def fit_in_space(events: EventData, space: Space, n_types: int, config: SpaceConfig | None = None,
                 seed: int = 0, progress: Progress | None = None) -> tuple[Population, SpaceFeatures]:
    """Fit on every user of ``events`` in ``space`` with K = ``n_types`` fixed (no split-and-merge moves, as
    the choice scored it): the population (fitted on the leave-user-out rows) and the space's features (serve
    new users with ``.features``); ``diagnostics.item_features`` says which space.

    >>> events = _two_tastes(n_users=40, n_items=8, seed=0)
    >>> cfg = SpaceConfig(item_features=SMALL_ITEMS)
    >>> population, learned = fit_in_space(events, Space(), 1, cfg)
    >>> population.n_types, learned.features.shape, population.diagnostics.item_features["space"]["name"]
    (1, (8, 2), 'bias')
    """
    cfg = (config or SpaceConfig()).with_seed(seed)
    report = progress or (lambda msg, frac: None)
    report(f"item features: {space.name}", 0.0)
    if space.type_rounds:
        step = refined_fit(events, space, n_types, cfg.item_features, cfg.population)[-1]
        population, learned = step.population, step.learned
    else:
        learned = space_features(events, space, cfg.item_features)
        fixed = replace(cfg.population, n_types=n_types, split_merge=False)
        population = fit_population(learned.summary(events), fixed,
                                    progress=lambda msg, frac: report(f"population: {msg}", 0.1 + 0.9 * frac))
    population = replace(population, diagnostics=population.diagnostics.replace(item_features=learned.info))
    return population, learned


def fit_chosen_space(events: EventData, config: SpaceConfig | None = None, seed: int = 0,
                     progress: Progress | None = None) -> tuple[Population, SpaceFeatures]:
    """``choose_space`` on ``events``, then ours refitted on all of them in the chosen space with the chosen
    K (``fit_in_space``); the choice and its table are in ``population.diagnostics.space`` (they survive
    ``save`` / ``load``).

    >>> events = _two_tastes(n_users=60, n_items=10, seed=0)
    >>> cfg = SpaceConfig(n_factors=(0,), n_types=(1, 2), item_features=SMALL_ITEMS)
    >>> population, learned = fit_chosen_space(events, cfg, seed=0)
    >>> again = Population.load(population.save("population.npz"))
    >>> again.diagnostics.space["chosen"]["ours"]["space"]["name"]
    'bias, items refined by the types (1 round)'
    """
    report = progress or (lambda msg, frac: None)
    choice = choose_space(events, config, seed, lambda msg, frac: report(f"choice: {msg}", 0.8 * frac))
    population, learned = fit_in_space(events, choice.ours, choice.n_types, choice.config, seed,
                                       lambda msg, frac: report(f"refit: {msg}", 0.8 + 0.2 * frac))
    return with_choice(population, choice), learned


def with_choice(population: Population, choice: SpaceChoice) -> Population:
    """``population`` (ours, refitted in ``choice``'s space) with the choice in its diagnostics: ``space``
    holds the choice and its table, ``selection`` says K was chosen on early events.

    >>> events = _two_tastes(n_users=60, n_items=10, seed=0)
    >>> cfg = SpaceConfig(n_factors=(0,), n_types=(1, 2), item_features=SMALL_ITEMS)
    >>> choice = choose_space(events, cfg, seed=0)
    >>> population = with_choice(fit_in_space(events, choice.ours, choice.n_types, cfg)[0], choice)
    >>> population.diagnostics.selection, population.diagnostics.space["n_validation_users"]
    ('early events', 12)
    """
    return replace(population, diagnostics=population.diagnostics.replace(selection="early events",
                                                                          space=choice.to_dict()))
