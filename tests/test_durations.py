"""One place for how long things take: the README's "How long it takes". run_all.sh records every step's wall
time, update_readme.py writes them into that table, and the Makefile and run_all.sh point to it instead of
quoting their own figures."""

import importlib.util
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _update_readme():
    spec = importlib.util.spec_from_file_location("update_readme", REPO / "benchmarks" / "update_readme.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_recorded_durations_fill_the_readme_table(tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    (results / "targets.md").write_text("| target |\n|---|\n| a |\n")
    (results / "durations.tsv").write_text("seconds\tcommand\n75\twarmstart bench coldstart --out DIR\n"
                                           "1568\twarmstart bench kt --data assistments2009 --out DIR\n")
    readme = tmp_path / "README.md"
    readme.write_text("# x\n<!-- results:start -->\nOLD-TEXT\n<!-- results:end -->\n\n<!-- durations:start -->\nOLD-TEXT\n"
                      "<!-- durations:end -->\ntail\n")
    _update_readme().main(str(results), str(readme))
    text = readme.read_text()
    assert "| a |" in text and "OLD-TEXT" not in text and text.endswith("tail\n")
    assert "| `warmstart bench coldstart --out DIR` | 75 s |" in text
    assert "| `warmstart bench kt --data assistments2009 --out DIR` | 26 min |" in text
    assert "| **all of `make bench`** | **27 min** |" in text


def test_the_durations_live_in_one_place():
    readme = (REPO / "README.md").read_text()
    assert "### How long it takes" in readme and "<!-- durations:start -->" in readme
    section = readme.split("### How long it takes", 1)[1].split("\n## ", 1)[0]
    for command in ("make demo", "make test", "make bench", "warmstart bench kt"):
        assert f"`{command}" in section
    run_all = (REPO / "benchmarks" / "run_all.sh").read_text()
    for text in ((REPO / "Makefile").read_text(), run_all):
        assert not re.search(r"\d+\s*(-\s*\d+\s*)?minutes", text), "quote durations in the README only"
        assert "How long it takes" in text
    commands = re.findall(r"^timed (.+)$", run_all, flags=re.MULTILINE)
    assert len(commands) >= 10 and all(line.startswith("timed ") for line in run_all.splitlines()
                                       if line.startswith(("warmstart ", ".venv-obp")))
