"""``warmstart bench responsible``: the responsible-personalization figures in one document.

- **Fairness across types** (cold-start harness, ``warmstart/LinearTypes-v0`` default preset): the gain captured
  at 50 steps, ``G_k(50) = (R_scratch - R_ours) / (R_scratch - R_oracle_type)`` with R the cumulative regret of
  new users of true type k; ``worst_type_gain`` is the smallest over types, ``minority_gain`` the same for the
  200 users of the minority type, ``outlier_ratio`` the outliers' regret at 200 steps, ours over from-scratch.
- **Drift and lock-in** (``warmstart.bench.drift``): a switch of type at step 100 and a misleading start.
- **Long-term wellbeing** (``warmstart.bench.satiation``): planning over the type belief against the myopic
  mixture Thompson sampling in ``warmstart/Satiation-v0``.
- **Privacy** (``warmstart.bench.dp_gain``): the gain kept by the differentially private fit at epsilon = 1,
  delta = 1e-6 on 100,000 training users; (``warmstart.bench.leakage.leakage_benchmark``) the leakage audit on a
  planted type-attribute link and on an independent attribute.
- **Forgetting** (``warmstart.bench.forget``): the refit after forgetting equals the fit that never saw them.
- **Fair types** (``warmstart.bench.fair``): types fitted not to carry a planted attribute, their leakage AUC and
  their G(50) against the unconstrained fit's; and with an independent attribute.

"Ours" is ``mixture_ids_cp`` (the mixture IDS policy with change-point detection: the configuration whose drift
figures are reported); the plain ``mixture_ids`` is reported next to it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from warmstart._version import __version__
from warmstart.bench.coldstart import ColdStartConfig, run_coldstart
from warmstart.bench.drift import TOLD_LATE, DriftConfig, run_drift
from warmstart.bench.machine import machine_info
from warmstart.families.linear.fit import fit_population
from warmstart.sim.linear_types import LinearTypesPopulation

OURS = "mixture_ids_cp"
PLAIN = "mixture_ids"
Progress = Callable[[str, float], None]


def gain_at(policies: dict[str, Any], ours: str, group: dict[str, str] | None = None, t: str = "50") -> float | None:
    """``G(t)`` of ``ours`` from the groups' regret at ``t``: ``group`` picks e.g. ``{"per_type": "3"}`` or
    ``{"minority": ""}``; ``None`` means the whole population."""

    def regret(name: str) -> float:
        p = policies[name]
        if group is None:
            return p["regret_at"][t]
        (key, sub), = group.items()
        part = p[key][sub] if sub else p[key]
        return part["regret_at"][t]

    rs, ro, rt = regret("from_scratch_ts"), regret(ours), regret("oracle_type")
    return None if abs(rs - rt) < 1e-12 else float((rs - ro) / (rs - rt))


def fairness_figures(cold: dict[str, Any], ours: str) -> dict[str, Any]:
    pol = cold["policies"]
    per_type = {k: gain_at(pol, ours, {"per_type": k}) for k in pol[ours]["per_type"]}
    finite = {k: g for k, g in per_type.items() if g is not None}
    worst = min(finite, key=lambda k: finite[k]) if finite else None
    return {
        "G50": gain_at(pol, ours),
        "per_type_G50": per_type,
        "per_type_users": {k: v["n_users"] for k, v in pol[ours]["per_type"].items()},
        "worst_type": worst,
        "worst_type_gain": finite[worst] if worst is not None else None,
        "minority_gain": gain_at(pol, ours, {"minority": ""}),
        "minority_users": pol[ours]["minority"]["n_users"],
        "outlier_ratio": pol[ours]["outliers"]["regret_at"]["200"] / pol["from_scratch_ts"]["outliers"]["regret_at"]["200"],
        "outlier_regret_200": {name: pol[name]["outliers"]["regret_at"]["200"] for name in pol},
    }


def _drift_config(cold_cfg: ColdStartConfig, quick: bool, seed: int, drift_users: int | None) -> DriftConfig:
    return DriftConfig(seed=seed, n_train_users=cold_cfg.n_train_users, n_train_events=cold_cfg.n_train_events,
                       n_users=drift_users or (60 if quick else 300), n_bootstrap=200 if quick else 1000,
                       policies=(OURS, PLAIN, "mixture_ids_discount", "mixture_ids_told", TOLD_LATE))


def run_responsible(quick: bool = False, seed: int = 0, progress: Progress | None = None,
                    parts: tuple[str, ...] = ("fairness", "drift", "satiation", "dp", "leakage", "forget", "fair"),
                    train_users: int | None = None, drift_users: int | None = None) -> dict[str, Any]:
    """Run every part (or those named) and return ``responsible.json``; for smoke runs, ``train_users`` (the
    log the fairness and drift parts fit on) and ``drift_users`` (per drift scenario) override ``quick``'s."""
    report = progress or (lambda msg, frac: None)
    timings: dict[str, float] = {}
    doc: dict[str, Any] = {"seed": seed, "quick": quick, "version": __version__, "machine": machine_info(),
                           "ours": OURS, "parts": list(parts)}
    cold_cfg = ColdStartConfig.make("default", quick=quick, seed=seed,
                                    policies=(OURS, PLAIN, "from_scratch_ts", "oracle_type"), ours=OURS)
    if train_users is not None:
        cold_cfg = replace(cold_cfg, n_train_users=train_users)
    population, log = None, None
    if {"fairness", "drift"} & set(parts):
        t0 = time.perf_counter()
        report("fitting the population", 0.0)
        truth = LinearTypesPopulation(cold_cfg.sim)
        log = truth.logged(cold_cfg.n_train_users, cold_cfg.n_train_events, seed=seed)
        population = fit_population(log.summary(), replace(cold_cfg.fit, seed=seed))
        timings["fit"] = time.perf_counter() - t0
    if "fairness" in parts:
        t0 = time.perf_counter()
        cold = run_coldstart(cold_cfg, lambda m, f: report(f"fairness: {m}", 0.05 + 0.25 * f),
                             population=population, log=log, fit_s=timings["fit"])
        doc["fairness"] = {name: fairness_figures(cold, name) for name in (OURS, PLAIN)}
        doc["fairness_config"] = cold["config"]
        ours = doc["fairness"][OURS]
        doc.update(worst_type_gain=ours["worst_type_gain"], minority_gain=ours["minority_gain"],
                   outlier_ratio=ours["outlier_ratio"])
        timings["fairness"] = time.perf_counter() - t0
    if "drift" in parts:
        t0 = time.perf_counter()
        drift = run_drift(_drift_config(cold_cfg, quick, seed, drift_users),
                          lambda m, f: report(f"drift: {m}", 0.3 + 0.2 * f), population=population)
        doc["drift"] = drift
        ours = drift["policies"][OURS]
        doc.update({k: ours[k] for k in ("switch_recovery_ratio", "switch_detect_rate", "false_alarm_rate",
                                         "misleading_start_excess")})
        doc["misleading_start_floor"] = drift["policies"]["mixture_ids_told"]["misleading_start_excess"]
        doc["misleading_start_floor_late"] = drift["policies"][TOLD_LATE]["misleading_start_excess"]
        timings["drift"] = time.perf_counter() - t0
    if "satiation" in parts:
        from warmstart.bench.satiation import run_satiation

        t0 = time.perf_counter()
        sat = run_satiation(seed=seed, quick=quick, progress=lambda m, f: report(f"satiation: {m}", 0.5 + 0.15 * f))
        doc["satiation_detail"] = sat
        doc["satiation"] = {"planning_long_term": sat["planning_long_term"],
                            "myopic_long_term": sat["myopic_long_term"], "ratio": sat["ratio"],
                            "planning_short_term": sat["planning_short_term"],
                            "myopic_short_term": sat["myopic_short_term"]}
        timings["satiation"] = time.perf_counter() - t0
    if "dp" in parts:
        from warmstart.bench.dp_gain import dp_gain

        t0 = time.perf_counter()
        dp = dp_gain(seed=seed, quick=quick, progress=lambda m, f: report(f"privacy: {m}", 0.65 + 0.25 * f))
        doc["dp_detail"] = dp
        doc["dp"] = {"epsilon": dp["epsilon"], "delta": dp["delta"], "gain_kept": dp["gain_kept"]}
        timings["dp"] = time.perf_counter() - t0
    _governance_parts(doc, timings, parts, seed, quick, report, population, log, train_users)
    doc["timings_s"] = timings
    report("done", 1.0)
    return doc


def _governance_parts(doc: dict[str, Any], timings: dict[str, float], parts: tuple[str, ...], seed: int, quick: bool,
                      report: Progress, population: Any, log: Any, train_users: int | None) -> None:
    """The leakage, forget and fair-types parts of ``run_responsible``, into ``doc`` and ``timings``."""
    if "leakage" in parts:
        from warmstart.bench.leakage import leakage_benchmark

        t0 = time.perf_counter()
        report("leakage audit", 0.9)
        leak = leakage_benchmark(seed=seed, quick=quick)
        doc["leakage_detail"] = leak
        doc["leakage"] = {"correlated_auc": leak["correlated_auc"], "independent_auc": leak["independent_auc"],
                          "independent_ci95": leak["independent_ci95"]}
        timings["leakage"] = time.perf_counter() - t0
    if "forget" in parts:
        from warmstart.bench.forget import forget_check

        t0 = time.perf_counter()
        report("forget and refit", 0.95)
        doc["forget"] = forget_check(seed=seed)
        timings["forget"] = time.perf_counter() - t0
    if "fair" in parts:
        from warmstart.bench.fair import fair_benchmark

        t0 = time.perf_counter()
        fair = fair_benchmark(seed=seed, quick=quick, progress=lambda m, f: report(f"fair types: {m}", 0.96 + 0.04 * f),
                              population=population, log=log if population is not None else None,
                              train_users=train_users)
        doc["fair_types"] = fair
        timings["fair"] = time.perf_counter() - t0
