"""`warmstart serve`: a wrong --population file is a clear error that leaves no database behind; a start prints
where the service listens, its store and its population."""

import subprocess
import sys
import time

import numpy as np
import pytest
from support.server import free_port

from warmstart.data.bandit_log import save_log
from warmstart.families.linear.fit import FitConfig, fit_population
from warmstart.sim.linear_types import LinearTypesConfig, LinearTypesPopulation


def _serve(*args):
    return [sys.executable, "-m", "warmstart.cli", "serve", *map(str, args)]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("serve")
    log = LinearTypesPopulation(LinearTypesConfig(dim=3, n_actions=4, n_types=2)).logged(60, 10, seed=0)
    save_log(root / "log.npz", log)
    fit_population(log.summary(), FitConfig(n_types=2, split_merge=False, n_init=1)).save(root / "population.npz")
    (root / "events.csv").write_text("user,time,item,reward\n1,0,a,1.0\n")
    np.save(root / "array.npy", np.arange(3))
    np.savez(root / "objects.npz", meta=np.array([{"format": "x"}], dtype=object))  # pickled Python objects
    return root


@pytest.mark.parametrize(("name", "detail"), [
    ("log.npz", "expected format 'warmstart.population', got 'warmstart.banditlog'"),
    ("events.csv", "not a readable warmstart population"),
    ("array.npy", "not a readable warmstart population"),
    ("objects.npz", "it holds pickled Python objects, which warmstart never loads"),
    ("missing.npz", "expected an existing file"),
])
def test_a_file_that_is_no_population_is_a_clear_error_and_leaves_no_store(files, tmp_path, name, detail):
    proc = subprocess.run(_serve("--db", tmp_path / "new.db", "--population", files / name), capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith(f"error: --population {files / name}: expected a population written by "
                                  f"`warmstart fit --out FILE`")
    assert detail in proc.stderr and "allow_pickle" not in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_failed_start_keeps_an_existing_store(files, tmp_path):
    db = tmp_path / "kept.db"
    db.write_bytes(b"")  # a file that was there before: never removed
    proc = subprocess.run(_serve("--db", db, "--bootstrap-prior-var", "-1"), capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 2 and "prior_var: expected a positive finite variance" in proc.stderr
    assert db.is_file()


def test_without_a_population_it_starts_empty(tmp_path):
    port = free_port()
    proc = subprocess.Popen(_serve("--db", tmp_path / "empty.db", "--port", port), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        first = proc.stdout.readline()
        second, third = proc.stdout.readline(), proc.stdout.readline()
        assert first.startswith(f"warmstart serve: http://127.0.0.1:{port}") and "store:" in second
        assert "population: none yet: serving from a broad prior" in third
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_the_start_prints_the_url_the_store_and_the_population(files, tmp_path):
    port = free_port()
    proc = subprocess.Popen(_serve("--db", tmp_path / "s.db", "--population", files / "population.npz",
                                   "--port", port), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not any("policy:" in line for line in lines):
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
        text = "".join(lines)
        assert f"http://127.0.0.1:{port}" in text, text
        assert f"store: {tmp_path / 's.db'} (SQLite)" in text
        assert f"population: version 1 (from {files / 'population.npz'}" in text
        assert "policy: mixture_ids (auto: the population's)" in text  # no decision recorded by this fit
    finally:
        proc.terminate()
        proc.wait(timeout=60)
