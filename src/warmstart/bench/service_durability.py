"""Service durability benchmarks, against a real ``warmstart serve`` on 127.0.0.1 (started and stopped here):

- ``run_kill_bench``: the SQLite store (WAL, ``synchronous=FULL``) under rank + reward load while the server is
  killed with SIGKILL ``kills`` times and restarted on the same file; afterwards every acknowledged reward must
  be in the event log, and every user's stored belief must equal the one replayed from the log.
- ``run_postgres_two_workers``: rank + reward round trips on PostgreSQL with two worker processes updating
  the same few users' beliefs (compare-and-set); throughput, latency, and the same replay check for lost updates.
  On a database the caller gives, or on a throwaway cluster that only a source checkout can start (the tests'
  ``tests/support/postgres.py``: test support, not in the installed package).

``check_log_against_beliefs(store, acknowledged)`` is the check both end with, on the store directly. A client
counts a round trip as acknowledged only when its reward request got a 200 answer (a reward request that
failed on a dead server is retried with the same value, which the API takes idempotently). Bounded in count
and time; only processes started here are signalled, by their pid.
"""

from __future__ import annotations

import importlib.util
import os
import re
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import numpy as np

from warmstart._version import __version__
from warmstart.bench.machine import machine_info
from warmstart.bench.service import _free_port, _wait_up, served_population
from warmstart.bench.service_load import AckedReward, _Load, _ms, _prepare, _Run, _start, _stop

Progress = Callable[[str, float], None]
_EXAMPLES = 10  # problem descriptions kept in a report, as evidence


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
    examples: list[str] = []

    def note(text: str) -> None:
        if len(examples) < _EXAMPLES:
            examples.append(text)

    acked = list(acknowledged)
    missing, wrong = _check_acknowledged_rewards(store, acked, note)
    decided = list(decisions)
    decisions_missing = _check_acknowledged_decisions(store, decided, note)
    beliefs = _check_beliefs(store, policy, rtol, note)
    return {
        "acknowledged_rewards": len(acked),
        "acknowledged_missing_from_log": missing,
        "acknowledged_wrong_in_log": wrong,
        "acknowledged_decisions": len(decided),
        "acknowledged_decisions_missing_from_log": decisions_missing,
        **beliefs,
        "examples": examples,
    }


def _check_acknowledged_rewards(store: Any, acked: list[AckedReward], note: Callable[[str], None]) -> tuple[int, int]:
    """Acknowledged rewards missing from the events table, and those on another user or with another value."""
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
    return missing, wrong


def _check_acknowledged_decisions(store: Any, decided: list[str], note: Callable[[str], None]) -> int:
    """Acknowledged decisions (event ids) missing from the events table."""
    decisions_missing = 0
    for event_id in decided:
        if store.event(event_id) is None:
            decisions_missing += 1
            note(f"acknowledged decision {event_id}: not in the log")
    return decisions_missing


def _check_beliefs(store: Any, policy: str, rtol: float, note: Callable[[str], None]) -> dict[str, int]:
    """Every user's stored belief against the replay of their rewarded, personalised events under the active
    population version: counts of users checked, rewards in one and not the other, lost updates, mismatched
    beliefs and ``n_events`` columns that disagree with the belief."""
    from sqlalchemy import select, union

    from warmstart.families.linear.model import summarise_rows
    from warmstart.service.app import Engine
    from warmstart.store import schema as S

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
            belief = eng.policy.state_from_bytes(stored[0])  # a Belief: the check runs with the default policy
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
        "users_checked": len(users),
        "rewards_in_log_not_in_belief": not_in_belief,
        "rewards_in_belief_not_in_log": not_in_log,
        "lost_updates": lost,
        "mismatched_beliefs": mismatched,
        "n_events_column_mismatches": n_col_bad,
    }


def _stats(A: np.ndarray, b: np.ndarray, c: float) -> np.ndarray:
    """A belief's sufficient statistics besides the count, flat: ``sum x x'``, ``sum x r``, ``sum r^2``."""
    return np.concatenate([np.ravel(A), np.ravel(b), [float(c)]])


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
    deadline = time.monotonic() + max_seconds
    with _Run("kill bench", work, log) as run:
        key, pop_path = _prepare(work, db, population)
        report("starting the server", 0.05)
        server = run.server = _start(db, pop_path, port, log)
        _wait_up(base, server)
        load = run.load = _Load(base, key, truth, thetas, seed, clients, deadline=deadline)
        load.start()
        kills_done, exited_by_itself, t_kill, to_healthy = _kill_under_load(
            run, load, lambda: _start(db, pop_path, port, log), base, kills, rng, (lo, hi), deadline, report)
        server = run.server  # the run started after the last kill
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


def _kill_under_load(run: _Run, load: _Load, restart: Callable[[], subprocess.Popen[bytes]], base: str, kills: int,
                     rng: np.random.Generator, seconds_between: tuple[float, float], deadline: float,
                     report: Progress) -> tuple[int, int, dict[int, float], list[float]]:
    """SIGKILL the server of ``run`` up to ``kills`` times, each a seeded random interval in ``seconds_between``
    after the load reached it, and ``restart`` it (healthy at ``base``) after each kill; stops at ``deadline``.
    Returns the kills done, the server runs that had exited by themselves, when the run before each epoch was
    killed and the seconds from each kill to a healthy server."""
    lo, hi = seconds_between
    server = run.server
    assert server is not None
    to_healthy: list[float] = []
    t_kill: dict[int, float] = {}  # epoch -> when the server run before it was killed
    exited_by_itself = 0
    kills_done = 0
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
        server = run.server = restart()
        _wait_up(base, server)
        to_healthy.append(time.perf_counter() - t_kill[k + 1])
        report(f"kill {k + 1}/{kills}", 0.1 + 0.8 * (k + 1) / max(kills, 1))
    return kills_done, exited_by_itself, t_kill, to_healthy


# ---------------------------------------------------------------------------------------------- two workers
# label values may hold braces (the reward route's path is /v1/events/{event_id}/reward)
_WORKER = re.compile(r'^warmstart_worker_info\{pid="([0-9]+)"\}', re.MULTILINE)
_METRIC = re.compile(r"^warmstart_(requests_total|errors_total)\{(.*)\} ([0-9.eE+]+)$", re.MULTILINE)


def _worker_views(base: str, scrapes: int = 300, workers: int = 2) -> list[dict[str, float]]:
    """``/metrics`` of each worker (each has its own counters): scraped on new connections, which the kernel
    hands to either worker, told apart by the process id each reports (``warmstart_worker_info``), until
    ``workers`` were seen or after ``scrapes`` tries (on a busy machine one worker can win many accepts in a
    row, so a few dozen tries may see only one)."""
    import httpx

    views: dict[str, dict[str, float]] = {}
    for _ in range(scrapes):
        if len(views) >= workers:
            break
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


#: the throwaway PostgreSQL cluster of the tests, in a source checkout (``src/warmstart/bench/`` -> repo root)
CHECKOUT_CLUSTER = Path(__file__).resolve().parents[3] / "tests" / "support" / "postgres.py"


def checkout_cluster() -> Callable[[], AbstractContextManager[str]]:
    """``throwaway_cluster`` of the source checkout's ``tests/support/postgres.py`` (a PostgreSQL server of our
    own, gone on exit): the benchmark's PostgreSQL run uses it when given no database. It is test support and
    not in the installed package, so elsewhere a ``RuntimeError`` says to pass a database URL."""
    if not CHECKOUT_CLUSTER.is_file():
        raise RuntimeError(f"PostgreSQL: expected a database URL (--postgres-url postgresql+psycopg://...) or a "
                           f"source checkout of warmstart (its tests/support/postgres.py starts a throwaway "
                           f"cluster), got neither (no {CHECKOUT_CLUSTER}); pass --postgres-url with an empty "
                           "database, or --no-postgres to skip the PostgreSQL run")
    spec = importlib.util.spec_from_file_location("warmstart_checkout_postgres", CHECKOUT_CLUSTER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.throwaway_cluster  # type: ignore[no-any-return]


def run_postgres_two_workers(*, round_trips: int = 2000, clients: int = 4, users: int = 50, seed: int = 0,
                             max_seconds: float = 300.0, url: str | None = None,
                             progress: Progress | None = None) -> dict[str, Any]:
    """``round_trips`` rank + reward round trips from ``clients`` threads against ``warmstart serve --workers 2``
    on PostgreSQL (``url``, an empty database; ``None``: a throwaway cluster started here, from a source
    checkout only, see ``checkout_cluster``), one connection per request so that both workers serve them; then
    ``check_log_against_beliefs`` on the store. ``url`` may also name a SQLite file (``sqlite:///...``): two
    workers work there too, one writer at a time."""
    if round_trips < 1 or clients < 1 or users < 1 or not max_seconds > 0:
        raise ValueError(f"round_trips, clients, users, max_seconds: expected positive, got {round_trips}, "
                         f"{clients}, {users}, {max_seconds}")
    if url is None:
        with checkout_cluster()() as own:
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
