"""A throwaway PostgreSQL cluster, for the service tests and, from a source checkout, the service benchmark.

``throwaway_cluster()`` runs ``initdb`` in a temporary folder (as the ``postgres`` user when running as root,
which PostgreSQL refuses to run as), starts a server on a free loopback port with ``fsync=on``, yields a
``postgresql+psycopg://`` URL of an empty database, and stops the server and removes the folder on exit.
It needs Debian's ``postgresql`` package (``initdb`` under ``/usr/lib/postgresql/*/bin``; `make test` installs
it); without it the error says so. ``fresh_database(url, name)`` makes another empty database in the same
cluster.

It is test support, not part of the installed package: the tests import it as ``support.postgres``, and the
PostgreSQL run of ``warmstart bench service`` loads this file from the checkout when no ``--postgres-url`` is
given (``warmstart.bench.service_durability.checkout_cluster``), so it must import nothing from ``tests/``.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_PG_GLOB = "/usr/lib/postgresql/*/bin/initdb"


def pg_bin() -> str:
    """The folder of the newest installed PostgreSQL's programs (Debian layout)."""
    found = sorted(glob.glob(_PG_GLOB), key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    if not found:
        raise RuntimeError(f"PostgreSQL: expected Debian's postgresql package (initdb at {_PG_GLOB}), found none; "
                           "install it with `apt-get install postgresql` (`make test` does)")
    return os.path.dirname(found[-1])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres(*cmd: str) -> subprocess.CompletedProcess[str]:
    """Run ``cmd`` as the ``postgres`` user when we are root (PostgreSQL will not run as root), else as us."""
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    try:
        return subprocess.run([*prefix, *cmd], capture_output=True, text=True, check=True, timeout=120)
    except subprocess.CalledProcessError as exc:
        detail = " ".join((exc.stderr or exc.stdout or "").split())[-500:]
        raise RuntimeError(f"PostgreSQL: `{' '.join(cmd[:1])}` failed with status {exc.returncode}: {detail}") from None


@contextmanager
def throwaway_cluster(*, database: str = "warmstart") -> Iterator[str]:
    """A PostgreSQL server of our own on 127.0.0.1 with an empty ``database``; yields its SQLAlchemy URL.
    Everything (server and data folder) is gone when the block exits, also on an error."""
    bin_dir = pg_bin()
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            raise RuntimeError("PostgreSQL: running as root needs the `postgres` user (made by Debian's "
                               "postgresql package) to own the cluster; found no such user") from None
    root = tempfile.mkdtemp(prefix="warmstart-pg-")
    data = os.path.join(root, "data")
    started = False
    try:
        if os.geteuid() == 0:
            shutil.chown(root, "postgres", "postgres")
        port = _free_port()
        _as_postgres(f"{bin_dir}/initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8")
        log = os.path.join(root, "log")
        try:
            _as_postgres(f"{bin_dir}/pg_ctl", "-D", data, "-l", log, "-w", "-o",
                         f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=on", "start")
        except RuntimeError as exc:
            tail = " ".join(Path(log).read_text(errors="replace")[-500:].split()) if os.path.exists(log) else ""
            raise RuntimeError(f"{exc}; server log: {tail}") from None
        started = True
        _as_postgres(f"{bin_dir}/createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", database)
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/{database}"
    finally:
        try:
            if started:
                _as_postgres(f"{bin_dir}/pg_ctl", "-D", data, "-m", "fast", "-w", "stop")
                time.sleep(0.1)
        finally:
            shutil.rmtree(root, ignore_errors=True)


def fresh_database(url: str, name: str) -> str:
    """Drop and create database ``name`` in the cluster of ``url``; return its URL."""
    from sqlalchemy import create_engine, text

    if not name.replace("_", "").isalnum():
        raise ValueError(f"name: expected letters, digits and underscores, got {name!r}")
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return url.rsplit("/", 1)[0] + f"/{name}"
