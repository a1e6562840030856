"""The service's in-memory caches on their own: the belief cache's LRU bound, row-checked hits, copies and
per-user drop; the key cache's expiry, size bound and hashing, and both under threads."""

from __future__ import annotations

import threading

import pytest

from warmstart.service import cache as cache_module
from warmstart.service.cache import BeliefCache, KeyCache


def row(version: int, data: bytes = b"x", population: int = 1) -> tuple[bytes, int, int]:
    return data, version, population


def test_belief_cache_hits_only_the_row_it_was_decoded_from():
    c = BeliefCache(size=10)
    c.put("u", row(1), [1.0])
    assert c.get("u", row(1)) == [1.0]
    assert c.get("u", row(2)) is None  # another worker moved on
    assert c.get("u", row(1, b"y")) is None  # same version, other bytes: a reset and relearn
    assert c.get("v", row(1)) is None
    assert (c.hits, c.misses) == (1, 3)


def test_belief_cache_hands_out_and_keeps_copies():
    c = BeliefCache(size=10)
    state = [1.0]
    c.put("u", row(1), state)
    state.append(2.0)  # the caller's later changes do not reach the cache
    got = c.get("u", row(1))
    assert got == [1.0]
    got.append(3.0)
    assert c.get("u", row(1)) == [1.0]
    stored, latest = c.latest("u", 1)
    assert stored == row(1) and latest == [1.0]
    assert c.latest("u", 2) is None  # another population version


def test_belief_cache_evicts_the_least_recently_used_and_drops_on_request():
    c = BeliefCache(size=2)
    c.put("a", row(1), [0])
    c.put("b", row(1), [0])
    assert c.get("a", row(1)) is not None  # a is now the most recent
    c.put("c", row(1), [0])
    assert len(c) == 2
    assert c.get("b", row(1)) is None and c.get("a", row(1)) is not None
    assert c.latest("c", 1) is not None
    c.drop("a")
    c.drop("nobody")
    assert c.get("a", row(1)) is None and len(c) == 1
    c.clear()
    assert len(c) == 0


def test_belief_cache_of_size_zero_keeps_nothing_and_rejects_a_negative_size():
    c = BeliefCache(size=0)
    c.put("u", row(1), [0])
    assert len(c) == 0 and c.get("u", row(1)) is None
    with pytest.raises(ValueError, match="size: expected a number of beliefs >= 0, got -1"):
        BeliefCache(size=-1)


def test_belief_cache_stays_bounded_and_consistent_under_threads():
    c = BeliefCache(size=50)

    def work(k: int) -> None:
        for i in range(2000):
            user = f"u{(k * 7 + i) % 120}"
            c.put(user, row(i), [i])
            got = c.get(user, row(i))
            assert got is None or got == [i]

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(c) == 50


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_key_cache_answers_from_memory_until_the_ttl_has_passed(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(cache_module.time, "monotonic", clock)
    scopes = {"k1": "admin"}
    calls: list[str] = []

    def lookup(key: str) -> str | None:
        calls.append(key)
        return scopes.get(key)

    keys = KeyCache(lookup, ttl=5.0)
    assert keys.scope("k1") == "admin" and keys.scope("nope") is None
    del scopes["k1"]  # revoked
    clock.now += 4.9
    assert keys.scope("k1") == "admin" and keys.scope("nope") is None  # within the ttl: no lookup
    assert calls == ["k1", "nope"]
    clock.now += 0.2
    assert keys.scope("k1") is None  # expired: looked up again
    assert calls == ["k1", "nope", "k1"]
    assert all("k1" not in digest for digest in keys._items)  # only hashes are kept


def test_key_cache_memory_is_bounded_by_its_size():
    keys = KeyCache(lambda key: None, ttl=60.0, size=10)
    for i in range(95):
        keys.scope(f"made-up-{i}")
        assert len(keys._items) <= 10
