"""The knowledge-tracing part of ``warmstart bench sparse``: next-response AUC of new students by the length of
the training students' histories.

For each ``history`` h, the knowledge-tracing benchmark (``warmstart.bench.kt.run_kt``, without pyBKT) fits on
the first h responses of every training and validation student (``KTBenchConfig.history``) and scores the
test students, unseen in training, online on all of their responses: ``ours`` (learner types with item
difficulties), ``ours_no_items``, ``bkt`` (one type) and ``skill_mean``. AUC with its 95% bootstrap CI over the
test students; the same test students at every h. A last row, ``"all"``, fits on every response.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from warmstart.bench.kt import KTBenchConfig, run_kt

Progress = Callable[[str, float], None]
HISTORIES = (5, 10, 20, 50)


def run_sparse_kt(histories: tuple[int, ...] = HISTORIES, *, seed: int = 0, quick: bool = False,
                  full: bool = True, progress: Progress | None = None) -> dict[str, Any]:
    """AUC of new students by training history (module docstring); ``full`` adds the fit on every response."""
    report = progress or (lambda msg, frac: None)
    base = KTBenchConfig(seed=seed, quick=quick, pybkt=False)
    runs: list[int | None] = [*histories, None] if full else list(histories)
    rows: list[dict[str, Any]] = []
    for i, h in enumerate(runs):
        name = "all" if h is None else str(h)
        t0 = time.perf_counter()

        def inner(msg: str, frac: float, i: int = i, name: str = name) -> None:
            report(f"history {name}: {msg}", (i + frac) / len(runs))

        doc = run_kt(replace(base, history=h), inner)
        counts = doc["config"]["data_counts"]
        rows.append({
            "history": name,
            "train_responses": counts["train"]["responses"],
            "test_responses": counts["test"]["responses"],
            "K": doc["population"]["selected_k"],
            "models": {m: {"auc": v["auc"], "auc_ci95": v["auc_ci95"], "log_loss": v["log_loss"],
                           "auc_first10": v["auc_first10"]} for m, v in doc["models"].items()},
            "seconds": time.perf_counter() - t0,
        })
    report("done", 1.0)
    return {"data": base.source.data, "quick": quick, "seed": seed,
            "note": "fitted on the first `history` responses of every training and validation student; test "
                    "students scored online on all their responses; pyBKT not run",
            "rows": rows}
