"""Fitting the linear family on a generic event log (``warmstart.data.events.EventData``).

The path of ``warmstart fit --log``: the item features (the log's own ``f_*`` columns, or learned from the users'
rewards by ``warmstart.families.linear.item_features``), every user's additive statistics over those features,
then the population fit. ``training_log_from_events`` gives the same events as a ``TrainingLog`` for policies
that learn from one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from warmstart.data.bandit_log import TrainingLog
from warmstart.data.events import EventData
from warmstart.families.linear.fair import FairAttribute
from warmstart.families.linear.fit import FitConfig, fit_population
from warmstart.families.linear.item_features import ItemFeatureConfig, fit_item_features
from warmstart.families.linear.model import Summary, summarise_rows
from warmstart.families.linear.population import Population

Progress = Callable[[str, float], None]


@dataclass(frozen=True, kw_only=True)
class EventFitConfig:
    """How ``fit_from_events`` fits: the population fit, the item-feature factorisation, and whether to learn
    item features even when the log has its own (``learn_features``: ``None`` learns only when it has none).

    >>> cfg = EventFitConfig(population=FitConfig(n_types=2), learn_features=True).with_seed(3)
    >>> cfg.population.seed, cfg.item_features.seed, cfg.to_dict()["learn_features"]
    (3, 3, True)
    """

    population: FitConfig = field(default_factory=FitConfig)
    item_features: ItemFeatureConfig = field(default_factory=ItemFeatureConfig)
    learn_features: bool | None = None

    def with_seed(self, seed: int) -> EventFitConfig:
        return replace(self, population=replace(self.population, seed=seed),
                       item_features=replace(self.item_features, seed=seed))

    def to_dict(self) -> dict[str, Any]:
        pop = {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self.population).items()}
        return {"population": pop, "item_features": self.item_features.to_dict(),
                "learn_features": self.learn_features}


def event_summary(events: EventData, features: np.ndarray, chunk: int = 200_000) -> Summary:
    """Per-user additive statistics ``A = sum x x'``, ``b = sum x r``, ``c = sum r^2``, ``n`` of every user's
    events, ``x`` the item's features. Vectorised over rows in chunks (rows are sorted by user).

    >>> import numpy as np
    >>> events = EventData.from_rows(["a", "a", "b"], [0, 1, 0], ["x", "y", "y"], [1.0, 0.0, 2.0])
    >>> stats = event_summary(events, features=np.array([[1.0, 0.0], [0.0, 1.0]]))   # items x, y
    >>> stats.n.tolist(), stats.b.tolist()
    ([2.0, 1.0], [[1.0, 0.0], [0.0, 2.0]])
    """
    X_all = np.asarray(features, dtype=np.float64)
    if X_all.ndim != 2 or X_all.shape[0] != events.n_items:
        raise ValueError(f"features: expected shape ({events.n_items}, d), one row per item, got {X_all.shape}")
    return summarise_rows(events.user, X_all[events.item], events.reward, events.n_users, chunk=chunk)


def item_features_of(events: EventData, config: ItemFeatureConfig | None = None,
                     learn: bool | None = None) -> tuple[np.ndarray, dict[str, Any]]:
    """The item features to fit with: the log's own, or learned from ``events``' users (with diagnostics).

    >>> import numpy as np
    >>> from warmstart.families.linear.item_features import ItemFeatureConfig
    >>> rng = np.random.default_rng(0)
    >>> user, item = np.repeat(np.arange(40), 6), np.tile(np.arange(6), 40)       # 40 users rate 6 items
    >>> reward = np.where((user < 20) == (item < 3), 1.0, 0.0) + 0.1 * rng.standard_normal(240)  # 2 tastes
    >>> events = EventData.from_rows(user, np.tile(np.arange(6.0), 40), [f"i{i}" for i in item], reward)
    >>> learn = ItemFeatureConfig(n_factors=1, reg=1.0, bias_reg=1.0)           # no f_* columns: learn them
    >>> features, info = item_features_of(events, learn)
    >>> features.shape, info["source"], info["dim"]
    ((6, 3), 'learned', 3)
    """
    if events.features is not None and not learn:
        return events.features, {"source": "log", "dim": int(events.features.shape[1])}
    fit = fit_item_features(events.user, events.item, events.reward, n_users=events.n_users,
                            n_items=events.n_items, config=config)
    return fit.features, {"source": "learned", **fit.diagnostics()}


def fit_from_events(events: EventData, config: EventFitConfig | FitConfig | None = None,
                    progress: Progress | None = None, *, fair_attribute: FairAttribute | None = None
                    ) -> tuple[Population, np.ndarray, Summary]:
    """Fit the population of user types on every user of ``events``.

    Returns ``(population, item_features, summary)``: ``item_features (n_items, d)`` are the log's own or
    learned from these users (rows follow ``events.item_ids``; keep them to serve new users), ``summary`` the
    users' statistics the population was fitted on. The population's ``diagnostics["item_features"]`` says
    where the features came from. A bare ``FitConfig`` is taken as ``EventFitConfig(population=config)``.
    ``fair_attribute`` (one value per user, in ``events.user_ids`` order) fits fair types
    (``warmstart.families.linear.fair``).

    >>> import numpy as np
    >>> from warmstart.families.linear.item_features import ItemFeatureConfig
    >>> rng = np.random.default_rng(0)
    >>> user, item = np.repeat(np.arange(40), 6), np.tile(np.arange(6), 40)       # 40 users rate 6 items
    >>> reward = np.where((user < 20) == (item < 3), 1.0, 0.0) + 0.1 * rng.standard_normal(240)  # 2 tastes
    >>> events = EventData.from_rows(user, np.tile(np.arange(6.0), 40), [f"i{i}" for i in item], reward)
    >>> learn = ItemFeatureConfig(n_factors=1, reg=1.0, bias_reg=1.0)           # no f_* columns: learn them
    >>> cfg = EventFitConfig(population=FitConfig(n_types=2, split_merge=False), item_features=learn)
    >>> population, features, stats = fit_from_events(events, cfg)
    >>> population.n_types, population.weights.round(2).tolist(), features.shape, stats.n_users
    (2, [0.49, 0.5, 0.01], (6, 3), 40)
    >>> population.diagnostics.item_features["source"]
    'learned'
    """
    cfg = EventFitConfig(population=config) if isinstance(config, FitConfig) else config or EventFitConfig()
    report = progress or (lambda msg, frac: None)
    report("item features", 0.0)
    features, info = item_features_of(events, cfg.item_features, cfg.learn_features)
    summary = event_summary(events, features)
    population = fit_population(summary, cfg.population,
                                progress=lambda msg, frac: report(f"population: {msg}", 0.1 + 0.9 * frac),
                                fair_attribute=fair_attribute)
    population = replace(population, diagnostics=population.diagnostics.replace(item_features=info))
    return population, features, summary


def training_log_from_events(events: EventData, features: np.ndarray, rows: np.ndarray | None = None
                             ) -> TrainingLog:
    """The users' events as a ``TrainingLog`` for policies that learn from one (``pooled_ts``): each event a
    one-candidate set holding the item's features, so ``summarise_log(log)`` equals ``event_summary``. Padded to
    the longest user (``action = -1``). ``rows`` ``(n_events, d)``, when given, are each event's own features
    instead of its item's (``warmstart.families.linear.space``: an item's learned features without the event's
    user).

    >>> import numpy as np
    >>> from warmstart.families.linear.model import summarise_log
    >>> events = EventData.from_rows(["a", "a", "b"], [0, 1, 0], ["x", "y", "y"], [1.0, 0.0, 2.0])
    >>> features = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> log = training_log_from_events(events, features)
    >>> log.candidates.shape, log.action.tolist()                   # user b padded to 2 events
    ((2, 2, 1, 2), [[0, 0], [0, -1]])
    >>> bool(np.allclose(summarise_log(log).b, event_summary(events, features).b))
    True
    """
    lens = events.lengths()
    T = int(lens.max(initial=1))
    d = features.shape[1]
    pos = np.arange(events.n_events) - events.starts[events.user]
    cands = np.zeros((events.n_users, T, 1, d))
    if rows is not None and rows.shape != (events.n_events, d):
        raise ValueError(f"rows: expected shape ({events.n_events}, {d}), one row per event, got {rows.shape}")
    cands[events.user, pos, 0] = features[events.item] if rows is None else rows
    action = np.full((events.n_users, T), -1, dtype=np.int64)
    action[events.user, pos] = 0
    reward = np.zeros((events.n_users, T))
    reward[events.user, pos] = events.reward
    return TrainingLog(cands, action, np.ones((events.n_users, T)), reward)
