"""What the service's exploration floor buys: the support its log gives an offline evaluation of another
population version, with and without the floor, on the same simulated traffic (in process, a SQLite store per
run), and the smallest probabilities a served log holds.

The evaluated version is a second population fitted to the same simulated people from another training log;
its effective sample size (``ess``, of the importance weights) says how many of the logged decisions its
estimate effectively rests on, and its ``unsupported_mass`` the share of its probability on candidates the log
gave probability 0 (decisions the importance-weighted estimates cannot see; ``warmstart.service.evaluate``).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from warmstart.families.linear.fit import FitConfig, fit_population
from warmstart.families.linear.population import Population
from warmstart.policies.floor import DEFAULT_EPSILON
from warmstart.service.evaluate import evaluate_versions, logged_events
from warmstart.sim.linear_types import LinearTypesPopulation
from warmstart.store.store import Store


def logged_support(store: Store) -> dict[str, Any]:
    """The smallest logged propensity (of the chosen action) and probability (of any candidate) in a store."""
    events = logged_events(store)
    probs = [np.asarray(e.probabilities, dtype=float) for e in events]
    if not probs:
        return {"n_events": 0, "min_propensity": None, "min_probability": None, "n_candidates": None}
    chosen = [p[e.action] for p, e in zip(probs, events)]
    return {"n_events": len(probs), "min_propensity": float(min(chosen)),
            "min_probability": float(min(p.min() for p in probs)),
            "n_candidates": sorted({int(p.size) for p in probs})}


def _run(population: Population, second: Population, truth: LinearTypesPopulation, explore: float, *, users: int,
         steps: int, seed: int, work: Path) -> dict[str, Any]:
    from fastapi.testclient import TestClient

    from warmstart.service.app import create_app

    store = Store.open(work / f"explore-{explore}.db")
    try:
        store.activate(store.add_population(population.to_bytes(), fingerprint=population.fingerprint()))
        other = store.add_population(second.to_bytes(), fingerprint=second.fingerprint())
        client = TestClient(create_app(store, seed=seed, explore=explore))
        client.headers["Authorization"] = f"Bearer {store.create_api_key('client')}"
        rng = np.random.default_rng(seed)
        thetas = truth.sample_users(users, rng).theta
        for u in range(users):
            for _ in range(steps):
                X = truth.candidates(rng, ())
                body = client.post("/v1/rank", json={"user_id": f"u{u}",
                                                     "actions": [{"features": x.tolist()} for x in X]}).json()
                reward = float(X[body["action"]] @ thetas[u] + truth.config.noise_sd * rng.standard_normal())
                client.post(f"/v1/events/{body['event_id']}/reward", json={"reward": reward})
        ev = evaluate_versions(store, other, n_boot=200, seed=seed)
        version = ev["versions"][str(other)]
        return {"explore": explore, **logged_support(store), "ess_second_version": version["ess"],
                "unsupported_mass_second_version": version["unsupported_mass"],
                "dr_second_version": version["dr"]["estimate"]}
    finally:
        store.close()


def exploration_support(truth: LinearTypesPopulation, population: Population, *, epsilon: float = DEFAULT_EPSILON,
                        users: int = 60, steps: int = 20, seed: int = 0) -> dict[str, Any]:
    """The same traffic served with the floor ``epsilon`` and without it; for each, the smallest logged
    probabilities and the effective sample size of evaluating a second population version from the log."""
    second = fit_population(truth.logged(1000, 30, seed=seed + 1).summary(),
                            FitConfig(n_types=truth.config.n_types, split_merge=False, seed=seed + 1))
    with tempfile.TemporaryDirectory(prefix="warmstart-explore-") as tmp:
        runs = [_run(population, second, truth, e, users=users, steps=steps, seed=seed, work=Path(tmp))
                for e in (epsilon, 0.0)]
    return {"users": users, "steps": steps, "epsilon": epsilon, "floor": runs[0], "no_floor": runs[1],
            "bound": epsilon / max(runs[0]["n_candidates"] or [1])}
