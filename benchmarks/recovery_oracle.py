"""How often a correct estimator's 95% intervals miss on ``Satiation-v0`` logs like the dynamics benchmark's.

For each seed, a training log like ``bench dynamics``' (2,000 users x 50 uniform-random events, the log's seed
the seed) is fitted type by type with each user's *true* type and the simulator's *true* decays and habit
category: the one-type hierarchical model on each big type's own users (``fit_hierarchical``, robust standard
errors). Nothing is chosen, so the only error left is the data's; the misses of ``estimate +- 1.96 SE`` are what
a correct method of the benchmark's kind would show on that log. With ``--mixture`` the population with K = 5
is fitted too (no labels) and its types set against the oracle's, in the oracle's standard errors.

    PYTHONPATH=src python benchmarks/recovery_oracle.py --seeds 60

Prints each seed's misses (of 52) and the largest |z|, then the coverage, the mean and SD of z and the share
of seeds with at least as many misses as seed 0's (the benchmark's log).
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from warmstart.bench.coldstart import type_mapping
from warmstart.bench.dynamics import _fitted_params, _true_params, log_events
from warmstart.families.linear.dynamics import DynamicsSpec
from warmstart.families.linear.fit import FitConfig, fit_population
from warmstart.families.linear.hierarchical import fit_hierarchical
from warmstart.sim.satiation import SatiationConfig, SatiationPopulation

BIG_TYPES = (0, 1, 2, 3)


def one_seed(truth: SatiationPopulation, seed: int, mixture: bool) -> dict[str, object]:
    cfg = truth.config
    C = cfg.n_categories
    log = truth.logged(2000, 50, seed=seed)
    spec = DynamicsSpec(n_categories=C, exposure_decay=cfg.exposure_decay, habit_decay=cfg.habit_decay,
                        habit_categories=tuple(cfg.clickbait))
    summary = log_events(log).summary(spec)
    tid = log.users.type_id
    z, se, oracle = [], [], []
    for j in BIG_TYPES:
        fit = fit_hierarchical(summary[np.flatnonzero(tid == j)], max_iter=300, tol=1e-12)
        est = _fitted_params(fit.mu[None], C, True)[0]
        z.append((est - _true_params(truth, j)) / fit.se)
        se.append(fit.se)
        oracle.append(est)
    out: dict[str, object] = {"seed": seed, "z": np.array(z).tolist()}
    if mixture:
        pop = fit_population(summary, FitConfig(n_types=5, seed=seed))
        mapping = type_mapping(pop, summary, tid)
        fitted = _fitted_params(pop.components.mu[: pop.n_types], C, True)
        diff = []
        for i, j in enumerate(BIG_TYPES):
            ks = [k for k in range(pop.n_types) if mapping[k] == j]
            k = max(ks, key=lambda k: pop.weights[k]) if ks else None
            diff.append(np.full(2 * C + 1, np.nan) if k is None else (fitted[k] - oracle[i]) / se[i])
        out["mixture_minus_oracle"] = np.array(diff).tolist()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=60)
    parser.add_argument("--mixture", action="store_true")
    parser.add_argument("--json", default=None, help="write every seed's z to this file")
    args = parser.parse_args()
    truth = SatiationPopulation(SatiationConfig())
    rows = []
    for seed in range(args.seeds):
        row = one_seed(truth, seed, args.mixture)
        z = np.array(row["z"])
        extra = ""
        if args.mixture:
            d = np.abs(np.array(row["mixture_minus_oracle"]))
            extra = f", |mixture - oracle| / SE: max {np.nanmax(d):.2f}, rms {np.sqrt(np.nanmean(d**2)):.2f}"
        print(f"seed {seed}: misses {int((np.abs(z) > 1.96).sum())} of {z.size}, max |z| {np.abs(z).max():.2f}{extra}",
              flush=True)
        rows.append(row)
    Z = np.array([r["z"] for r in rows])
    misses = (np.abs(Z) > 1.96).reshape(len(rows), -1).sum(1)
    print(f"coverage {1 - (np.abs(Z) > 1.96).mean():.3f}; z mean {Z.mean():+.3f}, SD {Z.std():.3f}; misses per log "
          f"mean {misses.mean():.2f}; logs with >= {misses[0]} misses (seed 0's): {(misses >= misses[0]).mean():.3f}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh)


if __name__ == "__main__":
    main()
