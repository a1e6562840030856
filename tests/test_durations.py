"""One place for how long things take: docs/results.md's "How long it takes". run_all.sh records every step's
wall time, update_readme.py writes them into that table, and the README, the Makefile and run_all.sh point to
it instead of quoting their own figures."""

import importlib.util
import re
from pathlib import Path

from warmstart.report.targets import HEADLINE

REPO = Path(__file__).resolve().parents[1]
PAGE = REPO / "docs" / "results.md"


def _update_readme():
    spec = importlib.util.spec_from_file_location("update_readme", REPO / "benchmarks" / "update_readme.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_recorded_durations_fill_the_results_page(tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    rows = [f"| {name} | - | 1 | met |" for name in ("not a headline", *HEADLINE)]
    (results / "targets.md").write_text("\n".join(["| target | threshold | measured | status |", "|---|---|---|---|",
                                                   *rows]) + "\n")
    (results / "durations.tsv").write_text("seconds\tcommand\n75\twarmstart bench coldstart --out DIR\n"
                                           "1568\twarmstart bench kt --data assistments2009 --out DIR\n")
    readme, page = tmp_path / "README.md", tmp_path / "docs" / "results.md"
    page.parent.mkdir()
    readme.write_text("# x\n<!-- headline:start -->\nOLD-TEXT\n<!-- headline:end -->\ntail\n")
    page.write_text("# y\n<!-- results:start -->\nOLD-TEXT\n<!-- results:end -->\n\n<!-- durations:start -->\nOLD-TEXT\n"
                    "<!-- durations:end -->\ntail\n")
    _update_readme().main(str(results), str(readme))
    text, full = readme.read_text(), page.read_text()
    assert "OLD-TEXT" not in text + full and text.endswith("tail\n") and full.endswith("tail\n")
    assert "| not a headline |" in full and "| not a headline |" not in text
    assert all(f"| {name} |" in text and f"| {name} |" in full for name in HEADLINE)
    assert "| `warmstart bench coldstart --out DIR` | 75 s |" in full
    assert "| `warmstart bench kt --data assistments2009 --out DIR` | 26 min |" in full
    assert "| **all of `make bench`** | **27 min** |" in full and "min |" not in text


def test_the_durations_live_in_one_place():
    page = PAGE.read_text()
    assert "## How long it takes" in page and "<!-- durations:start -->" in page
    section = page.split("## How long it takes", 1)[1].split("\n## ", 1)[0]
    for command in ("make demo", "make test", "make bench", "warmstart bench kt"):
        assert f"`{command}" in section
    readme = (REPO / "README.md").read_text()
    assert "(docs/results.md#how-long-it-takes)" in readme and "<!-- durations:start -->" not in readme
    run_all = (REPO / "benchmarks" / "run_all.sh").read_text()
    for text in ((REPO / "Makefile").read_text(), run_all):
        assert not re.search(r"\d+\s*(-\s*\d+\s*)?minutes", text), "quote durations in docs/results.md only"
        assert "How long it takes" in text and "docs/results.md" in text
    commands = re.findall(r"^timed (.+)$", run_all, flags=re.MULTILINE)
    assert len(commands) >= 10 and all(line.startswith("timed ") for line in run_all.splitlines()
                                       if line.startswith(("warmstart ", ".venv-obp")))
