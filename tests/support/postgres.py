"""A throwaway PostgreSQL cluster for the tests: initdb as the ``postgres`` user in a temporary folder, a server
on 127.0.0.1 on a free port, removed on exit (``throwaway_cluster``), and empty databases in it
(``fresh_database``).

One implementation: the service benchmark's PostgreSQL run needs the same cluster and ships in the wheel, so the
code lives next to it in ``warmstart.bench.pgcluster``; the tests take it from here, so that they do not depend
on where the benchmark harnesses live.
"""

from __future__ import annotations

from warmstart.bench.pgcluster import fresh_database, pg_bin, throwaway_cluster

__all__ = ["fresh_database", "pg_bin", "throwaway_cluster"]
