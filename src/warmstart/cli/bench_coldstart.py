"""``bench coldstart``: fit on a simulated training log, serve new users with every policy, write coldstart.json.

The simulator is a preset, a TOML file (``--config``) or either with options changing single fields; its own
module because those options are many (the other benchmarks' commands are in ``warmstart.cli.bench``, which
exports this one too).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from warmstart._io import atomic_write
from warmstart.cli._common import CliError, literal, out, progress_bar, sanitize, write_json


def bench_coldstart(
    out_dir: Annotated[Path | None, typer.Option("--out", help="Folder for the JSON.")] = None,
    preset: Annotated[str | None, typer.Option(help="Simulator preset: default or hard (default: default).")
                      ] = None,
    config: Annotated[Path | None, typer.Option(
        "--config", help=literal("A TOML file of the simulator's LinearTypesConfig fields and an optional [drift] "
                                 "table (benchmarks/configs/coldstart-default.toml is the default preset); instead "
                                 "of --preset."))] = None,
    write_config: Annotated[Path | None, typer.Option(
        "--write-config", help="Write the simulator's configuration (the preset or --config, with the options "
        "below applied) as TOML to this file and exit without running.")] = None,
    dim: Annotated[int | None, typer.Option(help="Feature dimension d.")] = None,
    types: Annotated[int | None, typer.Option(help="Number of types K (the last one is the minority).")] = None,
    actions: Annotated[int | None, typer.Option(help="Candidate actions per step.")] = None,
    noise: Annotated[float | None, typer.Option(help="Reward noise standard deviation.")] = None,
    mean_scale: Annotated[float | None, typer.Option(help="Spread of the type means (hard preset: 0.5).")] = None,
    within_sd: Annotated[float | None, typer.Option(help="Spread of users within a type.")] = None,
    minority_share: Annotated[float | None, typer.Option(help="Share of users of the minority type.")] = None,
    outlier_share: Annotated[float | None, typer.Option(help="Share of outliers (users of no type).")] = None,
    outlier_var: Annotated[float | None, typer.Option(help="Variance of the outliers' preferences.")] = None,
    population_seed: Annotated[int | None, typer.Option(help="Seed of the true type means.")] = None,
    switch_at: Annotated[int | None, typer.Option(
        help="Drift: another type's user answers every new user after this many steps.")] = None,
    misleading_start: Annotated[int | None, typer.Option(
        help="Drift: another type's user answers every new user's first this many steps.")] = None,
    train_users: Annotated[int | None, typer.Option(help="Users in the training log.")] = None,
    train_events: Annotated[int | None, typer.Option(help="Events per training user.")] = None,
    test_users: Annotated[int | None, typer.Option(help="New users served (population).")] = None,
    minority_users: Annotated[int | None, typer.Option(help="New users of the minority type served.")] = None,
    outlier_users: Annotated[int | None, typer.Option(help="New outlier users served.")] = None,
    steps: Annotated[int | None, typer.Option(help="Steps per new user.")] = None,
    name: Annotated[str | None, typer.Option(
        help="Write coldstart-NAME.json (default: coldstart.json for the default preset, coldstart-hard.json for "
        "the hard one, coldstart-custom.json for anything else).")] = None,
    quick: Annotated[bool, typer.Option("--quick", help="Fewer users (2,000 training, 200 test).")] = False,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    policies: Annotated[str | None, typer.Option(help="Comma-separated policy names (default: all).")] = None,
    workers: Annotated[int, typer.Option(help="Worker processes, one policy each.")] = 2,
) -> None:
    """Fit on a training log, serve new users with every policy, write coldstart.json. The simulator is a
    preset, a TOML file (--config) or either with options changing single fields; the configuration used is
    in the JSON."""
    from warmstart.bench.coldstart import ColdStartConfig, run_coldstart

    fields = {"dim": dim, "n_types": types, "n_actions": actions, "noise_sd": noise, "mean_scale": mean_scale,
              "within_sd": within_sd, "minority_share": minority_share, "outlier_share": outlier_share,
              "outlier_var": outlier_var, "population_seed": population_seed}
    sim, drift, source = _simulator(preset, config, fields, switch_at, misleading_start)
    if write_config is not None:
        _write_config(write_config, sim, drift, source)
        return
    if out_dir is None:
        raise CliError("bench coldstart: expected --out DIR (or --write-config FILE)")
    names = _policy_names(policies)
    sizes = {"n_train_users": train_users, "n_train_events": train_events, "n_test_users": test_users,
             "n_minority_users": minority_users, "n_outlier_users": outlier_users, "steps": steps}
    overrides: dict[str, Any] = {"policies": names, "workers": workers, "sim": sim, "drift": drift,
                                 **{k: v for k, v in sizes.items() if v is not None}}
    if "mixture_ids" not in names:
        overrides["ours"] = next((n for n in names if n.startswith("mixture")), names[0])
    cfg = ColdStartConfig.make(sim.preset, quick=quick, seed=seed, **overrides)
    with progress_bar(f"cold start ({source}{', quick' if quick else ''})") as bar:
        doc = run_coldstart(cfg, progress=bar)
    doc["config"]["sim_source"] = source
    path = out_dir / f"coldstart-{name}.json" if name else out_dir / _coldstart_file(sim, drift)
    write_json(path, sanitize(doc))
    print_coldstart(doc)
    out.print(f"wrote {path}")


def _simulator(preset: str | None, config: Path | None, fields: dict[str, Any], switch_at: int | None,
               misleading_start: int | None) -> tuple[Any, Any, str]:
    """The simulator's configuration and drift from ``--preset`` or ``--config``, with the options' fields
    (``fields``, None where not given) and drift applied, and where they came from (``source``, for the JSON)."""
    from warmstart.bench.sim_config import load_sim_config
    from warmstart.sim.drift import DriftSpec
    from warmstart.sim.linear_types import LinearTypesConfig

    if preset is not None and config is not None:
        raise CliError("--preset, --config: expected one of them (a config file names its preset), got both")
    if config is not None:
        sim, drift = load_sim_config(config)
        source = f"--config {config}"
    else:
        sim, drift, source = LinearTypesConfig.preset_named(preset or "default"), None, f"--preset {preset or 'default'}"
    changed: dict[str, Any] = {k: v for k, v in fields.items() if v is not None}
    if changed:
        sim = replace(sim, **changed)
        source += " with " + ", ".join(f"{k} = {v}" for k, v in changed.items())
    if switch_at is not None or misleading_start is not None:
        drift = DriftSpec(switch_at=switch_at, misleading_start=misleading_start)
    return sim, drift, source


def _write_config(path: Path, sim: Any, drift: Any, source: str) -> None:
    """``--write-config``: the simulator's configuration as TOML, saying where it came from."""
    from warmstart.bench.sim_config import sim_config_toml

    atomic_write(path, sim_config_toml(sim, drift, comment=f"written by warmstart bench coldstart "
                                       f"--write-config ({source})").encode())
    out.print(f"wrote {path}")


def _policy_names(policies: str | None) -> tuple[str, ...]:
    """``--policies`` (comma-separated; default: every policy of the benchmark), each checked to be registered."""
    from warmstart.bench.coldstart import ALL_POLICIES
    from warmstart.policies.registry import available_policies

    names = tuple(p.strip() for p in policies.split(",")) if policies else ALL_POLICIES
    unknown = [n for n in names if n not in available_policies()]
    if unknown:
        raise CliError(f"--policies: expected names from {available_policies()}, got {unknown}")
    return names


def _coldstart_file(sim: Any, drift: Any) -> str:
    """coldstart.json for the default preset as it is, coldstart-hard.json for the hard one (the names the
    report reads), coldstart-custom.json for any other simulator."""
    from warmstart.sim.linear_types import LinearTypesConfig

    if drift is None and sim.preset in ("default", "hard") and sim == LinearTypesConfig.preset_named(sim.preset):
        return "coldstart.json" if sim.preset == "default" else f"coldstart-{sim.preset}.json"
    return "coldstart-custom.json"


def print_coldstart(doc: dict[str, Any]) -> None:
    table = Table(title=f"cold start: cumulative regret (mean over {doc['config']['n_test_users']} new users)")
    table.add_column("policy")
    keys = list(next(iter(doc["policies"].values()))["regret_at"])
    for k in keys:
        table.add_column(f"R({k})", justify="right")
    table.add_column("steps to 90%", justify="right")
    for name, p in doc["policies"].items():
        table.add_row(name, *[f"{p['regret_at'][k]:.2f}" for k in keys], str(p["steps_to_90"]))
    out.print(table)
