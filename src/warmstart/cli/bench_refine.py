"""``bench refine``: items refined by the types where types exist by construction and the items' features are
learned (``warmstart.bench.refine``); writes refine.json."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from warmstart.cli._common import out, progress_bar, sanitize, write_json


def bench_refine(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for refine.json.")],
    quick: Annotated[bool, typer.Option("--quick", help="A small log and 2 rounds; a smoke run.")] = False,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
) -> None:
    """Items refined by the types on logs of LinearTypes-v0's types over items whose features are hidden (10
    and 30 events per user): the rounds the training users' validation split keeps, and the new users' replay
    with those rounds against none."""
    from warmstart.bench.refine import RefineBenchConfig, run_refine

    with progress_bar(f"refine{' (quick)' if quick else ''}") as bar:
        doc = run_refine(RefineBenchConfig.make(quick=quick, seed=seed), progress=bar)
    path = out_dir / "refine.json"
    write_json(path, sanitize(doc))
    table = Table(title="items refined by the types: ours (mixture_ids) with the rounds kept vs none")
    for col in ("events per user", "rounds kept (ours, pooled)", "validation lead (se)", "window", "refined",
                "none", "gain, paired [95% CI]"):
        table.add_column(col, justify="right")
    for n_events, log in doc["logs"].items():
        ref = log["refined"]["refinement"]
        kept = ", ".join(str(ref[who]["chosen"]) if who in ref else "-" for who in ("ours", "pooled"))
        lead = (f"{ref['ours']['lead_over_none']:+.3f} ({ref['ours']['lead_se']:.3f})" if "ours" in ref else "-")
        for i, (w, gain) in enumerate(log["gain"].items()):
            table.add_row(n_events if i == 0 else "", kept if i == 0 else "", lead if i == 0 else "", w,
                          f"{log['refined']['mean_reward']['mixture_ids'][w]:.3f}",
                          f"{log['none']['mean_reward']['mixture_ids'][w]:.3f}",
                          f"{gain['mean_diff']:+.3f} [{gain['ci95'][0]:+.3f}, {gain['ci95'][1]:+.3f}]")
    out.print(table)
    out.print(f"wrote {path}")
