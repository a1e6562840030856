"""The results table: one row per target (a target two benchmarks measure is one row), and the README's table is
the one `warmstart report` writes from benchmarks/results."""

import shutil
from pathlib import Path

from warmstart.report.targets import merge_repeated, write_targets

REPO = Path(__file__).resolve().parents[2]


def _row(target, measured, met, command):
    return {"target": target, "threshold": "<= 1", "measured": measured, "met": met, "command": command, "note": ""}


def test_a_target_measured_twice_is_one_row():
    rows = merge_repeated([_row("a", "0.7", True, "warmstart bench coldstart --out DIR"),
                           _row("b", "1", True, "warmstart bench speed --out DIR"),
                           _row("a", "0.8", True, "warmstart bench responsible --out DIR")])
    assert [r["target"] for r in rows] == ["a", "b"]
    assert rows[0]["measured"] == "0.7 (warmstart bench responsible: 0.8)" and rows[0]["met"] is True
    assert "also measured by `warmstart bench responsible --out DIR`" in rows[0]["note"]
    failed = merge_repeated([_row("a", "0.7", True, "x y z"), _row("a", "2", False, "x y w")])
    assert failed[0]["met"] is False


def test_the_shipped_results_have_one_row_per_target_and_the_readme_shows_them(tmp_path):
    results = shutil.copytree(REPO / "benchmarks" / "results", tmp_path / "results")
    rows = write_targets(results)
    targets = [r["target"] for r in rows]
    assert len(targets) == len(set(targets))
    readme = (REPO / "README.md").read_text()
    table = readme.split("<!-- results:start -->\n", 1)[1].split("<!-- results:end -->", 1)[0]
    assert table == (results / "targets.md").read_text()
