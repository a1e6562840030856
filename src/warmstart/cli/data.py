"""Data commands: ``simulate`` a log, per-user ``stats`` of an event log as Parquet shards, ``merge-shards``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from warmstart.cli._common import CliError, out, progress_bar


def simulate(
    out_path: Annotated[Path, typer.Option(
        "--out", help="Where to write the log: .npz (with ground truth), or .csv / .parquet for the generic "
        "event-log format (docs/formats.md).")] = Path("log.npz"),
    preset: Annotated[str, typer.Option(help="Simulator preset: default or hard.")] = "default",
    users: Annotated[int, typer.Option(help="Number of training users.")] = 5000,
    events: Annotated[int, typer.Option(help="Events per user.")] = 50,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
) -> None:
    """Simulate a training log from warmstart/LinearTypes-v0 with a uniform-random logging policy."""
    from warmstart.data.bandit_log import save_log
    from warmstart.sim.linear_types import LinearTypesConfig, LinearTypesPopulation

    if users < 2 or events < 1:
        raise CliError(f"--users: expected at least 2 and --events at least 1, got {users} and {events}")
    truth = LinearTypesPopulation(LinearTypesConfig.preset_named(preset))
    log = truth.logged(users, events, seed=seed)
    if out_path.suffix in (".csv", ".parquet", ".pq") or out_path.name.endswith(".csv.gz"):
        from warmstart.data.events import export_events

        export_events(log, out_path)
    else:
        save_log(out_path, log)
    out.print(f"wrote {users} users x {events} events ({preset} preset, seed {seed}) to {out_path}")


def stats(
    log: Annotated[Path, typer.Argument(help="An event log in the generic format with item features on its rows "
                                        "(CSV, Parquet, or a folder of Parquet files).")],
    out_dir: Annotated[Path, typer.Option("--out", help="A new folder for the Parquet shards.")],
    items: Annotated[Path | None, typer.Option(help="An items table (item, f_0, f_1, ...) to join the features "
                                               "from, when the log's rows carry none.")] = None,
    shard_users: Annotated[int, typer.Option(help="Users per shard (keep it a multiple of 2,000, the fit's "
                                             "chunk).")] = 100_000,
    memory_limit: Annotated[str, typer.Option(help="DuckDB's memory limit (it spills to disk beyond it).")] = "3GB",
) -> None:
    """Per-user statistics of an event log of any size (DuckDB, streaming), written as Parquet shards for
    `warmstart fit SHARDS [--init-sample N] [--backend ray]`."""
    from warmstart.families.linear.stats import log_statistics_to_shards

    with progress_bar("statistics") as bar:
        t0 = time.perf_counter()
        try:
            shards = log_statistics_to_shards(log, out_dir, items=items, shard_users=shard_users,
                                              memory_limit=memory_limit, progress=bar)
        except (OSError, ValueError) as exc:
            raise CliError(str(exc)) from exc
    out.print(f"{shards.n_users:,} users, {shards.n_events:,.0f} events, {len(shards.shards)} shards of up to "
              f"{shard_users:,} users in {time.perf_counter() - t0:.1f} s: wrote {out_dir}")


def merge_shards_command(
    folders: Annotated[list[Path], typer.Argument(help="Shards folders (one per partition of the users).")],
    out_dir: Annotated[Path, typer.Option("--out", help="A new folder for the merged shards.")],
) -> None:
    """One shards folder from several written by `warmstart stats` (hard links, or copies across disks)."""
    from warmstart.families.linear.shards import merge_shards

    try:
        shards = merge_shards(folders, out_dir)
    except (OSError, ValueError) as exc:
        raise CliError(str(exc)) from exc
    out.print(f"{shards.n_users:,} users in {len(shards.shards)} shards from {len(folders)} folders: wrote {out_dir}")

