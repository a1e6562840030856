"""``bench dynamics``: learned response dynamics (planning on ``Satiation-v0``, parameter recovery, and next-rating
prediction on MovieLens); writes dynamics.json."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from warmstart.cli._common import chosen_parts, out, progress_bar, sanitize, write_json

DYNAMICS_PARTS = ("satiation", "movielens")


def bench_dynamics(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for dynamics.json (and, with the satiation "
                                          "part, dynamics-population.npz: the fitted linear_dynamics population).")],
    quick: Annotated[bool, typer.Option("--quick", help="Smaller runs of every part; a smoke run.")] = False,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    part: Annotated[list[str] | None, typer.Option(
        "--part", help=f"Run only these parts (repeatable): {', '.join(DYNAMICS_PARTS)}.")] = None,
    data: Annotated[Path | None, typer.Option(
        "--data", help="The MovieLens ml-latest-small folder (default: found as `bench replay` finds it).")] = None,
) -> None:
    """Learned response dynamics: planning with the model fitted from a log on Satiation-v0 against the
    simulator's dynamics given and the oracle planner, the fitted parameters against the simulator's, and
    next-rating prediction for held-out MovieLens users, dynamic against static."""
    from warmstart.bench.dynamics import DynamicsBenchConfig, run_dynamics

    parts = chosen_parts(part, DYNAMICS_PARTS)
    with progress_bar(f"dynamics{' (quick)' if quick else ''}") as bar:
        population_path = out_dir / "dynamics-population.npz" if "satiation" in parts else None
        if population_path is not None:
            out_dir.mkdir(parents=True, exist_ok=True)
        doc = run_dynamics(DynamicsBenchConfig.make(quick=quick, seed=seed), parts=parts,
                           movielens_root=None if data is None else str(data), progress=bar,
                           population_out=population_path)
    path = out_dir / "dynamics.json"
    write_json(path, sanitize(doc))
    table = Table(title="learned dynamics")
    table.add_column("figure")
    table.add_column("value", justify="right")
    sat = doc.get("satiation")
    if sat:
        lo, hi = sat["learned_gain_share_ci95"]
        table.add_row("learned gain share", f"{sat['learned_gain_share']:.3f} [{lo:.3f}, {hi:.3f}]")
        table.add_row("given gain share", f"{sat['given_gain_share']:.3f}")
        table.add_row("chosen half-lives", ", ".join(f"{h:.2f}" for h in sat["chosen"]["half_lives"]))
        table.add_row("habit categories", str(sat["chosen"]["spec"]["habit_categories"]))
        for k, e in sat["recovery"]["per_type"].items():
            table.add_row(f"type {k} covered", f"{e['n_covered']}/{e['n_params']} ({e['n_train_users']} users)")
        if "met_simultaneous" in sat["recovery"]:
            table.add_row("simultaneous band covers all", str(sat["recovery"]["met_simultaneous"]))
    ml = doc.get("movielens")
    if ml:
        for bucket, e in ml["by_position"].items():
            table.add_row(f"MovieLens {bucket} loglik dyn - static", f"{e['loglik_diff']['value']:+.4f}")
            table.add_row(f"MovieLens {bucket} RMSE dyn - static", f"{e['rmse_diff']['value']:+.4f}")
    out.print(table)
    out.print(f"wrote {path}")
    if population_path is not None:
        out.print(f"wrote {population_path} (the linear_dynamics population fitted from the Satiation-v0 log's "
                  "events: `warmstart serve --population` serves it, `--policy type_plan` plans with it)")
