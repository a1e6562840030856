"""``warmstart bench scale`` on a small generated log: the statistics step runs in its own process and agrees
with numpy; the fit runs in process and on a local Ray (2 workers) and gives the same population."""

import json

from typer.testing import CliRunner

from warmstart.cli import app
from warmstart.report.scale import scale_section
from warmstart.report.targets import scale_rows


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
    assert doc["ray_max_abs_diff"] == 0.0 and doc["ray_2w_s"] > 0 and doc["inproc_s"] == doc["em_1m_s"]
    assert doc["ray_speedup"] == doc["inproc_s"] / doc["ray_2w_s"] and doc["ray"]["workers"] == 2
    assert doc["ray"]["tree_peak_gb"] > doc["ray"]["driver_peak_gb"] * 0.5 and doc["em"]["threads"] == 1
    points = doc["scaling"]
    assert [p["n_users"] for p in points] == [2000, 3000]  # shards of 2,000 users (whole chunks): 1 shard, all
    assert all(p["max_abs_diff"] == 0.0 and p["inproc_s"] > 0 and p["ray_peak_gb"] > 0 for p in points)
    assert not list(tmp_path.glob("tmp*"))  # the generated log is removed
    # the targets rows and the report's scale section from the same run
    rows = {r["target"].split(" (")[0].split(",")[0]: r for r in scale_rows(doc)}
    ray_row = rows["Ray"]
    assert "equal to the last bit" in ray_row["measured"] and ray_row["met"] is False  # 3,000 users, not 1M
    html = scale_section(doc)
    assert html.count("<img") == 1 and html.count("<tr>") == 3 and "3,000" in html
