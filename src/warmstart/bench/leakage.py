"""The leakage benchmark: the leakage audit (``warmstart.governance.leakage``) on the simulator, with one
attribute linked to the true type and one independent of everything."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from warmstart import stats
from warmstart._version import __version__
from warmstart.bench.machine import machine_info
from warmstart.data.events import events_from_log
from warmstart.families.linear.fit import FitConfig, fit_population
from warmstart.governance.audit import AuditLog, Progress, _quiet, infer_types
from warmstart.governance.leakage import leakage_audit
from warmstart.sim.linear_types import LinearTypesConfig, LinearTypesPopulation
from warmstart.sim.users import OUTLIER


def planted_attributes(true_type: np.ndarray, n_types: int, rng: np.random.Generator
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two binary attributes per user: ``planted``, linked to the true type (``P(attr = 1) = 0.9`` for the
    first half of the types, 0.1 for the others, 0.5 for outliers), and ``independent`` (``P = 0.5``); with
    ``P(planted = 1)`` per user.

    >>> import numpy as np
    >>> planted, independent, p = planted_attributes(np.array([0, 1, 2, 3, -1]), 4, np.random.default_rng(0))
    >>> p.tolist(), planted.tolist(), independent.tolist()
    ([0.9, 0.9, 0.1, 0.1, 0.5], [1, 1, 1, 1, 0], [0, 0, 0, 0, 0])
    """
    high = np.arange(n_types // 2)
    p_attr = np.where(np.isin(true_type, high), 0.9, np.where(np.asarray(true_type) == OUTLIER, 0.5, 0.1))
    planted = np.less(rng.random(true_type.shape[0]), p_attr).astype(int)
    independent = np.less(rng.random(true_type.shape[0]), 0.5).astype(int)
    return planted, independent, p_attr


def leakage_benchmark(seed: int = 0, quick: bool = False, progress: Progress | None = None) -> dict[str, Any]:
    """The leakage audit on the simulator (``warmstart/LinearTypes-v0``, default preset): fit a population on a
    training log (BIC chooses K), simulate held-out users, infer their types from their logged events, and
    audit two planted binary attributes: one linked to the true type (``P(attr = 1) = 0.9`` for the first half
    of the types, 0.1 for the others, 0.5 for outliers) and one independent of everything (``P = 0.5``).

    Returns JSON: ``correlated_auc``, ``correlated_ci95``, ``independent_auc``, ``independent_ci95`` (and the
    permutation p-values, the warnings, ``oracle_auc``: the AUC of the true ``P(attr = 1 | type)``, the best a
    score can do), with the configuration, seed, version, machine and timing.
    """
    report = progress or _quiet
    t0 = time.perf_counter()
    sim = LinearTypesConfig()
    truth = LinearTypesPopulation(sim)
    n_train, n_test, t_train, t_test = (800, 600, 30, 20) if quick else (2000, 2000, 30, 20)
    n_boot, n_perm = (200, 100) if quick else (500, 200)
    fit_cfg = FitConfig(seed=seed, split_merge=False, n_init=1)
    report("simulating the training log", 0.0)
    train = truth.logged(n_train, t_train, seed=seed)
    report("fitting the population", 0.05)
    population = fit_population(train.summary(), fit_cfg, progress=lambda m, f: report(f"fit: {m}", 0.05 + 0.6 * f))
    fit_s = time.perf_counter() - t0
    test_seed = int(np.random.SeedSequence([seed, 1]).generate_state(1)[0])
    test = truth.logged(n_test, t_test, seed=test_seed)
    events = events_from_log(test)
    true_type = test.users.type_id
    high = np.arange(sim.n_types // 2)
    planted, independent, p_attr = planted_attributes(true_type, sim.n_types, np.random.default_rng([seed, 2]))
    log = AuditLog(events, {"correlated": planted, "independent": independent}, "simulated held-out users")
    report("inferring held-out users' types", 0.7)
    inference = infer_types(events, population)
    results = {}
    for j, name in enumerate(("correlated", "independent")):

        def step(message: str, fraction: float, j: int = j, name: str = name) -> None:
            report(f"{name}: {message}", 0.75 + 0.125 * (j + fraction))

        results[name] = leakage_audit(log, population, name, inference=inference, seed=seed, n_boot=n_boot,
                                      n_perm=n_perm, progress=step)
    report("done", 1.0)
    c, i = results["correlated"], results["independent"]
    return {
        "benchmark": "leakage",
        "version": __version__,
        "seed": seed,
        "quick": quick,
        "config": {"simulator": sim.to_dict(), "n_train_users": n_train, "train_events": t_train,
                   "n_test_users": n_test, "test_events": t_test,
                   "fit": {"seed": seed, "split_merge": False, "n_init": 1, "selection": "bic",
                           "k_range": list(fit_cfg.k_range)},
                   "planted_link": {"p_attr_1_for_types": high.tolist(), "p_high": 0.9, "p_other_types": 0.1,
                                    "p_outliers": 0.5},
                   "independent": {"p_attr_1": 0.5}, "audit": c.config},
        "machine": machine_info(),
        "fit": {"n_types": population.n_types, "weights": population.weights.tolist()},
        "correlated_auc": c.auc,
        "correlated_ci95": list(c.ci95),
        "correlated_permutation_p": c.permutation_p,
        "correlated_warning": c.warning is not None,
        "independent_auc": i.auc,
        "independent_ci95": list(i.ci95),
        "independent_permutation_p": i.permutation_p,
        "independent_warning": i.warning is not None,
        "oracle_auc": stats.auc(planted.astype(bool), p_attr),
        "targets": {"correlated_auc >= 0.8": bool(c.auc >= 0.8),
                    "independent_ci95 contains 0.5": bool(i.ci95[0] <= 0.5 <= i.ci95[1])},
        "timing": {"fit_s": fit_s, "total_s": time.perf_counter() - t0},
    }
