"""Durability of the service, measured for real: the server killed with SIGKILL under load on SQLite loses no
acknowledged reward, two workers on PostgreSQL lose no belief update, and the check behind both catches a
lost reward, a changed reward and a belief set back to an older state."""

import os

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from support.postgres import fresh_database

from warmstart.bench.service_durability import (
    AckedReward,
    check_log_against_beliefs,
    run_kill_bench,
    run_postgres_two_workers,
)
from warmstart.families.linear.model import summarise_rows
from warmstart.service.app import create_app
from warmstart.service.engine import Engine
from warmstart.store import schema as S
from warmstart.store.store import Store

CLEAN = {"acknowledged_missing_from_log": 0, "acknowledged_wrong_in_log": 0,
         "acknowledged_decisions_missing_from_log": 0, "rewards_in_log_not_in_belief": 0,
         "rewards_in_belief_not_in_log": 0, "lost_updates": 0, "mismatched_beliefs": 0,
         "n_events_column_mismatches": 0}


def _problems(check):
    return {k: check[k] for k in CLEAN if check[k]}


def test_kill_9_under_load_loses_no_acknowledged_reward():
    out = run_kill_bench(kills=3, clients=2, users=20, seconds_between=(0.4, 0.8), seed=1, max_seconds=40)
    assert out["kills_done"] == 3 and not out["stopped_early"]
    assert out["lost_acknowledged_rewards"] == 0
    assert _problems(out["check"]) == {}, out["check"]["examples"]
    # load reached the server before the first kill and after every restart, so the check had work to do
    assert len(out["acknowledged_per_server_run"]) == 4
    assert all(n > 0 for n in out["acknowledged_per_server_run"]), out["acknowledged_per_server_run"]
    # the load picks a random user per round trip: on a slow machine one of the 20 may never be reached, so the
    # check must cover most of them (and no user the load never had), not every one
    assert 10 <= out["check"]["users_checked"] <= 20
    # the kills were felt: requests failed to reach the server (a rank, or a reward being retried through a restart)
    assert sum(v for k, v in out["errors_by_kind"].items() if k.startswith(("rank:", "reward:"))) > 0, out[
        "errors_by_kind"]


def _older_belief(store, eng, user):
    """The user's belief replayed from all but their last rewarded event: a lost update, written over theirs."""
    rows = [e for e in store.user_events(user) if e.reward is not None]
    X = np.stack([e.features for e in rows[:-1]])
    r = np.array([e.reward for e in rows[:-1]])
    from warmstart.families.linear.belief import BeliefBatch

    inner = getattr(eng.policy, "inner", eng.policy)  # under the exploration floor, the policy it wraps
    old = BeliefBatch.from_summary(inner.prior(None), summarise_rows(np.zeros(len(X), dtype=np.int64), X, r, 1)).user(0)
    stored = store.get_belief(user)
    store.put_belief(user, old.to_bytes(), population_version=eng.version, n_events=len(X),
                     expected_version=stored[1])
    return len(rows)


def test_two_workers_on_postgresql_lose_no_update(postgres_url):
    url = fresh_database(postgres_url, f"durability_{os.getpid()}")
    out = run_postgres_two_workers(round_trips=200, clients=4, users=5, seed=2, max_seconds=60, url=url)
    assert out["round_trips_done"] + out["busy_503"] == 200, out["errors_by_kind"]
    assert out["users_checked"] == 5
    assert out["lost_updates"] == 0 and out["mismatched_beliefs"] == 0
    assert _problems(out["check"]) == {}, out["check"]["examples"]
    # both workers served rank requests (else there were no concurrent writers to lose updates between)
    assert len(out["per_worker"]) == 2 and all(w["rank_200"] > 0 for w in out["per_worker"]), out["per_worker"]
    # negative control on the same data: one belief set back by one event is reported as a lost update
    store = Store.open(url)
    try:
        _older_belief(store, Engine(store), "u0")
        check = check_log_against_beliefs(store, [])
    finally:
        store.close()
    assert check["lost_updates"] == 1 and check["rewards_in_log_not_in_belief"] == 1
    assert check["mismatched_beliefs"] == 1 and "u0" in check["examples"][0]


def test_the_check_catches_a_lost_reward_a_changed_reward_and_an_older_belief(tmp_path, population):
    store = Store.open(tmp_path / "svc.db")
    store.activate(store.add_population(population.to_bytes(), fingerprint=population.fingerprint()))
    client = TestClient(create_app(store, seed=0))
    client.headers["Authorization"] = f"Bearer {store.create_api_key('client')}"
    rng = np.random.default_rng(0)
    acked = []
    for i in range(24):
        user = f"u{i % 3}"
        acts = [{"features": list(rng.normal(size=population.dim) / np.sqrt(population.dim))} for _ in range(5)]
        body = client.post("/v1/rank", json={"user_id": user, "actions": acts}).json()
        reward = float(rng.normal())
        assert client.post(f"/v1/events/{body['event_id']}/reward", json={"reward": reward}).status_code == 200
        acked.append(AckedReward(body["event_id"], user, reward))
    decisions = [a.event_id for a in acked]
    try:
        assert _problems(check_log_against_beliefs(store, acked, decisions=decisions)) == {}

        def set_reward(event_id, value):
            with store.engine.begin() as conn:
                conn.execute(update(S.events).where(S.events.c.event_id == event_id).values(reward=value))

        set_reward(acked[-1].event_id, None)  # an acknowledged reward gone from the log (the belief kept it)
        assert _problems(check_log_against_beliefs(store, acked)) == {
            "acknowledged_missing_from_log": 1, "rewards_in_belief_not_in_log": 1, "mismatched_beliefs": 1}
        set_reward(acked[-1].event_id, acked[-1].reward)
        set_reward(acked[0].event_id, acked[0].reward + 1.0)  # a changed reward: same count, other statistics
        assert _problems(check_log_against_beliefs(store, acked)) == {
            "acknowledged_wrong_in_log": 1, "mismatched_beliefs": 1}
        set_reward(acked[0].event_id, acked[0].reward)
        assert _problems(check_log_against_beliefs(store, acked)) == {}
        _older_belief(store, Engine(store), "u1")  # a lost update: the belief misses the last reward
        assert _problems(check_log_against_beliefs(store, acked)) == {
            "rewards_in_log_not_in_belief": 1, "lost_updates": 1, "mismatched_beliefs": 1}
    finally:
        store.close()


def test_two_workers_on_sqlite_work_too(tmp_path):
    """`serve --workers 2` on a SQLite file (WAL, busy timeout): slower, but nothing lost."""
    out = run_postgres_two_workers(round_trips=60, clients=2, users=3, seed=3, max_seconds=60,
                                   url=f"sqlite:///{tmp_path / 'two.db'}")
    assert out["config"]["store"] == "sqlite" and out["round_trips_done"] + out["busy_503"] == 60
    assert _problems(out["check"]) == {}, out["check"]["examples"]
    assert len(out["per_worker"]) == 2, out["per_worker"]


def test_the_throwaway_cluster_comes_from_the_checkouts_test_support(monkeypatch, tmp_path):
    """Without a database URL the PostgreSQL run starts the tests' own cluster, found in a source checkout only;
    an installed package (no tests/support/postgres.py beside it) says to pass --postgres-url."""
    from pathlib import Path

    import support.postgres

    from warmstart.bench import service_durability

    cluster = service_durability.checkout_cluster()
    assert Path(cluster.__wrapped__.__code__.co_filename).resolve() == Path(support.postgres.__file__).resolve()
    monkeypatch.setattr(service_durability, "CHECKOUT_CLUSTER", tmp_path / "tests" / "support" / "postgres.py")
    with pytest.raises(RuntimeError, match="expected a database URL .*--postgres-url.*--no-postgres"):
        service_durability.checkout_cluster()
    with pytest.raises(RuntimeError, match="--postgres-url"):
        run_postgres_two_workers(round_trips=1, url=None)
