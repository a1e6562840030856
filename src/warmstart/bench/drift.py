"""Drift and lock-in benchmark: users who switch type, and users whose first responses mislead.

New users of ``warmstart/LinearTypes-v0`` are served for ``steps`` steps in three scenarios, all on the same
candidate sets and reward noise (common random numbers, as in the cold-start benchmark):

- ``normal``: the user answers every step;
- ``switch``: the user answers the first ``switch_at`` steps, then a user of another type answers the rest;
- ``misleading``: a user of another type answers the first ``misleading`` steps, then the user.

Regret at a step is against whoever answered it (the preferences that generated that step's reward): a policy
that followed the switch perfectly and at once would have the regret of a fresh user after it. Figures:

- ``switch_recovery_ratio``: mean regret over the ``steps - switch_at`` steps after the switch, over the mean
  regret of a fresh user (``normal``) over its first ``steps - switch_at`` steps;
- ``switch_detect_rate``: share of switching users with a change alarm within ``detect_window`` steps of the
  switch; ``false_alarm_rate``: share of ``normal`` users with any alarm in all ``steps`` steps;
- ``misleading_start_excess``: cumulative regret at ``excess_at`` with a misleading start over that without,
  minus one.

Alarms come from ``ChangePointBelief`` (a policy with ``change_hazard > 0``); a policy without change
detection has no alarms, and its rates are reported as ``None``.
"""

from __future__ import annotations

import multiprocessing as mp
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from warmstart.families.linear.changepoint import ChangePointBelief
from warmstart.families.linear.fit import FitConfig, fit_population
from warmstart.families.linear.population import Population
from warmstart.policies.base import PolicyContext
from warmstart.policies.registry import make_policy
from warmstart.sim.linear_types import LinearTypesConfig, LinearTypesPopulation
from warmstart.stats import bootstrap_ci, paired_ratio_ci

SCENARIOS = ("normal", "switch", "misleading")
Progress = Callable[[str, float], None]


@dataclass(frozen=True, kw_only=True)
class DriftConfig:
    sim: LinearTypesConfig = field(default_factory=LinearTypesConfig)
    n_train_users: int = 5000
    n_train_events: int = 50
    n_users: int = 300
    steps: int = 200
    switch_at: int = 100
    misleading: int = 5
    excess_at: int = 100
    detect_window: int = 15
    change_hazard: float = 1.0 / 1000
    policies: tuple[str, ...] = ("mixture_ids_cp", "mixture_ids", "mixture_ids_told")
    n_bootstrap: int = 1000
    workers: int = 2
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("n_train_users", "n_train_events", "n_users", "steps", "n_bootstrap", "workers"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}: expected a positive integer, got {getattr(self, name)}")
        if not 1 <= self.switch_at < self.steps:
            raise ValueError(f"switch_at: expected a step in [1, {self.steps - 1}], got {self.switch_at}")
        if not 1 <= self.misleading < self.excess_at <= self.steps:
            raise ValueError("misleading, excess_at: expected 1 <= misleading < excess_at <= steps")
        unknown = set(self.policies) - set(POLICY_VARIANTS)
        if unknown:
            raise ValueError(f"policies: expected names from {sorted(POLICY_VARIANTS)}, got {sorted(unknown)}")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["policies"] = list(self.policies)
        return d


# name -> (registered policy, extra parameters; "hazard" is filled from the configuration)
POLICY_VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    "mixture_ids_cp": ("mixture_ids_cp", {"change_hazard": "hazard"}),
    "mixture_ids": ("mixture_ids", {}),
    "mixture_ts_cp": ("mixture_ts", {"change_hazard": "hazard"}),
    "from_scratch_ts": ("from_scratch_ts", {}),
    # discounting instead of change detection: old evidence fades by a factor per event (memory ~20 events)
    "mixture_ids_discount": ("mixture_ids", {"discount": 0.95}),
    # told when the answering user changes, and restarts its belief then: the floor no detector can beat
    "mixture_ids_told": ("mixture_ids", {}),
    # told one response late: restarts after the first response of the new user, keeping that response (the
    # floor of a detector that needs one surprising response to see the change)
    "mixture_ids_told_late": ("mixture_ids", {}),
}
TOLD = "mixture_ids_told"
TOLD_LATE = "mixture_ids_told_late"


def answering_theta(cfg: DriftConfig, own: np.ndarray, other: np.ndarray, scenario: str) -> np.ndarray:
    """``(steps, d)``: the parameters of whoever answers each step of one user in ``scenario``."""
    theta = np.repeat(own[None], cfg.steps, axis=0)
    if scenario == "switch":
        theta[cfg.switch_at :] = other
    elif scenario == "misleading":
        theta[: cfg.misleading] = other
    elif scenario != "normal":
        raise ValueError(f"scenario: expected one of {SCENARIOS}, got {scenario!r}")
    return theta


_SHARED: dict[str, Any] = {}


def _serve(task: tuple[str, str]) -> dict[str, Any]:
    name, scenario = task
    cfg: DriftConfig = _SHARED["cfg"]
    truth: LinearTypesPopulation = _SHARED["truth"]
    own, other = _SHARED["own"], _SHARED["other"]
    registered, params = POLICY_VARIANTS[name]
    params = {k: (cfg.change_hazard if v == "hazard" else v) for k, v in params.items()}
    policy = make_policy(registered, _SHARED["context"], seed=cfg.seed * 7919 + 17, **params)
    n, T = own.shape[0], cfg.steps
    regret = np.empty((n, T))
    alarms: list[list[int]] = []
    t0 = time.perf_counter()
    for u in range(n):
        rng = np.random.default_rng([cfg.seed, 21, u])
        X = truth.candidates(rng, (T,))
        eps = cfg.sim.noise_sd * rng.standard_normal(T)
        means = np.einsum("tad,td->ta", X, answering_theta(cfg, own[u], other[u], scenario))
        state = policy.new_user()
        change = {"switch": cfg.switch_at, "misleading": cfg.misleading}.get(scenario)
        restart = None if change is None else {TOLD: change, TOLD_LATE: change + 1}.get(name)
        a = 0
        for t in range(T):
            if t == restart:
                state = policy.new_user()
                if name == TOLD_LATE:  # the new user's first response, seen before being told
                    policy.update(state, X[t - 1], a, means[t - 1, a] + eps[t - 1])
            a = policy.act(state, X[t]).action
            policy.update(state, X[t], a, means[t, a] + eps[t])
            regret[u, t] = means[t].max() - means[t, a]
        alarms.append(list(state.alarms) if isinstance(state, ChangePointBelief) else [])
    return {"name": name, "scenario": scenario, "regret": regret, "alarms": alarms,
            "has_alarms": isinstance(state, ChangePointBelief), "serve_s": time.perf_counter() - t0}


def summarise_drift(cfg: DriftConfig, res: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The per-policy figures from the regret arrays and alarm lists of the three scenarios."""
    rng = np.random.default_rng([cfg.seed, 23])
    after = cfg.steps - cfg.switch_at
    normal, switch, mis = (res[s]["regret"] for s in SCENARIOS)
    fresh = normal[:, :after].sum(1)
    post = switch[:, cfg.switch_at :].sum(1)
    norm_at, mis_at = normal[:, : cfg.excess_at].sum(1), mis[:, : cfg.excess_at].sum(1)
    out: dict[str, Any] = {
        "switch_recovery_ratio": float(post.mean() / fresh.mean()),
        "switch_recovery_ci95": paired_ratio_ci(post, fresh, rng, cfg.n_bootstrap),
        "regret_after_switch": float(post.mean()),
        "regret_fresh": float(fresh.mean()),
        "misleading_start_excess": float(mis_at.mean() / norm_at.mean() - 1.0),
        "misleading_excess_ci95": [x - 1.0 for x in paired_ratio_ci(mis_at, norm_at, rng, cfg.n_bootstrap)],
        "regret_at_excess": {"normal": float(norm_at.mean()), "misleading": float(mis_at.mean()),
                             "normal_ci95": bootstrap_ci(norm_at, rng, cfg.n_bootstrap),
                             "misleading_ci95": bootstrap_ci(mis_at, rng, cfg.n_bootstrap)},
        "curves": {s: res[s]["regret"].mean(0).tolist() for s in SCENARIOS},
        "switch_detect_rate": None,
        "false_alarm_rate": None,
        "serve_s": {s: res[s]["serve_s"] for s in SCENARIOS},
    }
    if res["switch"]["has_alarms"]:
        lo, hi = cfg.switch_at, cfg.switch_at + cfg.detect_window
        detected = [any(lo < a <= hi for a in al) for al in res["switch"]["alarms"]]
        delays = [min(a - lo for a in al if a > lo) for al in res["switch"]["alarms"] if any(a > lo for a in al)]
        out["switch_detect_rate"] = float(np.mean(detected))
        out["detect_delay_median"] = float(np.median(delays)) if delays else None
        out["false_alarm_rate"] = float(np.mean([len(al) > 0 for al in res["normal"]["alarms"]]))
        out["false_alarm_steps"] = sorted(a for al in res["normal"]["alarms"] for a in al)
        out["misleading_alarm_rate"] = float(np.mean([
            any(cfg.misleading < a <= cfg.misleading + cfg.detect_window for a in al)
            for al in res["misleading"]["alarms"]]))
    return out


def run_drift(cfg: DriftConfig, progress: Progress | None = None, population: Population | None = None
              ) -> dict[str, Any]:
    """Fit (unless ``population`` is given: it must come from this simulator), serve and summarise."""
    report = progress or (lambda msg, frac: None)
    truth = LinearTypesPopulation(cfg.sim)
    fit_s = None
    if population is None:
        report("fitting the population", 0.0)
        t0 = time.perf_counter()
        log = truth.logged(cfg.n_train_users, cfg.n_train_events, seed=cfg.seed)
        population = fit_population(log.summary(), replace(FitConfig(), seed=cfg.seed))
        fit_s = time.perf_counter() - t0
    rng = np.random.default_rng([cfg.seed, 20])
    users = truth.sample_users(cfg.n_users, rng)
    other = truth.other_type_users(users, rng)
    _SHARED.update(cfg=cfg, truth=truth, own=users.theta, other=other.theta,
                   context=PolicyContext(dim=cfg.sim.dim, population=population))
    tasks = [(name, s) for name in cfg.policies for s in SCENARIOS]
    results: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in cfg.policies}
    try:
        if cfg.workers > 1:
            with ProcessPoolExecutor(max_workers=cfg.workers, mp_context=mp.get_context("fork")) as pool:
                for i, out in enumerate(pool.map(_serve, tasks)):
                    results[out["name"]][out["scenario"]] = out
                    report(f"{out['name']}: {out['scenario']} users served", 0.1 + 0.85 * (i + 1) / len(tasks))
        else:
            for i, task in enumerate(tasks):
                out = _serve(task)
                results[out["name"]][out["scenario"]] = out
                report(f"{out['name']}: {out['scenario']} users served", 0.1 + 0.85 * (i + 1) / len(tasks))
    finally:
        _SHARED.clear()
    return {
        "config": cfg.to_dict(),
        "seed": cfg.seed,
        "fit_s": fit_s,
        "n_types_fitted": population.n_types,
        "policies": {name: summarise_drift(cfg, results[name]) for name in cfg.policies},
    }
