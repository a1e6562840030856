"""Fill the README and docs/results.md from a results folder, so that no figure in them is copied by hand:

- docs/results.md: every target (``targets.md``, written by `warmstart report`), the replays' tables
  (``replay-*/replay.json``) and, when run_all.sh recorded them (``durations.tsv``), how long each benchmark
  step took;
- README.md: the headline targets (the rows of ``targets.md`` named in ``warmstart.report.targets.HEADLINE``)
  and the replays' headline (each policy's mean reward over a later user's first 10 steps).

Each block sits between its markers (``<!-- NAME:start -->`` and ``<!-- NAME:end -->``); a replay or the
durations missing from the results folder leaves its block as it is."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Any

from warmstart.report.targets import headline_table

#: the replay folders run_all.sh writes, with the name of the log each replays, in the order the tables show
REPLAYS = (("replay-sim", "simulated log"), ("replay-assistments2009", "ASSISTments 2009"),
           ("replay-movielens-rating", "MovieLens rating"), ("replay-movielens-liked", "MovieLens liked"),
           ("replay-movielens-genres", "MovieLens liked + genres"))
#: the same command on other 0/1 logs (checks, not targets): in docs/results.md only
CHECK_REPLAYS = tuple((f"replay-movielens-liked{stars.replace('.', '')}", f"MovieLens liked at {stars} stars")
                      for stars in ("3", "3.5", "4.5", "5"))
#: the steps the README's replay table shows (docs/results.md shows every window the replay measured)
HEADLINE_WINDOW = "1-10"


def _markers(name: str) -> tuple[str, str]:
    return f"<!-- {name}:start -->", f"<!-- {name}:end -->"


def _replace(text: str, name: str, block: str, path: Path) -> str:
    start, end = _markers(name)
    if start not in text or end not in text:
        raise SystemExit(f"{path}: expected the markers {start} and {end}")
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


def _mean_ci(doc: dict[str, Any], policy: str, window: str) -> str:
    if policy not in doc["policies"]:
        return "-"
    result = doc["policies"][policy]
    low, high = result["ci95"][window]
    return f"{result['mean_reward'][window]:.3f} [{low:.3f}, {high:.3f}]"


def replay_table(doc: dict[str, Any]) -> str:
    """One replay's table (``replay.json`` of `warmstart bench replay`): each policy's mean reward, with its
    95% bootstrap CI over users, over every window of steps the replay measured."""
    windows = [f"1-{w}" for w in doc["config"]["windows"]]
    lines = ["| policy | " + " | ".join(f"steps {w}" for w in windows) + " |", "|---" * (len(windows) + 1) + "|"]
    lines += [f"| {p} | " + " | ".join(_mean_ci(doc, p, w) for w in windows) + " |" for p in doc["policies"]]
    return "\n".join(lines) + "\n"


def replay_headline(docs: list[tuple[str, dict[str, Any]]], window: str = HEADLINE_WINDOW) -> str:
    """Every replay side by side: each policy's mean reward (95% CI) over steps ``window``, one column per log."""
    # every policy any replay ran, in the order they first appear (a 0/1 log also replays the other family)
    policies = list(dict.fromkeys(p for _, doc in docs for p in doc["policies"]))
    lines = ["| policy | " + " | ".join(f"{label}, steps {window}" for label, _ in docs) + " |",
             "|---" * (len(docs) + 1) + "|"]
    lines += [f"| {p} | " + " | ".join(_mean_ci(doc, p, window) for _, doc in docs) + " |" for p in policies]
    return "\n".join(lines) + "\n"


def main(results: str = "benchmarks/results", readme: str = "README.md", page: str | None = None) -> None:
    """Rewrite the generated blocks of ``readme`` and of ``page`` (default: ``docs/results.md`` next to the
    README) from the results folder ``results``."""
    folder, readme_path = Path(results), Path(readme)
    page_path = Path(page) if page else readme_path.parent / "docs" / "results.md"
    text, full = readme_path.read_text(), page_path.read_text()
    targets = (folder / "targets.md").read_text()
    full = _replace(full, "results", targets, page_path)
    text = _replace(text, "headline", headline_table(targets), readme_path)
    replays = [(name, label, json.loads((folder / name / "replay.json").read_text()))
               for name, label in REPLAYS + CHECK_REPLAYS if (folder / name / "replay.json").is_file()]
    for name, _, doc in replays:
        full = _replace(full, name, replay_table(doc), page_path)
    replays = [one for one in replays if one[0] in dict(REPLAYS)]
    if len(replays) == len(REPLAYS):
        text = _replace(text, "replay-headline", replay_headline([(label, doc) for _, label, doc in replays]),
                        readme_path)
    durations = folder / "durations.tsv"
    if durations.is_file():
        full = _replace(full, "durations", durations_table(durations), page_path)
    readme_path.write_text(text)
    page_path.write_text(full)
    print(f"updated the headline results in {readme_path} and every target{', the replays' if replays else ''}"
          f"{' and the durations' if durations.is_file() else ''} in {page_path} from {folder}")


if __name__ == "__main__":
    main(*sys.argv[1:])
