"""Forgetting removes a user's influence: the refit after ``DELETE /v1/users/{id}`` equals a fit that never saw
the user.

Two stores receive the same simulated decisions and rewards, except that one never receives the users to be
forgotten. Those users are then forgotten in the first store, and both are refitted with the same seed through
the service's own path (``warmstart.service.refit.fit_from_store``). The figure is the largest absolute
difference between the two populations' parameters; the fit of the first store *before* forgetting is compared
too, to show that the forgotten users did move the fit (a check that could not fail would show nothing).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from warmstart.families.linear.population import Population
from warmstart.sim.linear_types import LinearTypesConfig, LinearTypesPopulation


def _max_abs_diff(a: Population, b: Population) -> float:
    if a.components.mu.shape != b.components.mu.shape:
        return float("inf")
    pairs = [(a.weights, b.weights), (a.components.mu, b.components.mu), (a.components.cov, b.components.cov),
             (a.components.noise_var, b.components.noise_var)]
    return float(max(np.max(np.abs(x - y)) for x, y in pairs))


def forget_check(n_users: int = 60, n_events: int = 15, n_forget: int = 3, seed: int = 0, k_max: int = 6,
                 directory: str | Path | None = None) -> dict[str, Any]:
    """Run the check on two SQLite stores (in ``directory``, a temporary one by default); return the figures."""
    from warmstart.service.refit import fit_from_store
    from warmstart.store.store import EventRecord, Store

    if not 0 < n_forget < n_users - 2:
        raise ValueError(f"n_forget: expected a number in [1, {n_users - 3}], got {n_forget}")
    sim = LinearTypesConfig(n_types=3, minority_share=0.1, outlier_share=0.0, n_actions=5, dim=4)
    log = LinearTypesPopulation(sim).logged(n_users, n_events, seed=seed)
    rng = np.random.default_rng([seed, 31])
    forgotten = {f"user{u:04d}" for u in rng.choice(n_users, size=n_forget, replace=False)}
    probs = tuple([1.0 / sim.n_actions] * sim.n_actions)
    with tempfile.TemporaryDirectory(dir=directory) as tmp:
        stores = {name: Store.open(Path(tmp) / f"{name}.db", group_commit=False) for name in ("forgot", "never")}
        try:
            for u in range(n_users):
                uid = f"user{u:04d}"
                for t in range(n_events):
                    a = int(log.action[u, t])
                    rec = EventRecord(f"{uid}-{t}", uid, a, probs, log.candidates[u, t, a], personalised=False,
                                      created_at=1e9 + t, candidates=log.candidates[u, t])
                    for name, store in stores.items():
                        if name == "never" and uid in forgotten:
                            continue
                        store.append_event(rec)
                        store.set_reward(rec.event_id, float(log.reward[u, t]))
            before, _, _ = fit_from_store(stores["forgot"], k_max=k_max, seed=seed)
            deleted = sum(stores["forgot"].forget_user(uid) for uid in sorted(forgotten))
            after, n_fit, _ = fit_from_store(stores["forgot"], k_max=k_max, seed=seed)
            never, n_never, _ = fit_from_store(stores["never"], k_max=k_max, seed=seed)
        finally:
            for store in stores.values():
                store.close()
    return {
        "n_users": n_users, "n_events": n_events, "forgotten": sorted(forgotten), "events_deleted": deleted,
        "users_fitted": {"after_forget": n_fit, "never_saw": n_never},
        "max_abs_diff": _max_abs_diff(after, never),
        "fingerprints_equal": after.fingerprint() == never.fingerprint(),
        "max_abs_diff_before_forget": _max_abs_diff(before, never),
        "n_types": {"after_forget": after.n_types, "never_saw": never.n_types, "before_forget": before.n_types},
        "seed": seed,
    }
