"""``warmstart bench sparse``: cold start from sparse and noisy training histories.

The cold-start harness (``warmstart.bench.coldstart.run_coldstart``) run at every cell of a grid: training logs
of ``events`` events per user (3 to 50), ``users`` training users (500 to 5,000) and the simulator's reward noise
times ``noise`` (x1, x2, x4; the noise of the new users' rewards too: a noisy product is noisy for everyone).
Every cell serves the same new users (the same preferences, candidate sets and standardised noise draws, from
``seed``) with ours (``mixture_ids``), ``pooled_ts``, ``from_scratch_ts`` and ``oracle_type``, and reports:

- ``G(t) = (R_scratch - R_ours) / (R_scratch - R_oracle_type)`` at t = 20 and 200 (R the mean cumulative regret
  of the population's new users), with a paired bootstrap CI over the new users;
- ``K`` found by the fit;
- **the no-harm check against pooled TS**: ``diff(t)``, the mean over new users of ours' cumulative regret at t
  minus pooled TS's (the same users, paired), and its 95% percentile bootstrap CI over the new users
  (``warmstart.stats.bootstrap_ci``). Ours is **worse than pooled** at t when the whole CI is above zero (its
  lower end > 0); ``no_harm`` at t is the opposite, and a cell's ``no_harm`` holds when it holds at 20 and at 200.

The grid's new users are fewer than the cold-start benchmark's (``n_test_users``, no extra minority or outlier
users: the population's own minority and outliers are among them) so that the 45 cells fit in about an hour on
2 cores; the document says so in ``config``. The knowledge-tracing part is ``warmstart.bench.sparse_kt``.
"""

from __future__ import annotations

import itertools
import multiprocessing as mp
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

from warmstart._version import __version__
from warmstart.bench.coldstart import ColdStartConfig, run_coldstart
from warmstart.bench.machine import machine_info
from warmstart.bench.responsible import gain_at
from warmstart.sim.linear_types import LinearTypesConfig
from warmstart.stats import bootstrap_ci, paired_ratio_ci

Progress = Callable[[str, float], None]
POLICIES = ("mixture_ids", "pooled_ts", "from_scratch_ts", "oracle_type")
OURS = "mixture_ids"
AT = (20, 200)


@dataclass(frozen=True, kw_only=True)
class SparseConfig:
    """The grid and the size of each cell's run; validated at construction.

    >>> SparseConfig(events=(3, 10), users=(500,), noise=(1.0,)).n_cells
    2
    >>> SparseConfig(events=(0,))
    Traceback (most recent call last):
    ...
    ValueError: events: expected positive integers, got (0,)
    """

    events: tuple[int, ...] = (3, 5, 10, 20, 50)
    users: tuple[int, ...] = (500, 1000, 5000)
    noise: tuple[float, ...] = (1.0, 2.0, 4.0)
    preset: str = "default"
    n_test_users: int = 300
    steps: int = 200
    seed: int = 0
    n_bootstrap: int = 1000
    workers: int = 2
    #: cells run at once, each in its own process (then each cell serves its policies one after another)
    jobs: int = 1
    quick: bool = False

    def __post_init__(self) -> None:
        for name in ("events", "users"):
            values = getattr(self, name)
            if not values or any(int(v) != v or v < 1 for v in values):
                raise ValueError(f"{name}: expected positive integers, got {values}")
        if not self.noise or any(not np.isfinite(m) or m <= 0 for m in self.noise):
            raise ValueError(f"noise: expected positive multipliers of the simulator's noise, got {self.noise}")
        if min(self.users) < 2:
            raise ValueError(f"users: expected at least 2 training users per cell, got {self.users}")
        if self.steps < max(AT):
            raise ValueError(f"steps: expected at least {max(AT)} (G(200) is reported), got {self.steps}")
        if self.n_test_users < 2:
            raise ValueError(f"n_test_users: expected at least 2 new users (a bootstrap over them), got "
                             f"{self.n_test_users}")
        if self.n_bootstrap < 1 or self.workers < 1 or self.jobs < 1:
            raise ValueError(f"n_bootstrap, workers, jobs: expected positive integers, got {self.n_bootstrap}, "
                             f"{self.workers}, {self.jobs}")

    @property
    def n_cells(self) -> int:
        return len(self.events) * len(self.users) * len(self.noise)

    def cells(self) -> list[tuple[int, int, float]]:
        """``(events, users, noise)`` of every cell, the cheapest fits first."""
        return sorted(itertools.product(self.events, self.users, self.noise), key=lambda c: (c[1], c[0], c[2]))

    def coldstart(self, events: int, users: int, noise: float) -> ColdStartConfig:
        """The cold-start configuration of one cell."""
        sim = LinearTypesConfig.preset_named(self.preset)
        sim = replace(sim, noise_sd=sim.noise_sd * noise)
        return ColdStartConfig.make(self.preset, seed=self.seed, sim=sim, n_train_users=users,
                                    n_train_events=events, n_test_users=self.n_test_users, n_minority_users=0,
                                    n_outlier_users=0, steps=self.steps, policies=POLICIES, ours=OURS,
                                    n_bootstrap=self.n_bootstrap, workers=1 if self.jobs > 1 else self.workers)


def no_harm(ci: list[float]) -> bool:
    """Not worse than pooled TS: the 95% CI of ours' regret minus pooled's is not entirely above zero.

    >>> no_harm([-0.4, 0.3]), no_harm([0.1, 0.9]), no_harm([-1.0, -0.2])
    (True, False, True)
    """
    return not ci[0] > 0


def cell_figures(doc: dict[str, Any], seed: int, n_boot: int) -> dict[str, Any]:
    """What the grid reports about one cell, from a ``run_coldstart`` document run with ``keep_regret``."""
    cum = {name: r.cumsum(1) for name, r in doc.pop("regret_per_user").items()}
    rng = np.random.default_rng([seed, 5])
    out: dict[str, Any] = {"K": doc["fit"]["selected_k"], "fit_s": doc["fit"]["fit_s"], "G": {}, "G_ci95": {},
                           "diff_vs_pooled": {}, "diff_vs_pooled_ci95": {}, "no_harm_at": {},
                           "regret_at": {name: {str(t): float(c[:, t - 1].mean()) for t in AT}
                                         for name, c in cum.items()}}
    for t in AT:
        at = {name: c[:, t - 1] for name, c in cum.items()}
        key = str(t)
        out["G"][key] = gain_at(doc["policies"], OURS, t=key)
        out["G_ci95"][key] = paired_ratio_ci(at["from_scratch_ts"] - at[OURS],
                                             at["from_scratch_ts"] - at["oracle_type"], rng, n_boot)
        diff = at[OURS] - at["pooled_ts"]
        out["diff_vs_pooled"][key] = float(diff.mean())
        out["diff_vs_pooled_ci95"][key] = bootstrap_ci(diff, rng, n_boot)
        out["no_harm_at"][key] = no_harm(out["diff_vs_pooled_ci95"][key])
    out["no_harm"] = all(out["no_harm_at"].values())
    return out


def run_cell(cfg: SparseConfig, events: int, users: int, noise: float,
             progress: Progress | None = None) -> dict[str, Any]:
    """One cell of the grid: the cold-start run and its figures (``cell_figures``)."""
    c0 = time.perf_counter()
    doc = run_coldstart(cfg.coldstart(events, users, noise), progress, keep_regret=True)
    figures = cell_figures(doc, cfg.seed, cfg.n_bootstrap)
    return {"events": events, "users": users, "noise": noise, "noise_sd": doc["config"]["sim"]["noise_sd"],
            **figures, "seconds": time.perf_counter() - c0}


def _cell_job(args: tuple[SparseConfig, int, int, float]) -> dict[str, Any]:
    return run_cell(*args)


def run_sparse(cfg: SparseConfig, progress: Progress | None = None) -> dict[str, Any]:
    """Run every cell of the grid and return ``sparse.json``'s linear part (``cells`` in the order of
    ``SparseConfig.cells``); with ``jobs > 1`` cells run at once in forked processes."""
    report = progress or (lambda msg, frac: None)
    t0 = time.perf_counter()
    grid = cfg.cells()
    done: dict[tuple[int, int, float], dict[str, Any]] = {}
    if cfg.jobs > 1:
        with ProcessPoolExecutor(max_workers=cfg.jobs, mp_context=mp.get_context("fork")) as pool:
            futures = [pool.submit(_cell_job, (cfg, *cell)) for cell in grid]
            for future in as_completed(futures):
                c = future.result()
                done[(c["events"], c["users"], c["noise"])] = c
                report(f"{len(done)}/{cfg.n_cells} cells done (last: {c['events']} events x {c['users']:,} "
                       f"users, noise x{c['noise']:g}: G(20) {c['G']['20']:.2f})", len(done) / cfg.n_cells)
    else:
        for i, (events, users, noise) in enumerate(grid):
            where = f"cell {i + 1}/{cfg.n_cells}: {events} events x {users:,} users, noise x{noise:g}"

            def inner(msg: str, frac: float, where: str = where, i: int = i) -> None:
                report(f"{where}: {msg}", (i + frac) / cfg.n_cells)

            done[(events, users, noise)] = run_cell(cfg, events, users, noise, inner)
    cells = [done[cell] for cell in grid]
    report("done", 1.0)
    return {
        "config": {**asdict(cfg), "policies": list(POLICIES), "ours": OURS,
                   "new_users_note": f"{cfg.n_test_users} new users per cell (the cold-start benchmark serves "
                   f"1,000 plus 200 minority and 200 outlier users): fewer, so that the grid runs in about an "
                   f"hour on 2 cores; the same new users in every cell"},
        "seed": cfg.seed,
        "version": __version__,
        "machine": machine_info(),
        "no_harm_definition": "ours is worse than pooled TS at t when the 95% bootstrap CI (over the new users, "
        "paired) of mean(R_ours(t) - R_pooled(t)) lies entirely above 0; no_harm at t otherwise; a cell's "
        "no_harm holds at both t = 20 and t = 200",
        "cells": cells,
        "seconds": time.perf_counter() - t0,
    }

