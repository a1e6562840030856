"""Do learned response dynamics predict a new user's next rating better? MovieLens ``ml-latest-small``.

Users are split by their first rating (the earliest 70% train, as ``bench replay`` splits them); each user's
first ``max_events`` ratings are kept (a bound on time; the dynamics are about the early history anyway).
Categories are the movies' genres (``movielens_genre_features``; a movie with none has none).

- **static** (the static family): the item space ``bias + 2 factors (reg 50)`` (``families.linear.space``,
  the replay's default factorisation), learned on the training users, the population fitted on the training
  events' leave-user-out rows, K by BIC;
- **dynamic**: the same static columns plus the learned dynamics (``fit_dynamics`` with coefficients pooled
  over genres, ``per_category=False``: the mean exposure and the mean practice over the movie's genres, and a
  habit stock of the genres chosen by Wald tests on the training users); time in days; K by BIC.

Both are scored on the held-out users' first ``n_positions`` ratings by their one-step-ahead predictions
(each user's belief is the population's mixture updated by Bayes' rule after every rating, exact for the
linear-Gaussian family): the predictive log density of the rating and the squared error of the predictive
mean, averaged by position bucket (1-5, 6-10, 11-20, 21-50), with paired 95% bootstrap CIs over held-out users
of dynamic minus static. Reported whichever way it falls.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from warmstart.data.events import EventData, split_by_first_event
from warmstart.data.movielens import load_movielens, load_movielens_movies, movielens_genre_features
from warmstart.families.linear.dynamics_fit import DynamicsData, DynamicsFitConfig, fit_dynamics
from warmstart.families.linear.fit import FitConfig, fit_population
from warmstart.families.linear.item_features import ItemFeatureConfig
from warmstart.families.linear.model import summarise_rows
from warmstart.families.linear.population import Population
from warmstart.families.linear.space import Space, space_features
from warmstart.stats import bootstrap, interval

Progress = Callable[[str, float], None]
BUCKETS = ((1, 5), (6, 10), (11, 20), (21, 50))
DAY = 86_400.0


@dataclass(frozen=True, kw_only=True)
class MovieLensDynamicsConfig:
    """Settings of the MovieLens part."""

    train_fraction: float = 0.7
    max_events: int = 200
    n_positions: int = 50
    space: Space = field(default_factory=lambda: Space(n_factors=2, factor_reg=50.0))
    item_features: ItemFeatureConfig = field(default_factory=lambda: ItemFeatureConfig(n_factors=2, reg=50.0,
                                                                                        bias_reg=10.0))
    fit: FitConfig = field(default_factory=lambda: FitConfig(k_range=(1, 8)))
    dynamics: DynamicsFitConfig = field(default_factory=lambda: DynamicsFitConfig(
        exposure_half_lives=(1 / 24, 0.25, 1.0, 4.0, 16.0), habit_half_lives=(1.0, 4.0, 16.0, 64.0, 256.0),
        refine_steps=1, polish_steps=1, per_category=False, time_unit=DAY, k_selection="fit"))
    n_boot: int = 1000
    seed: int = 0
    quick: bool = False

    @staticmethod
    def make(quick: bool = False, seed: int = 0) -> MovieLensDynamicsConfig:
        cfg = MovieLensDynamicsConfig(seed=seed, quick=quick)
        if quick:
            cfg = replace(cfg, max_events=60, n_boot=200, fit=FitConfig(k_range=(1, 4), n_init=1),
                          dynamics=replace(cfg.dynamics, exposure_half_lives=(0.25, 4.0),
                                           habit_half_lives=(4.0, 64.0), refine_steps=0, polish_steps=0,
                                           fit=FitConfig(k_range=(1, 4), n_init=1)))
        return cfg

    def to_dict(self) -> dict[str, Any]:
        return {"train_fraction": self.train_fraction, "max_events": self.max_events,
                "n_positions": self.n_positions, "space": self.space.to_dict(),
                "item_features": self.item_features.__dict__, "fit": {k: (list(v) if isinstance(v, tuple) else v)
                                                                       for k, v in self.fit.__dict__.items()},
                "dynamics": self.dynamics.to_dict(), "n_boot": self.n_boot, "seed": self.seed, "quick": self.quick}


def first_events(events: EventData, n: int) -> EventData:
    """Each user's first ``n`` events (in time order)."""
    pos = np.arange(events.n_events) - events.starts[events.user]
    keep = pos < n
    lengths = np.minimum(events.lengths(), n)
    return EventData(user=events.user[keep], time=events.time[keep], item=events.item[keep],
                     reward=events.reward[keep], user_ids=events.user_ids, item_ids=events.item_ids,
                     starts=np.r_[0, np.cumsum(lengths)], features=events.features, time_kind=events.time_kind)


def one_step_ahead(population: Population, X: np.ndarray, r: np.ndarray, mask: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Per user and position ``(N, T)``: the predictive log density of ``r`` and the predictive mean, each
    user's belief updated by Bayes' rule after every event (batched over users and types). ``X (N, T, d)``."""
    comps = population.components
    N, T, _ = X.shape
    mean = np.broadcast_to(comps.mu, (N, *comps.mu.shape)).copy()
    cov = np.broadcast_to(comps.cov, (N, *comps.cov.shape)).copy()
    logpost = np.tile(population.log_weights, (N, 1))
    logp, pred = np.full((N, T), np.nan), np.full((N, T), np.nan)
    for t in range(T):
        on = mask[:, t]
        x, y = X[on, t], r[on, t]
        m, S = mean[on], cov[on]
        mk = np.einsum("nkd,nd->nk", m, x)
        Sx = np.einsum("nkde,ne->nkd", S, x)
        vk = np.einsum("nkd,nd->nk", Sx, x) + comps.noise_var
        lk = -0.5 * (np.log(2 * np.pi * vk) + (y[:, None] - mk) ** 2 / vk)
        post = np.exp(logpost[on] - logpost[on].max(1, keepdims=True))
        post /= post.sum(1, keepdims=True)
        joint = np.log(np.maximum(post, 1e-300)) + lk
        top = joint.max(1, keepdims=True)
        logp[on, t] = (top[:, 0] + np.log(np.exp(joint - top).sum(1)))
        pred[on, t] = (post * mk).sum(1)
        gain = Sx / vk[..., None]
        mean[on] = m + gain * (y[:, None] - mk)[..., None]
        cov[on] = S - np.einsum("nkd,nke->nkde", gain, Sx)
        logpost[on] = logpost[on] + lk
    return logp, pred


def _padded(user: np.ndarray, rows: np.ndarray, reward: np.ndarray, n_users: int, T: int
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Events sorted by user as ``(N, T, d)`` features, ``(N, T)`` rewards and mask (first ``T`` of each)."""
    starts = np.searchsorted(user, np.arange(n_users))
    pos = np.arange(user.size) - starts[user]
    keep = pos < T
    X = np.zeros((n_users, T, rows.shape[1]))
    r, mask = np.zeros((n_users, T)), np.zeros((n_users, T), dtype=bool)
    X[user[keep], pos[keep]] = rows[keep]
    r[user[keep], pos[keep]] = reward[keep]
    mask[user[keep], pos[keep]] = True
    return X, r, mask


def _paired(d: dict[str, np.ndarray], s: dict[str, np.ndarray], rng: np.random.Generator, n_boot: int
            ) -> tuple[np.ndarray, np.ndarray]:
    """Bootstrap replicates (over users) of dynamic minus static: the mean log density and the RMSE."""
    n = d["n"]
    ll = bootstrap(lambda idx: (d["ll"][idx] - s["ll"][idx]).sum(1) / n[idx].sum(1), n.size, n_boot, rng)
    rmse = bootstrap(lambda idx: np.sqrt(d["se"][idx].sum(1) / n[idx].sum(1))
                     - np.sqrt(s["se"][idx].sum(1) / n[idx].sum(1)), n.size, n_boot, rng)
    return ll, rmse


def _by_position(logp: dict[str, np.ndarray], pred: dict[str, np.ndarray], r: np.ndarray, mask: np.ndarray,
                 rng: np.random.Generator, n_boot: int) -> dict[str, Any]:
    """Per bucket of positions: each model's mean log density and RMSE, and dynamic minus static with paired
    CIs over users (users with a rating in the bucket)."""
    out: dict[str, Any] = {}
    for lo, hi in BUCKETS:
        sl = slice(lo - 1, hi)
        m = mask[:, sl]
        users = np.flatnonzero(m.any(1))
        entry: dict[str, Any] = {"n_users": int(users.size), "n_events": int(m.sum())}
        per_user: dict[str, dict[str, np.ndarray]] = {}
        for name in logp:
            lp = np.where(m, logp[name][:, sl], 0.0)[users]
            se = np.where(m, (pred[name][:, sl] - r[:, sl]) ** 2, 0.0)[users]
            n = m[users].sum(1)
            per_user[name] = {"ll": lp.sum(1), "se": se.sum(1), "n": n}
            entry[name] = {"loglik": float(lp.sum() / n.sum()), "rmse": float(np.sqrt(se.sum() / n.sum()))}
        ll_diff, rmse_diff = _paired(per_user["dynamic"], per_user["static"], rng, n_boot)
        entry["loglik_diff"] = {"value": entry["dynamic"]["loglik"] - entry["static"]["loglik"],
                                "ci95": interval(ll_diff).tolist()}
        entry["rmse_diff"] = {"value": entry["dynamic"]["rmse"] - entry["static"]["rmse"],
                              "ci95": interval(rmse_diff).tolist()}
        out[f"{lo}-{hi}"] = entry
    return out


def run_dynamics_movielens(config: MovieLensDynamicsConfig | None = None, root: str | None = None,
                           progress: Progress | None = None) -> dict[str, Any]:
    """The MovieLens part of ``bench dynamics`` (see the module docstring); a JSON-able document."""
    cfg = config or MovieLensDynamicsConfig.make()
    report = progress or (lambda msg, frac: None)
    started = time.perf_counter()
    events = first_events(load_movielens(root), cfg.max_events)
    genres, names = movielens_genre_features(events, load_movielens_movies(root))
    cats = genres[:, 1:]
    train_idx, test_idx = split_by_first_event(events, cfg.train_fraction)
    train, test = events.subset(train_idx), events.subset(test_idx)
    report("item space on the training users", 0.05)
    learned = space_features(train, cfg.space, cfg.item_features)
    report("static population", 0.15)
    t0 = time.perf_counter()
    static = fit_population(summarise_rows(train.user, learned.rows, train.reward, train.n_users),
                            replace(cfg.fit, seed=cfg.seed))
    static_s = time.perf_counter() - t0
    data = DynamicsData.from_events(train, cats, static_rows=learned.rows)
    t0 = time.perf_counter()
    dynamic, spec = fit_dynamics(data, replace(cfg.dynamics, fit=replace(cfg.fit, seed=cfg.seed), seed=cfg.seed),
                                 lambda m, f: report(f"dynamics: {m}", 0.2 + 0.6 * f))
    dynamic_s = time.perf_counter() - t0
    report("one-step-ahead predictions for the held-out users", 0.85)
    test_data = DynamicsData.from_events(test, cats, item_static=learned.features)
    T = cfg.n_positions
    logp, pred = {}, {}
    for name, pop, rows in (("static", static, test_data.static), ("dynamic", dynamic, test_data.rows(spec))):
        X, r, mask = _padded(test.user, rows, test.reward, test.n_users, T)
        logp[name], pred[name] = one_step_ahead(pop, X, r, mask)
    rng = np.random.default_rng([cfg.seed, 5])
    buckets = _by_position(logp, pred, r, mask, rng, cfg.n_boot)
    record = dynamic.diagnostics.dynamics or {}
    report("done", 1.0)
    return {"by_position": buckets, "config": cfg.to_dict(), "genres": list(names),
            "data": {"n_train_users": train.n_users, "n_test_users": test.n_users,
                     "n_train_events": train.n_events, "n_test_events_scored": int(mask.sum())},
            "static": {"selected_k": static.n_types, "dim": static.dim, "fit_s": static_s},
            "dynamic": {"selected_k": dynamic.n_types, "dim": dynamic.dim, "fit_s": dynamic_s,
                        "spec": spec.to_dict(), "half_lives_days": list(spec.half_lives()),
                        "columns": record.get("columns"), "criterion": record.get("criterion"),
                        "habit_tests": record.get("habit_tests"),
                        "habit_genres": [names[c] for c in spec.habit_categories],
                        "candidates": record.get("candidates")},
            "run_s": time.perf_counter() - started}
