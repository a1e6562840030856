"""A served population under client load, for the service benchmarks: ``warmstart serve`` started on 127.0.0.1
and stopped (only processes started here are signalled, by their pid), the run's work folder removed however
the run ends, and client threads doing rank + reward round trips that record what the service acknowledged
(``AckedReward``) and what failed.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import numpy as np

from warmstart.families.linear.population import Population
from warmstart.sim.linear_types import LinearTypesPopulation


@dataclass(frozen=True)
class AckedReward:
    """A reward the service acknowledged (HTTP 200): it must be in the log and in the user's belief."""

    event_id: str
    user_id: str
    reward: float



# ---------------------------------------------------------------------------------------------- shared parts
def _prepare(work: Path, db: str, population: Population) -> tuple[str, Path]:
    """A client key in the store (migrated here) and the population file ``serve`` activates."""
    from warmstart.store.store import Store

    store = Store.open(db)
    try:
        key = store.create_api_key("client")
    finally:
        store.close()
    pop_path = work / "population.npz"
    population.save(pop_path)
    return key, pop_path


def _start(db: str, pop_path: Path, port: int, log: Path, workers: int = 1) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "warmstart.cli", "serve", "--db", db, "--population",
                                 str(pop_path), "--host", "127.0.0.1", "--port", str(port),
                                 "--workers", str(workers)], stdout=out, stderr=subprocess.STDOUT)


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _stop(server: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL to the server and the worker processes it started (each by its pid)."""
    if server.poll() is not None:
        return
    children = _children(server.pid)
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        for pid in [*children, *_children(server.pid)]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        server.kill()
        server.wait(timeout=30)


class _Run:
    """The server and load of one benchmark run and its work folder: stopped and removed however the run ends;
    an error comes back with the tail of the server's log."""

    def __init__(self, what: str, work: Path, log: Path) -> None:
        self.what, self.work, self.log = what, work, log
        self.server: subprocess.Popen[bytes] | None = None
        self.load: _Load | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: object, exc: BaseException | None, tb: object) -> None:
        failed = isinstance(exc, Exception)
        tail = _log_tail(self.log) if failed else ""
        if self.load is not None:
            self.load.stop.set()
        if self.server is not None:
            _stop(self.server)
        shutil.rmtree(self.work, ignore_errors=True)
        if failed:
            raise RuntimeError(f"{self.what}: {exc}; server log: {tail}") from exc


def _log_tail(log: Path, chars: int = 800) -> str:
    try:
        return " ".join(log.read_text(errors="replace")[-chars:].split())
    except OSError:
        return ""


@dataclass
class _Load:
    """Client threads doing rank + reward round trips on ``base`` until ``stop`` is set or ``budget`` round
    trips are taken. A reward request that fails in transport is retried (same value) while ``retry`` is set."""

    base: str
    key: str
    truth: LinearTypesPopulation
    thetas: np.ndarray
    seed: int
    clients: int
    deadline: float
    budget: int | None = None
    keepalive: bool = True
    retry_rewards: bool = True
    epoch: int = 0
    stop: threading.Event = field(default_factory=threading.Event)
    acked: list[AckedReward] = field(default_factory=list)
    acked_epoch: list[int] = field(default_factory=list)
    first_ack: dict[int, float] = field(default_factory=dict)  # epoch -> perf_counter of its first ack
    decisions: list[str] = field(default_factory=list)
    unacknowledged: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    retried: Counter[str] = field(default_factory=Counter)  # answers to reward requests sent again, by status
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _taken: int = 0
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        self._threads = [threading.Thread(target=self._client, args=(i,), daemon=True) for i in range(self.clients)]
        for th in self._threads:
            th.start()

    def join(self) -> None:
        for th in self._threads:
            th.join(timeout=max(1.0, self.deadline - time.monotonic() + 60))

    def wait_first_ack(self, epoch: int, timeout: float) -> bool:
        """Wait until a round trip of ``epoch`` (a server run) was acknowledged: the load has reached it."""
        end = time.monotonic() + timeout
        while epoch not in self.first_ack:
            if time.monotonic() > end:
                return False
            time.sleep(0.01)
        return True

    def _take(self) -> bool:
        with self._lock:
            if self.stop.is_set() or time.monotonic() > self.deadline:
                return False
            if self.budget is not None and self._taken >= self.budget:
                return False
            self._taken += 1
            return True

    def _client(self, i: int) -> None:
        import httpx

        rng = np.random.default_rng([self.seed, i])
        limits = httpx.Limits(max_keepalive_connections=None if self.keepalive else 0)
        with httpx.Client(base_url=self.base, headers={"Authorization": f"Bearer {self.key}"}, timeout=30,
                          limits=limits) as http:
            while self._take():
                u = int(rng.integers(len(self.thetas)))
                X = self.truth.candidates(rng, ())
                t0 = time.perf_counter()
                try:
                    r = http.post("/v1/rank", json={"user_id": f"u{u}", "actions": [{"features": x.tolist()}
                                                                                     for x in X]})
                except httpx.TransportError as exc:
                    self._error(f"rank: {type(exc).__name__}")
                    time.sleep(0.05)  # the server is down (killed): wait for its restart
                    continue
                if r.status_code != 200:
                    self._error(f"rank {r.status_code} {_code(r)}")
                    continue
                body = r.json()
                event_id, reward = body["event_id"], float(X[body["action"]] @ self.thetas[u])
                with self._lock:
                    self.decisions.append(event_id)
                if self._reward(http, event_id, reward, attempt=0):
                    with self._lock:
                        self.acked.append(AckedReward(event_id, f"u{u}", reward))
                        self.acked_epoch.append(self.epoch)
                        self.first_ack.setdefault(self.epoch, time.perf_counter())
                        self.latencies.append(time.perf_counter() - t0)
                else:
                    with self._lock:
                        self.unacknowledged.append(event_id)

    def _reward(self, http: Any, event_id: str, reward: float, attempt: int) -> bool:
        import httpx

        while True:
            try:
                r = http.post(f"/v1/events/{event_id}/reward", json={"reward": reward})
            except httpx.TransportError as exc:
                self._error(f"reward: {type(exc).__name__}")
                if not self.retry_rewards or time.monotonic() > self.deadline + 30:
                    return False
                attempt += 1
                time.sleep(0.05)
                continue
            if attempt:
                with self._lock:  # "duplicate": the first attempt was committed before the server died
                    self.retried[r.json().get("status", "?") if r.status_code == 200 else str(r.status_code)] += 1
            if r.status_code == 200:
                return True
            self._error(f"reward {r.status_code} {_code(r)}")
            return False

    def _error(self, kind: str) -> None:
        with self._lock:
            self.errors[kind] += 1


def _code(r: Any) -> str:
    try:
        return str(r.json()["error"]["code"])
    except Exception:  # noqa: BLE001 - any body that is not our error shape
        return "?"


def _ms(latencies: list[float], q: float) -> float | None:
    return float(np.percentile(latencies, q) * 1e3) if latencies else None
