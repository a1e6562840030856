"""CLI smoke tests: every command runs, help is clear, and errors are one line without a traceback."""

import json
import subprocess
import sys

import pytest

from warmstart.population.population import Population


def run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "warmstart.cli", *args], capture_output=True, text=True,
                          timeout=900, check=False)
    if check and proc.returncode != 0:
        raise AssertionError(f"warmstart {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.mark.parametrize("cmd", [[], ["simulate"], ["fit"], ["bench"], ["bench", "coldstart"], ["bench", "speed"],
                                 ["report"], ["demo"]])
def test_help_is_clear(cmd):
    out = run(*cmd, "--help").stdout
    assert "Usage" in out and len(out.splitlines()) > 3


def test_simulate_then_fit(tmp_path):
    log = tmp_path / "log.npz"
    run("simulate", "--users", "300", "--events", "20", "--out", str(log))
    pop = tmp_path / "pop.npz"
    out = run("fit", str(log), "--out", str(pop), "--k-max", "4").stdout
    assert "novel" in out
    assert Population.load(pop).n_types >= 1


def test_errors_are_one_line_without_traceback(tmp_path):
    proc = run("fit", str(tmp_path / "missing.npz"), check=False)
    assert proc.returncode == 2
    assert "error:" in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    proc = run("simulate", "--preset", "nope", "--out", str(tmp_path / "x.npz"), check=False)
    assert proc.returncode == 2 and "preset" in proc.stderr and "Traceback" not in proc.stderr
    (tmp_path / "bad.npz").write_text("garbage")
    proc = run("fit", str(tmp_path / "bad.npz"), check=False)
    assert proc.returncode == 2 and "not a readable" in proc.stderr
    proc = run("bench", "coldstart", "--out", str(tmp_path), "--policies", "banana", check=False)
    assert proc.returncode == 2 and "--policies" in proc.stderr
    proc = run("report", str(tmp_path / "empty"), check=False)
    assert proc.returncode == 2 and "coldstart.json" in proc.stderr


def test_bench_coldstart_quick_and_report(tmp_path):
    """The quick benchmark with every policy (VW and CLUB included), then the report from its JSON."""
    run("bench", "coldstart", "--quick", "--out", str(tmp_path))
    doc = json.loads((tmp_path / "coldstart.json").read_text())
    assert doc["config"]["quick"] is True
    assert set(doc["policies"]) == {"mixture_ids", "mixture_ts", "from_scratch_ts", "pooled_ts", "club",
                                    "vw_pooled", "oracle_type", "oracle", "random"}
    assert doc["policies"]["vw_pooled"]["settings"], "the report must say which settings VW ran with"
    run("report", str(tmp_path))
    html = (tmp_path / "index.html").read_text()
    assert "data:image/png;base64," in html and "mixture_ids" in html
    targets = json.loads((tmp_path / "targets.json").read_text())["rows"]
    assert any(r["target"].startswith("gain captured") and r["met"] is not None for r in targets)
