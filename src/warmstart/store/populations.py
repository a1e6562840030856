"""Population versions in the store: each fitted population's bytes under a version number, which one is
active (and which one shadows it), and the history of activations to roll back along.
"""

from __future__ import annotations

import json
import time
from typing import Any

from sqlalchemy import insert, select

from warmstart.store import schema as S
from warmstart.store.database import Database
from warmstart.store.records import NotFoundError


class PopulationVersions(Database):
    """The store's population versions (``warmstart.store.store.Store`` has these methods): add, activate, roll
    back.

    >>> from warmstart.store.store import Store
    >>> store = Store.open("versions.db")
    >>> v1 = store.add_population(b"population v1 bytes", fingerprint="aaaa", meta={"n_types": 3})
    >>> v2 = store.add_population(b"population v2 bytes", fingerprint="bbbb")
    >>> store.activate(v1), store.activate(v2, mode="shadow"), store.active_version(), store.active_version("shadow")
    (None, None, 1, 2)
    >>> store.activate(v2), store.rollback(), store.population(v1)
    (None, 1, (b'population v1 bytes', {'n_types': 3}))
    >>> [(h["population_version"], h["mode"]) for h in store.activation_history()]
    [(1, 'active'), (2, 'shadow'), (2, 'active'), (1, 'active')]
    >>> store.activate(7)
    Traceback (most recent call last):
    ...
    warmstart.store.records.NotFoundError: population version: no version 7
    >>> store.close()
    """

    def add_population(self, data: bytes, *, fingerprint: str, meta: dict[str, Any] | None = None) -> int:
        """Store a population version (its own versioned bytes); return its version number."""
        json.dumps(meta or {})  # fail here, not in the database, on metadata that is not JSON
        with self._tx() as conn:
            res = conn.execute(insert(S.populations).values(created_at=time.time(), fingerprint=fingerprint,
                                                            data=data, meta=meta or {}))
            key = res.inserted_primary_key
            assert key is not None
            return int(key[0])

    def activate(self, version: int, *, mode: str = "active", note: str = "") -> None:
        """Make ``version`` the active population (or the shadow one, with ``mode="shadow"``)."""
        if mode not in ("active", "shadow"):
            raise ValueError(f"mode: expected 'active' or 'shadow', got {mode!r}")
        with self._tx() as conn:
            if conn.execute(select(S.populations.c.version).where(S.populations.c.version == version)).first() is None:
                raise NotFoundError(f"population version: no version {version}")
            conn.execute(insert(S.activations).values(population_version=version, activated_at=time.time(),
                                                      mode=mode, note=note))

    def rollback(self, *, note: str = "rollback") -> int:
        """Re-activate the population that was active before the current one; return its version."""
        history = [h for h in self.activation_history() if h["mode"] == "active"]
        if len(history) < 2:
            raise NotFoundError("population version: nothing to roll back to")
        previous = history[-2]["population_version"]
        self.activate(previous, note=note)
        return int(previous)

    def active_version(self, mode: str = "active") -> int | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(S.activations.c.population_version).where(S.activations.c.mode == mode)
                               .order_by(S.activations.c.id.desc()).limit(1)).first()
        return None if row is None else int(row.population_version)

    def population(self, version: int) -> tuple[bytes, dict[str, Any]]:
        with self.engine.connect() as conn:
            row = conn.execute(select(S.populations.c.data, S.populations.c.meta)
                               .where(S.populations.c.version == version)).first()
        if row is None:
            raise NotFoundError(f"population version: no version {version}")
        return bytes(row.data), dict(row.meta)

    def activation_history(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(S.activations).order_by(S.activations.c.id)).mappings().all()
        return [dict(r) for r in rows]
