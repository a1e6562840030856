"""The cross-check against the Open Bandit Pipeline: ``benchmarks/peers/obp_check.py`` run under obp's own
environment (``.venv-obp``: obp imports torch, so it is not installed in warmstart's; ``make obp-venv``)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from warmstart.ope import obd_root

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "benchmarks" / "peers" / "obp_check.py"
TOL = 1e-6


def obp_python() -> Path | None:
    """The interpreter of ``.venv-obp``, looked for in the working directory, then at the repository root."""
    for c in (Path.cwd() / ".venv-obp" / "bin" / "python", REPO / ".venv-obp" / "bin" / "python"):
        if c.is_file() and os.access(c, os.X_OK):
            return c
    return None


def have_data() -> bool:
    try:
        obd_root()
    except ValueError:
        return False
    return True


needs_obp = pytest.mark.skipif(obp_python() is None, reason="obp environment missing: make obp-venv")
needs_data = pytest.mark.skipif(not have_data() and not os.environ.get("CI"),
                                reason="open-bandit-dataset-small not found: it comes with obp, `make obp-venv`")


@needs_obp
@needs_data
def test_estimators_match_obp_to_1e6(tmp_path):
    out = tmp_path / "obp.json"
    proc = subprocess.run([str(obp_python()), str(SCRIPT), "--n-sim", "20000", "--n-boot", "200",
                           "--json", str(out)], capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, f"{proc.stdout}\n{proc.stderr}"
    assert "all checks passed" in proc.stdout
    doc = json.loads(out.read_text())
    assert doc["ok"] is True and doc["tolerance"] == TOL and doc["obp_version"] == "0.4.1"
    assert doc["prior_max_abs_diff"] == 0 and all(doc["loader_same"].values())
    cases = doc["estimators"]
    # the OBD sample, a synthetic log, and the two generic --log files (read back by warmstart.ope.logs)
    assert len(cases) == 4 and sum(label.startswith("generic log") for label in cases) == 2
    for label, case in cases.items():
        assert set(case["abs_diff"]) == {"ips", "snips", "dm", "dr"}, label
        for name, diff in case["abs_diff"].items():
            assert diff <= TOL, (label, name, case["warmstart"][name], case["obp"][name])
        assert case["max_abs_diff"] == max(case["abs_diff"].values())
        # the estimates are real values, not a pair of zeros that trivially agree
        assert 0 < case["warmstart"]["ips"] < 1 and 0 < case["obp"]["dr"] < 1
