"""Fill the README from a results folder: the results table from targets.md (written by `warmstart report`) and,
when run_all.sh recorded them (durations.tsv), the table of how long each benchmark step took."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

START, END = "<!-- results:start -->", "<!-- results:end -->"
DURATIONS_START, DURATIONS_END = "<!-- durations:start -->", "<!-- durations:end -->"


def _replace(text: str, start: str, end: str, block: str, readme: str) -> str:
    if start not in text or end not in text:
        raise SystemExit(f"{readme}: expected the markers {start} and {end}")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n{block}{end}{tail}"


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds >= 600 else f"{seconds / 60:.1f} min"


def durations_table(path: Path) -> str:
    """The markdown table of ``durations.tsv`` (``seconds``, ``command`` per step) with the total."""
    with path.open(newline="") as fh:
        rows = [(float(r["seconds"]), r["command"]) for r in csv.DictReader(fh, delimiter="\t")]
    lines = ["| step (`make bench` = `benchmarks/run_all.sh`) | wall time, 2 cores |", "|---|---|"]
    lines += [f"| `{command}` | {_duration(seconds)} |" for seconds, command in rows]
    lines.append(f"| **all of `make bench`** | **{_duration(sum(s for s, _ in rows))}** |")
    return "\n".join(lines) + f"\n\nMeasured by the last `make bench` (`{path.as_posix()}`).\n"


def main(results: str = "benchmarks/results", readme: str = "README.md") -> None:
    text = Path(readme).read_text()
    text = _replace(text, START, END, (Path(results) / "targets.md").read_text(), readme)
    durations = Path(results) / "durations.tsv"
    if durations.is_file():
        text = _replace(text, DURATIONS_START, DURATIONS_END, durations_table(durations), readme)
    Path(readme).write_text(text)
    print(f"updated the results table{' and the durations' if durations.is_file() else ''} in {readme} from "
          f"{results}")


if __name__ == "__main__":
    main(*sys.argv[1:])
