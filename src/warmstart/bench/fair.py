"""The fair-types benchmark (``warmstart bench responsible --part fair``): the price of fair types
(``warmstart.families.linear.fair``) in gain, and what they leave for the leakage audit to find.

On the cold-start harness's training log (``warmstart/LinearTypes-v0``, default preset), two attributes are drawn
for every user as the leakage benchmark draws them (``bench.leakage.planted_attributes``): one linked to the
true type, one independent of everything. Three populations are fitted on the same log: unconstrained, fair
for the planted attribute and fair for the independent one. Each is measured twice: G(50) of ``mixture_ids_cp``
on the cold-start harness's new users (the same users and seeds for all three, so the ratios are paired), and
the leakage audit (``governance.leakage``, AUC with a 95% bootstrap CI) on held-out users simulated and given
the attributes the same way, whose types are inferred from their events only.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import numpy as np

from warmstart.bench.coldstart import ColdStartConfig, run_coldstart
from warmstart.bench.leakage import planted_attributes
from warmstart.data.events import events_from_log
from warmstart.families.linear.fair import FairAttribute
from warmstart.families.linear.fit import fit_population
from warmstart.families.linear.population import Population
from warmstart.governance.audit import AuditLog, Progress, _quiet, infer_types
from warmstart.governance.leakage import leakage_audit
from warmstart.sim.linear_types import EventLog, LinearTypesPopulation

OURS = "mixture_ids_cp"


def _gain50(cold: dict[str, Any]) -> float:
    pol = cold["policies"]
    rs, ro, rt = (pol[name]["regret_at"]["50"] for name in ("from_scratch_ts", OURS, "oracle_type"))
    return float((rs - ro) / (rs - rt))


def fair_benchmark(seed: int = 0, quick: bool = False, progress: Progress | None = None, *,
                   population: Population | None = None, log: EventLog | None = None,
                   train_users: int | None = None) -> dict[str, Any]:
    """Fit, measure and return the ``fair_types`` part of ``responsible.json`` (module docstring).
    ``population`` and ``log`` are the unconstrained fit and its training log when the caller has them (the
    fairness part's, same configuration and seed); ``train_users`` overrides the log's size for smoke runs."""
    report = progress or _quiet
    t0 = time.perf_counter()
    cfg = ColdStartConfig.make("default", quick=quick, seed=seed, policies=(OURS, "from_scratch_ts", "oracle_type"),
                               ours=OURS)
    if train_users is not None:
        cfg = replace(cfg, n_train_users=train_users)
    truth = LinearTypesPopulation(cfg.sim)
    fit_cfg = replace(cfg.fit, seed=seed)
    timings: dict[str, float] = {}
    if log is None or population is None:
        report("fitting the unconstrained population", 0.0)
        log = truth.logged(cfg.n_train_users, cfg.n_train_events, seed=seed)
        population = fit_population(log.summary(), fit_cfg)
        timings["fit_unconstrained"] = time.perf_counter() - t0
    summary = log.summary()
    planted, independent, _ = planted_attributes(log.users.type_id, cfg.sim.n_types,
                                                 np.random.default_rng([seed, 3]))
    pops: dict[str, Population] = {"unconstrained": population}
    for j, (name, values) in enumerate((("planted", planted), ("independent", independent))):
        t1 = time.perf_counter()

        def step(message: str, fraction: float, j: int = j) -> None:
            report(f"fair fit ({j + 1}/2): {message}", 0.05 + 0.25 * (j + fraction))

        pops[f"fair_{name}"] = fit_population(summary, fit_cfg, progress=step,
                                              fair_attribute=FairAttribute(name, values))
        timings[f"fit_fair_{name}"] = time.perf_counter() - t1
    n_test, t_test = (600, 20) if quick else (2000, 20)
    n_boot, n_perm = (200, 100) if quick else (500, 200)
    test_seed = int(np.random.SeedSequence([seed, 4]).generate_state(1)[0])
    test = truth.logged(n_test, t_test, seed=test_seed)
    events = events_from_log(test)
    t_planted, t_independent, _ = planted_attributes(test.users.type_id, cfg.sim.n_types,
                                                     np.random.default_rng([seed, 5]))
    audit_log = AuditLog(events, {"planted": t_planted, "independent": t_independent}, "simulated held-out users")
    audits = {("unconstrained", "planted"), ("unconstrained", "independent"), ("fair_planted", "planted"),
              ("fair_planted", "independent"), ("fair_independent", "independent")}
    fits: dict[str, Any] = {}
    for i, (key, pop) in enumerate(pops.items()):
        t1 = time.perf_counter()
        report(f"{key}: cold-start users", 0.55 + 0.13 * i)
        cold = run_coldstart(cfg, population=pop, log=log, fit_s=0.0)
        inference = infer_types(events, pop)
        entry: dict[str, Any] = {"n_types": pop.n_types, "weights": pop.weights.tolist(), "G50": _gain50(cold),
                                 "fair": pop.diagnostics.fair, "leakage": {}}
        for attribute in ("planted", "independent"):
            if (key, attribute) in audits:
                rep = leakage_audit(audit_log, pop, attribute, inference=inference, seed=seed, n_boot=n_boot,
                                    n_perm=n_perm)
                entry["leakage"][attribute] = {"auc": rep.auc, "ci95": list(rep.ci95),
                                               "permutation_p": rep.permutation_p, "warning": rep.leaks}
        timings[f"measure_{key}"] = time.perf_counter() - t1
        fits[key] = entry
    return _summary_doc(fits, cfg, fit_cfg, n_test, t_test, n_boot, n_perm, seed, quick, timings, t0)


def _summary_doc(fits: dict[str, Any], cfg: ColdStartConfig, fit_cfg: Any, n_test: int, t_test: int, n_boot: int,
                 n_perm: int, seed: int, quick: bool, timings: dict[str, float], t0: float) -> dict[str, Any]:
    """The figures the targets read, next to every fit's detail."""
    base, fp, fi = fits["unconstrained"], fits["fair_planted"], fits["fair_independent"]
    ci = fp["leakage"]["planted"]["ci95"]
    figures = {
        "unconstrained_auc": base["leakage"]["planted"]["auc"], "unconstrained_ci95": base["leakage"]["planted"]["ci95"],
        "fair_auc": fp["leakage"]["planted"]["auc"], "fair_ci95": ci,
        "unconstrained_G50": base["G50"], "fair_G50": fp["G50"], "G50_ratio": fp["G50"] / base["G50"],
        "independent_unconstrained_auc": base["leakage"]["independent"]["auc"],
        "independent_fair_auc": fi["leakage"]["independent"]["auc"],
        "independent_fair_ci95": fi["leakage"]["independent"]["ci95"],
        "independent_fair_G50": fi["G50"], "independent_G50_ratio": fi["G50"] / base["G50"],
        "independent_n_types": [base["n_types"], fi["n_types"]],
    }
    targets = {"fair_ci95 contains 0.5": bool(ci[0] <= 0.5 <= ci[1]),
               "G50_ratio >= 0.9": bool(figures["G50_ratio"] >= 0.9)}
    return {"benchmark": "fair_types", "seed": seed, "quick": quick, **figures, "targets": targets, "fits": fits,
            "config": {"coldstart": cfg.to_dict(), "fit": {k: (list(v) if isinstance(v, tuple) else v)
                                                           for k, v in fit_cfg.__dict__.items()},
                       "attributes": "bench.leakage.planted_attributes (training users: rng [seed, 3]; held-out: "
                                     "[seed, 5])", "n_audit_users": n_test, "audit_events": t_test,
                       "n_boot": n_boot, "n_perm": n_perm, "ours": OURS},
            "timing": {**timings, "total_s": time.perf_counter() - t0}}
