"""The store on a real SQLite file: migrations, idempotent events and rewards, compare-and-set beliefs,
consent and erasure, population versions, API keys, and durability across reopening."""

import threading

import numpy as np
import pytest

from warmstart.store.store import ConflictError, EventRecord, NotFoundError, Store


@pytest.fixture
def store(db_url):
    s = Store.open(db_url)
    yield s
    s.close()


def _event(event_id="e1", user="u1", action=1, probs=(0.2, 0.8)):
    return EventRecord(event_id, user, action, probs, np.array([0.5, -1.0]), personalised=True,
                       population_version=None)


def test_migration_creates_the_schema_once(store):
    assert store.revision() == "0003" and store.migrate() == "0003"  # a second upgrade is a no-op
    if store.dialect == "sqlite":
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    else:
        assert store.dialect == "postgresql"


def test_events_are_idempotent_and_a_reused_id_conflicts(store):
    assert store.append_event(_event()) is True
    assert store.append_event(_event()) is False  # the same decision again: stored once
    assert store.count("events") == 1
    with pytest.raises(ConflictError, match="already used"):
        store.append_event(_event(action=0))
    got = store.event("e1")
    assert got is not None and got.propensity == 0.8 and got.reward is None
    np.testing.assert_array_equal(got.features, [0.5, -1.0])


def test_reward_is_idempotent_and_a_different_one_conflicts(store):
    store.append_event(_event())
    assert store.set_reward("e1", 1.0) is True
    assert store.set_reward("e1", 1.0) is False
    with pytest.raises(ConflictError, match="already has reward"):
        store.set_reward("e1", 0.0)
    with pytest.raises(NotFoundError):
        store.set_reward("nope", 1.0)
    assert store.event("e1").reward == 1.0


def test_pending_rewards_are_listed_for_the_default(store):
    store.append_event(_event("a"))
    store.append_event(_event("b"))
    store.set_reward("b", 0.5)
    assert store.pending_rewards(older_than=float("inf")) == ["a"]
    assert store.pending_rewards(older_than=0.0) == []


@pytest.mark.parametrize("bad, field", [
    ({"probs": (0.5, 0.6)}, "probabilities"),
    ({"action": 2}, "action"),
    ({"probs": (1.0, 0.0)}, "probabilities"),  # the chosen action had probability 0
    ({"event_id": ""}, "event_id"),
    ({"user": "x" * 200}, "user_id"),
])
def test_bad_events_are_refused_and_nothing_is_written(store, bad, field):
    with pytest.raises(ValueError, match=field):
        store.append_event(_event(**bad))
    assert store.count("events") == 0


def test_belief_writes_are_compare_and_set(store):
    assert store.put_belief("u", b"v1", population_version=1, n_events=1, expected_version=None) == 1
    with pytest.raises(ConflictError):
        store.put_belief("u", b"other", population_version=1, n_events=1, expected_version=None)
    assert store.put_belief("u", b"v2", population_version=1, n_events=2, expected_version=1) == 2
    with pytest.raises(ConflictError, match="stale"):
        store.put_belief("u", b"lost", population_version=1, n_events=2, expected_version=1)
    assert store.get_belief("u") == (b"v2", 2, 1)


def test_concurrent_writers_lose_no_update(db_url):
    """Threads increment a counter stored as a belief with read / compare-and-set / retry: every increment
    lands exactly once."""
    s = Store.open(db_url)
    s.put_belief("u", (0).to_bytes(8, "little"), population_version=1, n_events=0, expected_version=None)

    def worker():
        for _ in range(25):
            while True:
                state, version, _ = s.get_belief("u")
                value = int.from_bytes(state, "little") + 1
                try:
                    s.put_belief("u", value.to_bytes(8, "little"), population_version=1, n_events=value,
                                 expected_version=version)
                    break
                except ConflictError:
                    continue

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    state, version, _ = s.get_belief("u")
    assert int.from_bytes(state, "little") == 100 and version == 101
    s.close()


def test_forget_erases_events_and_belief_and_marks_the_user(store):
    store.append_event(_event("a", user="u1"))
    store.append_event(_event("b", user="u2"))
    store.put_belief("u1", b"x", population_version=1, n_events=1, expected_version=None)
    assert store.forget_user("u1") == 1
    assert store.user_events("u1") == [] and store.get_belief("u1") is None
    assert [e.event_id for e in store.user_events("u2")] == ["b"]
    assert store.erased_users() == {"u1"} and store.consent("u1")["erased_at"] is not None


def test_opting_out_drops_the_belief_and_is_remembered(store):
    store.put_belief("u", b"x", population_version=1, n_events=1, expected_version=None)
    assert store.consent("u") == {"opted_out": False, "erased_at": None}
    store.set_consent("u", opted_out=True)
    assert store.consent("u")["opted_out"] is True and store.get_belief("u") is None
    store.set_consent("u", opted_out=False)
    assert store.consent("u")["opted_out"] is False


def test_population_versions_activate_and_roll_back(store):
    v1 = store.add_population(b"one", fingerprint="f1", meta={"k": 3})
    v2 = store.add_population(b"two", fingerprint="f2")
    assert store.active_version() is None
    store.activate(v1)
    store.activate(v2)
    store.activate(v1, mode="shadow")
    assert store.active_version() == v2 and store.active_version("shadow") == v1
    assert store.rollback() == v1 and store.active_version() == v1
    assert store.population(v1) == (b"one", {"k": 3})
    assert [h["population_version"] for h in store.activation_history()] == [v1, v2, v1, v1]
    with pytest.raises(NotFoundError):
        store.activate(99)
    with pytest.raises(ValueError, match="mode"):
        store.activate(v1, mode="live")


def test_api_keys_are_hashed_scoped_and_revocable(store):
    key = store.create_api_key("admin")
    assert store.key_scope(key) == "admin"
    with store.engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT hash FROM api_keys").scalar()
    assert key.split("_", 2)[2] not in stored  # only the hash is kept
    assert store.key_scope(key[:-1] + ("A" if key[-1] != "A" else "B")) is None
    assert store.key_scope("garbage") is None
    store.revoke_api_key(key)
    assert store.key_scope(key) is None
    with pytest.raises(ValueError, match="scope"):
        store.create_api_key("root")


def test_committed_writes_survive_reopening(db_url):
    path = db_url
    s = Store.open(path)
    s.append_event(_event())
    s.set_reward("e1", 0.25)
    s.close()
    again = Store.open(path)
    assert again.event("e1").reward == 0.25
    again.close()


def test_a_database_at_an_older_revision_is_upgraded_in_place(db_url):
    old = Store.open(db_url, migrate=False)
    assert old.migrate("0001") == "0001"
    old.append_event(_event())
    old.close()
    new = Store.open(db_url)
    assert new.revision() == "0003" and new.event("e1") is not None
    new.add_shadow_decision("e1", 2, 0, [0.6, 0.4])
    assert new.shadow_decisions(2)[0]["action"] == 0
    new.forget_user("u1")
    assert new.shadow_decisions(2) == []
    new.close()


def test_a_reward_and_its_belief_update_commit_together(store):
    """If folding the reward into the belief fails (a crash, a stale belief), the reward is not recorded
    either, so a retry learns it: a recorded reward is never missing from the belief."""
    store.append_event(_event())

    def fail(record, conn):
        store.put_belief(record.user_id, b"half", population_version=1, n_events=1, expected_version=None,
                         conn=conn)
        raise RuntimeError("killed mid-update")

    with pytest.raises(RuntimeError):
        store.set_reward("e1", 1.0, learn=fail)
    assert store.event("e1").reward is None and store.get_belief("u1") is None

    def learn(record, conn):
        store.put_belief(record.user_id, b"ok", population_version=1, n_events=1, expected_version=None, conn=conn)

    assert store.set_reward("e1", 1.0, learn=learn) is True
    assert store.event("e1").reward == 1.0 and store.get_belief("u1") == (b"ok", 1, 1)
    assert store.set_reward("e1", 1.0, learn=learn) is False  # a duplicate does not learn again
    assert store.get_belief("u1")[1] == 1
