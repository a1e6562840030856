"""``warmstart bench scale``: large logs to per-user statistics (and, as they land, the fits at scale).

Each measured step runs in a fresh Python process (``python -m warmstart.eval.scale STEP ...``) so that its
peak memory (``ru_maxrss``) is its own and not the generator's or an earlier step's. Steps so far:

- ``stats``: a generated Parquet log of ``n_users x n_events`` events (``warmstart.sim.biglog``) to per-user
  sufficient statistics with DuckDB (``warmstart.data.stats.log_statistics``); the statistics of a sample of
  users are checked against the numpy reference (``summarise_rows`` on the same rows read with pyarrow).

- ``em``: the population fit (K = 8 fixed, one k-means++ start, no split/merge moves: the settings of the speed
  benchmark's EM figure) on those statistics, in process, time and peak memory; fitted first on a random 10%
  of the users (``FitConfig.init_sample``), then EM on all of them to convergence. Without the sample, the same
  fit took 728 s (59 passes over all users) on this machine.

- ``incremental``: 10% new users (drawn from the same population) folded into that fit by
  ``warmstart.population.incremental.fit_incremental`` (EM over the new users, the earlier users' sums kept),
  against a full refit on everyone; both judged by the log likelihood of 50,000 held-out users.

The Ray backend (issue 8) is not measured yet; its keys are ``None``.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from warmstart._version import __version__
from warmstart.eval.machine import machine_info

Progress = Callable[[str, float], None]


def _peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9  # kilobytes on Linux


def _step_stats(log: str, memory_limit: str, summary_path: str) -> dict[str, Any]:
    from warmstart.data.stats import log_statistics

    t0 = time.perf_counter()
    stats = log_statistics(log, memory_limit=memory_limit)
    seconds = time.perf_counter() - t0
    s = stats.summary
    np.savez(summary_path, A=s.A, b=s.b, c=s.c, n=s.n)  # for the fit step (not timed)
    rng = np.random.default_rng(0)
    sample = np.sort(rng.choice(stats.summary.n_users, size=min(200, stats.summary.n_users), replace=False))
    return {"seconds": seconds, "peak_gb": _peak_gb(), "n_users": stats.summary.n_users,
            "n_events": float(stats.summary.n.sum()), "sample_rows": sample.tolist(),
            "sample_ids": [int(u) for u in stats.user_ids[sample]],
            "sample_A": stats.summary.A[sample].tolist(), "sample_b": stats.summary.b[sample].tolist(),
            "sample_c": stats.summary.c[sample].tolist(), "sample_n": stats.summary.n[sample].tolist()}


def _load_summary(path: str) -> Any:
    from warmstart.models.linear_gaussian import Summary

    with np.load(path) as z:
        return Summary(z["A"], z["b"], z["c"], z["n"])


def _step_em(summary_path: str, n_types: str, seed: str, init_sample: str, population_path: str) -> dict[str, Any]:
    from warmstart.population.fit import FitConfig, fit_population

    summary = _load_summary(summary_path)
    sample = int(init_sample) if int(init_sample) > 0 else None
    cfg = FitConfig(n_types=int(n_types), n_init=1, split_merge=False, seed=int(seed), init_sample=sample)
    t0 = time.perf_counter()
    pop = fit_population(summary, cfg)
    seconds = time.perf_counter() - t0
    pop.save(population_path)
    d = pop.diagnostics
    return {"seconds": seconds, "peak_gb": _peak_gb(), "n_iter": d["n_iter"], "converged": d["converged"],
            "loglik_per_user": d["loglik"] / summary.n_users, "weights": pop.weights.tolist(),
            "init_sample": d.get("init_sample"),
            "settings": f"K = {n_types} fixed, 1 k-means++ start, no split/merge moves, tol {cfg.tol:g}, "
                        f"max {cfg.max_iter} iterations, "
                        + (f"fitted first on a random sample of {sample:,} users" if sample else "no sample first")}


def _step_incremental(summary_path: str, population_path: str, seed: str) -> dict[str, Any]:
    """10% new users: the incremental fit against a full refit on everyone, both judged on held-out users."""
    from warmstart.models.linear_gaussian import Summary
    from warmstart.population.fit import FitConfig, _pass, fit_population
    from warmstart.population.incremental import em_sums, fit_incremental
    from warmstart.population.population import Population
    from warmstart.sim.linear_types import LinearTypesConfig, LinearTypesPopulation, logged_summary

    old = _load_summary(summary_path)
    pop = Population.load(population_path)
    truth = LinearTypesPopulation(LinearTypesConfig())
    n_new, n_events = old.n_users // 10, int(old.n[0])
    new = logged_summary(truth, n_new, n_events, seed=int(seed) + 101)
    held = logged_summary(truth, 50_000, n_events, seed=int(seed) + 102)
    t0 = time.perf_counter()
    sums = em_sums(old, pop)  # once, at the end of the earlier fit
    sums_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    inc, _ = fit_incremental(pop, sums, new)
    inc_s = time.perf_counter() - t0
    everyone = Summary.concatenate([old, new])
    del old
    cfg = FitConfig(n_types=pop.n_types, n_init=1, split_merge=False, seed=int(seed),
                    init_sample=everyone.n_users // 10)
    t0 = time.perf_counter()
    full = fit_population(everyone, cfg)
    full_s = time.perf_counter() - t0

    def heldout(p: Population) -> float:
        return float(_pass(held, p.components, p.weights, 2000, moments=False)[0]) / held.n_users

    h_inc, h_full = heldout(inc), heldout(full)
    return {"new_users": n_new, "incremental_s": inc_s, "incremental_iterations":
            inc.diagnostics["incremental"]["n_iter"], "earlier_sums_s": sums_s, "full_refit_s": full_s,
            "time_ratio": inc_s / full_s,
            "heldout_loglik_per_user": {"incremental": h_inc, "full_refit": h_full, "before": heldout(pop)},
            "heldout_relative_diff": abs(h_inc - h_full) / abs(h_full), "heldout_users": held.n_users,
            "peak_gb": _peak_gb(),
            "new_users_source": "sim.linear_types.logged_summary (uniform logging, same population), seed + 101"}


STEPS: dict[str, Callable[..., dict[str, Any]]] = {"stats": _step_stats, "em": _step_em,
                                                   "incremental": _step_incremental}


def _run_step(args: list[str], timeout: float) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, "-m", "warmstart.eval.scale", *args], capture_output=True, text=True,
                          timeout=timeout, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"scale step {args[0]} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _check_sample(log: Path, out: dict[str, Any], dim: int) -> float:
    """Largest difference between DuckDB's statistics and numpy's on the sampled users' own rows."""
    import pyarrow.dataset as ds

    from warmstart.models.linear_gaussian import summarise_rows

    ids = out["sample_ids"]
    table = ds.dataset(log).to_table(filter=ds.field("user").isin(ids))
    user = table.column("user").to_numpy()
    order = np.argsort(user, kind="stable")
    X = np.stack([table.column(f"f_{k}").to_numpy() for k in range(dim)], axis=1)[order]
    r = table.column("reward").to_numpy()[order]
    index = np.searchsorted(np.array(ids), user[order])
    ref = summarise_rows(index, X, r, len(ids))
    return float(max(np.abs(ref.A - np.array(out["sample_A"])).max(), np.abs(ref.b - np.array(out["sample_b"])).max(),
                     np.abs(ref.c - np.array(out["sample_c"])).max(), np.abs(ref.n - np.array(out["sample_n"])).max()))


def run_scale(quick: bool = False, seed: int = 0, progress: Progress | None = None, n_users: int | None = None,
              n_events: int = 20, workdir: str | Path | None = None, memory_limit: str = "3GB",
              fit: bool = True) -> dict[str, Any]:
    """Generate the log, measure each step in its own process, and return ``scale.json``."""
    from warmstart.sim.biglog import write_parquet_log
    from warmstart.sim.linear_types import LinearTypesConfig, LinearTypesPopulation

    report = progress or (lambda msg, frac: None)
    n_users = n_users or (20_000 if quick else 1_000_000)
    sim = LinearTypesConfig()
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        log = Path(tmp) / "events.parquet"
        t0 = time.perf_counter()
        write_parquet_log(LinearTypesPopulation(sim), log, n_users=n_users, n_events=n_events, seed=seed,
                          progress=lambda m, f: report(m, 0.4 * f))
        write_s = time.perf_counter() - t0
        report("log -> per-user statistics (DuckDB)", 0.45)
        summary_path = Path(tmp) / "summary.npz"
        stats = _run_step(["stats", str(log), memory_limit, str(summary_path)], timeout=3600)
        diff = _check_sample(log, stats, sim.dim)
        log_bytes = log.stat().st_size
        log.unlink()
        em = incremental = None
        if fit:
            report(f"EM fit on {n_users:,} users, K = {sim.n_types}", 0.55)
            pop_path = Path(tmp) / "population.npz"
            em = _run_step(["em", str(summary_path), str(sim.n_types), str(seed), str(n_users // 10),
                            str(pop_path)], timeout=7200)
            report("incremental fit with 10% new users, and a full refit", 0.75)
            incremental = _run_step(["incremental", str(summary_path), str(pop_path), str(seed)], timeout=7200)
    report("done", 1.0)
    return {
        "version": __version__, "machine": machine_info(), "seed": seed, "quick": quick,
        "config": {"n_users": n_users, "n_events": n_events, "dim": sim.dim, "memory_limit": memory_limit,
                   "log": "Parquet, generic event format (warmstart.sim.biglog)"},
        "log_write_s": write_s, "log_bytes": log_bytes,
        "stats_1m_s": stats["seconds"], "stats_peak_gb": stats["peak_gb"],
        "stats_users": stats["n_users"], "stats_events": stats["n_events"],
        "stats_sample_max_abs_diff": diff, "stats_sample_users": len(stats["sample_ids"]),
        "em_1m_s": None if em is None else em["seconds"], "inproc_peak_gb": None if em is None else em["peak_gb"],
        "em": em,
        "incremental": incremental,
        "incremental_time_ratio": None if incremental is None else incremental["time_ratio"],
        "ray_2w_s": None, "inproc_s": None, "ray_speedup": None, "ray_max_abs_diff": None,
        "not_measured": "the Ray backend is not built yet",
    }


if __name__ == "__main__":
    step, *rest = sys.argv[1:]
    if step not in STEPS:
        raise SystemExit(f"step: expected one of {sorted(STEPS)}, got {step!r}")
    print(json.dumps(STEPS[step](*rest)))
