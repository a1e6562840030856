"""The HTTP API on a real SQLite store, through FastAPI's test client: auth, rank, idempotent rewards that
update the stored belief, the user's controls, and malformed input answered with a 4xx."""

import time

import numpy as np
import pytest
from fastapi.testclient import TestClient

from warmstart.service.app import create_app
from warmstart.store.store import Store


@pytest.fixture
def served(serve):
    return serve()


def _actions(rng, n=5, d=10):
    return [{"id": f"item-{i}", "features": list(rng.normal(size=d) / np.sqrt(d))} for i in range(n)]


def _serve_users(client, rng, thetas, *, n_events, n_actions, noise=0.0):
    """Each user (id -> true theta, in order) ranks ``n_events`` times and rewards the chosen action with
    ``x . theta`` (plus Gaussian noise when ``noise`` is set)."""
    for user_id, theta in thetas.items():
        for _ in range(n_events):
            acts = _actions(rng, n=n_actions)
            body = client.post("/v1/rank", json={"user_id": user_id, "actions": acts}).json()
            x = np.array(acts[body["action"]]["features"])
            reward = float(x @ theta + (noise * rng.normal() if noise else 0.0))
            client.post(f"/v1/events/{body['event_id']}/reward", json={"reward": reward})


def test_health_is_open_and_everything_else_needs_a_key(served):
    client, _ = served
    bare = TestClient(client.app, raise_server_exceptions=False)
    assert bare.get("/health").json()["status"] == "ok"
    r = bare.post("/v1/rank", json={"user_id": "u", "actions": _actions(np.random.default_rng(0))})
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
    r = bare.post("/v1/rank", json={"user_id": "u", "actions": []}, headers={"Authorization": "Bearer ws_x_y"})
    assert r.status_code == 401


def test_rank_then_reward_updates_the_stored_belief(served):
    client, store = served
    rng = np.random.default_rng(1)
    r = client.post("/v1/rank", json={"user_id": "u1", "actions": _actions(rng)})
    assert r.status_code == 200
    body = r.json()
    assert abs(sum(body["probabilities"]) - 1) < 1e-9 and body["probabilities"][body["action"]] > 0
    assert body["action_id"] == f"item-{body['action']}" and body["personalised"] is True
    event = store.event(body["event_id"])
    assert event is not None and event.propensity == body["probabilities"][body["action"]]
    assert store.get_belief("u1") is None  # nothing learned before a reward
    url = f"/v1/events/{body['event_id']}/reward"
    assert client.post(url, json={"reward": 0.7}).json()["status"] == "recorded"
    assert client.post(url, json={"reward": 0.7}).json()["status"] == "duplicate"
    assert store.get_belief("u1")[1] == 1  # the duplicate did not update the belief again
    conflict = client.post(url, json={"reward": 0.1})
    assert conflict.status_code == 409 and conflict.json()["error"]["code"] == "conflict"
    assert client.post("/v1/events/nope/reward", json={"reward": 1.0}).status_code == 404
    profile = client.get("/v1/users/u1/profile").json()
    assert profile["events_learned_from"] == 1 and profile["events_held"] == 1
    assert abs(sum(t["probability"] for t in profile["types"]) - 1) < 1e-9


def test_a_users_type_is_recognised_through_the_api(served, truth):
    """A simulated user of a known type, served through the API for 20 rounds: the profile's most probable
    type is the one the fit maps that true type to."""
    client, _ = served
    rng = np.random.default_rng(3)
    user = truth.sample_users(1, rng)
    theta = user.theta[0]
    _serve_users(client, rng, {"sim": theta}, n_events=20, n_actions=20, noise=0.5)
    profile = client.get("/v1/users/sim/profile").json()
    assert profile["events_learned_from"] == 20
    assert profile["types"][0]["probability"] > 0.9 and "resembles" in profile["summary"]


def test_opted_out_users_get_unpersonalised_decisions_and_no_belief(served):
    client, store = served
    rng = np.random.default_rng(4)
    assert client.put("/v1/users/u2/consent", json={"opted_out": True}).status_code == 200
    body = client.post("/v1/rank", json={"user_id": "u2", "actions": _actions(rng)}).json()
    assert body["personalised"] is False
    client.post(f"/v1/events/{body['event_id']}/reward", json={"reward": 1.0})
    assert store.get_belief("u2") is None


def test_forget_and_reset(served):
    client, store = served
    rng = np.random.default_rng(5)
    body = client.post("/v1/rank", json={"user_id": "u3", "actions": _actions(rng)}).json()
    client.post(f"/v1/events/{body['event_id']}/reward", json={"reward": 1.0})
    assert client.post("/v1/users/u3/reset").json()["status"] == "reset"
    assert store.get_belief("u3") is None and len(store.user_events("u3")) == 1
    assert client.delete("/v1/users/u3").json()["events_deleted"] == 1
    profile = client.get("/v1/users/u3/profile").json()
    assert profile["erased"] is True and profile["events_held"] == 0


@pytest.mark.parametrize("payload, field", [
    ({"user_id": "u", "actions": []}, "actions"),
    ({"user_id": "", "actions": [{"features": [0.0] * 10}]}, "user_id"),
    ({"user_id": "u", "actions": [{"features": [0.0] * 3}]}, "actions.features"),
    ({"user_id": "u", "actions": [{"features": [0.0] * 10}], "extra": 1}, "extra"),
    ({"user_id": "u", "actions": [{"features": ["a"] * 10}]}, "features"),
    ({"user_id": "u"}, "actions"),
])
def test_malformed_rank_requests_are_4xx_with_the_field_named(served, payload, field):
    client, store = served
    r = client.post("/v1/rank", json=payload)
    assert r.status_code == 422
    assert field in r.json()["error"]["message"]
    assert store.count("events") == 0


def test_malformed_bodies_and_rewards_are_4xx(served):
    client, _ = served
    r = client.post("/v1/rank", content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 422
    body = client.post("/v1/rank", json={"user_id": "u", "actions": _actions(np.random.default_rng(6))}).json()
    r = client.post(f"/v1/events/{body['event_id']}/reward", json={"reward": "high"})
    assert r.status_code == 422 and "reward" in r.json()["error"]["message"]
    r = client.post(f"/v1/events/{body['event_id']}/reward", content=b'{"reward": NaN}',
                    headers={"Content-Type": "application/json"})
    assert 400 <= r.status_code < 500


def test_decisions_without_a_reward_get_the_default_after_the_window(tmp_path, population):
    store = Store.open(tmp_path / "w.db")
    store.activate(store.add_population(population.to_bytes(), fingerprint=population.fingerprint()))
    key = store.create_api_key("client")
    app = create_app(store, reward_window_s=60.0, default_reward=0.0)
    client = TestClient(app)
    client.headers["Authorization"] = f"Bearer {key}"
    rng = np.random.default_rng(7)
    late = client.post("/v1/rank", json={"user_id": "w", "actions": _actions(rng)}).json()["event_id"]
    answered = client.post("/v1/rank", json={"user_id": "w", "actions": _actions(rng)}).json()["event_id"]
    client.post(f"/v1/events/{answered}/reward", json={"reward": 1.0})
    assert app.state.apply_default_rewards() == 0  # still inside the window
    assert app.state.apply_default_rewards(now=time.time() + 61) == 1
    event = store.event(late)
    assert event.reward == 0.0 and event.reward_default is True
    assert store.event(answered).reward == 1.0 and store.get_belief("w")[1] == 2  # both rewards learned
    late_reward = client.post(f"/v1/events/{late}/reward", json={"reward": 1.0})
    assert late_reward.status_code == 409  # the default stands; a different late reward is a conflict
    with pytest.raises(ValueError, match="reward_window_s"):
        create_app(store, reward_window_s=0)
    store.close()


def test_metrics_count_requests_decisions_rewards_and_errors(served):
    client, _ = served
    rng = np.random.default_rng(8)
    body = client.post("/v1/rank", json={"user_id": "m", "actions": _actions(rng)}).json()
    client.post(f"/v1/events/{body['event_id']}/reward", json={"reward": 1.0})
    client.post("/v1/rank", json={"user_id": "m", "actions": []})
    text = client.get("/metrics").text
    assert 'warmstart_requests_total{method="POST",path="/v1/rank",status="200"} 1.0' in text
    assert 'warmstart_rewards_total{kind="reported"} 1.0' in text
    assert 'warmstart_errors_total{code="invalid_request"} 1.0' in text
    assert "warmstart_decisions_total{type=" in text and "warmstart_request_seconds_bucket" in text


def test_oversized_bodies_are_refused_before_parsing(served):
    client, store = served
    big = b'{"user_id": "u", "actions": [' + b" " * (4 * 1024 * 1024 + 1) + b"]}"
    r = client.post("/v1/rank", content=big, headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"
    assert store.count("events") == 0


def test_admin_fits_activates_and_rolls_back_population_versions(served, truth):
    client, store = served
    admin = TestClient(client.app)
    admin.headers["Authorization"] = f"Bearer {store.create_api_key('admin')}"
    assert client.post("/v1/admin/fit", json={}).status_code == 403  # a client key
    assert admin.post("/v1/admin/fit", json={}).status_code == 409  # no rewarded events yet
    rng = np.random.default_rng(9)
    users = truth.sample_users(30, rng)
    _serve_users(client, rng, {f"s{u}": users.theta[u] for u in range(30)}, n_events=12, n_actions=10)
    client.delete("/v1/users/s0")  # an erased user is left out of the fit
    fitted = admin.post("/v1/admin/fit", json={"k_max": 4, "seed": 1}).json()
    assert fitted["n_users"] == 29 and fitted["n_events"] == 29 * 12 and fitted["version"] == 2
    assert store.active_version() == 1  # stored, not activated
    assert admin.post("/v1/admin/populations/2/activate", json={"mode": "shadow"}).status_code == 200
    assert store.active_version("shadow") == 2 and store.active_version() == 1
    served_now = client.post("/v1/rank", json={"user_id": "s5", "actions": _actions(rng)}).json()
    logged = store.shadow_decisions(2)
    assert [d["event_id"] for d in logged] == [served_now["event_id"]]  # logged, not served
    assert abs(sum(logged[0]["probabilities"]) - 1) < 1e-9
    admin.post("/v1/admin/populations/2/activate", json={})
    assert client.get("/health").json()["active_population"] == 2
    assert client.post("/v1/rank", json={"user_id": "new", "actions": _actions(rng)}).status_code == 200
    assert admin.post("/v1/admin/rollback").json()["version"] == 1
    listing = admin.get("/v1/admin/populations").json()
    assert listing["active"] == 1 and [h["population_version"] for h in listing["history"]] == [1, 2, 2, 1]
    assert admin.post("/v1/admin/populations/9/activate", json={}).status_code == 404
    assert admin.post("/v1/admin/populations/2/activate", json={"mode": "live"}).status_code == 422


def test_incremental_fit_extends_the_active_version_with_new_users_only(served, truth):
    from warmstart.families.linear.incremental import EMSums, em_sums, fit_incremental
    from warmstart.families.linear.model import summarise_rows
    from warmstart.families.linear.population import Population

    client, store = served
    admin = TestClient(client.app)
    admin.headers["Authorization"] = f"Bearer {store.create_api_key('admin')}"
    rng = np.random.default_rng(4)
    users = truth.sample_users(60, rng)
    _serve_users(client, rng, {f"a{u:02d}": users.theta[u] for u in range(30)}, n_events=10, n_actions=8)
    # version 1 came from a file: no sums to extend
    r = admin.post("/v1/admin/fit", json={"incremental": True})
    assert r.status_code == 409 and r.json()["error"]["code"] == "full_fit_needed"
    full = admin.post("/v1/admin/fit", json={"k_max": 3, "seed": 0}).json()
    assert full["version"] == 2 and full["n_users"] == 30 and full["incremental"] is False
    admin.post("/v1/admin/populations/2/activate", json={})
    r = admin.post("/v1/admin/fit", json={"incremental": True, "min_users": 1})
    assert r.status_code == 409 and r.json()["error"]["code"] == "not_enough_data"  # no new users yet
    _serve_users(client, rng, {f"b{u:02d}": users.theta[u] for u in range(30, 55)}, n_events=10, n_actions=8)
    _serve_users(client, rng, {"a00": users.theta[0]}, n_events=3, n_actions=8)  # an earlier user: not taken
    inc = admin.post("/v1/admin/fit", json={"incremental": True}).json()
    assert (inc["version"], inc["base_version"], inc["n_new_users"], inc["n_users"]) == (3, 2, 25, 55)
    assert inc["n_events"] == 30 * 10 + 25 * 10
    # the same as the library's incremental fit on the same users, with the earlier users' sums recomputed
    user, X, r = store.rewarded_events()
    ids = sorted({f"a{u:02d}" for u in range(30)} | {f"b{u:02d}" for u in range(30, 55)})
    new_rows = np.array([ids[u].startswith("b") for u in user])
    old_rows = ~new_rows & ~((user == 0) & (np.arange(user.size) >= np.nonzero(user == 0)[0][0] + 10))
    old = summarise_rows(user[old_rows], X[old_rows], r[old_rows], 30)
    new = summarise_rows(user[new_rows] - 30, X[new_rows], r[new_rows], 25)
    data2, meta2 = store.population(2)
    pop2 = Population.from_bytes(data2)
    stored = EMSums.from_dict(meta2["em_sums"])
    for got, want in zip(stored.arrays(), em_sums(old, pop2).arrays(), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    expected, _ = fit_incremental(pop2, stored, new)
    got = Population.from_bytes(store.population(3)[0])
    np.testing.assert_allclose(got.components.mu, expected.components.mu, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got.weights, expected.weights, rtol=1e-12, atol=1e-12)
    # erasing a user the sums hold needs a full fit
    admin.post("/v1/admin/populations/3/activate", json={})
    client.delete("/v1/users/b31")
    r = admin.post("/v1/admin/fit", json={"incremental": True, "min_users": 1})
    assert r.status_code == 409 and "erased" in r.json()["error"]["message"]
    assert admin.post("/v1/admin/fit", json={"k_max": 3}).json()["n_users"] == 54


def test_api_docs_are_served_without_the_internet(served):
    client, _ = served
    page = client.get("/docs")
    assert page.status_code == 200 and "/openapi.json" in page.text
    assert "http://" not in page.text and "https://" not in page.text.replace("https://swagger.io", "")
    for asset in ("/docs/static/swagger-ui-bundle.js", "/docs/static/swagger-ui.css"):
        r = client.get(asset)
        assert r.status_code == 200 and len(r.content) > 10_000
    assert client.get("/openapi.json").json()["info"]["title"] == "warmstart"


def test_admin_evaluates_a_version_offline_from_the_logged_propensities(served, truth, population):
    """A version that prefers the opposite of every type is estimated worse than the active one, with a paired
    CI below zero; the active version's own estimate is near what the log earned (it is the logging policy)."""
    import dataclasses

    from warmstart.families.linear.model import GaussianTypes

    client, store = served
    admin = TestClient(client.app, raise_server_exceptions=False)
    admin.headers["Authorization"] = f"Bearer {store.create_api_key('admin')}"
    assert admin.post("/v1/admin/populations/1/evaluate", json={}).status_code == 409  # nothing logged yet
    rng = np.random.default_rng(4)
    users = truth.sample_users(25, rng)
    _serve_users(client, rng, {f"e{u}": users.theta[u] for u in range(25)}, n_events=8, n_actions=6, noise=0.1)
    comps = population.components
    flipped = dataclasses.replace(population, components=GaussianTypes(-comps.mu, comps.cov, comps.noise_var))
    bad = store.add_population(flipped.to_bytes(), fingerprint=flipped.fingerprint())
    assert client.post(f"/v1/admin/populations/{bad}/evaluate", json={}).status_code == 403  # a client key
    r = admin.post(f"/v1/admin/populations/{bad}/evaluate", json={"n_boot": 300})
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["n_events"] == 200 and doc["n_users"] == 25 and doc["baseline"] == 1
    active, worse = doc["versions"]["1"], doc["versions"][str(bad)]
    logged = doc["logging_policy"]["estimate"]
    for name in ("ips", "snips", "dr"):
        lo, hi = active[name]["ci95"]
        assert lo <= logged <= hi, (name, active[name], logged)  # on-policy: the log's own mean
    for name in ("ips", "dr"):  # unbiased with known propensities (SNIPS is not, under poor overlap)
        assert worse[name]["estimate"] < active[name]["estimate"] - 0.1
        assert doc["difference"][name]["ci95"][1] < 0
    assert worse["ess"] < active["ess"]  # little overlap with the log
    again = admin.post(f"/v1/admin/populations/{bad}/evaluate", json={"n_boot": 300}).json()
    assert again == doc  # seeded
    assert admin.post("/v1/admin/populations/77/evaluate", json={}).status_code == 404
    assert admin.post(f"/v1/admin/populations/{bad}/evaluate", json={"n_boot": 1}).status_code == 422
