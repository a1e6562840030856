"""pyBKT (standard Bayesian knowledge tracing, one model per skill) as an external peer, run in its own venv.

pyBKT needs numpy < 2, so it runs in ``.venv-pybkt`` (``make pybkt-venv``), not in warmstart's environment.
``start_pybkt`` writes the training and test responses as CSV, starts ``benchmarks/peers/pybkt_runner.py``
under that environment's python and returns at once, so that pyBKT can fit while our own model fits;
``.result()`` waits and returns the test predictions aligned with the test rows. ``run_pybkt`` does both.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from warmstart._io import atomic_write
from warmstart.data.kt import KTData

REPO = Path(__file__).resolve().parents[3]
DEFAULT_PYTHON = ".venv-pybkt/bin/python"
RUNNER = REPO / "benchmarks" / "peers" / "pybkt_runner.py"
_HINT = "run `make pybkt-venv` to create it, or pass python= the interpreter of an environment with pyBKT"


class PyBKTUnavailableError(ImportError):
    """pyBKT's virtual environment (or the runner script) is not there.

    >>> data = KTData.from_responses(["b", "a", "b"], [0, 1, 1], [1, 0, 1], skill_names=["add", "sub"])
    >>> start_pybkt(data, data, python="/nowhere/python")
    Traceback (most recent call last):
    ...
    warmstart.peers.pybkt.PyBKTUnavailableError: python: expected pyBKT's virtual environment interpreter, ...
    """


@dataclass(frozen=True, eq=False)
class PyBKTResult:
    """pyBKT's online test predictions, one per test row (``P(correct)`` given the student's earlier responses
    on the same skill), with the fit time, the settings and everything the runner reported."""

    predictions: np.ndarray
    state_predictions: np.ndarray
    fit_seconds: float
    predict_seconds: float
    wall_seconds: float
    settings: dict[str, Any]
    info: dict[str, Any] = field(repr=False)


def write_pybkt_csv(data: KTData, path: str | os.PathLike[str]) -> Path:
    """``data`` in pyBKT's columns: ``order_id`` (the row index: increasing within each student), ``user_id``
    (the student index), ``skill_name``, ``correct``.

    >>> data = KTData.from_responses(["b", "a", "b"], [0, 1, 1], [1, 0, 1], skill_names=["add", "sub"])
    >>> print(write_pybkt_csv(data, "responses.csv").read_text(), end="")
    order_id,user_id,skill_name,correct
    0,0,sub,0
    1,1,add,1
    2,1,sub,1
    """
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["order_id", "user_id", "skill_name", "correct"])
    names = np.array(data.skill_names, dtype=object)
    writer.writerows(zip(range(data.n_responses), data.student.tolist(),
                         names[data.skill].tolist() if data.n_responses else [], data.correct.tolist()))
    return atomic_write(path, buf.getvalue().encode("utf-8"))


def _resolve_python(python: str | os.PathLike[str] | None) -> Path:
    given = Path(python) if python is not None else Path(DEFAULT_PYTHON)
    candidates = [given] if given.is_absolute() else [Path.cwd() / given, REPO / given]
    for c in candidates:
        if c.is_file() and os.access(c, os.X_OK):
            return c
    tried = " or ".join(str(c) for c in dict.fromkeys(candidates))
    raise PyBKTUnavailableError(f"python: expected pyBKT's virtual environment interpreter, got none at {tried}; "
                                f"{_HINT}")


class PyBKTRun:
    """A pyBKT fit running in a subprocess. ``result()`` waits for it (up to the timeout given at start);
    ``cancel()`` stops it and its worker processes."""

    def __init__(self, proc: subprocess.Popen[bytes], workdir: Path, owned: bool, n_test: int,
                 timeout: float, settings: dict[str, Any]) -> None:
        self._proc = proc
        self.workdir = workdir
        self._owned = owned
        self._n_test = n_test
        self._deadline = time.monotonic() + timeout
        self._started = time.monotonic()
        self._timeout = timeout
        self.settings = settings
        self._result: PyBKTResult | None = None

    @property
    def pid(self) -> int:
        return self._proc.pid

    def done(self) -> bool:
        return self._proc.poll() is not None

    def cancel(self) -> None:
        if self._proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._proc.pid, signal.SIGTERM)  # the runner leads its own group (pool workers too)
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self._proc.pid, signal.SIGKILL)
                self._proc.wait()
        self._cleanup()

    def result(self) -> PyBKTResult:
        if self._result is not None:
            return self._result
        try:
            self._proc.wait(max(self._deadline - time.monotonic(), 0.0))
        except subprocess.TimeoutExpired:
            self.cancel()
            raise TimeoutError(f"pyBKT did not finish within timeout={self._timeout:g} s; "
                               "it was stopped") from None
        wall = time.monotonic() - self._started
        try:
            if self._proc.returncode != 0:
                log = (self.workdir / "runner.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"pyBKT runner exited with code {self._proc.returncode}:\n{log}")
            info = json.loads((self.workdir / "info.json").read_text())
            table = np.loadtxt(self.workdir / "predictions.csv", delimiter=",", skiprows=1, ndmin=2)
            if table.shape[0] != self._n_test or not np.array_equal(table[:, 0], np.arange(self._n_test)):
                raise RuntimeError(f"pyBKT runner wrote {table.shape[0]} predictions for {self._n_test} test rows")
            self._result = PyBKTResult(predictions=table[:, 1].copy(), state_predictions=table[:, 2].copy(),
                                       fit_seconds=float(info["fit_seconds"]),
                                       predict_seconds=float(info["predict_seconds"]), wall_seconds=wall,
                                       settings=dict(info["settings"]), info=info)
        finally:
            self._cleanup()
        return self._result

    def _cleanup(self) -> None:
        if self._owned:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self._owned = False

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # never raise from a finaliser
            if self._proc.poll() is None:
                self.cancel()
            self._cleanup()


def start_pybkt(train: KTData, test: KTData, *, python: str | os.PathLike[str] | None = DEFAULT_PYTHON,
                workdir: str | os.PathLike[str] | None = None, seed: int = 0, num_fits: int = 5,
                forgets: bool = True, parallel: bool = True, timeout: float = 3600.0, nice: int = 0,
                runner: str | os.PathLike[str] | None = None) -> PyBKTRun:
    """Start fitting pyBKT on ``train`` and predicting ``test`` in a subprocess; return its handle at once.

    ``python`` is the pyBKT environment's interpreter (relative paths are tried from the working directory,
    then from the repository). ``workdir`` keeps the CSVs, predictions, JSON and log (default: a temporary
    folder removed after ``result()``). ``num_fits`` is the number of EM restarts per skill, ``forgets``
    adds the forget rate, ``parallel`` lets pyBKT use one process per core, ``nice`` lowers the runner's
    priority. Raises ``PyBKTUnavailableError`` (an ``ImportError``) when the environment is missing.
    """
    if num_fits < 1:
        raise ValueError(f"num_fits: expected an integer >= 1, got {num_fits}")
    if not timeout > 0:
        raise ValueError(f"timeout: expected seconds > 0, got {timeout}")
    if test.n_responses == 0 or train.n_responses == 0:
        raise ValueError(f"train, test: expected responses in both, got {train.n_responses} and "
                         f"{test.n_responses}")
    exe = _resolve_python(python)
    script = Path(runner).resolve() if runner is not None else RUNNER
    if not script.is_file():
        raise PyBKTUnavailableError(f"runner: expected the pyBKT runner script at {script}, got no file; it lives "
                                    "in the repository's benchmarks/peers/, so run from a source checkout")
    owned = workdir is None
    folder = Path(tempfile.mkdtemp(prefix="warmstart-pybkt-")) if workdir is None else Path(workdir).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    write_pybkt_csv(train, folder / "train.csv")
    write_pybkt_csv(test, folder / "test.csv")
    for stale in ("predictions.csv", "info.json"):
        (folder / stale).unlink(missing_ok=True)
    cmd = [str(exe), str(script), "--train", str(folder / "train.csv"), "--test", str(folder / "test.csv"),
           "--predictions", str(folder / "predictions.csv"), "--info", str(folder / "info.json"),
           "--seed", str(int(seed)), "--num-fits", str(int(num_fits)),
           "--forgets" if forgets else "--no-forgets", "--parallel" if parallel else "--no-parallel"]
    if nice:
        cmd = [shutil.which("nice") or "nice", "-n", str(int(nice)), *cmd]
    settings = {"seed": int(seed), "num_fits": int(num_fits), "forgets": bool(forgets), "parallel": bool(parallel)}
    with open(folder / "runner.log", "wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                cwd=folder, start_new_session=True)
    return PyBKTRun(proc, folder, owned, test.n_responses, timeout, settings)


def run_pybkt(train: KTData, test: KTData, *, python: str | os.PathLike[str] | None = DEFAULT_PYTHON,
              workdir: str | os.PathLike[str] | None = None, seed: int = 0, num_fits: int = 5,
              forgets: bool = True, parallel: bool = True, timeout: float = 3600.0, nice: int = 0,
              runner: str | os.PathLike[str] | None = None) -> PyBKTResult:
    """Fit pyBKT on ``train`` and return its online predictions for ``test`` (``start_pybkt(...).result()``)."""
    return start_pybkt(train, test, python=python, workdir=workdir, seed=seed, num_fits=num_fits,
                       forgets=forgets, parallel=parallel, timeout=timeout, nice=nice, runner=runner).result()
