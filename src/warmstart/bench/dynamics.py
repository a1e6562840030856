"""Learned response dynamics on ``warmstart/Satiation-v0``: planning with a model fitted from a log against
planning with the simulator's dynamics given, and the fitted parameters against the simulator's.

**The fit.** The training log is the satiation benchmark's (``truth.logged``: uniform-random categories, the
same users and seed), given to the fit as events ``(user, time, category, reward)`` only: time is the step
(users one after another), no feature, no decay and no habit category is given.
``warmstart.families.linear.dynamics_fit.fit_dynamics`` chooses the decays (in-sample likelihood of the
one-type hierarchical model), the habit categories (Wald tests of their population-mean harm) and practice
(BIC) on the training users and fits the population with them, K chosen by the validation users' early
events (``choose_n_types``: the latest 20% of the training users by arrival score the log marginal likelihood
of their first 10 events under populations fitted on the others with K fixed).

**Serving.** The same new users as ``bench satiation`` (common random numbers), 200 steps each:

- ``mixture_plan`` (learned): the learned population and ``LearnedDynamics``; the harness keeps each user's
  state with the *learned* decays and habit categories from the categories served and shows the policy those
  features; the planner plans with the learned model; the engagement is the simulator's;
- ``mixture_plan_given``: the satiation benchmark's ``mixture_plan`` (population fitted on the simulator's
  features, the simulator's dynamics given to the planner): the reference;
- ``mixture_ts`` (myopic, given features), ``mixture_ts_learned`` (myopic, learned features),
  ``oracle_plan`` (knows ``theta`` and the dynamics), ``oracle`` (knows ``theta``, myopic).

``learned_gain_share`` = (learned - myopic) / (oracle_plan - myopic) of long-term satisfaction (steps
101-200), the myopic policy ``mixture_ts``; a paired 95% percentile bootstrap CI over users; target >= 0.90.

**Recovery.** Each fitted type is mapped to the true type most of its training users belong to
(``bench.coldstart.type_mapping``; a rule that never sees a CI); a true type claimed by several fitted types
gets the largest. Its mean parameters (appeals, satiation rates, the habit's harm) are set against the
simulator's configured type mean (the population parameter; the mean of the type's training users is kept for
reference). CIs from ``n_recovery`` bootstrap resamples of the training users. On each resample the decays are
re-chosen by the resample's own criterion (``decay_grids``: every user's term of the one-type hierarchical log
likelihood on a grid of half-lives around the chosen one, at the full data's fits, re-weighted by the resample
and maximised through a spline), the users' features recomputed with them, and the types refitted by EM to
convergence from the full fit (so that they keep their labels) *with the habit categories and K held fixed*:
the CIs carry the decays' uncertainty and are conditional on those two. Two statements: 95% percentile CIs per
parameter (with 52 of them about 2.6 misses are expected of a correct method, so "every one covered" holds
only about 7% of the time), and the simultaneous 95% max-t band over every parameter of the types the target
applies to (``simultaneous_band``), the 95% statement about all of them at once. The decays' interval is the
profile-likelihood one of the choice (every evaluated half-life whose in-sample log likelihood under the
one-type hierarchical model is within 1.92 of the best). Target: every parameter of every true type with >= 200
training users covered (``met``: per-parameter CIs, as the target reads; ``met_simultaneous``: the band).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from warmstart._version import __version__
from warmstart.bench.coldstart import type_mapping
from warmstart.bench.machine import machine_info
from warmstart.bench.satiation import MYOPIC, PLANNING, SatiationBenchConfig, serve
from warmstart.data.bandit_log import training_log
from warmstart.families.linear.dynamics import DynamicsSpec, LearnedDynamics
from warmstart.families.linear.dynamics_fit import DynamicsData, DynamicsFitConfig, fit_dynamics
from warmstart.families.linear.dynamics_search import (
    decay_profile,
    log2_half_life,
    resampled_half_life,
    with_log2_half_life,
)
from warmstart.families.linear.em import _em
from warmstart.families.linear.fit import FitConfig, fit_population
from warmstart.families.linear.population import Population
from warmstart.policies.base import PolicyContext
from warmstart.sim.linear_types import EventLog
from warmstart.sim.satiation import SatiationPopulation, long_term, short_term
from warmstart.stats import bootstrap, interval

Progress = Callable[[str, float], None]
GIVEN = "mixture_plan_given"
TARGET_SHARE = 0.90
MIN_TYPE_USERS = 200
DECAY_PROBE, DECAY_SPAN, DECAY_POINTS = 0.1, 4.0, 9  # the bootstrap's decay grids (``decay_grids``)


@dataclass(frozen=True, kw_only=True)
class DynamicsBenchConfig:
    """Settings: the satiation benchmark's (sizes, seeds, the given fit) and the dynamics fit's."""

    satiation: SatiationBenchConfig = field(default_factory=SatiationBenchConfig)
    dynamics: DynamicsFitConfig = field(default_factory=lambda: DynamicsFitConfig(refine_steps=2, polish_steps=1))
    n_recovery: int = 200
    seed: int = 0
    quick: bool = False

    @staticmethod
    def make(quick: bool = False, seed: int = 0, **overrides: Any) -> DynamicsBenchConfig:
        sat = SatiationBenchConfig.make(quick=quick, seed=seed)
        cfg = DynamicsBenchConfig(satiation=sat, seed=seed, quick=quick)
        if quick:
            cfg = replace(cfg, n_recovery=5, dynamics=DynamicsFitConfig(
                exposure_half_lives=(1.0, 2.0, 4.0), habit_half_lives=(8.0, 16.0, 32.0), refine_steps=1,
                polish_steps=0, fit=FitConfig(k_range=(1, 6), n_init=1)))
        return replace(cfg, **overrides)

    def to_dict(self) -> dict[str, Any]:
        return {"satiation": self.satiation.to_dict(), "dynamics": self.dynamics.to_dict(),
                "n_recovery": self.n_recovery, "seed": self.seed, "quick": self.quick}


def log_events(log: EventLog) -> DynamicsData:
    """A simulator log as the dynamics fit reads it: user, time (the step; users one after another),
    category (the chosen candidate) and reward; nothing else."""
    N, T = log.action.shape
    user = np.repeat(np.arange(N), T)
    times = (user * T + np.tile(np.arange(T), N)).astype(float)
    cats = np.eye(log.candidates.shape[2])[log.action.ravel()]
    return DynamicsData(user, times, cats, cats, log.reward.ravel(), N)


def _shares(results: dict[str, dict[str, Any]], rng: np.random.Generator, n_boot: int) -> dict[str, Any]:
    """Each planner's share of the oracle planner's long-term gain over the myopic policy, paired CIs."""
    myo = long_term(results[MYOPIC]["engagement"])
    ora = long_term(results["oracle_plan"]["engagement"])
    out: dict[str, Any] = {}
    for name in (PLANNING, GIVEN, "mixture_ts_learned"):
        if name not in results:
            continue
        x = long_term(results[name]["engagement"])

        def share(idx: np.ndarray, x: np.ndarray = x) -> np.ndarray:
            return (x[idx].mean(1) - myo[idx].mean(1)) / np.maximum(ora[idx].mean(1) - myo[idx].mean(1), 1e-12)

        boots = bootstrap(share, x.size, n_boot, rng)
        out[name] = {"share": float((x.mean() - myo.mean()) / (ora.mean() - myo.mean())),
                     "ci95": interval(boots).tolist()}
    return out


def _true_params(truth: SatiationPopulation, k: int) -> np.ndarray:
    C = truth.config.n_categories
    mu = truth.type_means[k]
    return np.concatenate([mu[:C], -mu[C : 2 * C], [-mu[2 * C]]])


def _as_params(theta: np.ndarray, C: int) -> np.ndarray:
    """Appeals, satiation rates and harm of simulator parameters ``theta (..., 2 C + 1)`` (signs flipped)."""
    return np.concatenate([theta[..., :C], -theta[..., C:]], axis=-1)


def _fitted_params(mu: np.ndarray, C: int, has_habit: bool) -> np.ndarray:
    """Appeals, satiation rates and the harm (NaN without a habit stock) of type means ``mu (K, d)``."""
    harm = -mu[:, 2 * C] if has_habit else np.full(mu.shape[0], np.nan)
    return np.hstack([mu[:, :C], -mu[:, C : 2 * C], harm[:, None]])


def simultaneous_band(estimate: np.ndarray, reps: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, float]:
    """A simultaneous ``level`` band over every entry of ``estimate`` from bootstrap replicates ``reps
    (n_boot, ...)``: ``estimate +- c sd``, ``sd`` the replicates' standard deviation per entry and ``c`` the
    ``level`` quantile of the replicates' largest studentised deviation ``max |rep - estimate| / sd`` (the
    max-t band). Entries with a NaN are left out. Returns the band ``(2, ...)`` and ``c``.

    >>> rng = np.random.default_rng(0)
    >>> reps = rng.standard_normal((2000, 10))           # 10 independent N(0, 1) estimates
    >>> band, c = simultaneous_band(np.zeros(10), reps)
    >>> round(c, 1), band.shape                        # Bonferroni over 10 would give 2.81
    (2.8, (2, 10))
    """
    sd = np.nanstd(reps, axis=0, ddof=1)
    ok = np.isfinite(estimate) & np.isfinite(sd) & (sd > 0)
    t = np.abs(reps - estimate) / np.where(ok, sd, 1.0)
    worst = np.where(ok, t, 0.0).reshape(reps.shape[0], -1).max(axis=1)
    c = float(np.quantile(worst, level))
    return np.stack([estimate - c * sd, estimate + c * sd]), c


def decay_grids(data: DynamicsData, spec: DynamicsSpec, max_iter: int, report: Progress
                ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """For each decay the fit chose (the habit's when it has habit categories): ``DECAY_POINTS`` log2
    half-lives spanning ``DECAY_SPAN`` curvature SDs of the choice's criterion either side of the chosen one
    (the curvature from two probes ``DECAY_PROBE`` away), and every user's term of the criterion at each
    (``decay_profile``), for the bootstrap to re-choose the decay on each resample."""
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for which in ("exposure_decay",) + (("habit_decay",) if spec.habit_categories else ()):
        report(f"recovery: the criterion along the {which.split('_')[0]} decay", 0.0)
        x0 = log2_half_life(spec, which)
        probe = decay_profile(data.summary, spec, which, x0 + DECAY_PROBE * np.array([-1.0, 0.0, 1.0]),
                              max_iter).sum(1)
        curvature = float(2 * probe[1] - probe[0] - probe[2]) / DECAY_PROBE**2
        sd = float(np.clip(1.0 / math.sqrt(curvature) if curvature > 0 else 0.5, 0.01, 0.5))
        x = x0 + sd * np.linspace(-DECAY_SPAN, DECAY_SPAN, DECAY_POINTS)
        out[which] = (x, decay_profile(data.summary, spec, which, x, max_iter))
    return out


def _bootstrap_types(data: DynamicsData, spec: DynamicsSpec, population: Population, C: int, has_habit: bool,
                     n_boot: int, seed: int, report: Progress, grids: dict[str, tuple[np.ndarray, np.ndarray]]
                     ) -> tuple[np.ndarray, np.ndarray]:
    """The fitted types' parameters on ``n_boot`` resamples of the training users ``(n_boot, K, 2 C + 1)`` and
    the decays' log2 half-lives chosen on each ``(n_boot, len(grids))``: on each resample the decays are
    re-chosen by the resample's criterion (``resampled_half_life`` on ``grids``), the users' features
    recomputed with them, and EM run from the full fit to convergence (so the types keep their labels); K and
    the habit categories held fixed."""
    K, n = population.n_types, data.n_users
    rng = np.random.default_rng([seed, 11])
    cfg = FitConfig(split_merge=False, max_iter=200)
    reps = np.full((n_boot, K, 2 * C + 1), np.nan)
    decays = np.full((n_boot, len(grids)), np.nan)
    for b in range(n_boot):
        report(f"recovery: bootstrap {b + 1} of {n_boot}", b / max(n_boot, 1))
        idx = rng.integers(n, size=n)
        counts = np.bincount(idx, minlength=n)
        spec_b = spec
        for i, (which, (x, terms)) in enumerate(grids.items()):
            decays[b, i] = resampled_half_life(x, terms, counts)
            spec_b = with_log2_half_life(spec_b, which, decays[b, i])
        res = _em(data.summary(spec_b)[idx], population.components, population.weights, cfg)
        reps[b] = _fitted_params(res.comps.mu[:K], C, has_habit)
    return reps, decays


def _decay_bootstrap(grids: dict[str, tuple[np.ndarray, np.ndarray]], decays: np.ndarray) -> dict[str, Any]:
    """The resamples' half-lives per decay: their 95% percentile CI, and how many fell at an end of the grid
    (the grid too narrow for them if many)."""
    out: dict[str, Any] = {}
    for i, (which, (x, _)) in enumerate(grids.items()):
        hl = 2.0 ** decays[:, i]
        out[which] = {"grid_half_lives": (2.0**x).tolist(), "half_life_ci95": np.percentile(hl, [2.5, 97.5]).tolist(),
                      "at_grid_end": int(np.sum((decays[:, i] <= x[0] + 1e-9) | (decays[:, i] >= x[-1] - 1e-9)))}
    return out


def recovery(population: Population, data: DynamicsData, learned: LearnedDynamics, log: EventLog,
             truth: SatiationPopulation, n_boot: int, seed: int, report: Progress, max_iter: int = 300
             ) -> dict[str, Any]:
    """Per true type: the fitted parameters, their bootstrap CIs (per parameter, and a simultaneous band over
    every parameter of the types the target applies to) and whether they cover the simulator's."""
    C = truth.config.n_categories
    summary = data.summary(learned.spec)
    mapping = type_mapping(population, summary, log.users.type_id)
    has_habit = learned.habit_column is not None and learned.clickbait == tuple(truth.config.clickbait)
    fitted = _fitted_params(population.components.mu[: population.n_types], C, has_habit)
    grids = decay_grids(data, learned.spec, max_iter, report)
    reps, decays = _bootstrap_types(data, learned.spec, population, C, has_habit, n_boot, seed, report, grids)
    tid = log.users.type_id
    counts = np.bincount(tid[tid >= 0], minlength=truth.config.n_types)
    names = [f"appeal {c}" for c in range(C)] + [f"satiation {c}" for c in range(C)] + ["harm"]
    # each true type's fitted type: the largest of those whose training users are mostly of it (no CI used)
    claim = {j: max((k for k in range(population.n_types) if mapping[k] == j), key=lambda k: population.weights[k],
                    default=None) for j in range(truth.config.n_types)}
    target = [j for j in claim if counts[j] >= MIN_TYPE_USERS and claim[j] is not None]
    ks = [k for j in target if (k := claim[j]) is not None]
    band, c = simultaneous_band(fitted[ks], reps[:, ks]) if ks else (np.zeros((2, 0, len(names))), float("nan"))
    per_type: dict[str, Any] = {}
    for j, k in claim.items():
        true = _true_params(truth, j)
        entry: dict[str, Any] = {
            "n_train_users": int(counts[j]), "target_applies": bool(counts[j] >= MIN_TYPE_USERS),
            "true": dict(zip(names, true.tolist(), strict=True)),
            "training_users_mean": dict(zip(names, _as_params(log.users.theta[tid == j], C).mean(0).tolist(),
                                            strict=True))}
        if k is None:
            entry.update(found=False, covered=False, n_covered=0, n_params=len(names))
            per_type[str(j)] = entry
            continue
        lo, hi = np.nanpercentile(reps[:, k], [2.5, 97.5], axis=0)
        cover = (lo <= true) & (true <= hi)
        entry.update(found=True, fitted_type=int(k), fitted=dict(zip(names, fitted[k].tolist(), strict=True)),
                     bootstrap_se=dict(zip(names, np.nanstd(reps[:, k], axis=0, ddof=1).tolist(), strict=True)),
                     ci95={n: [float(a), float(b)] for n, a, b in zip(names, lo, hi, strict=True)},
                     covers={n: bool(v) for n, v in zip(names, cover, strict=True)},
                     n_covered=int(cover.sum()), n_params=len(names), covered=bool(cover.all()))
        if j in target:
            blo, bhi = band[0, target.index(j)], band[1, target.index(j)]
            sim = (blo <= true) & (true <= bhi)
            entry.update(simultaneous_ci95={n: [float(a), float(b)] for n, a, b in zip(names, blo, bhi, strict=True)},
                         n_covered_simultaneous=int(sim.sum()), covered_simultaneous=bool(sim.all()))
        per_type[str(j)] = entry
    doc = _recovery_doc(per_type, mapping, n_boot, has_habit, c)
    doc["decay_bootstrap"] = _decay_bootstrap(grids, decays)
    return doc


def _recovery_doc(per_type: dict[str, Any], mapping: np.ndarray, n_boot: int, has_habit: bool, c: float
                  ) -> dict[str, Any]:
    applies = [e for e in per_type.values() if e["target_applies"]]
    n_params = sum(e["n_params"] for e in applies)
    return {"type_to_true": mapping.tolist(), "n_bootstrap": n_boot, "per_type": per_type,
            "harm_comparable": has_habit, "met": bool(applies and all(e["covered"] for e in applies)),
            "n_covered": int(sum(e["n_covered"] for e in applies)), "n_params": int(n_params),
            "met_simultaneous": bool(applies and all(e.get("covered_simultaneous", False) for e in applies)),
            "simultaneous_c": c,
            "ci_note": "per parameter: 95% percentile CIs over bootstrap resamples of the training users, on "
                       "each the decays re-chosen by the resample's criterion (the users' terms of the one-type "
                       "hierarchical log likelihood at the full data's fits, re-weighted) and the types refitted "
                       "by EM to convergence from the full fit with the habit categories and K held fixed "
                       "(conditional on those two); simultaneous: the max-t band over every "
                       "parameter of the types the target applies to, +- c bootstrap SDs. With "
                       f"{n_params} per-parameter 95% intervals about {0.05 * n_params:.1f} misses are expected "
                       "of a correct method; the simultaneous band is the 95% statement about all of them",
            "true_note": "true: the simulator's configured type mean (the population parameter the estimate "
                         "and a bootstrap over users target); training_users_mean: the mean of the type's "
                         "training users' parameters, for reference"}


def _decay_intervals(record: dict[str, Any]) -> dict[str, Any]:
    """The profile-likelihood interval of each decay among the candidates evaluated with the chosen columns
    (the other decay at its chosen value): half-lives whose in-sample log likelihood (one-type hierarchical
    model, summed over the training users) is within 1.92 of the best."""
    spec = record["spec"]
    out: dict[str, Any] = {}
    for which, other in (("exposure_decay", "habit_decay"), ("habit_decay", "exposure_decay")):
        same = [c for c in record["candidates"] if c["habit_categories"] == spec["habit_categories"]
                and c["practice"] == spec["practice"] and not c["per_category_habit"]
                and abs(c[other] - spec[other]) < 1e-12]
        if not same:
            continue
        best = max(c["loglik"] for c in same)
        inside = [c[which] for c in same if best - c["loglik"] <= 1.92]
        out[which] = {"chosen": spec[which], "interval": [min(inside), max(inside)],
                      "evaluated": sorted(c[which] for c in same)}
    return out


def _summary_of(res: dict[str, Any]) -> dict[str, Any]:
    eng = res["engagement"]
    late = slice(eng.shape[1] // 2, None)
    return {"long_term": float(long_term(eng).mean()), "short_term": float(short_term(eng).mean()),
            "late_clickbait_share": float(res["clickbait"][:, late].mean()),
            "late_habit": float(res["habit"][:, late].mean()), "serve_s": res["serve_s"],
            "settings": res["settings"]}


def run_dynamics_satiation(config: DynamicsBenchConfig | None = None, progress: Progress | None = None,
                           population_out: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """The satiation part of ``bench dynamics`` (see the module docstring); a JSON-able document. With
    ``population_out``, the population fitted from the events is saved there as the ``linear_dynamics``
    family's file, which ``warmstart serve --population`` serves (``type_plan`` plans with it)."""
    cfg = config or DynamicsBenchConfig.make()
    sat = cfg.satiation
    report = progress or (lambda msg, frac: None)
    started = time.perf_counter()
    truth = SatiationPopulation(sat.sim)
    log = truth.logged(sat.n_train_users, sat.n_train_events, seed=sat.seed)
    data = log_events(log)
    report("fitting the dynamics from events", 0.0)
    t0 = time.perf_counter()
    population, spec = fit_dynamics(data, replace(cfg.dynamics, seed=sat.seed),
                                    lambda m, f: report(f"dynamics: {m}", 0.4 * f))
    fit_s = time.perf_counter() - t0
    if population_out is not None:
        from warmstart.families.linear.dynamic_family import from_linear

        from_linear(population).save(population_out)
    learned = LearnedDynamics(spec)
    report("fitting the population on the simulator's features (the given reference)", 0.4)
    given = fit_population(log.summary(), replace(sat.fit, seed=sat.seed))
    given_ctx = PolicyContext(dim=sat.sim.dim, population=given, train_log=training_log(log))
    learned_ctx = PolicyContext(dim=learned.dim, population=population)
    users = truth.sample_users(sat.n_users, np.random.default_rng([sat.seed, 1]))
    runs = [(PLANNING, PLANNING, learned_ctx, learned), (GIVEN, PLANNING, given_ctx, None),
            (MYOPIC, MYOPIC, given_ctx, None), ("mixture_ts_learned", MYOPIC, learned_ctx, learned),
            ("oracle_plan", "oracle_plan", given_ctx, None), ("oracle", "oracle", given_ctx, None)]
    results: dict[str, dict[str, Any]] = {}
    for i, (row, name, ctx, view) in enumerate(runs):
        report(f"serving new users with {row}", 0.45 + 0.3 * i / len(runs))
        results[row] = serve(name, ctx, truth, users, sat, view=view)
    rng = np.random.default_rng([sat.seed, 3])
    shares = _shares(results, rng, sat.n_bootstrap)
    rec = recovery(population, data, learned, log, truth, cfg.n_recovery, sat.seed,
                   lambda m, f: report(m, 0.75 + 0.24 * f), cfg.dynamics.search_max_iter)
    record = population.diagnostics.dynamics or {}
    share = shares[PLANNING]
    report("done", 1.0)
    return {
        "learned_gain_share": share["share"], "learned_gain_share_ci95": share["ci95"],
        "given_gain_share": shares[GIVEN]["share"], "given_gain_share_ci95": shares[GIVEN]["ci95"],
        "gain_shares": shares,
        "policies": {name: _summary_of(res) for name, res in results.items()},
        "target": {"name": "learned dynamics: share of the oracle planner's long-term gain over mixture_ts",
                   "threshold": TARGET_SHARE, "value": share["share"], "ci95": share["ci95"],
                   "passed": bool(share["share"] >= TARGET_SHARE)},
        "chosen": {"spec": spec.to_dict(), "half_lives": list(spec.half_lives()),
                   "true": {"exposure_decay": sat.sim.exposure_decay, "habit_decay": sat.sim.habit_decay,
                            "habit_categories": list(sat.sim.clickbait), "practice": False},
                   "decay_intervals": _decay_intervals(record), "criterion": record.get("criterion"),
                   "habit_tests": record.get("habit_tests"),
                   "n_candidates": len(record.get("candidates", [])), "choice_s": record.get("seconds")},
        "fit": {"selected_k": population.n_types, "given_selected_k": given.n_types, "fit_s": fit_s,
                "n_types_choice": record.get("n_types_choice"),
                "weights": population.weights.tolist(), "candidates": record.get("candidates")},
        "recovery": rec,
        "run_s": time.perf_counter() - started,
    }


def run_dynamics(config: DynamicsBenchConfig | None = None, parts: tuple[str, ...] = ("satiation", "movielens"),
                 movielens_root: str | None = None, progress: Progress | None = None,
                 population_out: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """``warmstart bench dynamics``: the satiation part (its fitted population saved to ``population_out``
    when given) and (``"movielens"`` in ``parts``) the next-rating prediction on MovieLens
    (``warmstart.bench.dynamics_movielens``)."""
    cfg = config or DynamicsBenchConfig.make()
    report = progress or (lambda msg, frac: None)
    doc: dict[str, Any] = {"benchmark": "dynamics", "config": cfg.to_dict(), "seed": cfg.seed, "quick": cfg.quick,
                           "version": __version__, "machine": machine_info(), "parts": list(parts)}
    share = 0.7 if "movielens" in parts else 1.0
    if "satiation" in parts:
        doc["satiation"] = run_dynamics_satiation(cfg, lambda m, f: report(f"satiation: {m}", share * f),
                                                  population_out)
    if "movielens" in parts:
        from warmstart.bench.dynamics_movielens import MovieLensDynamicsConfig, run_dynamics_movielens

        ml = MovieLensDynamicsConfig.make(quick=cfg.quick, seed=cfg.seed)
        doc["movielens"] = run_dynamics_movielens(ml, movielens_root,
                                                  lambda m, f: report(f"movielens: {m}", share + (1 - share) * f))
    return doc


__all__ = ["DynamicsBenchConfig", "decay_grids", "log_events", "recovery", "run_dynamics", "run_dynamics_satiation",
           "simultaneous_band"]
