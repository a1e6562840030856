"""`warmstart serve` for real: uvicorn in a subprocess on a free loopback port, a key from `warmstart keys
create`, every endpoint through `warmstart.client`, then the server is stopped by this test."""

import subprocess
import sys

import httpx
import numpy as np
import pytest
from support.server import free_port, wait_healthy

from warmstart.client import ServiceError, WarmstartClient


def test_serve_answers_over_http(tmp_path, population):
    pop_path = tmp_path / "population.npz"
    population.save(pop_path)
    db = str(tmp_path / "svc.db")
    cli = [sys.executable, "-m", "warmstart.cli"]
    key = subprocess.run([*cli, "keys", "create", "--scope", "client", "--db", db], capture_output=True, text=True,
                         check=True, timeout=120).stdout.strip()
    assert key.startswith("ws_")
    port = free_port()
    server = subprocess.Popen([*cli, "serve", "--db", db, "--population", str(pop_path), "--port", str(port)],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_healthy(server, base)
        rng = np.random.default_rng(0)
        with WarmstartClient(base, key) as client:
            assert client.health()["status"] == "ok"
            decision = client.rank("u", rng.normal(size=(4, population.dim)).tolist(), ids=["a", "b", "c", "d"])
            assert 0 <= decision.action < 4 and decision.action_id == "abcd"[decision.action]
            assert client.reward(decision.event_id, 1.0) == "recorded"
            assert client.reward(decision.event_id, 1.0) == "duplicate"
            with pytest.raises(ServiceError) as err:
                client.reward(decision.event_id, 0.0)
            assert err.value.status == 409 and err.value.code == "conflict"
            assert client.profile("u")["events_learned_from"] == 1
            assert client.set_consent("u", opted_out=True)["opted_out"] is True
            assert client.forget("u")["events_deleted"] == 1
        admin_key = subprocess.run([*cli, "keys", "create", "--scope", "admin", "--db", db], capture_output=True,
                                   text=True, check=True, timeout=120).stdout.strip()
        with WarmstartClient(base, admin_key) as admin:
            for i in range(6):
                d = admin.rank(f"v{i % 3}", rng.normal(size=(3, population.dim)).tolist())
                admin.reward(d.event_id, float(i % 2))
            doc = admin.evaluate(1, n_boot=50)  # the active version against itself: on the logged propensities
            assert doc["n_events"] == 6 and doc["baseline"] == 1 and "difference" not in doc
            assert set(doc["versions"]["1"]) >= {"ips", "snips", "dm", "dr", "ess"}
            assert admin.populations()["active"] == 1
            with pytest.raises(ServiceError) as err:
                admin.rollback()
            assert err.value.status == 409 and err.value.code == "nothing_to_roll_back"
            with pytest.raises(ServiceError) as err:
                admin.fit(min_users=50)
            assert err.value.status == 409
        with WarmstartClient(base, "ws_wrong_key") as stranger, pytest.raises(ServiceError) as err:
            stranger.profile("u")
        assert err.value.status == 401
        assert httpx.post(f"{base}/v1/rank", json={}, headers={"Authorization": f"Bearer {key}"},
                          timeout=10).status_code == 422
    finally:
        server.terminate()
        server.wait(timeout=30)
