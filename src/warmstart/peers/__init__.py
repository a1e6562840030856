"""External peers run out of process (pyBKT needs numpy < 2, so it lives in its own virtual environment)."""

from warmstart.peers.pybkt import PyBKTResult, PyBKTRun, PyBKTUnavailableError, run_pybkt, start_pybkt

__all__ = ["PyBKTResult", "PyBKTRun", "PyBKTUnavailableError", "run_pybkt", "start_pybkt"]
