"""``ope``: off-policy estimates from a log with propensities, or from the Open Bandit Dataset."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from warmstart.cli._common import CliError, console, out, sanitize, write_json


def ope(
    log: Annotated[Path | None, typer.Option(
        "--log", help="A logged-feedback file (CSV or Parquet: action, reward, propensity, "
        "eval_prob_<action> or eval_probs; optional round, position, q_<action>; docs/formats.md).")] = None,
    data: Annotated[str | None, typer.Option(
        help="obd: the Open Bandit Dataset sample (BTS estimated from random); the default without --log.")
    ] = None,
    action_dist: Annotated[Path | None, typer.Option(
        "--action-dist", help="With --log: an .npz whose array action_dist, of shape (n_rounds, n_actions) "
        "or (n_rounds, n_actions, n_positions), is the evaluation policy.")] = None,
    eval_policy: Annotated[str | None, typer.Option(
        help="With --log: uniform (over the log's actions) as the evaluation policy.")] = None,
    reward_model: Annotated[str, typer.Option(
        help="With --log: q_hat for DM and DR: auto (the q_* columns, else mean), columns, mean, ridge or "
        "none.")] = "auto",
    context_cols: Annotated[str | None, typer.Option(
        help="With --log: comma-separated context columns for --reward-model ridge.")] = None,
    folds: Annotated[int, typer.Option(
        help="With --log: cross-fitting folds of the reward model (1: in-sample).")] = 5,
    campaign: Annotated[str, typer.Option(help="With --data obd: all, men or women.")] = "all",
    n_sim: Annotated[int, typer.Option(help="With --data obd: simulations for the BTS action distribution.")
                     ] = 100_000,
    n_boot: Annotated[int, typer.Option(help="Bootstrap resamples for the intervals.")] = 2000,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    out_path: Annotated[Path | None, typer.Option("--out", help="Also write the results as JSON here.")] = None,
) -> None:
    """Off-policy estimates (IPS, SNIPS, DM, DR with bootstrap CIs). With --log FILE: of the evaluation policy
    given in (or with) any log that carries propensities, with weight diagnostics. Otherwise (--data obd): of
    the Bernoulli-TS policy from the Open Bandit Dataset's uniform-random logs, next to BTS's own on-policy
    click rate."""
    from dataclasses import asdict

    from warmstart.ope.obd import run_ope_obd

    if log is not None:
        if data is not None:
            raise CliError(f"ope: expected either --log FILE or --data obd, got both (--log {log}, "
                           f"--data {data})")
        _ope_log(log, action_dist, eval_policy, reward_model, context_cols, folds, n_boot, seed, out_path)
        return
    log_only = {"--action-dist": action_dist is not None, "--eval-policy": eval_policy is not None,
                "--reward-model": reward_model != "auto", "--context-cols": context_cols is not None,
                "--folds": folds != 5}
    if any(log_only.values()):
        given = ", ".join(k for k, v in log_only.items() if v)
        raise CliError(f"ope: expected --log FILE with {given}, got none (the Open Bandit Dataset run, "
                       "--data obd, has its own policy and model)")
    data = "obd" if data is None else data
    if data != "obd":
        raise CliError(f"--data: expected obd, got {data!r}")
    doc = run_ope_obd(campaign, n_sim=n_sim, seed=seed, n_boot=n_boot)
    table = Table(title=f"Bernoulli TS estimated from the random campaign ({campaign})")
    for col in ("estimate", "value", "95% CI", "rounds"):
        table.add_column(col, justify="left" if col == "estimate" else "right")
    results = {k: v for k, v in doc.items() if hasattr(v, "estimate")}
    for name, r in results.items():
        table.add_row(name, f"{r.estimate:.5f}", f"{r.ci95[0]:.5f}-{r.ci95[1]:.5f}", f"{r.n:,}")
    out.print(table)
    if out_path is not None:
        write_json(out_path, sanitize({k: (asdict(v) if k in results else v) for k, v in doc.items()}))
        out.print(f"wrote {out_path}")


def _ope_log(log: Path, action_dist: Path | None, eval_policy: str | None, reward_model: str,
             context_cols: str | None, folds: int, n_boot: int, seed: int, out_path: Path | None) -> None:
    from warmstart.ope.diagnostics import evaluate_log
    from warmstart.ope.logs import load_ope_log

    cols = tuple(c.strip() for c in context_cols.split(",") if c.strip()) if context_cols else ()
    if n_boot < 1:
        raise CliError(f"--n-boot: expected a positive integer, got {n_boot}")
    data = load_ope_log(log, action_dist=action_dist, eval_policy=eval_policy, context_cols=cols)
    report = evaluate_log(data, reward_model=reward_model, n_folds=folds, n_boot=n_boot, seed=seed)
    table = Table(title=f"off-policy estimates from {log.name}")
    for col in ("estimator", "value", "95% CI", "rounds"):
        table.add_column(col, justify="left" if col == "estimator" else "right")
    for name, r in report.estimates.items():
        table.add_row(name, f"{r.estimate:.5f}", f"{r.ci95[0]:.5f}-{r.ci95[1]:.5f}", f"{r.n:,}")
    out.print(table)
    out.print(f"evaluation policy: {report.eval_source}; {report.n_actions} actions")
    out.print(f"DM and DR use q_hat: {report.reward_model} (the intervals hold q_hat fixed, so DM's leaves "
              "out the model's own uncertainty)" if report.reward_model
              else "DM and DR not run (--reward-model none)")
    d = report.diagnostics
    out.print(f"importance weights: ESS {d.ess:,.1f} of {d.n_rounds:,} rounds ({d.ess_fraction:.1%}), max "
              f"weight {d.max_weight:.4g}, mean weight {d.mean_weight:.4f}, logged action never picked by "
              f"the evaluation policy in {d.zero_mass_share:.1%} of rounds, smallest propensity "
              f"{d.min_propensity:.4g}")
    for w in report.warnings:
        console.print(f"[yellow]warning:[/yellow] {w}")
    if out_path is not None:
        write_json(out_path, sanitize(report.to_dict()))
        out.print(f"wrote {out_path}")

