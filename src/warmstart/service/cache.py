"""In-memory caches of one server process, each safe with several workers on one database.

- ``BeliefCache``: decoded beliefs by user, tagged with the stored row they were decoded from (its version and
  its bytes). Decoding a belief recomputes its per-type posterior from the stored statistics (a Cholesky
  factorisation per type), the largest cost of a request; a hit needs the stored row to be the same, so a belief
  another worker has moved on (or a reset user's old belief) is never used. An entry is added only after the
  transaction that wrote it has committed.
- ``KeyCache``: the scope of each API key for a few seconds, so that a request does not need a database read
  to authenticate. A revoked key stops working within ``ttl`` seconds.

Why not ``cachetools`` (``LRUCache``, ``TTLCache``) or ``functools.lru_cache``: ``BeliefCache`` is not a plain
LRU map. A hit must match the stored row (version and bytes) given at lookup, ``latest`` reads an entry without
making it recent, the cache hands out and keeps copies made by the serving policy's ``copy_state``, a user is
dropped on erasure, reset or consent change (``ServiceState.uncache``), ``size=0`` turns it off (``export``
decodes without filling it) and it counts hits and misses; ``lru_cache`` memoizes a function and offers none of
these, and ``cachetools``' classes are not thread-safe (each would still need this lock, and a wrapper per
method), so the ``OrderedDict`` below is the shorter code. ``KeyCache`` would be a ``TTLCache`` plus the same
lock, the same hashing of the key and the same lookup-then-store: no shorter, for a new dependency of the
``service`` extra.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

Stored = tuple[bytes, int, int]  # a belief row: (state, version, population version), as Store.get_belief
State = Any  # a decoded per-user state of the serving policy (copied with the policy's copy_state)


class BeliefCache:
    """Least-recently-used map ``user_id -> (stored row, Belief)``, at most ``size`` entries. ``get`` hands
    out a copy, so a caller may update it freely."""

    def __init__(self, size: int = 50_000, copy: Callable[[State], State] = lambda state: state.copy()) -> None:
        if size < 0:
            raise ValueError(f"size: expected a number of beliefs >= 0, got {size}")
        self.size = size
        self._copy = copy
        self._items: OrderedDict[str, tuple[Stored, State]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, user_id: str, stored: Stored) -> State | None:
        """The cached belief if it was decoded from exactly this stored row, else None."""
        with self._lock:
            item = self._items.get(user_id)
            if item is None or item[0] != stored:
                self.misses += 1
                return None
            self._items.move_to_end(user_id)
            self.hits += 1
            return self._copy(item[1])

    def latest(self, user_id: str, population_version: int) -> tuple[Stored, State] | None:
        """``(stored row, belief copy)`` last cached for the user under this population, unchecked against
        the store: a compare-and-set write naming that row's version and bytes is the check."""
        with self._lock:
            item = self._items.get(user_id)
            if item is None or item[0][2] != population_version:
                return None
            return item[0], self._copy(item[1])

    def put(self, user_id: str, stored: Stored, belief: State) -> None:
        """Remember a belief as stored (committed) in row ``stored``; the cache keeps its own copy."""
        if self.size == 0:
            return
        with self._lock:
            self._items[user_id] = (stored, self._copy(belief))
            self._items.move_to_end(user_id)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def drop(self, user_id: str) -> None:
        with self._lock:
            self._items.pop(user_id, None)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


class KeyCache:
    """The scope (or None for an invalid key) of each key looked up in the last ``ttl`` seconds, keyed by the
    key's hash so that no plaintext key is kept."""

    def __init__(self, lookup: Callable[[str], str | None], ttl: float = 5.0, size: int = 10_000) -> None:
        self._lookup, self.ttl, self.size = lookup, ttl, size
        self._items: dict[str, tuple[float, str | None]] = {}
        self._lock = threading.Lock()

    def scope(self, key: str) -> str | None:
        digest = hashlib.sha256(key.encode()).hexdigest()
        now = time.monotonic()
        with self._lock:
            item = self._items.get(digest)
        if item is not None and item[0] > now:
            return item[1]
        scope = self._lookup(key)
        with self._lock:
            if len(self._items) >= self.size:  # a flood of made-up keys must not grow memory without bound
                self._items.clear()
            self._items[digest] = (now + self.ttl, scope)
        return scope
