"""The ``warmstart`` command line: simulate, fit, bench, report, demo.

Every command prints one line on error (``error: ...``) and exits with status 2; long work shows a progress
bar. Benchmarks write JSON with their configuration, seed, version and machine.
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from warmstart._io import atomic_write

app = typer.Typer(
    help="warmstart: learn the types of people from a population and serve new users well from the first "
    "interaction.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
bench_app = typer.Typer(help="Benchmarks that write JSON (cold start, speed, knowledge tracing, tutoring, replay, service).", no_args_is_help=True)
app.add_typer(bench_app, name="bench")
keys_app = typer.Typer(help="API keys of the service (stored hashed; the key is printed once).", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
audit_app = typer.Typer(help="Audits of what the types infer: outcomes per type and group, attribute leakage.",
                        no_args_is_help=True)
app.add_typer(audit_app, name="audit")
console = Console(stderr=True)
out = Console()


class CliError(Exception):
    """An error to print as one line."""


@contextmanager
def progress_bar(title: str) -> Iterator[Callable[[str, float], None]]:
    """A rich progress bar driven by ``callback(message, fraction)``."""
    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(), console=console, transient=False,
    ) as prog:
        task = prog.add_task(title, total=1.0)

        def update(message: str, fraction: float) -> None:
            prog.update(task, completed=max(0.0, min(1.0, fraction)), description=f"{title}: {message}")

        yield update
        prog.update(task, completed=1.0)


def _write_json(path: Path, doc: dict[str, Any]) -> None:
    atomic_write(path, json.dumps(doc, indent=1, allow_nan=False, default=_json_default).encode())


def _json_default(obj: Any) -> Any:
    import numpy as np

    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def _sanitize(obj: Any) -> Any:
    """Replace NaN/inf by None so the JSON is strict."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _sanitize(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_sanitize(v) for v in obj]
    return obj


# ---------------------------------------------------------------------------------------------- commands
@app.command()
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
    from warmstart.eval.logs import save_log
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


@app.command()
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
    from warmstart.data.stats import log_statistics_to_shards

    with progress_bar("statistics") as bar:
        t0 = time.perf_counter()
        try:
            shards = log_statistics_to_shards(log, out_dir, items=items, shard_users=shard_users,
                                              memory_limit=memory_limit, progress=bar)
        except (OSError, ValueError) as exc:
            raise CliError(str(exc)) from exc
    out.print(f"{shards.n_users:,} users, {shards.n_events:,.0f} events, {len(shards.shards)} shards of up to "
              f"{shard_users:,} users in {time.perf_counter() - t0:.1f} s: wrote {out_dir}")


@app.command("merge-shards")
def merge_shards_command(
    folders: Annotated[list[Path], typer.Argument(help="Shards folders (one per partition of the users).")],
    out_dir: Annotated[Path, typer.Option("--out", help="A new folder for the merged shards.")],
) -> None:
    """One shards folder from several written by `warmstart stats` (hard links, or copies across disks)."""
    from warmstart.data.shards import merge_shards

    try:
        shards = merge_shards(folders, out_dir)
    except (OSError, ValueError) as exc:
        raise CliError(str(exc)) from exc
    out.print(f"{shards.n_users:,} users in {len(shards.shards)} shards from {len(folders)} folders: wrote {out_dir}")


@app.command()
def fit(
    log_path: Annotated[Path | None, typer.Argument(
        help="A log written by `warmstart simulate` (.npz), or a folder of per-user statistics in Parquet shards "
        "(written by `warmstart stats`).")] = None,
    log: Annotated[Path | None, typer.Option(
        "--log", help="An event log in the generic format (CSV or Parquet: user, time, item, [f_*], reward, "
        "[propensity]); item features are learned from its users when it has none.")] = None,
    out_path: Annotated[Path, typer.Option("--out", help="Where to write the population.")] = Path(
        "population.npz"
    ),
    n_types: Annotated[int | None, typer.Option(help="Fix K instead of choosing it from the data.")] = None,
    k_max: Annotated[int, typer.Option(help="Largest K tried when choosing K.")] = 12,
    selection: Annotated[str, typer.Option(help="How K is chosen: bic or heldout.")] = "bic",
    covariance: Annotated[str, typer.Option(help="Type covariance: full, diag or spherical.")] = "full",
    restarts: Annotated[int, typer.Option(help="Seeded k-means++ restarts per K.")] = 2,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    dp_epsilon: Annotated[float | None, typer.Option(
        "--dp-epsilon", help="Fit with (epsilon, delta)-differential privacy per user (needs --n-types and the "
        "privacy extra; the noise is freshly random, not seeded).")] = None,
    dp_delta: Annotated[float, typer.Option("--dp-delta", help="delta of the private fit.")] = 1e-6,
    init_sample: Annotated[int | None, typer.Option(
        "--init-sample", help="Fit on this many users drawn at random first, then run EM on every user from that "
        "fit (for millions of users; with shards, only the sample is read into memory).")] = None,
    backend: Annotated[str, typer.Option(help="Where the E-step passes run: inprocess or ray.")] = "inprocess",
    address: Annotated[str | None, typer.Option(
        help="With --backend ray: a running Ray cluster (host:port or auto); by default a local Ray is started "
        "on 127.0.0.1 and stopped at the end.")] = None,
    workers: Annotated[int | None, typer.Option(
        help="With --backend ray and no --address: CPUs of the local Ray (default: every core).")] = None,
    chunk: Annotated[int, typer.Option(help="Users per E-step chunk (500 is faster on 2 cores sharing a cache; "
                                       "keep shard sizes a multiple of it).")] = 2000,
) -> None:
    """Fit the population of user types (EM with model selection, split/merge moves, a novel component) from a
    simulated log (LOG_PATH) or an event log (--log); with --dp-epsilon, a differentially private fit."""
    from warmstart.data.shards import is_shards
    from warmstart.eval.logs import load_log
    from warmstart.population.fit import FitConfig, fit_population

    try:
        cfg = FitConfig(n_types=n_types, k_range=(1, k_max), selection=selection,  # type: ignore[arg-type]
                        covariance=covariance, n_init=restarts, seed=seed,  # type: ignore[arg-type]
                        init_sample=init_sample, chunk=chunk)
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    if (log_path is None) == (log is None):
        raise CliError("fit: expected exactly one of LOG_PATH (a simulated .npz log or a shards folder) or --log "
                       "FILE (an event log)")
    if backend not in ("inprocess", "ray"):
        raise CliError(f"--backend: expected inprocess or ray, got {backend!r}")
    if backend != "ray" and (address is not None or workers is not None):
        raise CliError("--address and --workers: expected only with --backend ray")
    if (backend != "inprocess" or init_sample is not None) and (log is not None or dp_epsilon is not None):
        raise CliError("--backend ray and --init-sample: expected LOG_PATH (a simulated log or shards), without "
                       "--log or --dp-epsilon")
    if dp_epsilon is not None and (log is not None or n_types is None):
        raise CliError("--dp-epsilon: expected a simulated .npz log (LOG_PATH; an event log's learned item features "
                       "would not be private) and --n-types K (choosing K would spend budget of its own)")
    if log is not None:
        _fit_events(log, out_path, cfg)
        return
    assert log_path is not None
    if is_shards(log_path):
        if dp_epsilon is not None:
            raise CliError("--dp-epsilon: expected a simulated .npz log, got a shards folder")
        _fit_shards(log_path, out_path, cfg, backend, address, workers)
        return
    if log_path.is_dir():
        raise CliError(f"LOG_PATH: expected a simulated .npz log or a shards folder (with manifest.json, written by "
                       f"`warmstart stats`), got the folder {str(log_path)!r} without one")
    summary = load_log(log_path).summary()
    if backend == "ray":
        _fit_shards(summary, out_path, cfg, backend, address, workers)
        return
    with progress_bar("fit") as bar:
        t0 = time.perf_counter()
        if dp_epsilon is not None:
            from warmstart.population.dp import DPConfig, fit_population_dp

            assert n_types is not None
            try:
                dp_cfg = DPConfig(epsilon=dp_epsilon, delta=dp_delta, n_types=n_types)
            except ValueError as exc:
                raise CliError(f"--dp-epsilon/--dp-delta: {exc}") from exc
            population = fit_population_dp(summary, dp_cfg)
        else:
            population = fit_population(summary, cfg, progress=bar)
        elapsed = time.perf_counter() - t0
    population.save(out_path)
    _print_population(population, elapsed)
    out.print(f"wrote {out_path}")


def _fit_shards(data: Any, out_path: Path, cfg: Any, backend: str, address: str | None,
                workers: int | None) -> None:
    """The fit of a shards folder (or a summary in memory) on the chosen backend."""
    from warmstart.data.shards import SummaryShards
    from warmstart.population.backend import make_backend
    from warmstart.population.fit import fit_population

    try:
        users = SummaryShards.open(data) if isinstance(data, Path) else data
    except (OSError, ValueError) as exc:
        raise CliError(f"LOG_PATH: {exc}") from exc
    options = {"address": address, "num_cpus": workers} if backend == "ray" else {}
    where = "in process" if backend == "inprocess" else f"on Ray ({address or 'local, 127.0.0.1'})"
    with progress_bar(f"fit {users.n_users:,} users {where}") as bar:
        try:
            runner = make_backend(backend, **options)
        except (ImportError, ValueError, ConnectionError, RuntimeError) as exc:
            raise CliError(f"--backend {backend}: {exc}") from exc
        t0 = time.perf_counter()
        try:
            population = fit_population(users, cfg, progress=bar, backend=runner)
        finally:
            runner.close()
        elapsed = time.perf_counter() - t0
    population.save(out_path)
    _print_population(population, elapsed)
    out.print(f"wrote {out_path}")


def _fit_events(log: Path, out_path: Path, cfg: Any) -> None:
    from warmstart.data.events import load_events
    from warmstart.eval.replay import EventFitConfig, fit_from_events
    from warmstart.models.item_features import save_item_features

    events = load_events(log)
    with progress_bar("fit (event log)") as bar:
        t0 = time.perf_counter()
        population, features, _ = fit_from_events(events, EventFitConfig(population=cfg), progress=bar)
        elapsed = time.perf_counter() - t0
    population.save(out_path)
    items_path = out_path.with_suffix(".items.npz")
    save_item_features(items_path, events.item_ids, features, population.diagnostics.get("item_features"))
    _print_population(population, elapsed)
    out.print(f"wrote {out_path} and {items_path} (the item features new users are served with)")


def _print_population(population, elapsed: float) -> None:
    d = population.diagnostics
    table = Table(title=f"{population.n_types} types + novel, chosen by {d.get('selection')} "
                        f"({d.get('n_users')} users, {elapsed:.1f} s)")
    for col in ("component", "weight", "noise sd", "mean norm", "spread (sd)"):
        table.add_column(col, justify="right")
    comps = population.components
    for k, name in enumerate(population.type_names()):
        spread = (comps.cov[k].trace() / comps.dim) ** 0.5
        table.add_row(name, f"{population.weights[k]:.3f}", f"{comps.noise_var[k] ** 0.5:.3f}",
                      f"{(comps.mu[k] ** 2).sum() ** 0.5:.2f}", f"{spread:.3f}")
    out.print(table)


@bench_app.command("coldstart")
def bench_coldstart(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for coldstart.json.")],
    preset: Annotated[str, typer.Option(help="Simulator preset: default or hard.")] = "default",
    quick: Annotated[bool, typer.Option("--quick", help="Fewer users (2,000 training, 300 test).")] = False,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    policies: Annotated[str | None, typer.Option(help="Comma-separated policy names (default: all).")] = None,
    workers: Annotated[int, typer.Option(help="Worker processes, one policy each.")] = 2,
) -> None:
    """Fit on a training log, serve new users with every policy, write coldstart.json (coldstart-hard.json
    for the hard preset)."""
    from warmstart.eval.coldstart import ALL_POLICIES, ColdStartConfig, run_coldstart
    from warmstart.policies.base import available_policies

    names = tuple(p.strip() for p in policies.split(",")) if policies else ALL_POLICIES
    unknown = [n for n in names if n not in available_policies()]
    if unknown:
        raise CliError(f"--policies: expected names from {available_policies()}, got {unknown}")
    overrides: dict[str, Any] = {"policies": names, "workers": workers}
    if "mixture_ids" not in names:
        overrides["ours"] = next((n for n in names if n.startswith("mixture")), names[0])
    cfg = ColdStartConfig.make(preset, quick=quick, seed=seed, **overrides)
    with progress_bar(f"cold start ({preset}{', quick' if quick else ''})") as bar:
        doc = run_coldstart(cfg, progress=bar)
    path = out_dir / ("coldstart.json" if preset == "default" else f"coldstart-{preset}.json")
    _write_json(path, _sanitize(doc))
    _print_coldstart(doc)
    out.print(f"wrote {path}")


def _print_coldstart(doc: dict[str, Any]) -> None:
    table = Table(title=f"cold start: cumulative regret (mean over {doc['config']['n_test_users']} new users)")
    table.add_column("policy")
    keys = list(next(iter(doc["policies"].values()))["regret_at"])
    for k in keys:
        table.add_column(f"R({k})", justify="right")
    table.add_column("steps to 90%", justify="right")
    for name, p in doc["policies"].items():
        table.add_row(name, *[f"{p['regret_at'][k]:.2f}" for k in keys], str(p["steps_to_90"]))
    out.print(table)


@bench_app.command("speed")
def bench_speed(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for speed.json.")],
    quick: Annotated[bool, typer.Option("--quick", help="Shorter timings and a 10,000-user EM fit.")] = False,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
) -> None:
    """Time act+update (next to Vowpal Wabbit), batched decisions, the EM fit, and the belief size."""
    from warmstart.eval.speed import run_speed

    with progress_bar("speed") as bar:
        doc = run_speed(quick=quick, seed=seed, progress=bar)
    path = out_dir / "speed.json"
    _write_json(path, _sanitize(doc))
    vw = doc.get("vw_predict_learn_us")
    out.print(f"act+update {doc['act_update_us']:.1f} us (VW predict+learn "
              f"{'n/a' if vw is None else f'{vw:.1f} us'}), batched {doc['batch_decisions_per_s']:.0f} "
              f"decisions/s, EM {doc['em_fit_s']:.1f} s on {doc['em_fit_users']} users, belief "
              f"{doc['belief_bytes']} bytes")
    out.print(f"wrote {path}")


@bench_app.command("kt")
def bench_kt(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for kt.json.")],
    data: Annotated[str, typer.Option(help="Data set: assistments2009 (its own train/valid/test split).")] = (
        "assistments2009"),
    skip_pybkt: Annotated[bool, typer.Option("--skip-pybkt", help="Do not run pyBKT (quick runs only).")] = False,
    quick: Annotated[bool, typer.Option("--quick", help="A seeded subset of students; a smoke run.")] = False,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
) -> None:
    """Next-response prediction on students unseen in training: our learner types, our BKT, a skill-mean
    baseline and pyBKT with forgetting (in its own environment, fitted alongside ours). Writes kt.json."""
    from warmstart.eval.kt import KTBenchConfig, run_kt
    from warmstart.peers.pybkt import PyBKTUnavailableError

    try:
        cfg = KTBenchConfig(data=data, seed=seed, pybkt=not skip_pybkt, quick=quick)
        with progress_bar(f"knowledge tracing ({data}{', quick' if quick else ''})") as bar:
            doc = run_kt(cfg, progress=bar)
    except PyBKTUnavailableError as exc:
        raise CliError(f"{exc} (or pass --skip-pybkt for a quick run without it)") from exc
    path = out_dir / "kt.json"
    _write_json(path, _sanitize(doc))
    table = Table(title=f"next-response prediction, unseen {data} students")
    for col in ("model", "AUC", "AUC 95% CI", "AUC responses 1-10", "log loss", "fit s"):
        table.add_column(col, justify="left" if col == "model" else "right")
    for name, m in doc["models"].items():
        lo, hi = m["auc_ci95"]
        fit = "" if m["fit_s"] is None else f"{m['fit_s']:.1f}"
        table.add_row(name, f"{m['auc']:.4f}", f"{lo:.3f}-{hi:.3f}", f"{m['auc_first10']:.4f}",
                      f"{m['log_loss']:.4f}", fit)
    out.print(table)
    out.print(f"wrote {path}")


@bench_app.command("replay")
def bench_replay(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for replay.json.")],
    log: Annotated[Path | None, typer.Option("--log", help="An event log (CSV or Parquet, generic format).")] = None,
    data: Annotated[str | None, typer.Option(
        help="Instead of --log: assistments2009 as (student, skill, correct) events.")] = None,
    train_fraction: Annotated[float, typer.Option(help="Share of users, by first event, used to fit.")] = 0.7,
    steps: Annotated[int, typer.Option(help="Replayed steps per new user.")] = 20,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
) -> None:
    """Fit on the earlier users of a log and replay the later ones: at each step a policy picks one of the
    items the user actually has in the log and gets its logged reward. Writes replay.json."""
    from warmstart.data.events import from_kt, load_events
    from warmstart.eval.replay import run_replay

    if (log is None) == (data is None):
        raise CliError("bench replay: expected exactly one of --log FILE or --data assistments2009")
    if data is not None:
        if data != "assistments2009":
            raise CliError(f"--data: expected assistments2009, got {data!r}")
        from warmstart.data.assistments import load_assistments2009

        events = from_kt(load_assistments2009(split="all"))
    else:
        assert log is not None
        events = load_events(log)
    with progress_bar("replay") as bar:
        doc = run_replay(events, train_fraction=train_fraction, steps=steps, seed=seed, progress=bar)
    path = out_dir / "replay.json"
    _write_json(path, _sanitize(doc))
    table = Table(title=f"new-user replay: mean reward ({doc['n_test_users']} later users)")
    table.add_column("policy")
    windows = list(next(iter(doc["policies"].values()))["mean_reward"])
    for w in windows:
        table.add_column(f"steps {w}", justify="right")
    for name, p in doc["policies"].items():
        table.add_row(name, *[f"{p['mean_reward'][w]:.3f}" for w in windows])
    out.print(table)
    out.print(f"wrote {path}")


@bench_app.command("service")
def bench_service(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for service.json.")],
    round_trips: Annotated[int, typer.Option(help="Rank + reward pairs to send (bounded).")] = 2000,
    clients: Annotated[int, typer.Option(help="Concurrent client threads.")] = 4,
    kills: Annotated[int, typer.Option(help="kill -9 of the server under load in the durability run (0: skip).")
                     ] = 20,
    postgres: Annotated[bool, typer.Option(help="Also the PostgreSQL two-worker run (a throwaway cluster).")
                        ] = True,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
) -> None:
    """The service over HTTP on 127.0.0.1 (bounded in requests and time): rank + reward round trips on SQLite
    with one worker next to the same decisions in-process; malformed-input probes; the kill -9 durability
    run (every acknowledged reward in the log and in the belief after restart); PostgreSQL with two workers
    with the log replayed against the stored beliefs. Writes service.json."""
    from warmstart.eval.service_bench import run_service_bench
    from warmstart.eval.service_durability import run_kill_bench, run_postgres_two_workers

    if round_trips < 1 or clients < 1 or kills < 0:
        raise CliError(f"--round-trips, --clients, --kills: expected positive integers (kills >= 0), got "
                       f"{round_trips}, {clients}, {kills}")
    with progress_bar("service") as bar:
        doc = run_service_bench(round_trips=round_trips, clients=clients, seed=seed, progress=bar)
    if kills:
        with progress_bar("kill -9") as bar:
            doc["kill9"] = run_kill_bench(kills=kills, clients=clients, seed=seed, progress=bar)
    if postgres:
        with progress_bar("postgresql") as bar:
            doc["postgresql_two_workers"] = run_postgres_two_workers(round_trips=round_trips, clients=clients,
                                                                     seed=seed, progress=bar)
    path = out_dir / "service.json"
    _write_json(path, _sanitize(doc))
    s = doc["sqlite_one_worker"]
    out.print(f"SQLite, one worker: {s['round_trips_per_s']:.0f} round trips/s, p50 {s['p50_ms']:.1f} ms, "
              f"p99 {s['p99_ms']:.1f} ms, {s['errors']} errors; in-process act+update "
              f"{doc['inprocess_act_update_us']:.0f} us; rank overhead {doc['rank_overhead_ms']:.1f} ms")
    probes = doc["probes"]
    out.print(f"malformed-input probes: {probes['malformed']['probes'] + probes['unauthenticated']['probes']}, "
              f"5xx answers: {probes['malformed']['server_errors'] + probes['unauthenticated']['server_errors']}")
    for key in ("kill9", "postgresql_two_workers"):
        if key in doc:
            out.print(f"{key}: {_headline(doc[key])}")
    out.print(f"wrote {path}")


def _headline(part: dict[str, Any]) -> str:
    keys = ("kills_done", "round_trips_acknowledged", "lost_acknowledged_rewards", "round_trips_per_s", "p99_ms",
            "lost_updates", "mismatched_beliefs")
    return ", ".join(f"{k} {part[k]:.4g}" if isinstance(part[k], float) else f"{k} {part[k]}"
                     for k in keys if k in part)


@bench_app.command("tutoring")
def bench_tutoring(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for tutoring.json.")],
    students: Annotated[int, typer.Option(help="Simulated students per policy.")] = 2000,
    budget: Annotated[int, typer.Option(help="Practice steps before an episode is cut off.")] = 200,
    quick: Annotated[bool, typer.Option("--quick", help="300 students; a smoke run.")] = False,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
) -> None:
    """Tutor simulated students (warmstart/Tutoring-v0, learner types fitted on ASSISTments 2009) with our
    type-aware policy and the baselines; write tutoring.json (steps to mastery, false mastery, per type)."""
    from warmstart.eval.tutoring import run_tutoring

    with progress_bar(f"tutoring{' (quick)' if quick else ''}") as bar:
        doc = run_tutoring(n_students=None if quick else students, seed=seed, budget=budget, quick=quick,
                           progress=bar)
    path = out_dir / "tutoring.json"
    _write_json(path, _sanitize(doc))
    table = Table(title="tutoring: practice steps until every skill is declared mastered")
    for col in ("policy", "steps", "false mastery rate"):
        table.add_column(col, justify="left" if col == "policy" else "right")
    for name, p in doc["policies"].items():
        table.add_row(name, f"{p['steps_to_mastery']:.1f}", f"{p['false_mastery_rate']:.3f}")
    out.print(table)
    out.print(f"wrote {path}")


@bench_app.command("scale")
def bench_scale(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for scale.json.")],
    quick: Annotated[bool, typer.Option("--quick", help="20,000 users instead of 1,000,000; a smoke run.")] = False,
    users: Annotated[int | None, typer.Option(help="Users in the generated log (overrides --quick).")] = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    workdir: Annotated[Path | None, typer.Option(help="Where the generated log is written (temporary).")] = None,
) -> None:
    """Scale: a generated Parquet log of 1M users x 20 events to per-user statistics (DuckDB, Parquet shards), the
    EM fit in process on one core and on a local Ray with 2 workers (time, peak memory, difference), an
    incremental fit with 10% new users against a full refit, and both fits on 10%, 20% and 50% of the users
    (each step in its own process); write scale.json."""
    from warmstart.eval.scale import run_scale

    if users is not None and users < 1:
        raise typer.BadParameter(f"expected a positive number of users, got {users}", param_hint="--users")
    with progress_bar(f"scale{' (quick)' if quick else ''}") as bar:
        doc = run_scale(quick=quick, seed=seed, progress=bar, n_users=users, workdir=workdir)
    path = out_dir / "scale.json"
    _write_json(path, _sanitize(doc))
    out.print(f"{doc['stats_users']:,} users, {doc['stats_events']:,.0f} events: statistics in "
              f"{doc['stats_1m_s']:.1f} s, peak {doc['stats_peak_gb']:.2f} GB (largest difference from numpy on "
              f"{doc['stats_sample_users']} users: {doc['stats_sample_max_abs_diff']:.1e})")
    if doc.get("em"):
        out.print(f"EM fit (K = 8, in process, one core): {doc['em_1m_s']:.1f} s, {doc['em']['n_iter']} iterations, peak "
                  f"{doc['inproc_peak_gb']:.2f} GB")
    if doc.get("ray"):
        out.print(f"Ray, {doc['ray']['workers']} workers: {doc['ray_2w_s']:.1f} s, {doc['ray_speedup']:.2f}x the "
                  f"in-process fit; largest difference {doc['ray_max_abs_diff']:.1e}")
    if doc.get("incremental"):
        inc = doc["incremental"]
        out.print(f"incremental fit with {inc['new_users']:,} new users: {inc['incremental_s']:.1f} s vs a full "
                  f"refit's {inc['full_refit_s']:.1f} s; held-out likelihood {inc['heldout_relative_diff']:.2%} apart")
    out.print(f"wrote {path}")


RESPONSIBLE_PARTS = ("fairness", "drift", "satiation", "dp", "leakage", "forget")


@bench_app.command("responsible")
def bench_responsible(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for responsible.json.")],
    quick: Annotated[bool, typer.Option("--quick", help="Smaller runs of every part; a smoke run.")] = False,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    part: Annotated[list[str] | None, typer.Option(
        "--part", help=f"Run only these parts (repeatable): {', '.join(RESPONSIBLE_PARTS)}.")] = None,
) -> None:
    """Responsible personalization: gain per type, minority and outliers, following a type switch and a
    misleading start, long-term satisfaction with planning, the differentially private fit, the leakage audit
    and forgetting; write responsible.json."""
    from warmstart.eval.responsible import run_responsible

    parts = tuple(part) if part else RESPONSIBLE_PARTS
    unknown = sorted(set(parts) - set(RESPONSIBLE_PARTS))
    if unknown:
        raise typer.BadParameter(f"expected parts from {', '.join(RESPONSIBLE_PARTS)}, got {', '.join(unknown)}",
                                 param_hint="--part")
    with progress_bar(f"responsible{' (quick)' if quick else ''}") as bar:
        doc = run_responsible(quick=quick, seed=seed, progress=bar, parts=parts)
    path = out_dir / "responsible.json"
    _write_json(path, _sanitize(doc))
    table = Table(title="responsible personalization")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key in ("worst_type_gain", "minority_gain", "outlier_ratio", "switch_recovery_ratio", "switch_detect_rate",
                "false_alarm_rate", "misleading_start_excess"):
        if doc.get(key) is not None:
            table.add_row(key, f"{doc[key]:.3f}")
    for group in ("satiation", "dp", "leakage"):
        for key, value in (doc.get(group) or {}).items():
            table.add_row(f"{group}.{key}", str(value) if not isinstance(value, float) else f"{value:.3g}")
    if "forget" in doc:
        table.add_row("forget.max_abs_diff", f"{doc['forget']['max_abs_diff']:.3g}")
    out.print(table)
    out.print(f"wrote {path}")


@app.command()
def report(
    bench_dir: Annotated[Path, typer.Argument(help="Folder holding coldstart.json (and speed.json).")],
) -> None:
    """Write BENCH_DIR/index.html (figures embedded, no external assets) and BENCH_DIR/targets.json."""
    from warmstart.eval.targets import write_targets
    from warmstart.report.html import write_report

    if not (bench_dir / "coldstart.json").is_file():
        raise CliError(f"report: expected {bench_dir / 'coldstart.json'}; run `warmstart bench coldstart` first")
    write_targets(bench_dir)
    path = write_report(bench_dir)
    out.print(f"report: {path.resolve()}")


@app.command()
def demo(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the log, population, JSON and report.")] = Path(
        "demo-out"
    ),
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
) -> None:
    """The whole loop on the embedded defaults: simulate -> fit -> bench coldstart --quick -> bench speed
    --quick -> learner types on real students (bench kt --quick --skip-pybkt) -> bench tutoring --quick ->
    report."""
    from warmstart.eval.coldstart import ColdStartConfig, run_coldstart
    from warmstart.eval.logs import save_log
    from warmstart.eval.speed import run_speed
    from warmstart.eval.targets import write_targets
    from warmstart.population.fit import fit_population
    from warmstart.report.html import write_report
    from warmstart.sim.linear_types import LinearTypesPopulation

    cfg = ColdStartConfig.make("default", quick=True, seed=seed)
    truth = LinearTypesPopulation(cfg.sim)
    log = truth.logged(cfg.n_train_users, cfg.n_train_events, seed=seed)
    save_log(out_dir / "log.npz", log)
    out.print(f"1/7 simulated {cfg.n_train_users} training users x {cfg.n_train_events} events -> "
              f"{out_dir / 'log.npz'}")
    with progress_bar("2/7 fit") as bar:
        t0 = time.perf_counter()
        population = fit_population(log.summary(), cfg.fit, progress=bar)
        fit_s = time.perf_counter() - t0
    population.save(out_dir / "population.npz")
    _print_population(population, fit_s)
    with progress_bar("3/7 cold start (quick)") as bar:
        doc = run_coldstart(cfg, progress=bar, population=population, log=log, fit_s=fit_s)
    _write_json(out_dir / "coldstart.json", _sanitize(doc))
    _print_coldstart(doc)
    with progress_bar("4/7 speed (quick)") as bar:
        speed = run_speed(quick=True, seed=seed, progress=bar)
    _write_json(out_dir / "speed.json", _sanitize(speed))
    _demo_learners(out_dir, seed)
    write_targets(out_dir)
    path = write_report(out_dir)
    out.print(f"7/7 report: {path.resolve()}")


def _demo_learners(out_dir: Path, seed: int) -> None:
    """Steps 5 and 6 of the demo, on ASSISTments 2009 students; skipped with a note when the data is absent."""
    from warmstart.data.assistments import assistments2009_root
    from warmstart.eval.kt import KTBenchConfig, run_kt
    from warmstart.eval.tutoring import run_tutoring

    try:
        assistments2009_root()
    except ValueError as exc:
        out.print(f"5/7 and 6/7 skipped: {exc}")
        return
    with progress_bar("5/7 learner types on unseen ASSISTments 2009 students (quick, no pyBKT)") as bar:
        kt = run_kt(KTBenchConfig(seed=seed, pybkt=False, quick=True), progress=bar)
    _write_json(out_dir / "kt.json", _sanitize(kt))
    out.print("   AUC " + ", ".join(f"{k} {m['auc']:.3f}" for k, m in kt["models"].items()))
    with progress_bar("6/7 tutoring (quick)") as bar:
        tut = run_tutoring(quick=True, seed=seed, progress=bar)
    _write_json(out_dir / "tutoring.json", _sanitize(tut))
    out.print("   steps to mastery " + ", ".join(f"{k} {p['steps_to_mastery']:.1f}"
                                                for k, p in tut["policies"].items()))


@app.command()
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
        _write_json(out_path, _sanitize({k: (asdict(v) if k in results else v) for k, v in doc.items()}))
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
        _write_json(out_path, _sanitize(report.to_dict()))
        out.print(f"wrote {out_path}")


@keys_app.command("create")
def keys_create(
    scope: Annotated[str, typer.Option(help="client (rank, rewards, users) or admin.")] = "client",
    db: Annotated[str, typer.Option(help="SQLite file or database URL (postgresql+psycopg://...).")] = "warmstart.db",
) -> None:
    """Create an API key and print it (only its hash is stored)."""
    from warmstart.store.store import Store

    store = Store.open(db)
    try:
        out.print(store.create_api_key(scope), soft_wrap=True)
    finally:
        store.close()


@app.command()
def types(
    out_path: Annotated[Path, typer.Option("--out", help="Where to write: a .csv or .parquet file.")],
    db: Annotated[str, typer.Option(help="SQLite file or database URL (postgresql+psycopg://...).")] = "warmstart.db",
    batch_size: Annotated[int, typer.Option(help="Beliefs read from the store per batch.")] = 1000,
    policy: Annotated[str, typer.Option(help="The policy the service runs (it decides the stored beliefs' "
                                        "format): mixture_ids, mixture_ids_cp or mixture_ts.")] = "mixture_ids",
) -> None:
    """Every stored user's type probabilities under the active population, read from the service's store in
    batches (memory holds one batch, whatever the number of users)."""
    from warmstart.service.app import ApiError
    from warmstart.service.export import export_types
    from warmstart.store.store import Store

    store = Store.open(db)
    try:
        with progress_bar("types") as bar:
            result = export_types(store, out_path, policy=policy, batch_size=batch_size, progress=bar)
    except (ApiError, ValueError) as exc:
        raise CliError(str(exc)) from exc
    finally:
        store.close()
    out.print(f"{result.users:,} users under population version {result.population_version} in {result.batches} "
              f"batches of up to {batch_size:,}"
              + (f" ({result.unreadable} beliefs could not be read)" if result.unreadable else "")
              + f": wrote {result.path}")


@app.command()
def serve(
    db: Annotated[str, typer.Option(help="SQLite file or database URL (postgresql+psycopg://...).")] = "warmstart.db",
    population: Annotated[Path | None, typer.Option(
        help="A population file to serve: added as a new version and activated unless it is already active.")] = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    policy: Annotated[str, typer.Option(
        help="Policy: mixture_ids (default), mixture_ids_cp (follows users who change) or mixture_ts.")] = "mixture_ids",
    seed: Annotated[int, typer.Option(help="Random seed of the policy.")] = 0,
    reward_window: Annotated[float | None, typer.Option(
        help="Seconds to wait for a reward before the default reward is recorded (default: wait forever).")] = None,
    default_reward: Annotated[float, typer.Option(help="The reward recorded when the window passes.")] = 0.0,
    workers: Annotated[int, typer.Option(min=1, help=(
        "Worker processes, each with its own app and store connections. Several workers want PostgreSQL: "
        "on SQLite they work (WAL, busy timeout) but every write waits for the one writer lock."))] = 1,
) -> None:
    """Run the personalization API (uvicorn) on a store; see warmstart.service.app for the endpoints."""
    import os

    import uvicorn

    from warmstart.population.population import Population
    from warmstart.service.app import create_app
    from warmstart.store.store import Store

    store = Store.open(db)
    if population is not None:
        pop = Population.load(population)
        active = store.active_version()
        if active is None or store.population(active)[1].get("fingerprint") != pop.fingerprint():
            version = store.add_population(pop.to_bytes(), fingerprint=pop.fingerprint(),
                                           meta={"fingerprint": pop.fingerprint(), "source": str(population)})
            store.activate(version, note=f"warmstart serve --population {population}")
    if store.active_version() is None:
        raise CliError("serve: expected an active population; pass --population FILE (from `warmstart fit`)")
    # built here for one worker; for several, built only to check the settings before any worker starts
    app_ = create_app(store, policy=policy, seed=seed, reward_window_s=reward_window, default_reward=default_reward)
    if workers == 1:
        uvicorn.run(app_, host=host, port=port, log_level="warning")
        return
    # each worker process builds its own app and store from these (warmstart.service.app.app_from_env); the
    # population was added and activated above, once, before any worker starts
    store.close()
    os.environ.update(WARMSTART_DB=db, WARMSTART_POLICY=policy, WARMSTART_SEED=str(seed),
                      WARMSTART_REWARD_WINDOW="" if reward_window is None else repr(float(reward_window)),
                      WARMSTART_DEFAULT_REWARD=repr(float(default_reward)))
    uvicorn.run("warmstart.service.app:app_from_env", factory=True, workers=workers, host=host, port=port,
                log_level="warning")


# ---------------------------------------------------------------------------------------------- audit, explain
def _audit_features(events: Any, population_path: Path, items: Path | None) -> Any:
    """The item features for audits: the log's own, --items, or the ``.items.npz`` beside the population."""
    from warmstart.eval.audit import item_features_for

    if items is None and events.features is None and population_path.with_suffix(".items.npz").is_file():
        items = population_path.with_suffix(".items.npz")
    return item_features_for(events, items)


_ITEMS_HELP = ("Item features (.items.npz from `warmstart fit --log`) when the log has no f_* columns; by default "
               "the one next to the population.")
_LOG_HELP = ("An event log (CSV or Parquet, docs/formats.md) with per-user columns, or a simulated log (.npz from "
             "`warmstart simulate`, whose true types are used).")


@audit_app.command("fairness")
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
    from warmstart.eval.audit import TRUE_TYPE, fairness_audit, fairness_rows, load_audit_log, write_fairness
    from warmstart.population.population import Population

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


@audit_app.command("leakage")
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
    from warmstart.eval.audit import load_audit_log
    from warmstart.eval.leakage import leakage_audit
    from warmstart.population.population import Population

    pop = Population.load(population)
    audit = load_audit_log(log, [attribute])
    features = _audit_features(audit.events, population, items)
    with progress_bar("leakage audit") as bar:
        report = leakage_audit(audit, pop, attribute, features=features, threshold=threshold, n_folds=folds,
                               n_boot=n_boot, n_perm=n_perm, seed=seed, progress=bar)
    path = out_dir / "leakage.json"
    _write_json(path, _sanitize(report.to_dict()))
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


@app.command()
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
    from warmstart.eval.audit import load_audit_log
    from warmstart.explain import explain_user, format_explanation
    from warmstart.population.population import Population

    pop = Population.load(population)
    events = load_audit_log(user_log).events
    explanation = explain_user(pop, events, user, features=_audit_features(events, population, items))
    out.print(format_explanation(explanation), soft_wrap=True, markup=False, highlight=False)
    if json_path is not None:
        _write_json(json_path, _sanitize(explanation.to_dict()))
        out.print(f"wrote {json_path}")


def main() -> None:
    try:
        app()
    except (CliError, ValueError, FileNotFoundError, ImportError, OSError) as exc:
        # plain print: one line, never wrapped by the terminal width
        message = " ".join(str(exc).split())
        print(f"error: {message}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
