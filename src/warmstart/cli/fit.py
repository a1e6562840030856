"""``fit``: the population of user types from a simulated log, a shards folder or an event log."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.table import Table

from warmstart.cli import fit_dynamics as dyn
from warmstart.cli._common import CliError, literal, out, progress_bar
from warmstart.families.generic import TypePopulation


def fit(
    log_path: Annotated[Path | None, typer.Argument(
        help="A log written by `warmstart simulate` (.npz), or a folder of per-user statistics in Parquet shards "
        "(written by `warmstart stats`).")] = None,
    log: Annotated[Path | None, typer.Option(
        "--log", help=literal("An event log in the generic format (CSV or Parquet: user, time, item, [f_*], reward, "
                              "[propensity]); item features are learned from its users when it has none."))] = None,
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
    max_reward: Annotated[float, typer.Option(
        "--max-reward", help="Largest reward magnitude accepted in the log (a row beyond it is an error naming "
        "it; at most 1e12).")] = 1e6,
    max_feature: Annotated[float, typer.Option(
        "--max-feature", help="Largest feature magnitude accepted in the log (at most 1e12).")] = 1e6,
    choose_space: Annotated[bool | None, typer.Option(
        "--choose-space/--no-choose-space", help="With --log (the default, but for --family linear_dynamics): "
        "choose the item space (the item bias with 0, 2, 4 "
        "or 8 learned factors; with the log's own features, those plus the bias) and K (1, 2, 4, 8, up to "
        "--k-max) by how well the latest 20% of the log's users' first 10 events are predicted from a fit on "
        "the others, then refit on every user (--n-types fixes K and leaves the space to choose). "
        "--no-choose-space: the log's own features (else 2 learned factors) and K by --selection.")] = None,
    family: Annotated[str, typer.Option(
        "--family", help="With --log: the family of the types. auto: on a log whose rewards are all 0 or 1, the "
        "Bernoulli-logistic family when it predicts the same validation users' first events better (log loss) "
        "than the linear-Gaussian one, else linear_gaussian; or name one (logistic_bernoulli needs 0/1 rewards "
        "and --choose-space; linear_dynamics, learned response dynamics, needs --categories).")] = "auto",
    fair_attribute: Annotated[str | None, typer.Option("--fair-attribute", help="With --log: a per-user column "
        "the types must carry no information about (docs/fair-types.md; no space choice).")] = None,
    type_rounds: Annotated[int, typer.Option("--type-rounds", help="With --log and the space choice: up to how many "
        "rounds of items refined by the types are tried, each kept if the validation score rises (0: none).")] = 2,
    categories: dyn.Categories = None,
    time_unit: dyn.TimeUnit = None,
    exposure_half_lives: dyn.ExposureHalfLives = None,
    habit_half_lives: dyn.HabitHalfLives = None,
    refine: dyn.Refine = True,
    practice: dyn.Practice = True,
) -> None:
    """Fit the population of user types (EM with model selection, split/merge moves, a novel component) from a
    simulated log (LOG_PATH) or an event log (--log); with --dp-epsilon, a differentially private fit."""
    cfg = _fit_config(n_types, k_max, selection, covariance, restarts, seed, init_sample, chunk)
    bounds = _bounds(max_reward, max_feature)
    dynamics = dyn.DynamicsOptions(categories, time_unit, exposure_half_lives, habit_half_lives, refine, practice)
    dyn.check_dynamics_options(family, dynamics, dp_epsilon=dp_epsilon, fair_attribute=fair_attribute,
                               choose_space=choose_space)
    _check_fit_options(log_path, log, n_types, dp_epsilon, init_sample, backend, address, workers)
    choose_space = _check_family(family, log, choose_space is not False)  # the choice: the default
    _check_type_rounds(type_rounds, choose_space and log is not None and fair_attribute is None and family != dyn.NAME)
    if family == dyn.NAME:
        dyn.fit_dynamics_log(log, out_path, cfg, bounds, dynamics)
        return
    if fair_attribute is not None:
        _fit_fair_events(log, fair_attribute, out_path, cfg, bounds, dp_epsilon is not None or family != "auto")
        return
    if log is not None:
        _fit_events(log, out_path, cfg, bounds, choose_space, family, type_rounds)
        return
    assert log_path is not None
    _fit_log_path(log_path, out_path, cfg, bounds, n_types, dp_epsilon, dp_delta, backend, address, workers)


def _fit_log_path(log_path: Path, out_path: Path, cfg: Any, bounds: Any, n_types: int | None,
                  dp_epsilon: float | None, dp_delta: float, backend: str, address: str | None,
                  workers: int | None) -> None:
    """The fit of LOG_PATH: a shards folder, or a simulated log (in process, privately or on Ray)."""
    from warmstart.data.bandit_log import load_log
    from warmstart.families.linear.model import summarise_log
    from warmstart.families.linear.shards import is_shards

    if is_shards(log_path):
        if dp_epsilon is not None:
            raise CliError("--dp-epsilon: expected a simulated .npz log, got a shards folder")
        _fit_shards(log_path, out_path, cfg, backend, address, workers)
        return
    if log_path.is_dir():
        raise CliError(f"LOG_PATH: expected a simulated .npz log or a shards folder (with manifest.json, written by "
                       f"`warmstart stats`), got the folder {str(log_path)!r} without one")
    summary = summarise_log(load_log(log_path, bounds=bounds))
    if backend == "ray":
        _fit_shards(summary, out_path, cfg, backend, address, workers)
        return
    _fit_summary(summary, out_path, cfg, n_types, dp_epsilon, dp_delta)


def _fit_config(n_types: int | None, k_max: int, selection: str, covariance: str, restarts: int, seed: int,
                init_sample: int | None, chunk: int) -> Any:
    """The fit's configuration from the options; an invalid value is a one-line error."""
    from warmstart.families.linear.fit import FitConfig

    try:
        return FitConfig(n_types=n_types, k_range=(1, k_max), selection=selection,  # type: ignore[arg-type]
                         covariance=covariance, n_init=restarts, seed=seed,  # type: ignore[arg-type]
                         init_sample=init_sample, chunk=chunk)
    except ValueError as exc:
        raise CliError(str(exc)) from exc


def _bounds(max_reward: float, max_feature: float) -> Any:
    """The magnitude bounds of the log's values from ``--max-reward`` and ``--max-feature``."""
    from warmstart._validate import Bounds

    try:
        return Bounds(max_reward=max_reward, max_feature=max_feature)
    except ValueError as exc:
        raise CliError(f"--{str(exc).replace('_', '-', 1)}") from exc


def _check_fit_options(log_path: Path | None, log: Path | None, n_types: int | None, dp_epsilon: float | None,
                       init_sample: int | None, backend: str, address: str | None, workers: int | None) -> None:
    """The combinations of inputs and options ``fit`` accepts, checked before anything is read."""
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


FAMILIES = ("auto", "linear_gaussian", "logistic_bernoulli", "linear_dynamics")


def _check_family(family: str, log: Path | None, choose: bool) -> bool:
    """``--family``: one of ``FAMILIES``; anything but auto only with --log (and the logistic family only with
    the space choice, whose item space it is fitted in). Returns ``choose``."""
    if family not in FAMILIES:
        raise CliError(f"--family: expected one of {', '.join(FAMILIES)}, got {family!r}")
    if family != "auto" and log is None:
        raise CliError(f"--family {family}: expected --log FILE (an event log); other logs are fitted by the "
                       "linear-Gaussian family")
    if family == "logistic_bernoulli" and not choose:
        raise CliError("--family logistic_bernoulli: expected --choose-space (the family is fitted in the chosen "
                       "item space)")
    return choose


def _fit_summary(summary: Any, out_path: Path, cfg: Any, n_types: int | None, dp_epsilon: float | None,
                 dp_delta: float) -> None:
    """The fit of a simulated log's summary in process; with ``dp_epsilon``, the differentially private fit."""
    from warmstart.families.linear.fit import fit_population

    with progress_bar("fit") as bar:
        t0 = time.perf_counter()
        if dp_epsilon is not None:
            from warmstart.families.linear.dp import DPConfig, fit_population_dp

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
    print_population(population, elapsed)
    out.print(f"wrote {out_path}")


def _fit_shards(data: Any, out_path: Path, cfg: Any, backend: str, address: str | None,
                workers: int | None) -> None:
    """The fit of a shards folder (or a summary in memory) on the chosen backend."""
    from warmstart.families.linear.backend import make_backend
    from warmstart.families.linear.fit import fit_population
    from warmstart.families.linear.shards import SummaryShards

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
    print_population(population, elapsed)
    out.print(f"wrote {out_path}")


def _check_type_rounds(rounds: int, choose: bool) -> None:
    """``--type-rounds``: a non-negative count, and other than the default only where the space is chosen
    (``choose``: --log with the space choice, no fair attribute, not the dynamics family)."""
    if rounds < 0:
        raise CliError(f"--type-rounds: expected a non-negative integer, got {rounds}")
    if rounds != 2 and not choose:
        raise CliError("--type-rounds: expected --log with the space choice (the rounds refine its chosen "
                       "learned space), not with --no-choose-space, --fair-attribute or --family linear_dynamics")


def _fit_events(log: Path, out_path: Path, cfg: Any, bounds: Any, choose: bool = False,
                family: str = "auto", type_rounds: int = 2) -> None:
    from warmstart.bench.replay_logistic import is_binary
    from warmstart.data.events import load_events
    from warmstart.families.linear.events import EventFitConfig, fit_from_events
    from warmstart.families.linear.item_features import save_item_features

    try:
        events = load_events(log, bounds=bounds)
    except ValueError as exc:  # the bounds by the names of this command's options
        raise CliError(str(exc).replace("(max_reward)", "(--max-reward)").replace("(max_feature)", "(--max-feature)")
                       ) from exc
    binary = is_binary(events.reward)
    if family == "logistic_bernoulli" and not binary:
        raise CliError(f"--family logistic_bernoulli: expected rewards 0 or 1 in --log, got values such as "
                       f"{float(events.reward[(events.reward != 0) & (events.reward != 1)][0])!r}")
    with progress_bar("fit (event log)") as bar:
        t0 = time.perf_counter()
        if choose:
            population, features = _fit_chosen(events, cfg, family if binary else "linear_gaussian", bar,
                                               type_rounds)
        else:
            population, features, _ = fit_from_events(events, EventFitConfig(population=cfg), progress=bar)
        elapsed = time.perf_counter() - t0
    population.save(out_path)
    items_path = out_path.with_suffix(".items.npz")
    record = (population.record if isinstance(population, TypePopulation) else population.diagnostics.to_dict()) or {}
    save_item_features(items_path, events.item_ids, features, record.get("item_features"))
    if record.get("space") is not None:
        print_space(record["space"])
    if record.get("family") is not None:
        print_family(record["family"])
    if isinstance(population, TypePopulation):
        print_types(population, elapsed)
    else:
        print_population(population, elapsed)
    if record.get("decision") is not None:
        print_decision(record["decision"])
    out.print(f"wrote {out_path} and {items_path} (the item features new users are served with)")


def _fit_fair_events(log: Path | None, column: str, out_path: Path, cfg: Any, bounds: Any, other: bool) -> None:
    """``fit --log FILE --fair-attribute COLUMN``: fair types (``warmstart.families.linear.fair``) on the log's
    users, the column read as ``warmstart audit leakage`` reads it; ``other``: --dp-epsilon or --family given."""
    if log is None or other:
        raise CliError("--fair-attribute: expected --log FILE (an event log with the column), without "
                       "--dp-epsilon or --family (the fair fit is private to no one and linear-Gaussian)")
    from warmstart.data.events import load_events
    from warmstart.families.linear.events import EventFitConfig, fit_from_events
    from warmstart.families.linear.fair import FairAttribute
    from warmstart.families.linear.item_features import save_item_features
    from warmstart.governance.audit import load_audit_log

    try:
        events = load_events(log, bounds=bounds)
        audit = load_audit_log(log, [column])
        attribute = FairAttribute(column, audit.column(column, "--fair-attribute"))
    except ValueError as exc:
        raise CliError(f"--fair-attribute {column!r}: {exc}") from exc
    if not np.array_equal(audit.events.user_ids, events.user_ids):  # one reader: cannot happen
        raise CliError(f"--fair-attribute {column!r}: the column's users do not match the log's")
    with progress_bar(f"fit (event log, fair for {column!r})") as bar:
        t0 = time.perf_counter()
        population, features, _ = fit_from_events(events, EventFitConfig(population=cfg), progress=bar,
                                                  fair_attribute=attribute)
        elapsed = time.perf_counter() - t0
    population.save(out_path)
    items_path = out_path.with_suffix(".items.npz")
    save_item_features(items_path, events.item_ids, features, population.diagnostics.item_features)
    print_population(population, elapsed)
    fair = population.diagnostics.fair or {}
    out.print(f"fair types for {column!r}: the training users' type probabilities explain "
              f"{100 * fair.get('served_entropy_share', float('nan')):.2f}% of its entropy (tolerance "
              f"{100 * fair.get('tolerance', float('nan')):g}%); check held-out users with `warmstart audit leakage`")
    out.print(f"wrote {out_path} and {items_path} (the item features new users are served with)")


def _fit_chosen(events: Any, cfg: Any, family: str, bar: Any, type_rounds: int = 2) -> tuple[Any, np.ndarray]:
    """The item space and K chosen on the log's validation users (``choose_space``), ours refitted on every
    user; with ``family`` auto or logistic_bernoulli (a 0/1 log), the family chosen too (``choose_family``):
    the population of the chosen family, and the items' features in the chosen space. The policy to serve it
    with is chosen as the replay chooses ours' (``replay_decision``) and recorded (``decision``)."""
    from warmstart.bench.replay_decision import choose_linear_decision, decision_record
    from warmstart.bench.replay_logistic import DECISION_POLICIES, LOGISTIC, choose_family
    from warmstart.families.linear.space import SpaceConfig, choose_space, fit_in_space, with_choice

    ks = (cfg.n_types,) if cfg.n_types is not None else tuple(k for k in SpaceConfig().n_types if k <= cfg.k_range[1])
    grid = SpaceConfig(n_types=ks, type_rounds=type_rounds, population=cfg)
    share = 0.5 if family != "linear_gaussian" else 0.7
    try:
        choice = choose_space(events, grid, cfg.seed, lambda msg, frac: bar(f"choice: {msg}", share * frac))
        population, learned = fit_in_space(events, choice.ours, choice.n_types, choice.config, cfg.seed,
                                           lambda msg, frac: bar(f"refit: {msg}", share + 0.15 * frac))
        population = with_choice(population, choice)
        chosen = None
        if family != "linear_gaussian":
            chosen = choose_family(events, choice, learned.rows, cfg.seed,
                                   lambda msg, frac: bar(msg, share + 0.15 + 0.2 * frac), n_types=ks)
        if chosen is None or (family == "auto" and chosen.chosen != LOGISTIC):
            bar("decision: validation users replayed", 0.9)
            decision = decision_record(*choose_linear_decision(events, choice, cfg.seed))
            diagnostics = population.diagnostics.replace(decision=decision)
            if chosen is not None:
                diagnostics = diagnostics.replace(family=chosen.to_dict())
            return replace(population, diagnostics=diagnostics), learned.features
    except ValueError as exc:
        raise CliError(f"--log: {exc}") from exc
    assert chosen.population is not None
    record = chosen.to_dict()
    if family != "auto":
        record["chosen"] = f"{family} (--family)"
    decision = decision_record(DECISION_POLICIES[chosen.decision],
                               {DECISION_POLICIES[k]: v for k, v in chosen.decision_validation.items()})
    return replace(chosen.population, record={
        "selection": "early events", "item_features": learned.info, "space": choice.to_dict(),
        "family": record, "decision": decision}), learned.features


def print_space(space: dict[str, Any]) -> None:
    """The space choice's table: every space's score per K (ours) and for the one-prior peers."""
    table = Table(title=f"item space and K (bold: chosen): mean log likelihood of the first "
                        f"{space['config']['n_early']} events of the {space['n_validation_users']} latest users, "
                        f"fitted on the {space['n_fit_users']} others)")
    ks = list(space["table"][0]["mixture"])
    table.add_column("space")
    for col in ("dim", *[f"K={k}" for k in ks], "one prior"):
        table.add_column(col, justify="right", no_wrap=True, min_width=len(col) if col == "dim" else 6)
    ours = space["chosen"]["ours"]
    for row in space["table"]:
        cells = []
        for k in ks:
            cell = f"{row['mixture'][k]:.2f}"
            mine = row["space"] == ours["space"] and str(ours["n_types"]) == k
            cells.append(f"[bold]{cell}[/bold]" if mine else cell)
        name = row["space"]["name"] + (" (collapsed: never chosen)" if row.get("collapsed") else "")
        table.add_row(name, str(row["dim"]), *cells, f"{row['pooled']:.2f}")
    out.print(table)
    for who, record in (space.get("refinement") or {}).items():
        scores = ", ".join(f"{r}: {v:.4f}" for r, v in zip(record["rounds_tried"], record["scores"], strict=True))
        out.print(f"{who}: items refined by the types, rounds tried {scores}; chosen {record['chosen']} (lead over "
                  f"none {record['lead_over_none']:+.4f}, se {record['lead_se']:.4f})", soft_wrap=True,
                  markup=False, highlight=False)
    bias = space.get("bias_penalty")
    if bias:
        scores = ", ".join(f"{c['bias_reg']:g}: {c['score']:.4f}" for c in bias["candidates"])
        out.print(f"item bias penalty {bias['chosen']:g} (mean reward of each user's first "
                  f"{space['config']['n_early']} items ranked by the bias, {bias['n_users']} users in folds: "
                  f"{scores})", soft_wrap=True, markup=False, highlight=False)


def print_family(family: dict[str, Any]) -> None:
    """The family choice's scores on the validation users' early events (lower log loss is better)."""
    table = Table(title=f"family (chosen: {family['chosen']}): log loss of the one-step-ahead P(r = 1) on the "
                        f"validation users' first events (difference {family['margin_log_loss']:+.4f}, "
                        f"se {family['margin_se'] or 0.0:.4f})")
    from warmstart.bench.replay_logistic import LINEAR_LEAD_SE

    table.caption = (f"the logistic family unless the linear one's log loss is lower by more than {LINEAR_LEAD_SE:g} "
                     "standard errors of the difference")
    for col in ("family", "K", "log loss", "Brier"):
        table.add_column(col, justify="right")
    linear = family["linear_gaussian"]
    table.add_row("linear_gaussian", str(linear["n_types"]), f"{linear['log_loss']:.4f}", f"{linear['brier']:.4f}")
    logistic = family["logistic_bernoulli"]
    for k, row in logistic["by_n_types"].items():
        mark = "*" if int(k) == logistic["n_types"] else ""
        table.add_row("logistic_bernoulli", f"{k}{mark}", f"{row['log_loss']:.4f}", f"{row['brier']:.4f}")
    out.print(table)


def print_decision(decision: dict[str, Any]) -> None:
    """The policy chosen to serve the population, with each candidate's validation score."""
    scores = ", ".join(f"{name} {value:.4f}" for name, value in decision["scores"].items())
    out.print(f"serve with {decision['policy']} (validation users' mean reward at steps 1-10: {scores}); "
              f"`warmstart serve --population FILE` uses it (--policy auto)", soft_wrap=True, markup=False,
              highlight=False)


def print_types(population: TypePopulation, elapsed: float) -> None:
    """A generic family's population: each type's weight, mean norm and spread."""
    table = Table(title=f"{population.n_types} types of {population.family} ({elapsed:.1f} s)")
    for col in ("type", "weight", "mean norm", "spread (sd)"):
        table.add_column(col, justify="right")
    mu, cov = population.params["mu"], population.params["cov"]
    for k, name in enumerate(population.type_names()):
        spread = (np.trace(cov[k]) / population.dim) ** 0.5
        table.add_row(name, f"{population.weights[k]:.3f}", f"{np.linalg.norm(mu[k]):.2f}", f"{spread:.3f}")
    out.print(table)


def print_population(population, elapsed: float) -> None:
    d = population.diagnostics
    table = Table(title=f"{population.n_types} types + novel, chosen by {d.selection} "
                        f"({d.n_users} users, {elapsed:.1f} s)")
    for col in ("component", "weight", "noise sd", "mean norm", "spread (sd)"):
        table.add_column(col, justify="right")
    comps = population.components
    for k, name in enumerate(population.type_names()):
        spread = (comps.cov[k].trace() / comps.dim) ** 0.5
        table.add_row(name, f"{population.weights[k]:.3f}", f"{comps.noise_var[k] ** 0.5:.3f}",
                      f"{(comps.mu[k] ** 2).sum() ** 0.5:.2f}", f"{spread:.3f}")
    out.print(table)

