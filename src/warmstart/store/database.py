"""The database under the store: a connection pool on SQLite or PostgreSQL, the schema's migrations, and the
transactions every write runs in (its own, or one shared by group commit).

``Database`` is the base of ``warmstart.store.store.Store``: the store's tables (decisions, beliefs, users,
population versions, API keys) are written through ``_write`` / ``_tx`` / ``_within`` here, so every area shares
one way to commit.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Self, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event

from warmstart.store.group_commit import GroupCommit

T = TypeVar("T")
_MIGRATIONS = Path(__file__).with_name("migrations")


def _url(target: str | Path) -> str:
    text = str(target)
    return text if "://" in text else f"sqlite:///{Path(text).resolve()}"


class Database:
    """A connection pool on one database, with its schema's migrations. ``open`` a SQLite file or a database URL
    (``postgresql+psycopg://user@host/db``); ``migrate()`` brings the schema to the latest version. The store
    (``warmstart.store.store.Store``) is a ``Database`` with its tables' reads and writes.

    >>> from warmstart.store.store import Store
    >>> db = Store.open("fresh.db", migrate=False)          # no schema yet
    >>> db.dialect, db.revision()
    ('sqlite', None)
    >>> db.migrate(), db.revision()
    ('0003', '0003')
    >>> db.close()
    """

    def __init__(self, engine: Engine, *, group_commit: bool = True) -> None:
        self.engine = engine
        self._writer = threading.Lock() if engine.dialect.name == "sqlite" else contextlib.nullcontext()
        # the writes of the request path (decisions and rewards) share commits; see warmstart.store.group_commit
        self._group = GroupCommit(self._tx) if group_commit else None

    @classmethod
    def open(cls, target: str | Path, *, migrate: bool = True, group_commit: bool = True) -> Self:
        url = _url(target)
        sqlite = url.startswith("sqlite")
        # a file database has no connection to go stale: the liveness ping is for network servers only
        engine = create_engine(url, pool_pre_ping=not sqlite)
        if sqlite:
            event.listen(engine, "connect", _sqlite_pragmas)
        store = cls(engine, group_commit=group_commit)
        if migrate:
            store.migrate()
        return store

    def close(self) -> None:
        if self._group is not None:
            self._group.close()
        self.engine.dispose()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    # ------------------------------------------------------------------ schema
    def migrate(self, target: str = "head") -> str:
        """Upgrade the schema to ``target`` (the latest migration by default; a no-op when it is there);
        return the revision."""
        from alembic import command
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(_MIGRATIONS))
        with self.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, target)
        revision = self.revision()
        assert revision is not None
        return revision

    def revision(self) -> str | None:
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def _write(self, job: Callable[[Connection], T]) -> T:
        """Run ``job`` in a committed transaction: its own, or a shared one with group commit."""
        if self._group is not None:
            return self._group.run(job)
        with self._tx() as conn:
            return job(conn)

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        # SQLite has one writer at a time: threads of this process take turns on a lock (woken at once) rather
        # than through SQLite's busy handler, which sleeps and retries; other processes still use the handler
        with self._writer, self.engine.begin() as conn:
            yield conn

    @contextmanager
    def _within(self, conn: Connection | None) -> Iterator[Connection]:
        """``conn`` if the caller is inside a transaction, else a new committed one."""
        if conn is not None:
            yield conn
        else:
            with self._tx() as own:
                yield own


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()
