"""The exploration floor: what the service logs supports evaluating other population versions offline."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient

from warmstart.service.app import create_app
from warmstart.store.store import Store


def _traffic(tmp_path, population, truth, explore, *, users=12, steps=12, n_actions=5):
    store = Store.open(tmp_path / f"explore-{explore}.db")
    store.activate(store.add_population(population.to_bytes(), fingerprint=population.fingerprint()))
    client = TestClient(create_app(store, seed=0, explore=explore), raise_server_exceptions=False)
    client.headers["Authorization"] = f"Bearer {store.create_api_key('client')}"
    rng = np.random.default_rng(3)
    thetas = truth.sample_users(users, rng).theta
    for u in range(users):
        for _ in range(steps):
            X = truth.candidates(rng, ())[:n_actions]
            body = client.post("/v1/rank", json={"user_id": f"u{u}", "actions": [{"features": x.tolist()} for x in X]})
            assert body.status_code == 200, body.text
            body = body.json()
            reward = float(X[body["action"]] @ thetas[u])
            assert client.post(f"/v1/events/{body['event_id']}/reward", json={"reward": reward}).status_code == 200
    probs = np.array([e.probabilities for u in range(users) for e in store.user_events(f"u{u}")])
    store.close()
    return probs


def test_every_logged_probability_is_at_least_the_floor(tmp_path, population, truth):
    probs = _traffic(tmp_path, population, truth, 0.05)
    assert probs.min() >= 0.05 / probs.shape[1] - 1e-12
    np.testing.assert_allclose(probs.sum(1), 1.0, rtol=1e-9)


def test_without_the_floor_the_log_lacks_support(tmp_path, population, truth):
    probs = _traffic(tmp_path, population, truth, 0.0)
    assert (probs == 0).any(axis=1).mean() > 0.5  # mixture_ids alone is deterministic most of the time


@pytest.mark.parametrize("bad", [-0.1, 1.5])
def test_the_floor_must_be_a_share(tmp_path, bad):
    store = Store.open(tmp_path / "bad.db")
    with pytest.raises(ValueError, match="explore: expected a share of decisions in \\[0, 1\\]"):
        create_app(store, explore=bad)
    store.close()


def test_offline_evaluation_of_another_version_has_support_only_under_the_floor(population, truth):
    from warmstart.bench.service_explore import exploration_support

    out = exploration_support(truth, population, users=6, steps=6, seed=1)
    floor, bare = out["floor"], out["no_floor"]
    assert floor["min_probability"] >= out["bound"] - 1e-12 > 0
    assert floor["unsupported_mass_second_version"] == 0.0
    assert bare["min_probability"] == 0.0 and bare["unsupported_mass_second_version"] > 0.0
    assert 0 < floor["ess_second_version"] <= floor["n_events"]
