"""The privacy cost of a differentially private population fit, in cold-start gain.

Both fits see the *same* training summaries (``sim.linear_types.logged_summary``: at 100,000 users the full
candidate log would need about 8 GB) of the default ``LinearTypes`` preset, 50 events per training user:

- non-private: ``fit_population`` with ``n_types`` fixed to the same K as the private fit (a fair
  comparison: the private fit cannot choose K without spending budget on it);
- private: ``fit_population_dp`` at ``(epsilon, delta)``.

Then the cold-start harness serves the same new test users with the same candidate streams and seeds under
each population (policies ``mixture_ids``, ``from_scratch_ts`` and ``oracle_type`` only) and the figure is

    gain_kept = G_dp(50) / G_nonprivate(50),   G(t) = (R_scratch(t) - R_ours(t)) / (R_scratch(t) - R_oracle_type(t))

with R the mean cumulative expected regret of the new (population) test users and ours ``mixture_ids``. Each
G uses the baselines run with its own population (``from_scratch_ts`` calibrates its broad prior from the
population it is given); ``G50_dp_shared_baselines`` uses the non-private run's baselines instead.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from warmstart._version import __version__
from warmstart.bench.coldstart import ColdStartConfig, gain_curve, run_coldstart
from warmstart.bench.machine import machine_info
from warmstart.families.linear.dp import fit_population_dp
from warmstart.families.linear.dp_budget import DPConfig
from warmstart.families.linear.fit import FitConfig, fit_population
from warmstart.families.linear.model import Summary
from warmstart.families.linear.population import Population
from warmstart.sim.linear_types import LinearTypesConfig, LinearTypesPopulation, logged_summary
from warmstart.sim.users import UserBatch

Progress = Callable[[str, float], None]
POLICIES = ("mixture_ids", "from_scratch_ts", "oracle_type")
HORIZON = 50


@dataclass
class _RecordingPopulation(LinearTypesPopulation):
    """The simulator, remembering the true types of the users it draws (``logged_summary`` returns summaries
    only; the harness maps fitted types to true ones with them)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.drawn: list[np.ndarray] = []

    def sample_users(self, n: int, rng: np.random.Generator, kind: Any = "population") -> UserBatch:
        users = super().sample_users(n, rng, kind)
        self.drawn.append(users.type_id)
        return users


def _mean_error(pop: Population, truth: LinearTypesPopulation) -> list[float]:
    """Per true type, the distance from its mean to the nearest fitted type mean."""
    mu = pop.components.mu[: pop.n_types]
    dist = np.sqrt(((mu[:, None] - truth.type_means[None]) ** 2).sum(-1))
    return dist.min(0).tolist()


def _g_at(doc_policies: dict[str, Any], t: int) -> float:
    G = gain_curve(doc_policies, "mixture_ids")["G"]
    return float("nan") if len(G) < t or G[t - 1] is None else float(G[t - 1])


def _policy_view(doc: dict[str, Any]) -> dict[str, Any]:
    P = doc["policies"]
    out = {name: {"regret_at_50": P[name]["regret_at"].get(str(HORIZON)),
                  "regret_ci95_50": P[name]["regret_ci95"].get(str(HORIZON))} for name in P}
    out["mixture_ids"]["type_accuracy_at"] = P["mixture_ids"].get("type_accuracy_at")
    out["mixture_ids"]["minority_regret_at_50"] = P["mixture_ids"]["minority"]["regret_at"].get(str(HORIZON))
    return out


def dp_gain(
    n_train_users: int = 100_000,
    epsilon: float = 1.0,
    delta: float = 1e-6,
    seed: int = 0,
    quick: bool = False,
    progress: Progress | None = None,
    dp_config: DPConfig | None = None,
    include_bic: bool = False,
) -> dict[str, Any]:
    """Measure how much of the non-private cold-start gain G(50) a private fit keeps; returns a JSON-ready dict.

    ``quick`` shrinks the run to 5,000 training users and 200 population test users (a smoke run: the figure
    is not meaningful at that size). ``dp_config`` overrides the private fit's settings (its epsilon, delta
    and seed are replaced by the arguments). ``include_bic`` also fits the default K-selecting population
    (BIC over K, split and merge moves) and reports its G(50): minutes at 100,000 users, so off by default.
    """
    report = progress or (lambda msg, frac: None)
    t_start = time.perf_counter()
    if quick:
        n_train_users = min(n_train_users, 5_000)
    sim = LinearTypesConfig.preset_named("default")
    n_events = 50
    base = dp_config or DPConfig(n_types=sim.n_types)
    dp_cfg = replace(base, epsilon=epsilon, delta=delta, seed=seed)
    K = dp_cfg.n_types
    cs_cfg = ColdStartConfig.make(
        preset="default", quick=quick, seed=seed, n_train_users=n_train_users, n_train_events=n_events,
        steps=HORIZON, policies=POLICIES, ours="mixture_ids", workers=2,
        fit=FitConfig(n_types=K),
    )
    report(f"simulating {n_train_users} training users' summaries", 0.0)
    recorder = _RecordingPopulation(sim)
    summary = logged_summary(recorder, n_train_users, n_events, seed=seed)
    true_types = np.concatenate(recorder.drawn)
    truth = LinearTypesPopulation(sim)

    fits = _fit_populations(summary, dp_cfg, seed, include_bic, report)
    pop_dp = fits["dp"][0]
    docs: dict[str, dict[str, Any]] = {}
    for i, (name, (pop, fit_s)) in enumerate(fits.items()):
        report(f"cold start with the {name} population", 0.6 + 0.35 * i / len(fits))
        docs[name] = run_coldstart(cs_cfg, population=pop, fit_s=fit_s, summary=summary, true_types=true_types)

    g_np = _g_at(docs["nonprivate"]["policies"], HORIZON)
    g_dp = _g_at(docs["dp"]["policies"], HORIZON)
    shared = {**docs["nonprivate"]["policies"], "mixture_ids": docs["dp"]["policies"]["mixture_ids"]}
    out: dict[str, Any] = {
        "epsilon": epsilon,
        "delta": delta,
        "gain_kept": g_dp / g_np if g_np else float("nan"),
        "G50_dp": g_dp,
        "G50_nonprivate": g_np,
        "G50_dp_shared_baselines": _g_at(shared, HORIZON),
        "target": "gain_kept >= 0.90 at epsilon = 1, delta = 1e-6, 100,000 training users",
        "n_train_users": n_train_users,
        "n_train_events": n_events,
        "n_types": K,
        "seed": seed,
        "quick": quick,
        "dp": pop_dp.diagnostics.dp,
        "fit_s": {name: fit_s for name, (_, fit_s) in fits.items()},
        "type_mean_error": {name: _mean_error(pop, truth) for name, (pop, _) in fits.items()},
        "weights": {name: pop.weights.tolist() for name, (pop, _) in fits.items()},
        "noise_var": {name: pop.components.noise_var.tolist() for name, (pop, _) in fits.items()},
        "policies": {name: _policy_view(doc) for name, doc in docs.items()},
        "G_curve": {name: gain_curve(doc["policies"], "mixture_ids")["G"] for name, doc in docs.items()},
        "config": {"dp": dp_cfg.to_dict(), "coldstart": cs_cfg.to_dict(), "preset": sim.preset},
        "version": __version__,
        "machine": machine_info(),
    }
    if include_bic:
        out["G50_nonprivate_bic"] = _g_at(docs["nonprivate_bic"]["policies"], HORIZON)
        out["selected_k_bic"] = fits["nonprivate_bic"][0].n_types
    out["elapsed_s"] = time.perf_counter() - t_start
    report("done", 1.0)
    return out


def _fit_populations(summary: Summary, dp_cfg: DPConfig, seed: int, include_bic: bool, report: Progress
                     ) -> dict[str, tuple[Population, float]]:
    """The populations compared, each with its fit's seconds: ``nonprivate`` (K = ``dp_cfg.n_types``), ``dp``
    (the private fit) and, with ``include_bic``, ``nonprivate_bic`` (K chosen by BIC)."""
    K = dp_cfg.n_types
    epsilon, delta = dp_cfg.epsilon, dp_cfg.delta
    report(f"non-private fit, K = {K}", 0.05)
    t0 = time.perf_counter()
    pop_np = fit_population(summary, FitConfig(n_types=K, seed=seed))
    fit_np_s = time.perf_counter() - t0

    report(f"private fit, epsilon = {epsilon}, delta = {delta}", 0.35)
    t0 = time.perf_counter()
    pop_dp = fit_population_dp(summary, dp_cfg)
    fit_dp_s = time.perf_counter() - t0

    fits = {"nonprivate": (pop_np, fit_np_s), "dp": (pop_dp, fit_dp_s)}
    if include_bic:
        report("non-private fit, K chosen by BIC", 0.5)
        t0 = time.perf_counter()
        pop_bic = fit_population(summary, FitConfig(seed=seed))
        fits["nonprivate_bic"] = (pop_bic, time.perf_counter() - t0)
    return fits
