"""``audit fairness``, ``audit leakage`` and ``explain``: what the inferred types say about users."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from warmstart.cli._common import console, out, progress_bar, sanitize, write_json


def _audit_features(events: Any, population_path: Path, items: Path | None) -> Any:
    """The item features for audits: the log's own, --items, or the ``.items.npz`` beside the population."""
    from warmstart.governance.audit import item_features_for

    if items is None and events.features is None and population_path.with_suffix(".items.npz").is_file():
        items = population_path.with_suffix(".items.npz")
    return item_features_for(events, items)


_ITEMS_HELP = ("Item features (.items.npz from `warmstart fit --log`) when the log has no f_* columns; by default "
               "the one next to the population.")
_LOG_HELP = ("An event log (CSV or Parquet, docs/formats.md) with per-user columns, or a simulated log (.npz from "
             "`warmstart simulate`, whose true types are used).")


def audit_fairness(
    log: Annotated[Path, typer.Option("--log", help=_LOG_HELP)],
    population: Annotated[Path, typer.Option("--population", help="The population (from `warmstart fit`).")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for fairness.json and fairness.md.")],
    group: Annotated[str | None, typer.Option("--group", help="A per-user column to break outcomes down by.")
                     ] = None,
    true_type: Annotated[str | None, typer.Option(
        "--true-type", help="A per-user column holding each user's true type (simulator logs; an .npz log "
        "uses its own).")] = None,
    items: Annotated[Path | None, typer.Option("--items", help=_ITEMS_HELP)] = None,
    margin: Annotated[float, typer.Option(help="Flag a segment whose whole 95% CI is below the overall mean by "
                                               "more than this share of |overall mean|.")] = 0.1,
    first_events: Annotated[int, typer.Option(help="The first events of a user: the cold-start experience.")] = 10,
    min_users: Annotated[int, typer.Option(help="Smallest segment that can be flagged.")] = 5,
    n_boot: Annotated[int, typer.Option(help="Bootstrap resamples of users.")] = 1000,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
) -> None:
    """Outcomes per inferred type, per group and (on the simulator) per true type: mean reward per user, per
    event, in the first events and after, with bootstrap 95% CIs; flags disparities. Writes fairness.json and
    fairness.md."""
    from warmstart.families.linear.population import Population
    from warmstart.governance.audit import (
        TRUE_TYPE,
        fairness_audit,
        fairness_rows,
        load_audit_log,
        write_fairness,
    )

    pop = Population.load(population)
    if log.name.lower().endswith(".npz") and true_type is None:
        true_type = TRUE_TYPE
    columns = [c for c in dict.fromkeys((group, true_type)) if c is not None]
    audit = load_audit_log(log, columns)
    features = _audit_features(audit.events, population, items)
    with progress_bar("fairness audit") as bar:
        report = fairness_audit(audit, pop, group=group, true_type=true_type, features=features, margin=margin,
                                n_boot=n_boot, first_events=first_events, min_users=min_users, seed=seed,
                                progress=bar)
    json_path, md_path = write_fairness(report, out_dir)
    table = Table(title=f"fairness: mean reward per segment ({report.n_users} users, {report.n_events} events)")
    for col in ("segment", "users", "per user [95% CI]", f"first {first_events} events", "later events",
                "inferred as", "disparity"):
        table.add_column(col, justify="right" if col == "users" else "left", no_wrap=col == "segment")
    prefix = {"all": "", "inferred type": "inferred ", "true type": "true type ", "group": f"{group}="}
    for seg, row in zip([report.overall, *report.segments], fairness_rows(report, weighted=True)):
        if seg.kind != "inferred type (weighted)":
            table.add_row(prefix[seg.kind] + seg.name, row[1], row[2], *row[4:])
    # a pipe or a file gets the whole table on one line per segment (a terminal: its own width)
    (out if out.is_terminal else Console(width=max(out.width, 150))).print(table)
    out.print(f"rule: {report.rule}", soft_wrap=True)
    for s in report.flagged:
        console.print(f"[yellow]disparity:[/yellow] {s.kind} {s.name}: {', '.join(s.disparity)} below the overall "
                      "mean", soft_wrap=True)
    if not report.flagged:
        out.print("no segment flagged")
    out.print(f"wrote {json_path} and {md_path}")


def audit_leakage(
    log: Annotated[Path, typer.Option("--log", help=_LOG_HELP)],
    attribute: Annotated[str, typer.Option("--attribute", help="The per-user sensitive attribute column.")],
    population: Annotated[Path, typer.Option("--population", help="The population (from `warmstart fit`).")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for leakage.json.")],
    threshold: Annotated[float, typer.Option(help="Warn when the AUC's 95% CI lower bound is above this.")] = 0.6,
    items: Annotated[Path | None, typer.Option("--items", help=_ITEMS_HELP)] = None,
    folds: Annotated[int, typer.Option(help="Cross-fitting folds.")] = 5,
    n_boot: Annotated[int, typer.Option(help="Bootstrap resamples of users (each refits).")] = 500,
    n_perm: Annotated[int, typer.Option(help="Permutations of the attribute for the chance level.")] = 200,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
) -> None:
    """How well the inferred types predict a sensitive attribute: cross-fitted logistic regression on each
    user's type probabilities, AUC with a bootstrap 95% CI against chance (0.5, and a permutation null); warns
    above --threshold. Writes leakage.json."""
    from warmstart.families.linear.population import Population
    from warmstart.governance.audit import load_audit_log
    from warmstart.governance.leakage import leakage_audit

    pop = Population.load(population)
    audit = load_audit_log(log, [attribute])
    features = _audit_features(audit.events, population, items)
    with progress_bar("leakage audit") as bar:
        report = leakage_audit(audit, pop, attribute, features=features, threshold=threshold, n_folds=folds,
                               n_boot=n_boot, n_perm=n_perm, seed=seed, progress=bar)
    path = out_dir / "leakage.json"
    write_json(path, sanitize(report.to_dict()))
    target = (f"{attribute} = {report.positive_class}" if report.positive_class is not None
              else f"{attribute} ({report.method})")
    lo, hi = report.ci95
    plo, phi = report.permutation_ci95
    out.print(f"inferred types -> {target}: AUC {report.auc:.3f} (95% CI {lo:.3f}-{hi:.3f}) over "
              f"{report.n_users} users; chance is 0.5 (permutation null 95% range {plo:.3f}-{phi:.3f}, "
              f"p = {report.permutation_p:.3g})", soft_wrap=True)
    if len(report.classes) > 2:
        out.print("per value (one vs rest): " + ", ".join(f"{c} {a:.3f}" for c, a in report.per_class_auc.items()),
                  soft_wrap=True)
    if report.warning:
        console.print(f"[yellow]warning:[/yellow] {report.warning}", soft_wrap=True)
    else:
        out.print(f"below the warning threshold (CI lower bound {lo:.3f} <= {threshold:g})")
    out.print(f"wrote {path}")


def explain(
    user: Annotated[str, typer.Argument(help="The user's id in the log.")],
    population: Annotated[Path, typer.Option("--population", help="The population (from `warmstart fit`).")],
    user_log: Annotated[Path, typer.Option("--user-log", help="An event log holding the user's events (CSV, "
                                                              "Parquet or a simulated .npz).")],
    items: Annotated[Path | None, typer.Option("--items", help=_ITEMS_HELP)] = None,
    json_path: Annotated[Path | None, typer.Option("--json", help="Also write the explanation as JSON here.")
                         ] = None,
) -> None:
    """Explain in plain language what was inferred about USER (type probabilities, what the type means in terms
    of actions, how many events) and why (how the evidence moved)."""
    from warmstart.families.linear.population import Population
    from warmstart.governance.audit import load_audit_log
    from warmstart.governance.explain import explain_user, format_explanation

    pop = Population.load(population)
    events = load_audit_log(user_log).events
    explanation = explain_user(pop, events, user, features=_audit_features(events, population, items))
    out.print(format_explanation(explanation), soft_wrap=True, markup=False, highlight=False)
    if json_path is not None:
        write_json(json_path, sanitize(explanation.to_dict()))
        out.print(f"wrote {json_path}")

