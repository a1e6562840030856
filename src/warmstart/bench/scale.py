"""``warmstart bench scale``: large logs to per-user statistics (and, as they land, the fits at scale).

Each measured step runs in a fresh Python process (``python -m warmstart.bench.scale STEP ...``) so that its
peak memory (``ru_maxrss``) is its own and not the generator's or an earlier step's. Steps so far:

- ``stats``: a generated Parquet log of ``n_users x n_events`` events (``warmstart.sim.biglog``) to per-user
  sufficient statistics with DuckDB (``warmstart.families.linear.stats.log_statistics``); the statistics of a sample of
  users are checked against the numpy reference (``summarise_rows`` on the same rows read with pyarrow).

- ``em``: the population fit (K = 8 fixed, one k-means++ start, no split/merge moves: the settings of the speed
  benchmark's EM figure) on those statistics, in process on one core (BLAS held to one thread), time and peak
  memory; fitted first on a random 10% of the users (``FitConfig.init_sample``), then EM on all of them to
  convergence. Without the sample, the same fit took 728 s (59 passes over all users) on this machine.

- ``incremental``: 10% new users (drawn from the same population) folded into that fit by
  ``warmstart.families.linear.incremental.fit_incremental`` (EM over the new users, the earlier users' sums kept),
  against a full refit on everyone; both judged by the log likelihood of 50,000 held-out users.

- ``ray``: the same fit on a local Ray with 2 workers (``warmstart.families.linear.backend.RayBackend``): the workers
  load the Parquet shards the statistics were written to, the driver reads only the sample; compared with the
  ``em`` step's population, parameter by parameter.

- the scaling curve: both fits again on the first 1, 2 and 5 of the 10 shards, with the time and the peak memory
  of every process involved (``warmstart.bench.memory.TreeMemory``).
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
from warmstart.bench.machine import machine_info
from warmstart.bench.memory import TreeMemory

Progress = Callable[[str, float], None]
# Users per E-step chunk in the benchmark's fits, on both backends: 500 rather than the library's 2,000, because a
# chunk's working arrays then stay in the cache that the two cores share (measured on 1M users here: in process
# 157 s vs 168 s, on Ray 93 s vs 120 s). The shards (a multiple of it) keep the chunks the same on both backends.
FIT_CHUNK = 500


def _peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9  # kilobytes on Linux


def _step_stats(log: str, memory_limit: str, shards_path: str, shard_users: str) -> dict[str, Any]:
    from warmstart.families.linear.shards import write_summary_shards
    from warmstart.families.linear.stats import log_statistics

    t0 = time.perf_counter()
    stats = log_statistics(log, memory_limit=memory_limit)
    seconds = time.perf_counter() - t0
    write_summary_shards(shards_path, stats.summary, stats.user_ids, shard_users=int(shard_users))  # not timed
    rng = np.random.default_rng(0)
    sample = np.sort(rng.choice(stats.summary.n_users, size=min(200, stats.summary.n_users), replace=False))
    return {"seconds": seconds, "peak_gb": _peak_gb(), "n_users": stats.summary.n_users,
            "n_events": float(stats.summary.n.sum()), "sample_rows": sample.tolist(),
            "sample_ids": [int(u) for u in stats.user_ids[sample]],
            "sample_A": stats.summary.A[sample].tolist(), "sample_b": stats.summary.b[sample].tolist(),
            "sample_c": stats.summary.c[sample].tolist(), "sample_n": stats.summary.n[sample].tolist()}


def _shards(path: str, n_shards: str = "0") -> Any:
    from warmstart.families.linear.shards import SummaryShards

    shards = SummaryShards.open(path)
    return shards.head(int(n_shards)) if int(n_shards) else shards


def _load_summary(path: str) -> Any:
    return _shards(path).read_all()


def _fit_config(n_types: str, seed: str, init_sample: str) -> Any:
    from warmstart.families.linear.fit import FitConfig

    sample = int(init_sample) if int(init_sample) > 0 else None
    return FitConfig(n_types=int(n_types), n_init=1, split_merge=False, seed=int(seed), init_sample=sample,
                     chunk=FIT_CHUNK)


def _fit_result(pop: Any, seconds: float, cfg: Any, n_users: int) -> dict[str, Any]:
    d = pop.diagnostics
    sample = cfg.init_sample
    return {"seconds": seconds, "n_users": n_users, "n_iter": d.n_iter, "converged": d.converged,
            "loglik_per_user": d.loglik / n_users, "weights": pop.weights.tolist(),
            "init_sample": d.init_sample,
            "settings": f"K = {cfg.n_types} fixed, 1 k-means++ start, no split/merge moves, tol {cfg.tol:g}, "
                        f"chunks of {cfg.chunk} users, "
                        f"max {cfg.max_iter} iterations, "
                        + (f"fitted first on a random sample of {sample:,} users" if sample else "no sample first")}


def _step_em(shards_path: str, n_types: str, seed: str, init_sample: str, population_path: str,
             n_shards: str = "0") -> dict[str, Any]:
    """The fit in this process on one core (BLAS limited to one thread), the users read into memory first."""
    from threadpoolctl import threadpool_limits

    from warmstart.families.linear.fit import fit_population

    summary = _shards(shards_path, n_shards).read_all()
    cfg = _fit_config(n_types, seed, init_sample)
    with threadpool_limits(1), TreeMemory() as memory:
        t0 = time.perf_counter()
        pop = fit_population(summary, cfg)
        seconds = time.perf_counter() - t0
        pass_s = _pass_seconds(summary, pop, None)
    pop.save(population_path)
    return {**_fit_result(pop, seconds, cfg, summary.n_users), "peak_gb": _peak_gb(),
            "tree_peak_gb": memory.peak_gb, "threads": 1, "pass_s": pass_s}


def _step_ray(shards_path: str, n_types: str, seed: str, init_sample: str, population_path: str, workers: str,
              n_shards: str = "0") -> dict[str, Any]:
    """The same fit on a local Ray with ``workers`` CPUs: the workers load the shards, the driver reads only the
    sample. Ray's start-up is timed apart; the fit's time includes loading the shards into the object store."""
    from warmstart.families.linear.backend import RayBackend
    from warmstart.families.linear.fit import fit_population

    shards = _shards(shards_path, n_shards)
    cfg = _fit_config(n_types, seed, init_sample)
    with TreeMemory() as memory:
        t0 = time.perf_counter()
        backend = RayBackend(num_cpus=int(workers))
        start_s = time.perf_counter() - t0
        try:
            t0 = time.perf_counter()
            pop = fit_population(shards, cfg, backend=backend)
            seconds = time.perf_counter() - t0
            pass_s = _pass_seconds(shards, pop, backend)
        finally:
            backend.close()
    pop.save(population_path)
    return {**_fit_result(pop, seconds, cfg, shards.n_users), "start_s": start_s, "workers": int(workers),
            "driver_peak_gb": _peak_gb(), "tree_peak_gb": memory.peak_gb, "pass_s": pass_s,
            "shard_users": shards.shards[0].n_users}


def _pass_seconds(users: Any, pop: Any, backend: Any) -> float:
    """The fastest of three E-step passes (with M-step sums) over every user at the fitted parameters."""
    from warmstart.families.linear.fit import _pass

    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        _pass(users, pop.components, pop.weights, FIT_CHUNK, backend=backend)
        times.append(time.perf_counter() - t0)
    return min(times)


def _step_incremental(summary_path: str, population_path: str, seed: str) -> dict[str, Any]:
    """10% new users: the incremental fit against a full refit on everyone, both judged on held-out users."""
    from warmstart.families.linear.fit import FitConfig, _pass, fit_population
    from warmstart.families.linear.incremental import em_sums, fit_incremental
    from warmstart.families.linear.model import Summary
    from warmstart.families.linear.population import Population
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
    incremental = inc.diagnostics.incremental or {}  # fit_incremental sets it
    return {"new_users": n_new, "incremental_s": inc_s, "incremental_iterations":
            incremental["n_iter"], "earlier_sums_s": sums_s, "full_refit_s": full_s,
            "time_ratio": inc_s / full_s,
            "heldout_loglik_per_user": {"incremental": h_inc, "full_refit": h_full, "before": heldout(pop)},
            "heldout_relative_diff": abs(h_inc - h_full) / abs(h_full), "heldout_users": held.n_users,
            "peak_gb": _peak_gb(),
            "new_users_source": "sim.linear_types.logged_summary (uniform logging, same population), seed + 101"}


STEPS: dict[str, Callable[..., dict[str, Any]]] = {"stats": _step_stats, "em": _step_em, "ray": _step_ray,
                                                   "incremental": _step_incremental}


def _run_step(args: list[str], timeout: float) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, "-m", "warmstart.bench.scale", *args], capture_output=True, text=True,
                          timeout=timeout, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"scale step {args[0]} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _check_sample(log: Path, out: dict[str, Any], dim: int) -> float:
    """Largest difference between DuckDB's statistics and numpy's on the sampled users' own rows."""
    import pyarrow.dataset as ds

    from warmstart.families.linear.model import summarise_rows

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


def _max_abs_diff(path_a: Path, path_b: Path) -> float:
    from warmstart.families.linear.population import Population

    a, b = Population.load(path_a), Population.load(path_b)
    if a.n_types != b.n_types:
        return float("inf")
    pairs = ((a.components.mu, b.components.mu), (a.components.cov, b.components.cov),
             (a.components.noise_var, b.components.noise_var), (a.weights, b.weights))
    return float(max(np.abs(x - y).max() for x, y in pairs))


def _fits(shards: Path, tmp: Path, n_shards: int, n_users: int, n_types: int, seed: int,
          workers: int) -> tuple[dict[str, Any], dict[str, Any], float]:
    """The in-process (one core) and the Ray fit of the first ``n_shards`` shards, and how far apart they are."""
    pop_in, pop_ray = tmp / f"pop-inproc-{n_shards}.npz", tmp / f"pop-ray-{n_shards}.npz"
    common = [str(shards), str(n_types), str(seed), str(n_users // 10)]
    inproc = _run_step(["em", *common, str(pop_in), str(n_shards)], timeout=7200)
    ray = _run_step(["ray", *common, str(pop_ray), str(workers), str(n_shards)], timeout=7200)
    return inproc, ray, _max_abs_diff(pop_in, pop_ray)


def run_scale(quick: bool = False, seed: int = 0, progress: Progress | None = None, n_users: int | None = None,
              n_events: int = 20, workdir: str | Path | None = None, memory_limit: str = "3GB",
              fit: bool = True, ray: bool = True, workers: int = 2) -> dict[str, Any]:
    """Generate the log, measure each step in its own process, and return ``scale.json``."""
    from warmstart.sim.biglog import write_parquet_log
    from warmstart.sim.linear_types import LinearTypesConfig, LinearTypesPopulation

    report = progress or (lambda msg, frac: None)
    n_users = n_users or (20_000 if quick else 1_000_000)
    shard_users = max(2000, n_users // 10 // 2000 * 2000)  # ten shards, each a whole number of chunks
    sim = LinearTypesConfig()
    em = incremental = ray_fit = None
    scaling: list[dict[str, Any]] = []
    ray_diff = None
    with tempfile.TemporaryDirectory(dir=workdir) as tmp_name:
        tmp = Path(tmp_name)
        log = tmp / "events.parquet"
        t0 = time.perf_counter()
        write_parquet_log(LinearTypesPopulation(sim), log, n_users=n_users, n_events=n_events, seed=seed,
                          progress=lambda m, f: report(m, 0.2 * f))
        write_s = time.perf_counter() - t0
        report("log -> per-user statistics (DuckDB)", 0.25)
        shards = tmp / "shards"
        stats = _run_step(["stats", str(log), memory_limit, str(shards), str(shard_users)], timeout=3600)
        diff = _check_sample(log, stats, sim.dim)
        log_bytes = log.stat().st_size
        log.unlink()
        n_shards = len(json.loads((shards / "manifest.json").read_text())["shards"])
        if fit:
            report(f"EM fit on {n_users:,} users, K = {sim.n_types}, one core", 0.3)
            pop_path = tmp / "population.npz"
            em = _run_step(["em", str(shards), str(sim.n_types), str(seed), str(n_users // 10), str(pop_path)],
                           timeout=7200)
            report("incremental fit with 10% new users, and a full refit", 0.45)
            incremental = _run_step(["incremental", str(shards), str(pop_path), str(seed)], timeout=7200)
        if fit and ray:
            report(f"the same fit on Ray, {workers} workers", 0.6)
            ray_fit = _run_step(["ray", str(shards), str(sim.n_types), str(seed), str(n_users // 10),
                                 str(tmp / "pop-ray.npz"), str(workers)], timeout=7200)
            ray_diff = _max_abs_diff(tmp / "population.npz", tmp / "pop-ray.npz")
            assert em is not None
            scaling.append({"n_users": n_users, "inproc_s": em["seconds"], "inproc_peak_gb": em["tree_peak_gb"],
                            "ray_s": ray_fit["seconds"], "ray_peak_gb": ray_fit["tree_peak_gb"],
                            "max_abs_diff": ray_diff})
            for k, m in enumerate(m for m in (1, 2, 5) if m < n_shards):
                users = m * shard_users
                report(f"scaling: {users:,} users, both backends", 0.7 + 0.1 * k)
                inproc, on_ray, d = _fits(shards, tmp, m, users, sim.n_types, seed, workers)
                scaling.append({"n_users": users, "inproc_s": inproc["seconds"],
                                "inproc_peak_gb": inproc["tree_peak_gb"], "ray_s": on_ray["seconds"],
                                "ray_peak_gb": on_ray["tree_peak_gb"], "max_abs_diff": d})
    report("done", 1.0)
    scaling.sort(key=lambda row: row["n_users"])
    return {
        "version": __version__, "machine": machine_info(), "seed": seed, "quick": quick,
        "config": {"n_users": n_users, "n_events": n_events, "dim": sim.dim, "memory_limit": memory_limit,
                   "shard_users": shard_users, "n_shards": n_shards, "ray_workers": workers,
                   "log": "Parquet, generic event format (warmstart.sim.biglog)"},
        "log_write_s": write_s, "log_bytes": log_bytes,
        "stats_1m_s": stats["seconds"], "stats_peak_gb": stats["peak_gb"],
        "stats_users": stats["n_users"], "stats_events": stats["n_events"],
        "stats_sample_max_abs_diff": diff, "stats_sample_users": len(stats["sample_ids"]),
        "em_1m_s": None if em is None else em["seconds"], "inproc_peak_gb": None if em is None else em["peak_gb"],
        "em": em,
        "incremental": incremental,
        "incremental_time_ratio": None if incremental is None else incremental["time_ratio"],
        "ray": ray_fit,
        "ray_2w_s": None if ray_fit is None else ray_fit["seconds"],
        "inproc_s": None if em is None or ray_fit is None else em["seconds"],
        "ray_speedup": None if em is None or ray_fit is None else em["seconds"] / ray_fit["seconds"],
        "ray_max_abs_diff": ray_diff,
        "scaling": scaling,
        "memory": "peak_gb: the process's ru_maxrss; tree_peak_gb and the scaling figure: the sampled PSS of the "
                  "process and every process it started (Ray's GCS, raylet and workers), shared pages once",
    }


if __name__ == "__main__":
    step, *rest = sys.argv[1:]
    if step not in STEPS:
        raise SystemExit(f"step: expected one of {sorted(STEPS)}, got {step!r}")
    print(json.dumps(STEPS[step](*rest)))
