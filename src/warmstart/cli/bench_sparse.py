"""``bench sparse``: the cold-start grid over sparse and noisy training histories, and knowledge tracing by the
training students' history length (``warmstart.bench.sparse``, ``warmstart.bench.sparse_kt``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from warmstart.cli._common import CliError, console, out, progress_bar, sanitize, write_json

QUICK = {"events": "3,10", "users": "500", "noise": "1,4", "kt_history": "5,50"}


def _numbers(option: str, text: str, kind: type) -> tuple[Any, ...]:
    """A comma-separated option (``--events 3,5,10``) as a tuple of ``kind``; the error names the option."""
    try:
        values = tuple(kind(p.strip()) for p in text.split(",") if p.strip())
    except ValueError:
        values = ()
    if not values or any(v <= 0 for v in values):
        raise CliError(f"{option}: expected comma-separated positive {kind.__name__}s (e.g. 3,5,10), got {text!r}")
    return values


def bench_sparse(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for sparse.json.")],
    events: Annotated[str | None, typer.Option(help="Events per training user (default 3,5,10,20,50).")] = None,
    users: Annotated[str | None, typer.Option(help="Training users (default 500,1000,5000).")] = None,
    noise: Annotated[str | None, typer.Option(help="Multipliers of the reward noise (default 1,2,4).")] = None,
    test_users: Annotated[int, typer.Option(help="New users served in every cell.")] = 300,
    steps: Annotated[int, typer.Option(help="Steps per new user (at least 200: G(200) is reported).")] = 200,
    kt_history: Annotated[str | None, typer.Option(
        "--kt-history", help="Training students' responses kept, for the knowledge-tracing part (default "
        "5,10,20,50).")] = None,
    skip_kt: Annotated[bool, typer.Option("--skip-kt", help="Do not run the knowledge-tracing part.")] = False,
    quick: Annotated[bool, typer.Option(
        "--quick", help=f"A smoke run: events {QUICK['events']}, users {QUICK['users']}, noise {QUICK['noise']}, "
        f"60 new users, knowledge tracing on a subset of students with history {QUICK['kt_history']} (options "
        "given explicitly win).")] = False,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    workers: Annotated[int, typer.Option(help="Worker processes, one policy each (with --jobs 1).")] = 2,
    jobs: Annotated[int, typer.Option(help="Cells run at once, one process each (each then serves its "
                                      "policies one after another); every finished cell is printed.")] = 1,
) -> None:
    """Cold start at every cell of a grid of training-log sizes and noise (G(20), G(200), the K found, ours'
    regret against pooled TS with a paired bootstrap CI) and knowledge tracing by the training students' history
    length. Writes sparse.json."""
    from warmstart.bench.sparse import SparseConfig, run_sparse
    from warmstart.bench.sparse_kt import HISTORIES, run_sparse_kt

    grid = {"events": events, "users": users, "noise": noise}
    if quick:
        grid = {k: v if v is not None else QUICK[k] for k, v in grid.items()}
        test_users = 60 if test_users == 300 else test_users
    given: dict[str, Any] = {k: _numbers(f"--{k}", v, float if k == "noise" else int)
                             for k, v in grid.items() if v is not None}
    cfg = SparseConfig(**given, n_test_users=test_users, steps=steps, seed=seed, workers=workers, jobs=jobs,
                       quick=quick,
                       n_bootstrap=200 if quick else 1000)
    histories = HISTORIES if kt_history is None and not quick else _numbers(
        "--kt-history", kt_history or QUICK["kt_history"], int)
    with progress_bar(f"sparse histories ({cfg.n_cells} cells{', quick' if quick else ''})") as bar:
        def grid_progress(message: str, frac: float) -> None:
            bar(message, 0.9 * frac if not skip_kt else frac)
            if "cells done" in message:  # a finished cell (with --jobs): a line each, for logs
                console.print(message)

        doc = run_sparse(cfg, grid_progress)
        if not skip_kt:
            doc["kt"] = run_sparse_kt(histories, seed=seed, quick=quick, progress=lambda m, f: bar(
                f"knowledge tracing: {m}", 0.9 + 0.1 * f))
    path = out_dir / "sparse.json"
    write_json(path, sanitize(doc))
    print_sparse(doc)
    out.print(f"wrote {path}")


def print_sparse(doc: dict[str, Any]) -> None:
    table = Table(title="sparse and noisy training histories (ours: mixture_ids; diff: ours' regret - pooled TS's)")
    for col in ("events", "users", "noise", "K", "G(20)", "G(200)", "diff(20)", "diff(200)", "no harm"):
        table.add_column(col, justify="right")
    for c in doc["cells"]:
        table.add_row(str(c["events"]), f"{c['users']:,}", f"x{c['noise']:g}", str(c["K"]),
                      *[_fmt(c["G"][t]) for t in ("20", "200")],
                      *[_fmt(c["diff_vs_pooled"][t], "+.2f") for t in ("20", "200")],
                      "yes" if c["no_harm"] else "NO")
    out.print(table)
    if "kt" in doc:
        kt = Table(title="knowledge tracing: AUC of new students by the training students' history")
        for col in ("history", "K", "ours", "bkt", "skill_mean"):
            kt.add_column(col, justify="right")
        for r in doc["kt"]["rows"]:
            kt.add_row(r["history"], str(r["K"]), *[_fmt(r["models"][m]["auc"], ".3f")
                                                    for m in ("ours", "bkt", "skill_mean")])
        out.print(kt)


def _fmt(x: float | None, spec: str = ".2f") -> str:
    return "-" if x is None else format(x, spec)
