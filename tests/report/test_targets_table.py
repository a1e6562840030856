"""The results tables: one row per target (a target two benchmarks measure is one row); docs/results.md holds the
table `warmstart report` writes from benchmarks/results, and the README its headline rows, exactly as there."""

import importlib.util
import shutil
from pathlib import Path

from warmstart.report.targets import HEADLINE, headline_table, merge_repeated, write_targets

REPO = Path(__file__).resolve().parents[2]


def _between(text, name):
    return text.split(f"<!-- {name}:start -->\n", 1)[1].split(f"<!-- {name}:end -->", 1)[0]


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


def test_the_shipped_results_have_one_row_per_target_and_the_docs_show_them(tmp_path):
    results = shutil.copytree(REPO / "benchmarks" / "results", tmp_path / "results")
    rows = write_targets(results)
    targets = [r["target"] for r in rows]
    assert len(targets) == len(set(targets))
    table = (results / "targets.md").read_text()
    assert _between((REPO / "docs" / "results.md").read_text(), "results") == table
    readme = (REPO / "README.md").read_text()
    headline = _between(readme, "headline")
    assert headline == headline_table(table)
    lines = table.splitlines()
    assert headline.splitlines() == lines[:2] + [line for line in lines[2:] if line.split(" | ")[0][2:] in HEADLINE]
    assert len(headline.splitlines()) == 2 + len(HEADLINE) and "**not met**" in headline
    assert "(docs/results.md)" in readme


def test_the_readme_and_docs_are_what_update_readme_writes(tmp_path):
    """Every generated block (the targets, the headline rows, the replays, the durations) is up to date with
    benchmarks/results: update_readme.py run on copies changes nothing."""
    spec = importlib.util.spec_from_file_location("update_readme", REPO / "benchmarks" / "update_readme.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    results = shutil.copytree(REPO / "benchmarks" / "results", tmp_path / "results")
    write_targets(results)
    (tmp_path / "docs").mkdir()
    for name in ("README.md", "docs/results.md"):
        shutil.copy(REPO / name, tmp_path / name)
    module.main(str(results), str(tmp_path / "README.md"))
    for name in ("README.md", "docs/results.md"):
        assert (tmp_path / name).read_text() == (REPO / name).read_text(), f"{name}: run benchmarks/update_readme.py"
