"""Satiation benchmark: long-term satisfaction of planning over the type belief against the myopic mixture TS.

Fit the population on a uniform-random training log of ``warmstart/Satiation-v0`` users, then serve the same new
users with every policy for ``steps`` steps. Common random numbers: every policy meets the same users (drawn
from ``[seed, 1]``) with the same reward noise at each step (user ``u``'s noise stream is seeded
``[seed, 2, u]``); only the states differ, because they follow each policy's own choices.

Definitions (fixed in ``warmstart.sim.satiation`` before any planning policy was run)
------------------------------------------------------------------------------------
- **engagement** of a step: the expected reward of the served item under the user's true ``theta``.
- **short-term reward**: mean engagement over each user's first 20 steps, averaged over users.
- **long-term satisfaction**: mean engagement over the second half of the episode (steps 101-200), averaged
  over users. The habit's cost is paid in engagement with every item, so this is what the policy's choices
  have done to the user, not just what the user clicked.
- ``ratio``: planning (``mixture_plan``) / myopic (``mixture_ts``) long-term satisfaction, a ratio of means
  over users with a paired 95% percentile bootstrap CI over users; target ``>= 1.15``.
  ``short_term_ratio`` is the same for the short-term reward (the price, if any, of planning).
- per policy also: ``late_habit`` (mean habit stock, steps 101-200), ``late_clickbait_share`` (share of
  clickbait served, steps 101-200), ``late_myopic_regret`` (per-step gap to the best item *of the moment*,
  steps 101-200: what a myopic evaluation would call regret), per true type (``"-1"``: outliers) and the mean
  engagement curve.

Policies: ``mixture_plan`` (ours: posterior sampling over the type belief + receding-horizon planning; its
settings, including ``sample="type"``, are documented in ``warmstart.policies.planning``),
``mixture_ts`` (the myopic mixture Thompson sampling on the same fitted population), ``from_scratch_ts``
(myopic, no population), ``oracle_plan`` (knows ``theta``, same planner), ``oracle`` (knows ``theta``, myopic),
``random``.

Returns ``{planning_long_term, myopic_long_term, ratio, ratio_ci95, planning_short_term, myopic_short_term, ...,
definitions, config, seed, version, machine, population, fit, policies: {NAME: {...}}, target}``.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from warmstart._version import __version__
from warmstart.bench.coldstart import type_mapping
from warmstart.bench.machine import machine_info
from warmstart.data.bandit_log import training_log
from warmstart.families.linear.fit import FitConfig, fit_population
from warmstart.policies.base import PolicyContext, UserTruth
from warmstart.policies.registry import make_policy
from warmstart.sim.satiation import (
    SHORT_TERM_STEPS,
    SatiationConfig,
    SatiationPopulation,
    long_term,
    short_term,
)
from warmstart.sim.users import UserBatch
from warmstart.stats import bootstrap_ci, paired_ratio_ci

Progress = Callable[[str, float], None]
PLANNING, MYOPIC = "mixture_plan", "mixture_ts"
POLICIES = (PLANNING, MYOPIC, "from_scratch_ts", "oracle_plan", "oracle", "random")
TARGET_RATIO = 1.15
DEFINITIONS = {
    "engagement": "expected reward of the served item under the user's true theta (noise excluded)",
    "short_term": f"mean engagement over each user's first {SHORT_TERM_STEPS} steps, averaged over users",
    "long_term": "mean engagement over the second half of the episode (steps 101-200 of 200), averaged over users",
    "ratio": f"{PLANNING} / {MYOPIC} long-term satisfaction (ratio of means over the same users); paired 95% "
             "percentile bootstrap CI over users",
    "late": "steps in the second half of the episode",
}


@dataclass(frozen=True, kw_only=True)
class SatiationBenchConfig:
    """Benchmark settings. Full size: 2000 training users x 50 events, 500 new users x 200 steps."""

    sim: SatiationConfig = field(default_factory=SatiationConfig)
    n_train_users: int = 2000
    n_train_events: int = 50
    n_users: int = 500
    steps: int = 200
    seed: int = 0
    policies: tuple[str, ...] = POLICIES
    n_samples: int = 100
    depth: int = 3
    discount: float = 1.0
    plan_sample: str = "type"
    n_bootstrap: int = 1000
    fit: FitConfig = field(default_factory=FitConfig)
    quick: bool = False

    def __post_init__(self) -> None:
        for name in ("n_train_users", "n_train_events", "n_users", "steps", "n_bootstrap", "n_samples"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}: expected a positive integer, got {getattr(self, name)}")
        if self.steps < 2:
            raise ValueError(f"steps: expected at least 2 (a first and a second half), got {self.steps}")
        for name in (PLANNING, MYOPIC):
            if name not in self.policies:
                raise ValueError(f"policies: expected {name!r} among them, got {list(self.policies)}")

    @staticmethod
    def make(quick: bool = False, seed: int = 0, **overrides: Any) -> SatiationBenchConfig:
        cfg = SatiationBenchConfig(seed=seed, quick=quick)
        if quick:
            cfg = replace(cfg, n_train_users=500, n_users=40, n_bootstrap=300,
                          fit=FitConfig(k_range=(1, 6), n_init=1))
        return replace(cfg, **overrides)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["sim"] = self.sim.to_dict()
        d["policies"] = list(self.policies)
        d["fit"]["k_range"] = list(self.fit.k_range)
        return d


def _policy_seed(seed: int, name: str) -> int:
    return int(np.random.SeedSequence([seed, zlib.crc32(name.encode())]).generate_state(1)[0])


def serve(name: str, context: PolicyContext, truth: SatiationPopulation, users: UserBatch,
          cfg: SatiationBenchConfig, view: Any = None) -> dict[str, Any]:
    """Serve every user for ``cfg.steps`` steps with policy ``name``; per-step arrays ``(N, T)``:
    ``engagement``, ``habit`` (before the step), ``clickbait`` (0/1 served), ``myopic_regret``.

    ``view``: a learned dynamics model (``warmstart.families.linear.dynamics.LearnedDynamics``) that keeps each
    user's state from what the policy served (``new_state`` / ``step`` / ``candidates``); the policy is then
    shown its candidates' features and a planner plans with it, while the engagement is the simulator's."""
    dyn = truth.dynamics
    params: dict[str, Any] = {}
    if name in (PLANNING, "oracle_plan"):
        params = {"dynamics": dyn if view is None else view, "depth": cfg.depth, "discount": cfg.discount}
    if name == PLANNING:
        params["sample"] = cfg.plan_sample
    if name in (PLANNING, MYOPIC, "from_scratch_ts"):
        params["n_samples"] = cfg.n_samples
    policy = make_policy(name, context, seed=_policy_seed(cfg.seed, name), **params)
    n, T = len(users), cfg.steps
    out: dict[str, Any] = {key: np.empty((n, T)) for key in ("engagement", "habit", "clickbait", "myopic_regret")}
    is_cb = dyn.is_clickbait
    t0 = time.perf_counter()
    for u in range(n):
        theta, tid = users.theta[u], int(users.type_id[u])
        mean, cov, nv = truth.type_prior(tid)
        state = policy.new_user(UserTruth(theta, tid, mean, cov, nv))
        noise = truth.config.noise_sd * np.random.default_rng([cfg.seed, 2, u]).standard_normal(T)
        e, h = np.zeros(dyn.n_categories), np.zeros(())
        tracked = None if view is None else view.new_state()
        for t in range(T):
            X = dyn.features(e, h)
            means = X @ theta
            shown = X if view is None else view.candidates(tracked)
            a = policy.act(state, shown).action
            policy.update(state, shown, a, float(means[a] + noise[t]))
            if view is not None:
                tracked = view.step(tracked, a)
            out["engagement"][u, t] = means[a]
            out["habit"][u, t] = h
            out["clickbait"][u, t] = is_cb[a]
            out["myopic_regret"][u, t] = means.max() - means[a]
            e, h = dyn.advance(e, h, np.asarray(a))
    out["serve_s"] = time.perf_counter() - t0
    out["settings"] = policy.settings()
    return out


def _policy_summary(res: dict[str, Any], users: UserBatch, rng: np.random.Generator, n_boot: int) -> dict[str, Any]:
    eng = res["engagement"]
    late = slice(eng.shape[1] // 2, None)
    short, long = short_term(eng), long_term(eng)
    per_type = {}
    for k in sorted(set(users.type_id.tolist())):
        m = users.type_id == k
        per_type[str(k)] = {
            "n_users": int(m.sum()),
            "short_term": float(short[m].mean()),
            "long_term": float(long[m].mean()),
            "long_term_ci95": bootstrap_ci(long[m], rng, n_boot),
            "late_clickbait_share": float(res["clickbait"][m, late].mean()),
            "late_habit": float(res["habit"][m, late].mean()),
        }
    return {
        "settings": res["settings"],
        "short_term": float(short.mean()),
        "short_term_ci95": bootstrap_ci(short, rng, n_boot),
        "long_term": float(long.mean()),
        "long_term_ci95": bootstrap_ci(long, rng, n_boot),
        "late_habit": float(res["habit"][:, late].mean()),
        "late_clickbait_share": float(res["clickbait"][:, late].mean()),
        "late_myopic_regret": float(res["myopic_regret"][:, late].mean()),
        "per_type": per_type,
        "curve": {"engagement": eng.mean(0).tolist(), "habit": res["habit"].mean(0).tolist()},
        "serve_s": res["serve_s"],
    }


def run_satiation(n_users: int | None = None, steps: int = 200, seed: int = 0, quick: bool = False,
                  progress: Progress | None = None, config: SatiationBenchConfig | None = None) -> dict[str, Any]:
    """Run the satiation benchmark and return its JSON-able document (see the module docstring).

    ``n_users`` new users (default 500, or 40 with ``quick``) for ``steps`` steps each; ``config`` overrides
    everything else (its ``n_users``, ``steps``, ``seed`` and ``quick`` are then used as given).
    """
    if config is None:
        config = SatiationBenchConfig.make(quick=quick, seed=seed, steps=steps)
        if n_users is not None:
            config = replace(config, n_users=n_users)
    cfg = config
    report = progress or (lambda msg, frac: None)
    started = time.perf_counter()
    truth = SatiationPopulation(cfg.sim)
    report("simulating the training log", 0.0)
    log = truth.logged(cfg.n_train_users, cfg.n_train_events, seed=cfg.seed)
    summary = log.summary()
    report("fitting the population", 0.05)
    t0 = time.perf_counter()
    population = fit_population(summary, replace(cfg.fit, seed=cfg.seed))
    fit_s = time.perf_counter() - t0
    mapping = type_mapping(population, summary, log.users.type_id)
    context = PolicyContext(dim=cfg.sim.dim, population=population, train_log=training_log(log))
    users = truth.sample_users(cfg.n_users, np.random.default_rng([cfg.seed, 1]))
    results = {}
    for i, name in enumerate(cfg.policies):
        report(f"serving new users with {name}", 0.15 + 0.8 * i / len(cfg.policies))
        results[name] = serve(name, context, truth, users, cfg)
    report("summarising", 0.97)
    rng = np.random.default_rng([cfg.seed, 3])
    policies = {name: _policy_summary(res, users, rng, cfg.n_bootstrap) for name, res in results.items()}
    plan_eng, myo_eng = results[PLANNING]["engagement"], results[MYOPIC]["engagement"]
    ratio = float(long_term(plan_eng).mean() / long_term(myo_eng).mean())
    ratio_ci = paired_ratio_ci(long_term(plan_eng), long_term(myo_eng), rng, cfg.n_bootstrap)
    short_ratio = float(short_term(plan_eng).mean() / short_term(myo_eng).mean())
    short_ci = paired_ratio_ci(short_term(plan_eng), short_term(myo_eng), rng, cfg.n_bootstrap)
    per_type_ratio = {
        k: policies[PLANNING]["per_type"][k]["long_term"] / policies[MYOPIC]["per_type"][k]["long_term"]
        for k in policies[PLANNING]["per_type"]
    }
    report("done", 1.0)
    return {
        "benchmark": "satiation",
        "planning": PLANNING,
        "myopic": MYOPIC,
        "planning_long_term": policies[PLANNING]["long_term"],
        "myopic_long_term": policies[MYOPIC]["long_term"],
        "ratio": ratio,
        "ratio_ci95": ratio_ci,
        "planning_short_term": policies[PLANNING]["short_term"],
        "myopic_short_term": policies[MYOPIC]["short_term"],
        "short_term_ratio": short_ratio,
        "short_term_ratio_ci95": short_ci,
        "per_type_long_term_ratio": per_type_ratio,
        "target": {"name": "long-term satisfaction, planning / myopic", "threshold": TARGET_RATIO,
                   "value": ratio, "ci95": ratio_ci, "passed": bool(ratio >= TARGET_RATIO)},
        "definitions": DEFINITIONS,
        "config": cfg.to_dict(),
        "seed": cfg.seed,
        "quick": cfg.quick,
        "version": __version__,
        "machine": machine_info(),
        "population": {"true_types": truth.describe(),
                       "shares": cfg.sim.type_shares().tolist()},
        "fit": {
            "selected_k": population.n_types,
            "fit_s": fit_s,
            "weights": population.weights.tolist(),
            "type_to_true": mapping.tolist(),
            "harm": (-population.components.mu[:, -1]).tolist(),
        },
        "policies": policies,
        "run_s": time.perf_counter() - started,
    }
