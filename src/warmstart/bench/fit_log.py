"""How long ``warmstart fit --log`` takes on a log, next to the fit without the space choice, in the same run.

Issue 16's target is ``fit --log`` on MovieLens ``ml-latest-small`` in at most 60 s on 2 cores, with the whole
choice it makes (the item bias's penalty, the item space and K on the latest users, the family on 0/1 rewards,
the decision rule by replaying the validation users). Each log is written as a CSV and fitted by the command
itself, in a fresh process (``python -m warmstart.cli fit --log FILE``), as a user runs it: the wall time from
start to exit (imports and reading the CSV included) and the process's peak resident memory (``os.wait4``).
The baseline, in the same run, is ``fit --log --no-choose-space`` (the log's own features or 2 learned
factors, K by BIC): what the choice costs on top of one fit. The JSON also says what was chosen.

>>> from warmstart.data.events import EventData
>>> ev = EventData.from_rows([f"u{u}" for u in range(24) for _ in range(5)], list(range(120)),
...                          [f"i{(u * 3 + t) % 7}" for u in range(24) for t in range(5)],
...                          [float((u + t) % 2) for u in range(24) for t in range(5)])
>>> doc = run_fit_log({"tiny": ev}, seed=0, n_types=2)
>>> run = doc["logs"]["tiny"]
>>> run["fit_s"] > 0 and run["baseline_fit_s"] > 0, run["chosen"]["family"] in ("linear_gaussian", "logistic_bernoulli")
(True, True)
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from warmstart._version import __version__
from warmstart.bench.machine import machine_info
from warmstart.data.events import EventData, save_events

Progress = Callable[[str, float], None]
#: the target: seconds of ``fit --log`` on ml-latest-small (issue 16)
TARGET_S = 60.0


def _timed(args: list[str], log_path: Path) -> tuple[float, float]:
    """Run ``warmstart fit`` with ``args`` in a fresh process: (wall seconds, peak resident MB)."""
    cmd = [sys.executable, "-m", "warmstart.cli", "fit", *args]
    t0 = time.perf_counter()
    with open(log_path, "w", encoding="utf-8") as sink:
        proc = subprocess.Popen(cmd, stdout=sink, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        said = " ".join(log_path.read_text(encoding="utf-8", errors="replace").split()[-60:])
        raise RuntimeError(f"fit --log: the command `warmstart fit {' '.join(args)}` failed with code "
                           f"{proc.returncode}; it said: {said}")
    return seconds, usage.ru_maxrss / 1024.0  # kilobytes on Linux


def _chosen(population_path: Path) -> dict[str, Any]:
    """What ``fit --log`` chose, read back from the population it wrote (either family's file)."""
    from warmstart.families.generic import TypePopulation
    from warmstart.families.registry import load_population

    population = load_population(population_path)
    if isinstance(population, TypePopulation):
        record, family = population.record or {}, population.family
    else:
        record, family = population.diagnostics.to_dict(), "linear_gaussian"
    space = record.get("space") or {}
    ours = (space.get("chosen") or {}).get("ours") or {}
    return {"family": family, "n_types": int(population.n_types), "space": (ours.get("space") or {}).get("name"),
            "bias_penalty": (space.get("bias_penalty") or {}).get("chosen"),
            "decision": (record.get("decision") or {}).get("policy")}


def run_fit_log(logs: Mapping[str, EventData], *, seed: int = 0, n_types: int | None = None,
                progress: Progress | None = None) -> dict[str, Any]:
    """Time ``fit --log`` and ``fit --log --no-choose-space`` on each log (see the module docstring).
    ``n_types`` fixes K in both (``--n-types``; the examples' small logs), else each chooses it. The
    document: ``{benchmark, version, machine, target_s, seed, logs: {NAME: {n_users, n_events, fit_s,
    peak_mb, baseline_fit_s, baseline_peak_mb, chosen: {family, n_types, space, bias_penalty, decision}}}}``."""
    report = progress or (lambda msg, frac: None)
    out: dict[str, Any] = {}
    extra = ["--seed", str(seed), *([] if n_types is None else ["--n-types", str(n_types)])]
    with tempfile.TemporaryDirectory(prefix="warmstart-fit-log-") as tmp:
        root = Path(tmp)
        for i, (name, events) in enumerate(logs.items()):
            csv = save_events(events, root / f"{name}.csv")
            report(f"{name}: fit --log", i / len(logs))
            fit_s, peak = _timed(["--log", str(csv), "--out", str(root / f"{name}.npz"), *extra],
                                 root / f"{name}.out")
            report(f"{name}: fit --log --no-choose-space", (i + 0.5) / len(logs))
            base_s, base_peak = _timed(["--log", str(csv), "--out", str(root / f"{name}-bic.npz"),
                                        "--no-choose-space", *extra], root / f"{name}-bic.out")
            out[name] = {"n_users": int(events.n_users), "n_events": int(events.n_events), "fit_s": fit_s,
                         "peak_mb": peak, "baseline_fit_s": base_s, "baseline_peak_mb": base_peak,
                         "chosen": _chosen(root / f"{name}.npz")}
    report("done", 1.0)
    return {"benchmark": "fit-log", "version": __version__, "machine": machine_info(), "target_s": TARGET_S,
            "seed": seed, "baseline": "fit --log --no-choose-space (one fit, K by BIC), same run", "logs": out}
