"""The service's commands: ``keys create``, ``types`` (export of the stored beliefs) and ``serve``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from warmstart.cli._common import CliError, out, progress_bar
from warmstart.policies.floor import DEFAULT_EPSILON

if TYPE_CHECKING:
    from warmstart._validate import Bounds
    from warmstart.families.generic import TypePopulation
    from warmstart.families.linear.population import Population
    from warmstart.service.bootstrap import BootstrapPrior
    from warmstart.store.store import Store


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


def types(
    out_path: Annotated[Path, typer.Option("--out", help="Where to write: a .csv or .parquet file.")],
    db: Annotated[str, typer.Option(help="SQLite file or database URL (postgresql+psycopg://...).")] = "warmstart.db",
    batch_size: Annotated[int, typer.Option(help="Beliefs read from the store per batch.")] = 1000,
    policy: Annotated[str, typer.Option(help="The policy the service runs (it decides the stored beliefs' "
                                        "format): auto (the one the active population's fit chose; "
                                        "see serve), mixture_ids, mixture_ids_cp, mixture_ts, type_ts, ...")] = "auto",
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


def serve(
    db: Annotated[str, typer.Option(help="SQLite file or database URL (postgresql+psycopg://...).")] = "warmstart.db",
    population: Annotated[Path | None, typer.Option(
        help="A population file to serve: added as a new version and activated unless it is already active.")] = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    policy: Annotated[str, typer.Option(
        help="Policy: auto (default: the one recorded by the population's fit, `fit --log` chooses it on "
             "validation users; else mixture_ids, or type_ts for a family other than the linear one), "
             "mixture_ids, mixture_greedy, mixture_ids_cp (follows users who change), mixture_ts, type_ts, "
             "type_greedy, type_plan (plans ahead with a linear_dynamics population's learned dynamics).")] = "auto",
    seed: Annotated[int, typer.Option(help="Random seed of the policy.")] = 0,
    reward_window: Annotated[float | None, typer.Option(
        help="Seconds to wait for a reward before the default reward is recorded (default: wait forever).")] = None,
    default_reward: Annotated[float, typer.Option(help="The reward recorded when the window passes.")] = 0.0,
    explore: Annotated[float, typer.Option(min=0.0, max=1.0, help=(
        "Exploration floor: the share of decisions made uniformly at random, so that every candidate is logged "
        "with probability >= explore / candidates and other population versions can be evaluated offline "
        "(0 turns it off)."))] = DEFAULT_EPSILON,
    bootstrap_prior_var: Annotated[float, typer.Option(help=(
        "With no population yet: the variance of the broad prior N(0, v I) users are served from until the "
        "first fit (warmstart.service.bootstrap)."))] = 1.0,
    bootstrap_noise_var: Annotated[float, typer.Option(help="With no population yet: the reward noise variance "
                                                           "of the broad prior.")] = 1.0,
    workers: Annotated[int, typer.Option(min=1, help=(
        "Worker processes, each with its own app and store connections. Several workers want PostgreSQL: "
        "on SQLite they work (WAL, busy timeout) but every write waits for the one writer lock."))] = 1,
    max_reward: Annotated[float, typer.Option(
        "--max-reward", help="Largest reward magnitude a request may send (beyond it: a 422; at most 1e12).")] = 1e6,
    max_feature: Annotated[float, typer.Option(
        "--max-feature", help="Largest feature magnitude a request may send (beyond it: a 422; at most 1e12).")
    ] = 1e6,
) -> None:
    """Run the personalization API (uvicorn) on a store; see warmstart.service.app for the endpoints."""
    import os

    import uvicorn

    from warmstart._validate import Bounds
    from warmstart.service.app import create_app
    from warmstart.service.bootstrap import BootstrapPrior
    from warmstart.store.store import Store

    try:
        bounds = Bounds(max_reward=max_reward, max_feature=max_feature)
    except ValueError as exc:
        raise CliError(f"--{str(exc).replace('_', '-', 1)}") from exc
    # the population is read and checked before the store is opened: a wrong file must not leave a new
    # database (and its -wal and -shm files) behind
    pop = None if population is None else _read_population(population)
    created = _new_sqlite_files(db)
    store = Store.open(db)
    try:
        if pop is not None:
            _activate(store, pop, str(population))
        # with no population the service starts empty: it serves from the bootstrap prior until POST /v1/admin/fit
        bootstrap = BootstrapPrior(prior_var=bootstrap_prior_var, noise_var=bootstrap_noise_var)
        # built here for one worker; for several, built only to check the settings before any worker starts
        app_ = create_app(store, policy=policy, seed=seed, reward_window_s=reward_window,
                          default_reward=default_reward, explore=explore, bootstrap=bootstrap, bounds=bounds)
    except BaseException:
        store.close()
        for path in created:  # the files this failed start made, and only those
            path.unlink(missing_ok=True)
        raise
    _print_start(store, db, population, host, port, policy, workers)
    if workers == 1:
        uvicorn.run(app_, host=host, port=port, log_level="warning")
        return
    # each worker process builds its own app and store from these (warmstart.service.app.app_from_env); the
    # population was added and activated above, once, before any worker starts
    store.close()
    os.environ.update(_worker_environment(db, policy, seed, reward_window, default_reward, explore, bootstrap, bounds))
    uvicorn.run("warmstart.service.app:app_from_env", factory=True, workers=workers, host=host, port=port,
                log_level="warning")


def _activate(store: Store, pop: Population | TypePopulation, source: str) -> None:
    """Add the population of ``--population`` (the file ``source``) as a new version and activate it, unless it
    is the active one."""
    active = store.active_version()
    if active is None or store.population(active)[1].get("fingerprint") != pop.fingerprint():
        version = store.add_population(pop.to_bytes(), fingerprint=pop.fingerprint(),
                                       meta={"fingerprint": pop.fingerprint(), "source": source})
        store.activate(version, note=f"warmstart serve --population {source}")


def _worker_environment(db: str, policy: str, seed: int, reward_window: float | None, default_reward: float,
                        explore: float, bootstrap: BootstrapPrior, bounds: Bounds) -> dict[str, str]:
    """The settings every worker process reads to build its own app and store
    (``warmstart.service.app.app_from_env``)."""
    return {"WARMSTART_DB": db, "WARMSTART_POLICY": policy, "WARMSTART_SEED": str(seed),
            "WARMSTART_REWARD_WINDOW": "" if reward_window is None else repr(float(reward_window)),
            "WARMSTART_DEFAULT_REWARD": repr(float(default_reward)), "WARMSTART_EXPLORE": repr(float(explore)),
            "WARMSTART_BOOTSTRAP_PRIOR_VAR": repr(float(bootstrap.prior_var)),
            "WARMSTART_BOOTSTRAP_NOISE_VAR": repr(float(bootstrap.noise_var)),
            "WARMSTART_MAX_REWARD": repr(bounds.max_reward), "WARMSTART_MAX_FEATURE": repr(bounds.max_feature)}


def _read_population(path: Path) -> Any:
    """The population file of ``--population``, or a one-line error naming the file and what was expected."""
    from warmstart.families.registry import load_population

    try:
        return load_population(path)
    except (ValueError, OSError) as exc:
        raise CliError(f"--population {path}: expected a population written by `warmstart fit --out FILE` (.npz, "
                       f"format warmstart.population); {exc}") from exc


def _new_sqlite_files(db: str) -> list[Path]:
    """The files opening ``db`` would create: a SQLite file that does not exist yet, with its -wal and -shm."""
    if "://" in db or Path(db).exists():
        return []
    path = Path(db).resolve()
    return [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]


def _print_start(store: Any, db: str, population: Path | None, host: str, port: int, policy: str,
                 workers: int) -> None:
    """Where the service listens, on which store and population: printed once before the server starts."""
    from sqlalchemy.engine import make_url

    version = store.active_version()
    meta = store.population(version)[1] if version is not None else {}
    where = (make_url(db).render_as_string(hide_password=True) if "://" in db
             else f"{Path(db).resolve()} (SQLite)")
    shown = f"[{host}]" if ":" in host else host
    source = f"from {population}" if population is not None else f"stored, {meta.get('source', 'source unknown')}"
    out.print(f"warmstart serve: http://{shown}:{port}  (API docs /docs, dashboard /, health /health)",
              soft_wrap=True, markup=False, highlight=False)
    out.print(f"  store: {where}", soft_wrap=True, markup=False, highlight=False)
    line = (f"  population: version {version} ({source}; fingerprint {meta.get('fingerprint', '?')})"
            if version is not None else "  population: none yet: serving from a broad prior until the first "
                                        "POST /v1/admin/fit is activated")
    out.print(line, soft_wrap=True, markup=False, highlight=False)
    if policy == "auto" and version is not None:
        from warmstart.families.registry import population_from_bytes
        from warmstart.policies.registry import served_policy

        policy = f"{served_policy(population_from_bytes(store.population(version)[0]))} (auto: the population's)"
    out.print(f"  policy: {policy}; workers: {workers}; stop with Ctrl+C", soft_wrap=True, markup=False,
              highlight=False)
