"""Fill the README's results table from benchmarks/results/targets.md (written by `warmstart report`)."""

from __future__ import annotations

import sys
from pathlib import Path

START, END = "<!-- results:start -->", "<!-- results:end -->"


def main(results: str = "benchmarks/results", readme: str = "README.md") -> None:
    table = (Path(results) / "targets.md").read_text()
    text = Path(readme).read_text()
    if START not in text or END not in text:
        raise SystemExit(f"{readme}: expected the markers {START} and {END}")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    Path(readme).write_text(f"{head}{START}\n{table}{END}{tail}")
    print(f"updated the results table in {readme} from {results}/targets.md")


if __name__ == "__main__":
    main(*sys.argv[1:])
