"""A throwaway PostgreSQL cluster for the service tests: initdb as the ``postgres`` user in a temporary folder,
a server on a free loopback port, removed when the session ends. `make test` installs Debian's `postgresql`
package when it is missing; without it these tests fail with the reason (they never skip)."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time

import pytest


def _pg_bin() -> str:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise RuntimeError("PostgreSQL: expected Debian's postgresql package (initdb under /usr/lib/postgresql), "
                           "found none; `make test` installs it")
    return os.path.dirname(found[-1])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres(*cmd: str) -> subprocess.CompletedProcess:
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    return subprocess.run([*prefix, *cmd], capture_output=True, text=True, check=True, timeout=120)


@pytest.fixture(scope="session")
def postgres_url():
    bin_dir = _pg_bin()
    root = tempfile.mkdtemp(prefix="warmstart-pg-")
    data = os.path.join(root, "data")
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    port = _free_port()
    _as_postgres(f"{bin_dir}/initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8")
    _as_postgres(f"{bin_dir}/pg_ctl", "-D", data, "-l", os.path.join(root, "log"), "-w", "-o",
                 f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=on", "start")
    try:
        _as_postgres(f"{bin_dir}/createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "warmstart")
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/warmstart"
    finally:
        _as_postgres(f"{bin_dir}/pg_ctl", "-D", data, "-m", "fast", "-w", "stop")
        time.sleep(0.1)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """A fresh, empty database per test, on both backends: a SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'warmstart.db'}"
    from sqlalchemy import create_engine, text

    base = request.getfixturevalue("postgres_url")
    name = f"t_{os.getpid()}_{abs(hash(request.node.nodeid)) % 10**9}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base.rsplit("/", 1)[0] + f"/{name}"
