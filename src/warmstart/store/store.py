"""The service's store: decisions, rewards, beliefs, population versions, API keys and consent, on SQLite (the
embedded default, in WAL mode) or PostgreSQL (``postgresql+psycopg://...``), through one SQLAlchemy Core code
path.

Guarantees the API builds on:

- **Idempotent events.** Writing the same decision twice stores it once; a different decision under an id
  already used is a ``ConflictError`` (HTTP 409), and so is a second, different reward for one event.
- **No lost belief update.** A belief is written only if its stored ``version`` is still the one the writer
  read (compare-and-set); a concurrent writer gets a ``ConflictError`` and retries on the fresh state.
- **Durable once acknowledged.** Every write is its own committed transaction before the call returns.
  SQLite runs in WAL mode with ``synchronous=FULL``, so a committed write survives the process being killed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
from sqlalchemy import Connection, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from warmstart._validate import check_reward
from warmstart.store import schema as S
from warmstart.store import statements as Q
from warmstart.store.api_keys import SCOPES, APIKeys
from warmstart.store.populations import PopulationVersions
from warmstart.store.records import (
    ConflictError,
    EventRecord,
    NotFoundError,
    StaleBeliefError,
    StoreError,
    check_id,
    event_from_row,
)

# the records and errors are defined in warmstart.store.records, the key scopes in warmstart.store.api_keys;
# importing them from here works too
__all__ = ["SCOPES", "ConflictError", "EventRecord", "NotFoundError", "StaleBeliefError", "Store", "StoreError"]


class Store(PopulationVersions, APIKeys):
    """A connection pool on one database. ``Store.open("warmstart.db")`` (a SQLite file) or
    ``Store.open("postgresql+psycopg://user@host/db")``; ``migrate()`` brings the schema to the latest
    version.

    The connection, the schema and the transactions are ``warmstart.store.database.Database``'s; population
    versions and API keys are kept by ``warmstart.store.populations`` and ``warmstart.store.api_keys``. A tour,
    section by section (the service calls these; errors are ``warmstart.store.records``'):

    >>> import numpy as np
    >>> store = Store.open("ws.db")                   # a SQLite file, migrated to the latest schema
    >>> store.dialect, store.revision(), store.migrate()
    ('sqlite', '0003', '0003')

    Decisions and rewards: an event is stored once; its reward once.

    >>> record = EventRecord(event_id="e1", user_id="ann", action=1, probabilities=(0.25, 0.75),
    ...                      features=np.array([0.0, 1.0]), personalised=True)
    >>> store.append_event(record), store.append_event(record)          # new, then the same decision again
    (True, False)
    >>> store.event("e1").propensity, [r.event_id for r in store.user_events("ann")]
    (0.75, ['e1'])
    >>> store.pending_rewards(older_than=float("inf"))                 # events still waiting for a reward
    ['e1']
    >>> store.set_reward("e1", 1.0), store.set_reward("e1", 1.0)
    (True, False)
    >>> user, X, reward = store.rewarded_events()                      # what the next fit reads
    >>> user.tolist(), X.tolist(), reward.tolist(), store.rewarded_events_since(None)[3] is not None
    ([0], [[0.0, 1.0]], [1.0], True)
    >>> store.add_shadow_decision("e1", population_version=2, action=0, probabilities=[0.5, 0.5])
    >>> [d["action"] for d in store.shadow_decisions(2)]
    [0]

    Beliefs: compare-and-set on a version number.

    >>> store.put_belief("ann", b"state-1", population_version=1, n_events=1, expected_version=None)
    1
    >>> store.get_belief("ann"), store.user_state("ann")              # (state, version, population version)
    ((b'state-1', 1, 1), (False, (b'state-1', 1, 1)))
    >>> store.put_belief("ann", b"state-2", population_version=1, n_events=2, expected_version=1)
    2
    >>> [[u for u, _ in batch] for batch in store.iter_beliefs(batch_size=10)], store.count_beliefs()
    ([['ann']], 1)

    Users: reset, consent, erasure.

    >>> store.reset_user("ann")                                        # the belief goes, the events stay
    >>> store.get_belief("ann"), store.count("events")
    (None, 1)
    >>> store.set_consent("bob", opted_out=True)
    >>> store.consent("bob"), store.user_state("bob")
    ({'opted_out': True, 'erased_at': None}, (True, None))
    >>> store.forget_user("ann"), store.erased_users(), store.erased_since(0.0), store.count("events")
    (1, {'ann'}, 1, 0)

    Population versions: add, activate, roll back.

    >>> v1 = store.add_population(b"population v1 bytes", fingerprint="aaaa", meta={"n_types": 3})
    >>> v2 = store.add_population(b"population v2 bytes", fingerprint="bbbb")
    >>> store.activate(v1), store.activate(v2), store.active_version()
    (None, None, 2)
    >>> store.rollback(), store.active_version(), store.population(v1)
    (1, 1, (b'population v1 bytes', {'n_types': 3}))
    >>> [h["population_version"] for h in store.activation_history()]
    [1, 2, 1]

    API keys: only their hash is stored.

    >>> key = store.create_api_key("admin")
    >>> key[:3], store.key_scope(key), store.key_scope("ws_forged_key")
    ('ws_', 'admin', None)
    >>> store.revoke_api_key(key)
    >>> store.key_scope(key) is None
    True
    >>> store.close()
    """

    # ------------------------------------------------------------------ events
    def append_event(self, record: EventRecord) -> bool:
        """Store a decision; True if new, False if the identical decision was stored before."""
        record.validate()
        row = {
            "event_id": record.event_id, "user_id": record.user_id,
            "created_at": record.created_at or time.time(), "population_version": record.population_version,
            "action": int(record.action), "propensity": float(record.propensity),
            "probabilities": [float(x) for x in record.probabilities],
            "features": np.asarray(record.features, dtype="<f8").tobytes(), "reward": None, "rewarded_at": None,
            "reward_default": False, "personalised": bool(record.personalised),
        }
        if record.candidates is not None:
            row["candidates"] = np.ascontiguousarray(record.candidates, dtype="<f8").tobytes()
        try:
            self._write(lambda conn: conn.execute(Q.INSERT_EVENT, row))
            return True
        except IntegrityError:
            stored = self.event(record.event_id)
            same = stored is not None and (stored.user_id, stored.action, stored.probabilities) == (
                record.user_id, record.action, tuple(float(x) for x in record.probabilities))
            if not same:
                raise ConflictError(f"event_id: {record.event_id!r} is already used by another decision") from None
            return False

    def add_shadow_decision(self, event_id: str, population_version: int, action: int,
                            probabilities: Sequence[float]) -> None:
        """Log what the shadow population would have chosen for a served event (not served)."""
        with self._tx() as conn:
            conn.execute(insert(S.shadow_decisions).values(event_id=event_id, population_version=population_version,
                                                           action=int(action),
                                                           probabilities=[float(p) for p in probabilities]))

    def shadow_decisions(self, population_version: int) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(S.shadow_decisions)
                                .where(S.shadow_decisions.c.population_version == population_version)).mappings()
            return [dict(r) for r in rows]

    def event(self, event_id: str) -> EventRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(S.events).where(S.events.c.event_id == event_id)).mappings().first()
        return None if row is None else event_from_row(row)

    def user_events(self, user_id: str) -> list[EventRecord]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(S.events).where(S.events.c.user_id == user_id)
                                .order_by(S.events.c.created_at, S.events.c.event_id)).mappings().all()
        return [event_from_row(r) for r in rows]

    def set_reward(self, event_id: str, reward: object, *, default: bool = False,
                   learn: Callable[[EventRecord, Connection], None] | None = None) -> bool:
        """Record the reward of an event; True if recorded now, False if the same reward was recorded before.
        A different reward for an event that has one is a ``ConflictError``; an unknown event ``NotFoundError``.

        ``learn(record, conn)`` runs inside the same transaction when the reward is new (the service folds it
        into the user's belief there): the reward and the belief update commit together or not at all, so a
        crash can never leave a recorded reward that the belief has not learned. An exception from ``learn``
        (e.g. ``StaleBeliefError``) rolls both back."""
        value = check_reward("reward", reward)
        now = time.time()

        def job(conn: Connection) -> Any:
            row = conn.execute(Q.SET_REWARD, {"b_event": event_id, "b_reward": value, "b_at": now,
                                              "b_default": default}).mappings().first()
            if row is None:
                return conn.execute(Q.REWARD_OF, {"b_event": event_id}).first()
            if learn is not None:
                learn(event_from_row(row), conn)
            return True

        stored = self._write(job)
        if stored is True:
            return True
        if stored is None:
            raise NotFoundError(f"event_id: no event {event_id!r}")
        if stored.reward != value:
            raise ConflictError(f"reward: event {event_id!r} already has reward {stored.reward}, got {value}")
        return False

    def pending_rewards(self, older_than: float) -> list[str]:
        """Events without a reward created before ``older_than`` (epoch seconds): due a default reward."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(S.events.c.event_id).where(S.events.c.reward.is_(None),
                                                                  S.events.c.created_at < older_than)).all()
        return [r.event_id for r in rows]

    def rewarded_events(self, *, exclude_erased: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(user index, features (n, d), reward)`` of every rewarded event, users of erased accounts left out:
        what a new population is fitted on."""
        return self.rewarded_events_since(None, exclude_erased=exclude_erased)[:3]

    def rewarded_events_since(self, after: float | None, *, exclude_erased: bool = True
                              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, float | None]:
        """As ``rewarded_events``, for the users whose first reward came after ``after`` (every user if None):
        the new users an incremental fit takes; and the time of the latest reward read (None if none), which
        the next incremental fit starts after."""
        e = S.events
        query = (select(e.c.user_id, e.c.features, e.c.reward, e.c.rewarded_at).where(e.c.reward.is_not(None))
                 .order_by(e.c.user_id, e.c.created_at))
        if after is not None:
            first = (select(e.c.user_id).where(e.c.reward.is_not(None)).group_by(e.c.user_id)
                     .having(func.min(e.c.rewarded_at) > after))
            query = query.where(e.c.user_id.in_(first))
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        erased = self.erased_users() if exclude_erased else set()
        rows = [r for r in rows if r.user_id not in erased]
        if not rows:
            return np.zeros(0, dtype=np.int64), np.zeros((0, 0)), np.zeros(0), None
        _, user = np.unique([r.user_id for r in rows], return_inverse=True)
        X = np.stack([np.frombuffer(r.features, dtype="<f8") for r in rows])
        latest = max(float(r.rewarded_at) for r in rows)
        return user.astype(np.int64), X, np.array([float(r.reward) for r in rows]), latest

    def erased_since(self, when: float) -> int:
        """Accounts erased after ``when`` (seconds since the epoch)."""
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(S.consent)
                                    .where(S.consent.c.erased_at > when)).scalar_one())

    # ------------------------------------------------------------------ beliefs
    def get_belief(self, user_id: str, conn: Connection | None = None) -> tuple[bytes, int, int] | None:
        """``(state, version, population_version)`` of the user's belief, or None."""
        with self._within(conn) as c:
            row = c.execute(Q.GET_BELIEF, {"b_user": user_id}).first()
        return None if row is None else (bytes(row.state), int(row.version), int(row.population_version))

    def iter_beliefs(self, batch_size: int = 1000, population_version: int | None = None
                     ) -> Iterator[list[tuple[str, tuple[bytes, int, int]]]]:
        """Every stored belief (under ``population_version`` only, if given) in batches of at most ``batch_size``
        users, in user order: ``[(user_id, (state, version, population_version)), ...]``. Each batch is one
        short read (keyset pagination on the user id), so memory holds one batch and no transaction stays
        open between batches; a belief written meanwhile is seen if its user comes after the current batch."""
        if batch_size < 1:
            raise ValueError(f"batch_size: expected at least 1 belief per batch, got {batch_size}")
        b = S.beliefs
        query = select(b.c.user_id, b.c.state, b.c.version, b.c.population_version).order_by(b.c.user_id)
        if population_version is not None:
            query = query.where(b.c.population_version == population_version)
        after: str | None = None
        while True:
            page = query if after is None else query.where(b.c.user_id > after)
            with self.engine.connect() as conn:
                rows = conn.execute(page.limit(batch_size)).all()
            if not rows:
                return
            yield [(r.user_id, (bytes(r.state), int(r.version), int(r.population_version))) for r in rows]
            if len(rows) < batch_size:
                return
            after = rows[-1].user_id

    def user_state(self, user_id: str) -> tuple[bool, tuple[bytes, int, int] | None]:
        """``(opted_out, belief)`` in one query: what ranking a user needs (``belief`` as ``get_belief``)."""
        with self.engine.connect() as conn:
            opted_out, state, version, population_version = conn.execute(Q.USER_STATE, {"b_user": user_id}).one()
        belief = None if state is None else (bytes(state), int(version), int(population_version))
        return bool(opted_out), belief

    def put_belief(self, user_id: str, state: bytes, *, population_version: int, n_events: int,
                   expected_version: int | None, expected_state: bytes | None = None,
                   conn: Connection | None = None) -> int:
        """Write the user's belief if its stored version is still ``expected_version`` (None: no belief yet),
        and, when ``expected_state`` is given, its stored bytes are still those; return the new version.
        Otherwise ``StaleBeliefError``: re-read and apply the update again. (A writer that did not read the row
        in this transaction names the bytes too: a user reset and re-learned can reach the same version
        number with other contents.)"""
        check_id("user_id", user_id, 128)
        now = time.time()
        with self._within(conn) as c:
            if expected_version is None:
                try:
                    c.execute(Q.INSERT_BELIEF, {"user_id": user_id, "population_version": population_version,
                                                "state": state, "n_events": n_events, "version": 1,
                                                "updated_at": now})
                except IntegrityError:
                    raise StaleBeliefError(f"belief of {user_id!r}: written by another worker first") from None
                return 1
            params = {"b_user": user_id, "b_version": expected_version, "b_state": state,
                      "b_population": population_version, "b_n": n_events, "b_new_version": expected_version + 1,
                      "b_at": now}
            if expected_state is None:
                res = c.execute(Q.PUT_BELIEF, params)
            else:
                res = c.execute(Q.PUT_BELIEF_IF_SAME, {**params, "b_old_state": expected_state})
            if res.rowcount != 1:
                raise StaleBeliefError(f"belief of {user_id!r}: version {expected_version} is stale")
        return expected_version + 1

    # ------------------------------------------------------------------ users
    def forget_user(self, user_id: str) -> int:
        """Erase the user's events and belief and mark them erased (excluded from later fits); return the
        number of events removed."""
        check_id("user_id", user_id, 128)
        now = time.time()
        with self._tx() as conn:
            mine = select(S.events.c.event_id).where(S.events.c.user_id == user_id)
            conn.execute(delete(S.shadow_decisions).where(S.shadow_decisions.c.event_id.in_(mine)))
            n = conn.execute(delete(S.events).where(S.events.c.user_id == user_id)).rowcount
            conn.execute(delete(S.beliefs).where(S.beliefs.c.user_id == user_id))
            self._upsert_consent(conn, user_id, opted_out=None, erased_at=now, now=now)
        return int(n)

    def reset_user(self, user_id: str) -> None:
        """Drop what was inferred (the belief); the event log is kept."""
        with self._tx() as conn:
            conn.execute(delete(S.beliefs).where(S.beliefs.c.user_id == user_id))

    def set_consent(self, user_id: str, *, opted_out: bool) -> None:
        check_id("user_id", user_id, 128)
        now = time.time()
        with self._tx() as conn:
            self._upsert_consent(conn, user_id, opted_out=bool(opted_out), erased_at=None, now=now)
            if opted_out:
                conn.execute(delete(S.beliefs).where(S.beliefs.c.user_id == user_id))

    def consent(self, user_id: str) -> dict[str, Any]:
        with self.engine.connect() as conn:
            row = conn.execute(select(S.consent).where(S.consent.c.user_id == user_id)).mappings().first()
        if row is None:
            return {"opted_out": False, "erased_at": None}
        return {"opted_out": bool(row["opted_out"]), "erased_at": row["erased_at"]}

    def erased_users(self) -> set[str]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(S.consent.c.user_id).where(S.consent.c.erased_at.is_not(None))).all()
        return {r.user_id for r in rows}

    def knows_user(self, user_id: str) -> bool:
        """Whether the store holds anything of the user: an event, a belief or a consent record (an erased user
        keeps theirs, so forgetting twice finds them).

        >>> store = Store.open("knows.db")
        >>> store.knows_user("cy")
        False
        >>> store.set_consent("cy", opted_out=True)
        >>> store.knows_user("cy")
        True
        """
        check_id("user_id", user_id, 128)
        with self.engine.connect() as conn:
            return any(conn.execute(select(table.c.user_id).where(table.c.user_id == user_id).limit(1)).first()
                       is not None for table in (S.consent, S.beliefs, S.events))

    @staticmethod
    def _upsert_consent(conn: Connection, user_id: str, *, opted_out: bool | None, erased_at: float | None,
                        now: float) -> None:
        row = conn.execute(select(S.consent).where(S.consent.c.user_id == user_id)).mappings().first()
        if row is None:
            conn.execute(insert(S.consent).values(user_id=user_id, opted_out=bool(opted_out),
                                                  erased_at=erased_at, updated_at=now))
            return
        values: dict[str, Any] = {"updated_at": now}
        if opted_out is not None:
            values["opted_out"] = opted_out
        if erased_at is not None:
            values["erased_at"] = erased_at
        conn.execute(update(S.consent).where(S.consent.c.user_id == user_id).values(**values))

    # ------------------------------------------------------------------ counts
    def count_beliefs(self, population_version: int | None = None) -> int:
        """Stored beliefs (under ``population_version`` only, if given)."""
        query = select(func.count()).select_from(S.beliefs)
        if population_version is not None:
            query = query.where(S.beliefs.c.population_version == population_version)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def count(self, table: str) -> int:
        t = S.metadata.tables[table]
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(t)).scalar_one())


