"""Speed benchmark: one-user act+update against Vowpal Wabbit in the same run, batched decisions, EM fit
time on 100,000 users, serialised belief size. Writes ``speed.json``."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from warmstart import _kernels
from warmstart._version import __version__
from warmstart.bench.machine import machine_info
from warmstart.data.bandit_log import training_log
from warmstart.families.linear.belief import Belief, BeliefBatch
from warmstart.families.linear.fit import FitConfig, fit_population
from warmstart.policies.base import PolicyContext
from warmstart.policies.batch import batch_thompson
from warmstart.policies.registry import make_policy
from warmstart.sim.linear_types import LinearTypesConfig, LinearTypesPopulation, logged_summary

Progress = Callable[[str, float], None]


def _act_update_us(policy, X: np.ndarray, theta: np.ndarray, noise: np.ndarray, repeats: int) -> float:
    """Median over ``repeats`` of the mean time of one act + update, on one user, in microseconds."""
    times = []
    per = X.shape[0] // repeats
    for r in range(repeats):
        state = policy.new_user()
        t0 = time.perf_counter()
        for t in range(r * per, (r + 1) * per):
            a = policy.act(state, X[t]).action
            policy.update(state, X[t], a, float(X[t, a] @ theta + noise[t]))
        times.append((time.perf_counter() - t0) / per * 1e6)
        close = getattr(state, "close", None)
        if callable(close):
            close()
    return float(np.median(times))


def run_speed(
    quick: bool = False, seed: int = 0, em_users: int = 100_000, progress: Progress | None = None
) -> dict[str, Any]:
    report = progress or (lambda msg, frac: None)
    cfg = LinearTypesConfig()
    truth = LinearTypesPopulation(cfg)
    rng = np.random.default_rng(seed)
    steps = 1000 if quick else 5000
    repeats = 5
    report("fitting a population for the single-user timings", 0.0)
    log = truth.logged(1000 if quick else 2000, 50, seed=seed)
    population = fit_population(log.summary(), FitConfig(n_types=cfg.n_types, split_merge=False, seed=seed))
    ctx = PolicyContext(dim=cfg.dim, population=population, train_log=training_log(log))
    X = truth.candidates(rng, (steps,))
    theta = truth.sample_users(1, rng).theta[0]
    noise = cfg.noise_sd * rng.standard_normal(steps)
    doc: dict[str, Any] = {
        "version": __version__,
        "seed": seed,
        "quick": quick,
        "machine": machine_info(),
        "config": {"dim": cfg.dim, "n_types": cfg.n_types, "n_actions": cfg.n_actions, "steps": steps,
                   "em_users": em_users, "em_events": 50},
    }
    report("timing act + update, one user", 0.1)
    doc["kernels"] = _kernels.backend()
    per_policy = {}
    for name in ("mixture_ids", "mixture_ts"):
        per_policy[name] = _act_update_us(make_policy(name, ctx, seed=seed), X, theta, noise, repeats)
    doc["act_update_us_by_policy"] = per_policy
    with _kernels.disabled():
        doc["act_update_us_numpy"] = _act_update_us(make_policy("mixture_ids", ctx, seed=seed), X, theta, noise,
                                                    repeats)
    doc["act_update_policy"] = "mixture_ids"
    doc["act_update_us"] = per_policy["mixture_ids"]
    report("timing Vowpal Wabbit predict + learn, same setting", 0.25)
    try:
        vw = make_policy("vw_pooled", ctx, seed=seed, pretrain_events=2000)
        doc["vw_predict_learn_us"] = _act_update_us(vw, X, theta, noise, repeats)
    except ImportError as exc:
        doc["vw_predict_learn_us"] = None
        doc["vw_note"] = str(exc)
    report("timing batched decisions", 0.4)
    n_batch = 2000 if quick else 10000
    doc.update(_batch_rate(population, truth, rng, n_users=n_batch))
    with _kernels.disabled():
        doc["batch_decisions_per_s_numpy"] = _batch_rate(population, truth, rng, n_users=n_batch)[
            "batch_decisions_per_s"]
    report("timing the EM fit", 0.55)
    n_em = min(em_users, 10_000) if quick else em_users
    summary = logged_summary(truth, n_em, 50, seed=seed + 1)
    t0 = time.perf_counter()
    fit = fit_population(summary, FitConfig(n_types=cfg.n_types, n_init=1, split_merge=False, seed=seed))
    em_s = time.perf_counter() - t0
    doc["em_fit_users"] = n_em
    doc["em_fit_s"] = em_s
    doc["em_fit_s_100k"] = em_s if n_em == 100_000 else None
    doc["em_fit_iterations"] = fit.diagnostics.n_iter
    doc["em_fit_settings"] = "K = 8 fixed, 1 k-means++ start, no split/merge moves, tol 1e-6"
    belief = Belief.fresh(population)
    for t in range(50):
        belief.observe(X[t, 0], 0.1)
    doc["belief_bytes"] = len(belief.to_bytes())
    report("done", 1.0)
    return doc


def _batch_rate(population, truth, rng, n_users: int) -> dict[str, Any]:
    """Decisions per second of the vectorised path, one core (BLAS limited to one thread)."""
    from threadpoolctl import threadpool_limits

    batch = BeliefBatch.fresh(population, n_users)
    users = np.arange(n_users)
    warm = truth.candidates(rng, (n_users,))
    theta = truth.sample_users(n_users, rng).theta
    # a few observed events so that beliefs are not all identical
    for _ in range(3):
        Xw = truth.candidates(rng, (n_users,))
        batch.observe(users, Xw[:, 0], Xw[:, 0] @ theta[0])
    chunk = 1000
    out: dict[str, Any] = {"batch_users": n_users, "batch_chunk": chunk,
                           "batch_policy": "mixture_ts (vectorised); propensity from 32 posterior draws per user"}
    for key, draws in (("batch_decisions_per_s", 32), ("batch_decisions_per_s_one_draw", 1)):
        with threadpool_limits(limits=1):
            batch_thompson(batch, users[:10], warm[:10], rng, n_samples=draws)  # compile / load the kernel
            t0 = time.perf_counter()
            for start in range(0, n_users, chunk):
                idx = users[start : start + chunk]
                batch_thompson(batch, idx, warm[idx], rng, n_samples=draws)
            out[key] = n_users / (time.perf_counter() - t0)
    return out
