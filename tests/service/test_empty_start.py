"""A service that starts empty: no population, no users. It serves from the first request (from the bootstrap
prior), logs as usual, the first population is fitted from its own log and activated, and new users then
bootstrap from the learned types: the whole story, on SQLite and PostgreSQL."""

from __future__ import annotations

import numpy as np
from fastapi.testclient import TestClient

from warmstart.policies.floor import DEFAULT_EPSILON
from warmstart.service.app import create_app
from warmstart.sim.linear_types import LinearTypesConfig, LinearTypesPopulation
from warmstart.store.store import Store

N_ACTIONS = 10
# a small world, so that 40 early users with 10 events each are enough for the first fit to find its types
N_USERS, STEPS = 40, 10
TRUTH = LinearTypesPopulation(LinearTypesConfig(dim=4, n_types=3, minority_share=0.1, outlier_share=0.0))


def _serve(client, rng, truth, users, *, steps, prefix):
    """Each user ranks ``steps`` times and rewards the chosen action; returns the expected regret per step
    (against the user's best candidate), one row per user."""
    regret = np.zeros((len(users.theta), steps))
    for u, theta in enumerate(users.theta):
        for t in range(steps):
            X = truth.candidates(rng, ())[:N_ACTIONS]
            r = client.post("/v1/rank", json={"user_id": f"{prefix}{u}",
                                              "actions": [{"features": x.tolist()} for x in X]})
            assert r.status_code == 200, r.text
            body = r.json()
            assert min(body["probabilities"]) >= DEFAULT_EPSILON / N_ACTIONS - 1e-12  # logged with the floor
            means = X @ theta
            regret[u, t] = means.max() - means[body["action"]]
            reward = float(means[body["action"]] + truth.config.noise_sd * rng.standard_normal())
            assert client.post(f"/v1/events/{body['event_id']}/reward", json={"reward": reward}).status_code == 200
    return regret


def test_from_an_empty_store_to_users_who_bootstrap_from_learned_types(db_url):
    truth = TRUTH
    store = Store.open(db_url)
    try:
        client = TestClient(create_app(store, seed=0), raise_server_exceptions=False)
        client.headers["Authorization"] = f"Bearer {store.create_api_key('client')}"
        admin = TestClient(client.app, raise_server_exceptions=False)
        admin.headers["Authorization"] = f"Bearer {store.create_api_key('admin')}"
        assert store.active_version() is None and client.get("/health").status_code == 200

        rng = np.random.default_rng(0)
        early = truth.sample_users(N_USERS, rng)
        before = _serve(client, rng, truth, early, steps=STEPS, prefix="early-")
        listing = admin.get("/v1/admin/populations").json()
        assert listing["active"] == 1 and store.population(1)[1]["source"] == "bootstrap"
        profile = client.get("/v1/users/early-0/profile").json()
        assert profile["events_learned_from"] == STEPS and "No types of users are fitted yet" in profile["summary"]

        fitted = admin.post("/v1/admin/fit", json={"k_max": 10, "seed": 0})
        assert fitted.status_code == 200, fitted.text
        version = fitted.json()["version"]
        assert fitted.json()["n_users"] == N_USERS and version == 2
        assert admin.post(f"/v1/admin/populations/{version}/activate", json={}).status_code == 200
        types = admin.get("/v1/admin/populations").json()
        assert types["active"] == version

        # a user served before the fit continues under the new version from their replayed history
        again = client.get("/v1/users/early-0/profile").json()
        assert again["events_learned_from"] == STEPS and len(again["types"]) >= 3

        late = truth.sample_users(N_USERS, rng)
        after = _serve(client, rng, truth, late, steps=STEPS, prefix="late-")
        # new users start from the learned types: less regret over their first STEPS steps than the users who
        # arrived when there were none (same kind of people, same candidate distribution); measured 6.6 se apart
        diff = before.sum(1).mean() - after.sum(1).mean()
        se = np.sqrt(before.sum(1).var() / N_USERS + after.sum(1).var() / N_USERS)
        assert diff > 2 * se, (before.sum(1).mean(), after.sum(1).mean(), se)
    finally:
        store.close()
