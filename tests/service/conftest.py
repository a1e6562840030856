"""A throwaway PostgreSQL cluster for the service tests (``warmstart.service.pgcluster``): initdb as the
``postgres`` user in a temporary folder, a server on a free loopback port, removed when the session ends.
`make test` installs Debian's `postgresql` package when it is missing; without it these tests fail with the
reason (they never skip)."""

from __future__ import annotations

import os

import pytest

from warmstart.service.pgcluster import fresh_database, throwaway_cluster


@pytest.fixture(scope="session")
def postgres_url():
    with throwaway_cluster() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """A fresh, empty database per test, on both backends: a SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'warmstart.db'}"
    base = request.getfixturevalue("postgres_url")
    return fresh_database(base, f"t_{os.getpid()}_{abs(hash(request.node.nodeid)) % 10**9}")
