"""A throwaway PostgreSQL cluster for the service tests (``support.postgres``): initdb as the
``postgres`` user in a temporary folder, a server on a free loopback port, removed when the session ends.
`make test` installs Debian's `postgresql` package when it is missing; without it these tests fail with the
reason (they never skip)."""

from __future__ import annotations

import os

import pytest
from support.postgres import fresh_database, throwaway_cluster


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


@pytest.fixture
def serve(tmp_path, population):
    """``serve(policy)``: a test client (client key) of the API on a SQLite store with ``population`` active, and
    the store; closed when the test ends."""
    from fastapi.testclient import TestClient

    from warmstart.service.app import create_app
    from warmstart.store.store import Store

    stores = []

    def make(policy: str = "mixture_ids"):
        store = Store.open(tmp_path / f"svc-{len(stores)}.db")
        stores.append(store)
        store.activate(store.add_population(population.to_bytes(), fingerprint=population.fingerprint()))
        client = TestClient(create_app(store, policy=policy, seed=0), raise_server_exceptions=False)
        client.headers["Authorization"] = f"Bearer {store.create_api_key('client')}"
        return client, store

    yield make
    for store in stores:
        store.close()
