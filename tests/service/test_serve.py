"""`warmstart serve` for real: uvicorn in a subprocess on a free loopback port, a key from `warmstart keys
create`, a rank and a reward over HTTP, then the server is stopped by this test."""

import socket
import subprocess
import sys
import time

import httpx
import numpy as np


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_answers_over_http(tmp_path, population):
    pop_path = tmp_path / "population.npz"
    population.save(pop_path)
    db = str(tmp_path / "svc.db")
    cli = [sys.executable, "-m", "warmstart.cli"]
    key = subprocess.run([*cli, "keys", "create", "--scope", "client", "--db", db], capture_output=True, text=True,
                         check=True, timeout=120).stdout.strip()
    assert key.startswith("ws_")
    port = _free_port()
    server = subprocess.Popen([*cli, "serve", "--db", db, "--population", str(pop_path), "--port", str(port)],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None, server.stdout.read().decode() if server.stdout else "server exited"
            assert time.monotonic() < deadline, "server did not come up within 60 s"
            time.sleep(0.2)
        headers = {"Authorization": f"Bearer {key}"}
        rng = np.random.default_rng(0)
        actions = [{"features": list(rng.normal(size=population.dim))} for _ in range(4)]
        body = httpx.post(f"{base}/v1/rank", json={"user_id": "u", "actions": actions}, headers=headers,
                          timeout=10).json()
        assert 0 <= body["action"] < 4
        r = httpx.post(f"{base}/v1/events/{body['event_id']}/reward", json={"reward": 1.0}, headers=headers,
                       timeout=10)
        assert r.json()["status"] == "recorded"
        assert httpx.get(f"{base}/v1/users/u/profile", headers=headers, timeout=10).json()["events_learned_from"] == 1
        assert httpx.post(f"{base}/v1/rank", json={}, headers=headers, timeout=10).status_code == 422
    finally:
        server.terminate()
        server.wait(timeout=30)
