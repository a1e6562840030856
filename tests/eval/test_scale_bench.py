"""``warmstart bench scale`` on a small generated log: the statistics step runs in its own process and agrees
with numpy."""

import json

from typer.testing import CliRunner

from warmstart.cli import app


def test_bench_scale_small(tmp_path):
    res = CliRunner().invoke(app, ["bench", "scale", "--users", "3000", "--out", str(tmp_path),
                                   "--workdir", str(tmp_path)])
    assert res.exit_code == 0, res.output
    doc = json.loads((tmp_path / "scale.json").read_text())
    assert doc["stats_users"] == 3000 and doc["stats_events"] == 60000
    assert doc["stats_sample_max_abs_diff"] < 1e-9 and doc["stats_peak_gb"] > 0
    assert doc["em"]["converged"] and doc["em_1m_s"] > 0 and len(doc["em"]["weights"]) == 9
    inc = doc["incremental"]
    assert inc["new_users"] == 300 and inc["heldout_relative_diff"] < 0.01 and doc["incremental_time_ratio"] > 0
    assert doc["ray_speedup"] is None  # not measured yet, and says so
    assert not list(tmp_path.glob("tmp*"))  # the generated log is removed
