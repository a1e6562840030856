"""Service benchmark: rank + reward round trips over HTTP against a real ``warmstart serve`` (uvicorn, one
worker, a SQLite store) on 127.0.0.1, next to the same decisions made in-process. Bounded in requests and time;
the server is started and stopped here. Writes ``service.json``.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from warmstart._version import __version__
from warmstart.bench.machine import machine_info
from warmstart.bench.service_explore import exploration_support, logged_support
from warmstart.bench.service_probe import malformed_probe, unauthenticated_probe
from warmstart.families.linear.fit import FitConfig, fit_population
from warmstart.families.linear.population import Population
from warmstart.policies.base import PolicyContext
from warmstart.policies.floor import DEFAULT_EPSILON
from warmstart.policies.registry import make_policy
from warmstart.sim.linear_types import LinearTypesConfig, LinearTypesPopulation
from warmstart.store.store import Store

Progress = Callable[[str, float], None]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_up(base: str, server: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"server exited with status {server.returncode}")
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    raise TimeoutError(f"server at {base} did not answer /health within {timeout} s")


def served_population(seed: int) -> tuple[LinearTypesPopulation, Population]:
    """The simulated truth (``warmstart/LinearTypes-v0`` defaults) and the population fitted to it that the
    service benchmarks serve."""
    truth = LinearTypesPopulation(LinearTypesConfig())
    population = fit_population(truth.logged(1000, 30, seed=seed).summary(),
                                FitConfig(n_types=truth.config.n_types, split_merge=False, seed=seed))
    return truth, population


class _Http:
    """A keep-alive HTTP/1.1 connection posting JSON: the load generator's client. Python's ``http.client``
    rather than httpx, whose per-request cost would make the load generator (on the same two cores) the
    bottleneck."""

    def __init__(self, port: int, key: str) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}

    def post(self, path: str, payload: dict[str, Any]) -> tuple[int, Any]:
        self.conn.request("POST", path, body=json.dumps(payload), headers=self.headers)
        response = self.conn.getresponse()
        data = response.read()
        return response.status, (json.loads(data) if data else None)

    def close(self) -> None:
        self.conn.close()


def run_service_bench(*, round_trips: int = 2000, clients: int = 4, users: int = 200, seed: int = 0,
                      max_seconds: float = 300.0, progress: Progress | None = None, explore_users: int = 60,
                      explore_steps: int = 20) -> dict[str, Any]:
    """``round_trips`` rank + reward pairs from ``clients`` threads over keep-alive connections, at most
    ``max_seconds``; latency per round trip (rank and reward together). The exploration part serves
    ``explore_users`` x ``explore_steps`` in process, with the floor and without it."""
    report = progress or (lambda msg, frac: None)
    report("fitting a population to serve", 0.0)
    truth, population = served_population(seed)
    cfg = truth.config
    rng = np.random.default_rng(seed)
    X = truth.candidates(rng, (round_trips,))
    thetas = truth.sample_users(users, rng).theta
    who = rng.integers(users, size=round_trips)
    rewards = np.einsum("nad,nd->na", X, thetas[who])

    # the same decisions and updates in-process, for the overhead
    inproc_us, inproc_act_us = _in_process(population, cfg.dim, X, who, rewards, users, seed)

    work = Path(tempfile.mkdtemp(prefix="warmstart-bench-service-"))
    pop_path = work / "population.npz"
    population.save(pop_path)
    db = str(work / "service.db")
    cli = [sys.executable, "-m", "warmstart.cli"]
    key = subprocess.run([*cli, "keys", "create", "--db", db], capture_output=True, text=True, check=True,
                         timeout=120).stdout.strip()
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    report("starting the server", 0.1)
    server = subprocess.Popen([*cli, "serve", "--db", db, "--population", str(pop_path), "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_up(base, server)
        warm = _Http(port, key)  # the server's first decisions load and compile its kernels: not timed
        for i in range(20):
            _, body = warm.post("/v1/rank", {"user_id": "warm-up", "actions": [{"features": r.tolist()} for r in X[i]]})
            warm.post(f"/v1/events/{body['event_id']}/reward", {"reward": 0.0})
        warm.close()
        report("round trips", 0.2)
        latencies, rank_latencies, errors, wall = _round_trips(port, key, X, who, rewards, clients, max_seconds)
        report("malformed input", 0.9)
        probe_http = _Http(port, key)
        _, first = probe_http.post("/v1/rank", {"user_id": "probe", "actions": [{"features": r.tolist()} for r in X[0]]})
        probe_http.close()
        probes = {"malformed": malformed_probe(port, key, dim=cfg.dim, event_id=first["event_id"]),
                  "unauthenticated": unauthenticated_probe(port)}
        served_support = _served_support(db)
    finally:
        server.terminate()
        server.wait(timeout=30)
        for p in work.iterdir():
            p.unlink()
        os.rmdir(work)
    done = latencies[np.isfinite(latencies)]
    ranked = rank_latencies[np.isfinite(latencies)]
    report("done", 1.0)
    return {
        "version": __version__,
        "machine": machine_info(),
        "config": {"round_trips": round_trips, "clients": clients, "users": users, "seed": seed,
                   "store": "sqlite (WAL, synchronous=FULL)", "workers": 1, "policy": "mixture_ids",
                   "load_generator": f"{clients} threads, one keep-alive http.client connection each",
                   "max_seconds": max_seconds},
        "sqlite_one_worker": {
            "round_trips_done": int(done.size),
            "round_trips_per_s": float(done.size / wall) if wall > 0 else None,
            "p50_ms": float(np.percentile(done, 50) * 1e3) if done.size else None,
            "p99_ms": float(np.percentile(done, 99) * 1e3) if done.size else None,
            "errors": len(errors), "error_kinds": sorted(set(errors)),
        },
        "inprocess_act_update_us": inproc_us,
        "inprocess_act_us": inproc_act_us,
        "rank_p50_ms": float(np.median(ranked) * 1e3) if done.size else None,
        "rank_overhead_ms": float(np.median(ranked) * 1e3 - inproc_act_us / 1e3) if done.size else None,
        "overhead_ms_per_round_trip": (float(np.mean(done)) * 1e3 - inproc_us / 1e3) if done.size else None,
        "probes": {**probes, "schemathesis": _schemathesis(population, work_root=None)},
        "exploration": _exploration(truth, population, served_support, seed, explore_users, explore_steps),
    }


def _exploration(truth: LinearTypesPopulation, population: Population, served: dict[str, Any], seed: int,
                 users: int, steps: int) -> dict[str, Any]:
    """The served log's smallest probabilities against the floor's bound, and the support the floor gives."""
    return {"epsilon": DEFAULT_EPSILON, "served_log": served,
            "bound": DEFAULT_EPSILON / max(served["n_candidates"] or [1]),
            "support": exploration_support(truth, population, epsilon=DEFAULT_EPSILON, users=users, steps=steps,
                                           seed=seed)}


def _served_support(db: str) -> dict[str, Any]:
    """What the server logged (it runs with the default exploration floor): its smallest probabilities."""
    store = Store.open(db)
    try:
        return logged_support(store)
    finally:
        store.close()


def _in_process(population: Population, dim: int, X: np.ndarray, who: np.ndarray, rewards: np.ndarray, users: int,
                seed: int) -> tuple[float, float]:
    """Microseconds per act + update, and per act alone, of the served policy in this process on the same
    round trips (after one untimed decision that compiles or loads the kernels)."""
    round_trips = X.shape[0]
    policy = make_policy("mixture_ids", PolicyContext(dim=dim, population=population), seed=seed)
    states = [policy.new_user() for _ in range(users)]
    warm = policy.new_user()
    policy.update(warm, X[0], policy.act(warm, X[0]).action, 0.0)  # compile / load the kernels first
    acting = 0.0
    t0 = time.perf_counter()
    for i in range(round_trips):
        ta = time.perf_counter()
        d = policy.act(states[who[i]], X[i])
        acting += time.perf_counter() - ta
        policy.update(states[who[i]], X[i], d.action, float(rewards[i, d.action]))
    inproc_us = (time.perf_counter() - t0) / round_trips * 1e6
    inproc_act_us = acting / round_trips * 1e6
    return inproc_us, inproc_act_us


def _round_trips(port: int, key: str, X: np.ndarray, who: np.ndarray, rewards: np.ndarray, clients: int,
                 max_seconds: float) -> tuple[np.ndarray, np.ndarray, list[str], float]:
    """The round trips (rank, then reward) from ``clients`` threads, one keep-alive connection each, for at
    most ``max_seconds``: latency per round trip and per rank (NaN where not done), the errors, the wall
    time."""
    round_trips = X.shape[0]
    latencies = np.full(round_trips, np.nan)
    rank_latencies = np.full(round_trips, np.nan)
    errors: list[str] = []
    deadline = time.monotonic() + max_seconds
    next_i = iter(range(round_trips))
    lock = threading.Lock()

    def worker() -> None:
        http = _Http(port, key)
        try:
            while time.monotonic() < deadline:
                with lock:
                    i = next(next_i, None)
                if i is None:
                    return
                t = time.perf_counter()
                acts = [{"features": row.tolist()} for row in X[i]]
                status, body = http.post("/v1/rank", {"user_id": f"u{who[i]}", "actions": acts})
                rank_latencies[i] = time.perf_counter() - t
                if status != 200:
                    errors.append(f"rank {status}")
                    continue
                status, _ = http.post(f"/v1/events/{body['event_id']}/reward",
                                      {"reward": float(rewards[i, body["action"]])})
                if status != 200:
                    errors.append(f"reward {status}")
                    continue
                latencies[i] = time.perf_counter() - t
        finally:
            http.close()

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wall = time.perf_counter() - t0
    return latencies, rank_latencies, errors, wall


def _schemathesis(population: Any, *, work_root: str | None, max_examples: int = 20) -> dict[str, Any]:
    """Schemathesis on every operation of the OpenAPI schema, in process, on a fresh SQLite store serving
    ``population`` (needs the dev extra's schemathesis)."""
    from warmstart.bench.service_probe import schemathesis_probe
    from warmstart.service.app import create_app
    from warmstart.store.store import Store

    with tempfile.TemporaryDirectory(prefix="warmstart-fuzz-", dir=work_root) as tmp:
        store = Store.open(Path(tmp) / "fuzz.db")
        try:
            store.activate(store.add_population(population.to_bytes(), fingerprint=population.fingerprint()))
            return schemathesis_probe(create_app(store, seed=0), store.create_api_key("admin"),
                                      max_examples=max_examples)
        finally:
            store.close()
