"""Extreme but finite values against the API (issue 17, item 2): out-of-bounds values are a 422 naming the field,
the bound and the request; a reward the belief cannot absorb is refused with the belief kept; unusable rows
already in the store are skipped by the admin fit; an unexpected failure is a JSON 500 on an open connection."""

import http.client
import json
import socket
import threading
import time

import numpy as np
import pytest
from fastapi.testclient import TestClient

from warmstart._validate import Bounds
from warmstart.families.linear.belief import Belief
from warmstart.service.app import bounds_from_env, create_app
from warmstart.store.store import EventRecord, Store


def _actions(rng, d, n=4):
    return [{"features": list(rng.normal(size=d) / np.sqrt(d))} for _ in range(n)]


def _error(r, status, code):
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert set(body) == {"error"} and body["error"]["code"] == code, body
    return body["error"]["message"]


@pytest.fixture
def api(tmp_path, population):
    def make(**options):
        store = Store.open(tmp_path / f"safety-{len(stores)}.db")
        stores.append(store)
        store.activate(store.add_population(population.to_bytes(), fingerprint=population.fingerprint()))
        client = TestClient(create_app(store, seed=0, **options), raise_server_exceptions=False)
        client.headers["Authorization"] = f"Bearer {store.create_api_key('admin')}"
        return client, store

    stores: list[Store] = []
    yield make
    for store in stores:
        store.close()


def test_a_huge_reward_is_refused_and_the_belief_kept(api, population):
    client, store = api()
    rng = np.random.default_rng(0)
    first = client.post("/v1/rank", json={"user_id": "u", "actions": _actions(rng, population.dim)}).json()
    assert client.post(f"/v1/events/{first['event_id']}/reward", json={"reward": 0.5}).status_code == 200
    stored = store.get_belief("u")
    event = client.post("/v1/rank", json={"user_id": "u", "actions": _actions(rng, population.dim)}).json()
    message = _error(client.post(f"/v1/events/{event['event_id']}/reward", json={"reward": 1e160}), 422,
                     "out_of_bounds")
    assert "reward" in message and "1e+06" in message and "1e+160" in message and event["event_id"] in message
    assert store.get_belief("u") == stored and store.event(event["event_id"]).reward is None
    profile = client.get("/v1/users/u/profile").json()
    assert all(np.isfinite(t["probability"]) for t in profile["types"]) and profile["events_learned_from"] == 1
    for _ in range(3):  # ranking the user goes on working
        assert client.post("/v1/rank", json={"user_id": "u", "actions": _actions(rng, population.dim)}).status_code == 200
    assert client.post(f"/v1/events/{event['event_id']}/reward", json={"reward": 0.25}).json()["status"] == "recorded"


def test_huge_features_are_refused_naming_the_action_and_the_bound(api, population):
    client, store = api()
    rng = np.random.default_rng(1)
    actions = _actions(rng, population.dim)
    actions[2]["features"][3] = 1e308
    message = _error(client.post("/v1/rank", json={"user_id": "v", "actions": actions}), 422, "out_of_bounds")
    assert message.startswith("actions[2].features[3]:") and "1e+06" in message and "'v'" in message
    assert store.user_events("v") == []


def test_values_at_the_bounds_are_served_and_keep_the_belief_finite(api, population):
    client, _ = api()
    d = population.dim
    for sign in (1.0, -1.0, 1.0):
        actions = [{"features": [sign * 1e6] * d}, {"features": [5e-324] * d}]
        event = client.post("/v1/rank", json={"user_id": "w", "actions": actions}).json()
        r = client.post(f"/v1/events/{event['event_id']}/reward", json={"reward": -sign * 1e6})
        assert r.status_code == 200, r.text
    profile = client.get("/v1/users/w/profile").json()
    assert profile["events_learned_from"] == 3
    assert abs(sum(t["probability"] for t in profile["types"]) - 1) < 1e-9


def test_the_bounds_are_configurable(api, population):
    client, _ = api(bounds=Bounds(max_reward=1e9, max_feature=10.0))
    rng = np.random.default_rng(2)
    event = client.post("/v1/rank", json={"user_id": "x", "actions": _actions(rng, population.dim)}).json()
    assert client.post(f"/v1/events/{event['event_id']}/reward", json={"reward": 5e8}).status_code == 200
    message = _error(client.post("/v1/rank", json={"user_id": "x", "actions": [{"features": [11.0] * population.dim}]}),
                     422, "out_of_bounds")
    assert "|value| <= 10" in message
    with pytest.raises(ValueError, match="default_reward"):
        api(default_reward=1e7)
    assert bounds_from_env({"WARMSTART_MAX_REWARD": "1e9"}) == Bounds(max_reward=1e9)
    for bad in ("lots", "0", "-1", "1e300", "nan"):
        with pytest.raises(ValueError, match="WARMSTART_MAX_FEATURE"):
            bounds_from_env({"WARMSTART_MAX_FEATURE": bad})


def test_a_reward_the_belief_cannot_absorb_is_refused_with_nothing_stored(api, population):
    """A decision logged before the bounds were checked (features 1e200): its reward would overflow the belief,
    so it is a 422 and neither the reward nor a belief is written."""
    client, store = api()
    X = np.full((2, population.dim), 1e200)
    store.append_event(EventRecord("legacy", "old", 0, (1.0, 0.0), X[0], True,
                                   population_version=store.active_version(), candidates=X))
    message = _error(client.post("/v1/events/legacy/reward", json={"reward": 1.0}), 422, "unusable_event")
    assert "non-finite" in message and "legacy" in message
    assert store.event("legacy").reward is None and store.get_belief("old") is None


def test_a_stored_belief_that_cannot_be_read_is_a_409_until_the_user_is_reset(api, population):
    client, store = api()
    broken = Belief.fresh(population)
    broken.c = float("nan")  # what a NaN update stored before beliefs were guarded
    store.put_belief("nan-user", broken.to_bytes(), population_version=store.active_version(), n_events=1,
                     expected_version=None)
    rng = np.random.default_rng(3)
    body = {"user_id": "nan-user", "actions": _actions(rng, population.dim)}
    message = _error(client.post("/v1/rank", json=body), 409, "belief_unreadable")
    assert "reset" in message
    assert client.post("/v1/users/nan-user/reset").status_code == 200
    assert client.post("/v1/rank", json=body).status_code == 200


def test_the_admin_fit_skips_and_counts_unusable_rows(api, population):
    """30 normal users and rows stored before the bounds were checked (a reward of 1e160, features of 1e300):
    the fit runs on the usable rows and says how many it left out."""
    client, store = api()
    rng = np.random.default_rng(4)
    d = population.dim
    for u in range(30):
        for t in range(4):
            event = client.post("/v1/rank", json={"user_id": f"n{u}", "actions": _actions(rng, d)}).json()
            client.post(f"/v1/events/{event['event_id']}/reward", json={"reward": float(rng.normal())})
    version = store.active_version()
    for event_id, features, reward in (("bad-r", np.full(d, 0.1), 1e160), ("bad-x", np.full(d, 1e300), 1.0)):
        store.append_event(EventRecord(event_id, "hostile", 0, (1.0,), features, False, population_version=version,
                                       candidates=features[None]))
        store.set_reward(event_id, reward)  # the store takes any finite number; the bounds are the API's
    r = client.post("/v1/admin/fit", json={"k_max": 3, "min_users": 20})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["skipped_rows"] == 2 and body["skipped_users"] == 0 and body["n_users"] == 30
    assert store.population(body["version"])[1]["skipped_rows"] == 2


def test_an_unexpected_error_is_a_json_500(api, monkeypatch):
    client, _ = api()

    def boom():
        raise RuntimeError("something nobody expected")

    client.app.add_api_route("/v1/boom", boom)
    message = _error(client.get("/v1/boom"), 500, "internal")
    assert "something" not in message  # the detail stays in the server's log
    metrics = client.get("/metrics").text
    assert 'warmstart_errors_total{code="internal"} 1.0' in metrics
    assert 'path="unmatched",status="500"' in metrics or 'status="500"' in metrics


def test_an_unexpected_error_keeps_the_connection_open(tmp_path, population):
    """Under uvicorn: a 500 from an unexpected exception is JSON and the same keep-alive connection serves the
    next request (Starlette's own last resort re-raises, and uvicorn then closes the connection)."""
    import uvicorn

    store = Store.open(tmp_path / "conn.db")
    store.activate(store.add_population(population.to_bytes(), fingerprint=population.fingerprint()))
    app = create_app(store, seed=0)

    def boom():
        raise RuntimeError("unexpected")

    app.add_api_route("/v1/boom", boom)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="critical"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/v1/boom")
        first = conn.getresponse()
        body = json.loads(first.read())
        assert first.status == 500 and body["error"]["code"] == "internal"
        assert first.getheader("connection", "").lower() != "close"
        sock = conn.sock
        conn.request("GET", "/health")
        second = conn.getresponse()
        assert second.status == 200 and json.loads(second.read())["status"] == "ok"
        assert conn.sock is sock  # the same connection, not a reconnect
        conn.close()
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        store.close()


def test_a_shadow_population_passes_over_a_legacy_event_it_cannot_absorb(api, population):
    """The shadow population replays a user's log: a reward stored before the bounds were checked does not make
    the user's ranks fail."""
    client, store = api()
    shadow = store.add_population(population.to_bytes(), fingerprint=population.fingerprint())
    store.activate(shadow, mode="shadow")
    d = population.dim
    X = np.full((2, d), 1e200)
    store.append_event(EventRecord("legacy-s", "shadowed", 0, (1.0, 0.0), X[0], True,
                                   population_version=store.active_version(), candidates=X))
    store.set_reward("legacy-s", 1.0)
    rng = np.random.default_rng(5)
    r = client.post("/v1/rank", json={"user_id": "shadowed", "actions": _actions(rng, d)})
    assert r.status_code == 200, r.text
    assert len(store.shadow_decisions(shadow)) == 1
