"""Service durability benchmarks, against a real ``warmstart serve`` on 127.0.0.1 (started and stopped here):

- ``run_kill_bench``: the SQLite store (WAL, ``synchronous=FULL``) under rank + reward load while the server is
  killed with SIGKILL ``kills`` times and restarted on the same file; afterwards every acknowledged reward must
  be in the event log, and every user's stored belief must equal the one replayed from the log.
- ``run_postgres_two_workers``: rank + reward round trips on PostgreSQL with two worker processes updating
  the same few users' beliefs (compare-and-set); throughput, latency, and the same replay check for lost updates.

``check_log_against_beliefs(store, acknowledged)`` is the check both end with, on the store directly. A client
counts a round trip as acknowledged only when its reward request got a 200 answer (a reward request that
failed on a dead server is retried with the same value, which the API takes idempotently). Bounded in count
and time; only processes started here are signalled, by their pid.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import numpy as np

from warmstart._version import __version__
from warmstart.bench.machine import machine_info
from warmstart.bench.service import _free_port, _wait_up, served_population
from warmstart.families.linear.population import Population
from warmstart.sim.linear_types import LinearTypesPopulation

Progress = Callable[[str, float], None]
_EXAMPLES = 10  # problem descriptions kept in a report, as evidence


@dataclass(frozen=True)
class AckedReward:
    """A reward the service acknowledged (HTTP 200): it must be in the log and in the user's belief."""

    event_id: str
    user_id: str
    reward: float


# ---------------------------------------------------------------------------------------------- the check
def check_log_against_beliefs(store: Any, acknowledged: Iterable[AckedReward], *, decisions: Iterable[str] = (),
                              policy: str = "mixture_ids", rtol: float = 1e-6) -> dict[str, Any]:
    """Check the store (a ``warmstart.store.store.Store``, no server running) against what clients were told.

    1. Every acknowledged reward is in the events table, on the same user, with the same value; every
       acknowledged decision (``decisions``: event ids a rank answered with 200) is in the table.
    2. Every user's stored belief is the replay of the log: its event count (``Belief.n`` and the ``n_events``
       column) equals the number of the user's rewarded, personalised events under the active population
       version, and its sufficient statistics (``A``, ``b``, ``c``) equal those summed from those events, to
       ``rtol`` (the linear-Gaussian belief is order-independent up to float rounding).
    """
    from sqlalchemy import select, union

    from warmstart.families.linear.belief import Belief
    from warmstart.families.linear.model import summarise_rows
    from warmstart.service.app import Engine
    from warmstart.store import schema as S

    examples: list[str] = []

    def note(text: str) -> None:
        if len(examples) < _EXAMPLES:
            examples.append(text)

    acked = list(acknowledged)
    missing = wrong = 0
    for a in acked:
        ev = store.event(a.event_id)
        if ev is None or ev.reward is None:
            missing += 1
            note(f"acknowledged reward {a.reward!r} of event {a.event_id} (user {a.user_id}): "
                 f"{'no such event' if ev is None else 'event has no reward'} in the log")
        elif ev.user_id != a.user_id or float(ev.reward) != a.reward:
            wrong += 1
            note(f"event {a.event_id}: acknowledged user {a.user_id} reward {a.reward!r}, log has user "
                 f"{ev.user_id} reward {ev.reward!r}")
    decided = list(decisions)
    decisions_missing = 0
    for event_id in decided:
        if store.event(event_id) is None:
            decisions_missing += 1
            note(f"acknowledged decision {event_id}: not in the log")

    eng = Engine(store, policy=policy)
    with store.engine.connect() as conn:
        users = sorted(r[0] for r in conn.execute(union(select(S.events.c.user_id), select(S.beliefs.c.user_id))))
        n_col = dict(conn.execute(select(S.beliefs.c.user_id, S.beliefs.c.n_events)).all())
    not_in_belief = not_in_log = lost = mismatched = n_col_bad = 0
    for user in users:
        rows = [e for e in store.user_events(user)
                if e.reward is not None and e.personalised and e.population_version == eng.version]
        n_log = len(rows)
        if rows:
            X = np.stack([e.features for e in rows])
            r = np.array([e.reward for e in rows], dtype=float)
            replay = summarise_rows(np.zeros(n_log, dtype=np.int64), X, r, 1)
            want = _stats(replay.A[0], replay.b[0], replay.c[0])
        else:
            want = _stats(np.zeros((eng.population.dim,) * 2), np.zeros(eng.population.dim), 0.0)
        stored = store.get_belief(user)
        have: np.ndarray | None = None
        n_held = 0
        if stored is not None and stored[2] == eng.version:
            belief = Belief.from_bytes(stored[0], eng.prior)
            n_held, have = round(belief.n), _stats(belief.A, belief.b, belief.c)
            if n_col.get(user) != n_held:
                n_col_bad += 1
                note(f"user {user}: n_events column {n_col.get(user)} but the belief holds {n_held} events")
        if n_held < n_log:
            lost += 1
            not_in_belief += n_log - n_held
        elif n_held > n_log:
            not_in_log += n_held - n_log
        same_stats = n_log == 0 if have is None else bool(np.allclose(have, want, rtol=rtol, atol=1e-9))
        if n_held != n_log or not same_stats:
            mismatched += 1
            note(f"user {user}: belief holds {n_held} events, the log has {n_log} rewarded"
                 + ("" if n_held != n_log else "; same count but the statistics differ from the replay"))
    return {
        "acknowledged_rewards": len(acked),
        "acknowledged_missing_from_log": missing,
        "acknowledged_wrong_in_log": wrong,
        "acknowledged_decisions": len(decided),
        "acknowledged_decisions_missing_from_log": decisions_missing,
        "users_checked": len(users),
        "rewards_in_log_not_in_belief": not_in_belief,
        "rewards_in_belief_not_in_log": not_in_log,
        "lost_updates": lost,
        "mismatched_beliefs": mismatched,
        "n_events_column_mismatches": n_col_bad,
        "examples": examples,
    }


def _stats(A: np.ndarray, b: np.ndarray, c: float) -> np.ndarray:
    """A belief's sufficient statistics besides the count, flat: ``sum x x'``, ``sum x r``, ``sum r^2``."""
    return np.concatenate([np.ravel(A), np.ravel(b), [float(c)]])


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


# ---------------------------------------------------------------------------------------------- kill -9
def run_kill_bench(*, kills: int = 20, clients: int = 4, users: int = 100,
                   seconds_between: tuple[float, float] = (0.5, 1.5), seed: int = 0, max_seconds: float = 600.0,
                   progress: Progress | None = None) -> dict[str, Any]:
    """SIGKILL the server ``kills`` times under load (at seeded random intervals in ``seconds_between`` after
    it is healthy), restart it on the same SQLite file each time, then check the store against every
    acknowledged reward (``check_log_against_beliefs``). Stops early (and says so) after ``max_seconds``."""
    from warmstart.store.store import Store

    lo, hi = seconds_between
    if kills < 0 or clients < 1 or users < 1 or not 0 <= lo <= hi or not max_seconds > 0:
        raise ValueError(f"kills, clients, users, seconds_between, max_seconds: expected kills >= 0, clients >= 1, "
                         f"users >= 1, 0 <= low <= high, max_seconds > 0, got {kills}, {clients}, {users}, "
                         f"{seconds_between}, {max_seconds}")
    report = progress or (lambda msg, frac: None)
    t_start = time.perf_counter()
    report("fitting a population to serve", 0.0)
    truth, population = served_population(seed)
    thetas = truth.sample_users(users, np.random.default_rng([seed, 10**6])).theta
    rng = np.random.default_rng([seed, 10**6 + 1])
    work = Path(tempfile.mkdtemp(prefix="warmstart-kill-"))
    db, log = str(work / "service.db"), work / "server.log"
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    to_healthy: list[float] = []
    t_kill: dict[int, float] = {}  # epoch -> when the server run before it was killed
    exited_by_itself = 0
    kills_done = 0
    deadline = time.monotonic() + max_seconds
    with _Run("kill bench", work, log) as run:
        key, pop_path = _prepare(work, db, population)
        report("starting the server", 0.05)
        server = run.server = _start(db, pop_path, port, log)
        _wait_up(base, server)
        load = run.load = _Load(base, key, truth, thetas, seed, clients, deadline=deadline)
        load.start()
        for k in range(kills):
            # the interval starts once the load reaches this server run (its first request is slow: the
            # population is loaded and the kernels too), so that every kill lands under load
            load.wait_first_ack(k, timeout=max(0.0, min(30.0, deadline - time.monotonic())))
            time.sleep(float(rng.uniform(lo, hi)))
            if time.monotonic() > deadline:
                break
            if server.poll() is not None:
                exited_by_itself += 1
            else:
                os.kill(server.pid, signal.SIGKILL)  # our own child, by its pid
            t_kill[k + 1] = time.perf_counter()
            server.wait(timeout=30)
            load.epoch = k + 1  # from here on, an acknowledgement comes from the next server run
            kills_done += 1
            server = run.server = _start(db, pop_path, port, log)
            _wait_up(base, server)
            to_healthy.append(time.perf_counter() - t_kill[k + 1])
            report(f"kill {k + 1}/{kills}", 0.1 + 0.8 * (k + 1) / max(kills, 1))
        load.wait_first_ack(kills_done, timeout=max(0.0, min(30.0, deadline - time.monotonic())))
        time.sleep(float(rng.uniform(lo, hi)) if time.monotonic() < deadline else 0.0)  # load on the last one
        load.stop.set()
        load.join()
        _stop(server)
        report("checking the log and the beliefs", 0.95)
        store = Store.open(db)
        try:
            check = check_log_against_beliefs(store, load.acked, decisions=load.decisions)
            unacked_in_log = sum(1 for e in load.unacknowledged if (ev := store.event(e)) and ev.reward is not None)
        finally:
            store.close()
    per_epoch = np.bincount(np.asarray(load.acked_epoch, dtype=np.int64), minlength=kills_done + 1)
    to_first_ack = [load.first_ack[e] - t for e, t in t_kill.items() if e in load.first_ack]
    report("done", 1.0)
    return {
        "version": __version__,
        "machine": machine_info(),
        "config": {"kills": kills, "clients": clients, "users": users, "seconds_between": [lo, hi], "seed": seed,
                   "max_seconds": max_seconds, "store": "sqlite (WAL, synchronous=FULL)", "workers": 1,
                   "policy": "mixture_ids", "signal": "SIGKILL"},
        "kills_done": kills_done,
        "stopped_early": kills_done < kills,
        "server_exited_by_itself": exited_by_itself,
        "round_trips_acknowledged": len(load.acked),
        "acknowledged_per_server_run": [int(x) for x in per_epoch],
        "rewards_acknowledged_after_a_retry": dict(sorted(load.retried.items())),
        "round_trips_unacknowledged": len(load.unacknowledged),
        "unacknowledged_rewards_in_log": unacked_in_log,
        "restart_to_healthy_mean_s": float(np.mean(to_healthy)) if to_healthy else None,
        "restart_to_healthy_max_s": float(np.max(to_healthy)) if to_healthy else None,
        "kill_to_first_acknowledged_mean_s": float(np.mean(to_first_ack)) if to_first_ack else None,
        "kill_to_first_acknowledged_max_s": float(np.max(to_first_ack)) if to_first_ack else None,
        "errors_by_kind": dict(sorted(load.errors.items())),
        "check": check,
        "lost_acknowledged_rewards": check["acknowledged_missing_from_log"] + check["acknowledged_wrong_in_log"],
        "wall_s": time.perf_counter() - t_start,
    }


# ---------------------------------------------------------------------------------------------- two workers
# label values may hold braces (the reward route's path is /v1/events/{event_id}/reward)
_WORKER = re.compile(r'^warmstart_worker_info\{pid="([0-9]+)"\}', re.MULTILINE)
_METRIC = re.compile(r"^warmstart_(requests_total|errors_total)\{(.*)\} ([0-9.eE+]+)$", re.MULTILINE)


def _worker_views(base: str, scrapes: int = 24) -> list[dict[str, float]]:
    """``/metrics`` of each worker (each has its own counters): scraped on new connections, which the kernel
    hands to either worker, told apart by the process id each reports (``warmstart_worker_info``)."""
    import httpx

    views: dict[str, dict[str, float]] = {}
    for _ in range(scrapes):
        try:
            text = httpx.get(f"{base}/metrics", timeout=5).text
        except httpx.TransportError:
            continue
        view = {"rank_200": 0.0, "reward_200": 0.0, "busy": 0.0}
        for name, labels, value in _METRIC.findall(text):
            if name == "requests_total" and 'status="200"' in labels and 'method="POST"' in labels:
                if 'path="/v1/rank"' in labels:
                    view["rank_200"] += float(value)
                elif "reward" in labels:
                    view["reward_200"] += float(value)
            elif name == "errors_total" and 'code="busy"' in labels:
                view["busy"] += float(value)
        worker = _WORKER.search(text)
        views[worker.group(1) if worker else f"{view['rank_200']}/{view['reward_200']}"] = view
    return list(views.values())


def _event_updates(url: str) -> int | None:
    """Rows of the events table updated so far, committed or rolled back (PostgreSQL counts attempted
    updates in ``pg_stat_user_tables.n_tup_upd``); None if the statistics cannot be read."""
    from sqlalchemy import create_engine, text

    eng = create_engine(url)
    try:
        with eng.connect() as conn:
            value = conn.execute(text("SELECT n_tup_upd FROM pg_stat_user_tables WHERE relname = 'events'")).scalar()
        return None if value is None else int(value)
    except Exception:  # noqa: BLE001 - statistics are a bonus, never a failure
        return None
    finally:
        eng.dispose()


def _settled_event_updates(url: str) -> int | None:
    """``_event_updates`` once the server's backends have exited and reported (it stops changing)."""
    last = _event_updates(url)
    for _ in range(20):
        time.sleep(0.5)
        now = _event_updates(url)
        if now == last:
            return now
        last = now
    return last


def run_postgres_two_workers(*, round_trips: int = 2000, clients: int = 4, users: int = 50, seed: int = 0,
                             max_seconds: float = 300.0, url: str | None = None,
                             progress: Progress | None = None) -> dict[str, Any]:
    """``round_trips`` rank + reward round trips from ``clients`` threads against ``warmstart serve --workers 2``
    on PostgreSQL (``url``, an empty database, or a throwaway cluster started here), one connection per request
    so that both workers serve them; then ``check_log_against_beliefs`` on the store. ``url`` may also name a
    SQLite file (``sqlite:///...``): two workers work there too, one writer at a time."""
    if round_trips < 1 or clients < 1 or users < 1 or not max_seconds > 0:
        raise ValueError(f"round_trips, clients, users, max_seconds: expected positive, got {round_trips}, "
                         f"{clients}, {users}, {max_seconds}")
    if url is None:
        from warmstart.bench.pgcluster import throwaway_cluster

        with throwaway_cluster() as own:
            return _two_workers(own, "throwaway cluster (fsync=on)", round_trips, clients, users, seed,
                                max_seconds, progress)
    return _two_workers(url, "given", round_trips, clients, users, seed, max_seconds, progress)


def _two_workers(url: str, source: str, round_trips: int, clients: int, users: int, seed: int, max_seconds: float,
                 progress: Progress | None) -> dict[str, Any]:
    from warmstart.store.store import Store

    report = progress or (lambda msg, frac: None)
    t_start = time.perf_counter()
    report("fitting a population to serve", 0.0)
    truth, population = served_population(seed)
    thetas = truth.sample_users(users, np.random.default_rng([seed, 10**6])).theta
    work = Path(tempfile.mkdtemp(prefix="warmstart-pg2-"))
    log = work / "server.log"
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    with _Run("two-worker bench", work, log) as run:
        key, pop_path = _prepare(work, url, population)
        updates_before = _event_updates(url)
        store = Store.open(url)
        rewarded_before = _rewarded(store)
        store.close()
        report("starting two workers", 0.05)
        server = run.server = _start(url, pop_path, port, log, workers=2)
        _wait_up(base, server)
        load = run.load = _Load(base, key, truth, thetas, seed, clients, deadline=time.monotonic() + max_seconds,
                                budget=round_trips, keepalive=False, retry_rewards=False)
        report("round trips", 0.1)
        t0 = time.perf_counter()
        load.start()
        load.join()
        wall = time.perf_counter() - t0
        views = _worker_views(base)
        _stop(server)
        report("checking the log and the beliefs", 0.9)
        updates_after = _settled_event_updates(url)
        store = Store.open(url)
        try:
            check = check_log_against_beliefs(store, load.acked, decisions=load.decisions)
            rewarded_now = _rewarded(store)
        finally:
            store.close()
    retries = None
    if updates_before is not None and updates_after is not None:
        retries = updates_after - updates_before - (rewarded_now - rewarded_before)
    rank_total = sum(v["rank_200"] for v in views)
    report("done", 1.0)
    return {
        "version": __version__,
        "machine": machine_info(),
        "config": {"round_trips": round_trips, "clients": clients, "users": users, "seed": seed,
                   "max_seconds": max_seconds, "store": url.split(":", 1)[0].split("+")[0],
                   "database": source, "workers": 2,
                   "policy": "mixture_ids", "connections": "one per request (spreads requests over the workers)"},
        "round_trips_done": len(load.acked),
        "round_trips_per_s": len(load.acked) / wall if wall > 0 else None,
        "p50_ms": _ms(load.latencies, 50),
        "p99_ms": _ms(load.latencies, 99),
        "wall_s_round_trips": wall,
        "errors": int(sum(load.errors.values())),
        "errors_by_kind": dict(sorted(load.errors.items())),
        "busy_503": int(sum(n for k, n in load.errors.items() if k.startswith("reward 503"))),
        "cas_retries_upper_bound": retries,
        "cas_retries_source": ("reward updates rolled back (pg_stat_user_tables.n_tup_upd of events, which counts "
                               "rolled-back updates too, minus the rewards committed): each compare-and-set "
                               "retry rolls one back; a group commit re-running a failed job's batchmates "
                               "rolls theirs back too, hence an upper bound" if retries is not None
                               else "not observable"),
        "per_worker": [{k: int(v) for k, v in view.items()} for view in views],
        "per_worker_complete": bool(len(views) == 2 and rank_total == len(load.decisions)),
        "users_checked": check["users_checked"],
        "lost_updates": check["lost_updates"],
        "mismatched_beliefs": check["mismatched_beliefs"],
        "check": check,
        "wall_s": time.perf_counter() - t_start,
    }


def _rewarded(store: Any) -> int:
    from sqlalchemy import func, select

    from warmstart.store import schema as S

    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(S.events)
                                .where(S.events.c.reward.is_not(None))).scalar_one())
