"""``bench ...``: the benchmarks, each writing JSON with its configuration, seed, version and machine."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from warmstart.cli._common import CliError, chosen_parts, out, progress_bar, sanitize, write_json
from warmstart.cli.bench_coldstart import bench_coldstart, print_coldstart

# bench coldstart is defined in warmstart.cli.bench_coldstart; importing it from here works too
__all__ = ["RESPONSIBLE_PARTS", "bench_coldstart", "bench_fit_log", "bench_kt", "bench_replay", "bench_responsible", "bench_scale",
           "bench_service", "bench_speed", "bench_tutoring", "print_coldstart"]


def bench_speed(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for speed.json.")],
    quick: Annotated[bool, typer.Option("--quick", help="Shorter timings and a 10,000-user EM fit.")] = False,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
) -> None:
    """Time act+update (next to Vowpal Wabbit), batched decisions, the EM fit, and the belief size."""
    from warmstart.bench.speed import run_speed

    with progress_bar("speed") as bar:
        doc = run_speed(quick=quick, seed=seed, progress=bar)
    path = out_dir / "speed.json"
    write_json(path, sanitize(doc))
    vw = doc.get("vw_predict_learn_us")
    out.print(f"act+update {doc['act_update_us']:.1f} us (VW predict+learn "
              f"{'n/a' if vw is None else f'{vw:.1f} us'}), batched {doc['batch_decisions_per_s']:.0f} "
              f"decisions/s, EM {doc['em_fit_s']:.1f} s on {doc['em_fit_users']} users, belief "
              f"{doc['belief_bytes']} bytes")
    out.print(f"wrote {path}")


def bench_kt(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for kt.json.")],
    data: Annotated[str, typer.Option(help=(
        "assistments2009 (its own train/valid/test split), or a file of your students' responses in the generic "
        "knowledge-tracing format: CSV or Parquet with columns student, order, skill, item (optional), correct "
        "(docs/kt-format.md)."))] = "assistments2009",
    test_data: Annotated[Path | None, typer.Option(
        "--test-data", help="With --data FILE: a second file of test students (the first file is then all "
        "training and validation).")] = None,
    test_fraction: Annotated[float | None, typer.Option(
        help="With --data FILE and no --test-data: the share of students, drawn at random (seeded), kept for "
        "the test (default 0.2).")] = None,
    valid_fraction: Annotated[float, typer.Option(
        help="With --data FILE: the share of the training students kept to choose K and the item prior.")] = 0.15,
    columns: Annotated[str | None, typer.Option(
        help="With --data FILE: other column names, e.g. student=user_id,order=time,skill=kc,item=problem,"
        "correct=ok.")] = None,
    no_items: Annotated[bool, typer.Option(
        "--no-items", help="Ignore the item column (the item-difficulty model is skipped).")] = False,
    skip_pybkt: Annotated[bool, typer.Option("--skip-pybkt", help="Do not run pyBKT (quick runs only).")] = False,
    quick: Annotated[bool, typer.Option("--quick", help="A seeded subset of students; a smoke run.")] = False,
    seed: Annotated[int, typer.Option(help="Random seed (of the split and of the fits).")] = 0,
) -> None:
    """Next-response prediction on students unseen in training: our learner types, our BKT, a skill-mean
    baseline and pyBKT with forgetting (in its own environment, fitted alongside ours). Writes kt.json."""
    from warmstart.bench.kt import KTBenchConfig, KTSource, run_kt
    from warmstart.peers.pybkt import PyBKTUnavailableError

    named = {}
    for part in (columns or "").split(","):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise CliError(f"--columns: expected name=column pairs separated by commas (e.g. student=user_id), "
                           f"got {part!r}")
        named[key.strip()] = value.strip()
    try:
        source = KTSource(data=data, test_data=None if test_data is None else str(test_data),
                          test_fraction=test_fraction, valid_fraction=valid_fraction, columns=named,
                          items=not no_items, seed=seed)
    except ValueError as exc:
        key, _, rest = str(exc).partition(":")
        raise CliError(f"--{key.replace('_', '-')}:{rest}" if key in _KT_OPTIONS else str(exc)) from exc
    label = data if source.is_named else Path(data).name
    try:
        cfg = KTBenchConfig(source=source, seed=seed, pybkt=not skip_pybkt, quick=quick)
        with progress_bar(f"knowledge tracing ({label}{', quick' if quick else ''})") as bar:
            doc = run_kt(cfg, progress=bar)
    except PyBKTUnavailableError as exc:
        raise CliError(f"{exc} (or pass --skip-pybkt for a quick run without it)") from exc
    path = out_dir / "kt.json"
    write_json(path, sanitize(doc))
    table = Table(title=f"next-response prediction, unseen {label} students")
    for col in ("model", "AUC", "AUC 95% CI", "AUC responses 1-10", "log loss", "fit s"):
        table.add_column(col, justify="left" if col == "model" else "right")
    for model, m in doc["models"].items():
        lo, hi = m["auc_ci95"]
        fit = "" if m["fit_s"] is None else f"{m['fit_s']:.1f}"
        table.add_row(model, _num(m["auc"], 4), f"{_num(lo, 3)}-{_num(hi, 3)}", _num(m["auc_first10"], 4),
                      _num(m["log_loss"], 4), fit)
    out.print(table)
    if doc["items"]["skipped"]:
        out.print(f"items: {doc['items']['skipped']}")
    out.print(f"wrote {path}")


#: the options of ``bench kt`` whose errors from ``KTSource`` are re-worded with the option's name
_KT_OPTIONS = ("data", "test_data", "test_fraction", "valid_fraction", "columns")


def _num(x: float | None, nd: int) -> str:
    return "n/a" if x is None else f"{x:.{nd}f}"


def bench_replay(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for replay.json.")],
    log: Annotated[Path | None, typer.Option("--log", help="An event log (CSV or Parquet, generic format).")] = None,
    data: Annotated[str | None, typer.Option(
        help="Instead of --log: assistments2009 (student, skill, correct) events, or movielens "
             "(ml-latest-small: user, movie, rating).")] = None,
    liked_at: Annotated[float | None, typer.Option(
        help="Binary rewards: 1 when the logged reward is >= this value, else 0 (e.g. 4 for MovieLens's 'liked': "
             "rating >= 4).")] = None,
    genres: Annotated[bool, typer.Option(
        "--genres", help="With --data movielens: the movies' 19 genre flags and a constant as item features "
                         "(content features) instead of features learned from the training users.")] = False,
    policies: Annotated[str | None, typer.Option(
        help="Comma-separated policies to replay (default: mixture_ids, pooled_ts, from_scratch_ts, popularity, "
             "als when implicit is installed, random); the first is 'ours' in the paired differences.")] = None,
    train_fraction: Annotated[float, typer.Option(help="Share of users, by first event, used to fit.")] = 0.7,
    steps: Annotated[int, typer.Option(help="Replayed steps per new user (the windows 1-5, 1-10, 1-20 stop at "
                                            "it).")] = 20,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    choose: Annotated[bool, typer.Option(
        "--choose/--no-choose", help="Choose the item space and K on the training users' latest 20% (the log "
        "likelihood of their first 10 events): ours in its chosen space and K, pooled_ts and from_scratch_ts each "
        "in their own chosen space. --no-choose: every policy shares one fit (K by BIC, the log's own or learned "
        "features).")] = True,
) -> None:
    """Fit on the earlier users of a log and replay the later ones: at each step a policy picks one of the
    items the user actually has in the log and gets its logged reward. Writes replay.json with each policy's
    windows, ours minus each peer (paired, with 95% CIs over users) and the oracle_user ceiling."""
    from warmstart.bench.replay import DEFAULT_POLICIES, run_replay

    if (log is None) == (data is None):
        raise CliError("bench replay: expected exactly one of --log FILE or --data assistments2009|movielens")
    if genres and data != "movielens":
        raise CliError(f"--genres: expected with --data movielens, got {'--log' if data is None else data!r}")
    if policies is None:
        names: tuple[str, ...] = DEFAULT_POLICIES
        if importlib.util.find_spec("implicit") is not None:  # the ALS peer teams use today, when installed
            names = (*DEFAULT_POLICIES[:-1], "als", DEFAULT_POLICIES[-1])
        else:
            out.print("[dim]the als peer is skipped: it needs implicit (pip install 'warmstart[peers]')[/dim]")
    else:
        names = tuple(p.strip() for p in policies.split(",") if p.strip())
    events = _replay_events(log, data, genres)
    if liked_at is not None:
        if not math.isfinite(liked_at):
            raise CliError(f"--liked-at: expected a finite number, got {liked_at}")
        events = events.with_rewards((events.reward >= liked_at).astype(float))
    with progress_bar("replay") as bar:
        try:
            doc = run_replay(events, train_fraction=train_fraction, steps=steps, seed=seed, progress=bar,
                             policies=names, ours=names[0], choose=choose)
        except ValueError as exc:
            raise CliError(str(exc)) from exc
    doc["data"]["source"] = {"log": None if log is None else str(log), "data": data, "liked_at": liked_at,
                             "genres": genres}
    path = out_dir / "replay.json"
    write_json(path, sanitize(doc))
    _print_replay(doc)
    out.print(f"wrote {path}")


def bench_fit_log(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for fit-log.json.")],
    log: Annotated[Path | None, typer.Option("--log", help="An event log (CSV or Parquet) to time instead of "
                                                          "MovieLens.")] = None,
    liked_at: Annotated[float, typer.Option(
        help="MovieLens is timed twice: reward = the rating, and 1 when the rating is >= this value.")] = 4.0,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
) -> None:
    """Time `warmstart fit --log` (wall time and peak memory of the command, in a fresh process) on MovieLens
    ml-latest-small's ratings and liked (or on --log), next to `fit --log --no-choose-space` in the same run."""
    from warmstart.bench.fit_log import run_fit_log

    if not math.isfinite(liked_at):
        raise CliError(f"--liked-at: expected a finite number, got {liked_at}")
    if log is not None:
        logs = {log.stem: _replay_events(log, None, False)}
    else:
        events = _replay_events(None, "movielens", False)
        logs = {"movielens-rating": events,
                "movielens-liked": events.with_rewards((events.reward >= liked_at).astype(float))}
    with progress_bar("fit --log") as bar:
        try:
            doc = run_fit_log(logs, seed=seed, progress=bar)
        except RuntimeError as exc:
            raise CliError(str(exc)) from exc
    doc["source"] = {"log": None if log is None else str(log), "liked_at": None if log is not None else liked_at}
    path = out_dir / "fit-log.json"
    write_json(path, sanitize(doc))
    for name, run in doc["logs"].items():
        chosen = run["chosen"]
        out.print(f"{name}: fit --log {run['fit_s']:.1f} s, peak {run['peak_mb']:.0f} MB (--no-choose-space "
                  f"{run['baseline_fit_s']:.1f} s, {run['baseline_peak_mb']:.0f} MB); chose {chosen['family']}, "
                  f"K = {chosen['n_types']}, {chosen['space']}", markup=False, highlight=False)
    out.print(f"wrote {path}")


def _replay_events(log: Path | None, data: str | None, genres: bool) -> Any:
    from warmstart.data.events import from_kt, load_events

    if data == "assistments2009":
        from warmstart.data.assistments import load_assistments2009

        return from_kt(load_assistments2009(split="all"))
    if data == "movielens":
        from warmstart.data.movielens import load_movielens, load_movielens_movies, movielens_genre_features

        events = load_movielens()
        if genres:
            events = events.with_features(movielens_genre_features(events, load_movielens_movies())[0])
        return events
    if data is not None:
        raise CliError(f"--data: expected assistments2009 or movielens, got {data!r}")
    assert log is not None
    return load_events(log)


def _print_replay(doc: dict[str, Any]) -> None:
    windows = list(next(iter(doc["policies"].values()))["mean_reward"])
    table = Table(title=f"new-user replay: mean reward ({doc['n_test_users']} later users)")
    table.add_column("policy")
    for w in windows:
        table.add_column(f"steps {w}", justify="right")
    for name, p in doc["policies"].items():
        table.add_row(name, *[f"{p['mean_reward'][w]:.3f}" for w in windows])
    for ref in ("oracle_user", "hindsight_best"):
        table.add_row(f"[dim]{ref} (reference)[/dim]", *[f"{doc['reference'][ref]['mean_reward'][w]:.3f}"
                                                         for w in windows])
    out.print(table)
    space = doc["fit"].get("space")
    if space:
        table = Table(title=f"item space and K chosen on {space['n_validation_users']} validation users "
                            f"(training users' latest; {doc['timing']['choose_s']:.1f} s)")
        for col in ("for", "space", "K", "log lik. of first events"):
            table.add_column(col)
        for who, c in space["chosen"].items():
            table.add_row(who, c["space"]["name"], str(c["n_types"]), f"{c['score']:.3f}")
        out.print(table)
    family = doc["fit"].get("family")
    if family:
        table = Table(title=f"ours' family chosen on the validation users: {family['chosen']} (log loss of the "
                            f"one-step-ahead P(r = 1) over their first events, lower is better)")
        for col in ("family", "K", "log loss", "Brier"):
            table.add_column(col)
        rows = [("linear_gaussian", family["linear_gaussian"])] + [
            ("logistic_bernoulli", {"n_types": int(k), **v})
            for k, v in family["logistic_bernoulli"]["by_n_types"].items()]
        for name, r in rows:
            table.add_row(name, str(r["n_types"]), f"{r['log_loss']:.4f} ± {r['log_loss_se']:.4f}",
                          f"{r['brier']:.4f}")
        out.print(table)
    paired = doc.get("paired")
    if not paired:
        return
    table = Table(title=f"{paired['ours']} minus each policy, same users: mean [95% CI]")
    table.add_column("vs")
    for w in windows:
        table.add_column(f"steps {w}", justify="right")
    for name, comp in paired["vs"].items():
        cells = [comp["windows"][w] for w in windows]
        table.add_row(name, *[f"{d['mean_diff']:+.3f} [{d['ci95'][0]:+.3f}, {d['ci95'][1]:+.3f}]" for d in cells])
    out.print(table)


def bench_service(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for service.json.")],
    round_trips: Annotated[int, typer.Option(help="Rank + reward pairs to send (bounded).")] = 2000,
    clients: Annotated[int, typer.Option(help="Concurrent client threads.")] = 4,
    kills: Annotated[int, typer.Option(help="kill -9 of the server under load in the durability run (0: skip).")
                     ] = 20,
    postgres: Annotated[bool, typer.Option(
        help="Also the PostgreSQL two-worker run: on --postgres-url, else on a throwaway cluster (source "
             "checkout only).")] = True,
    postgres_url: Annotated[str | None, typer.Option(
        "--postgres-url", help="An empty PostgreSQL database for the two-worker run "
                               "(postgresql+psycopg://user@host/db); default: a throwaway cluster started by "
                               "the source checkout's tests/support/postgres.py.")] = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    explore_users: Annotated[int, typer.Option(
        help="Users served in process with and without the exploration floor (the support it gives).")] = 60,
    explore_steps: Annotated[int, typer.Option(help="Steps per user of that exploration run.")] = 20,
) -> None:
    """The service over HTTP on 127.0.0.1 (bounded in requests and time): rank + reward round trips on SQLite
    with one worker next to the same decisions in-process; malformed-input probes; the kill -9 durability
    run (every acknowledged reward in the log and in the belief after restart); PostgreSQL with two workers
    with the log replayed against the stored beliefs. Writes service.json."""
    from warmstart.bench.service import run_service_bench
    from warmstart.bench.service_durability import checkout_cluster, run_kill_bench, run_postgres_two_workers

    if round_trips < 1 or clients < 1 or kills < 0 or explore_users < 1 or explore_steps < 1:
        raise CliError(f"--round-trips, --clients, --kills, --explore-users, --explore-steps: expected positive "
                       f"integers (kills >= 0), got {round_trips}, {clients}, {kills}, {explore_users}, "
                       f"{explore_steps}")
    if postgres_url is not None and not postgres:
        raise CliError(f"--postgres-url: expected no database with --no-postgres, got {postgres_url!r}")
    if postgres and postgres_url is None:
        try:
            checkout_cluster()  # before the other runs: say now that the PostgreSQL run cannot start
        except RuntimeError as exc:
            raise CliError(str(exc)) from None
    with progress_bar("service") as bar:
        doc = run_service_bench(round_trips=round_trips, clients=clients, seed=seed, progress=bar,
                                explore_users=explore_users, explore_steps=explore_steps)
    if kills:
        with progress_bar("kill -9") as bar:
            doc["kill9"] = run_kill_bench(kills=kills, clients=clients, seed=seed, progress=bar)
    if postgres:
        with progress_bar("postgresql") as bar:
            doc["postgresql_two_workers"] = run_postgres_two_workers(round_trips=round_trips, clients=clients,
                                                                     seed=seed, url=postgres_url, progress=bar)
    path = out_dir / "service.json"
    write_json(path, sanitize(doc))
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


def bench_tutoring(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for tutoring.json.")],
    students: Annotated[int, typer.Option(help="Simulated students per policy.")] = 2000,
    budget: Annotated[int, typer.Option(help="Practice steps before an episode is cut off.")] = 200,
    quick: Annotated[bool, typer.Option("--quick", help="300 students; a smoke run.")] = False,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
) -> None:
    """Tutor simulated students (warmstart/Tutoring-v0, learner types fitted on ASSISTments 2009) with our
    type-aware policy and the baselines; write tutoring.json (steps to mastery, false mastery, per type)."""
    from warmstart.bench.tutoring import run_tutoring

    with progress_bar(f"tutoring{' (quick)' if quick else ''}") as bar:
        doc = run_tutoring(n_students=None if quick else students, seed=seed, budget=budget, quick=quick,
                           progress=bar)
    path = out_dir / "tutoring.json"
    write_json(path, sanitize(doc))
    table = Table(title="tutoring: practice steps until every skill is declared mastered")
    for col in ("policy", "steps", "false mastery rate"):
        table.add_column(col, justify="left" if col == "policy" else "right")
    for name, p in doc["policies"].items():
        table.add_row(name, f"{p['steps_to_mastery']:.1f}", f"{p['false_mastery_rate']:.3f}")
    out.print(table)
    out.print(f"wrote {path}")


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
    from warmstart.bench.scale import run_scale

    if users is not None and users < 1:
        raise typer.BadParameter(f"expected a positive number of users, got {users}", param_hint="--users")
    with progress_bar(f"scale{' (quick)' if quick else ''}") as bar:
        doc = run_scale(quick=quick, seed=seed, progress=bar, n_users=users, workdir=workdir)
    path = out_dir / "scale.json"
    write_json(path, sanitize(doc))
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


RESPONSIBLE_PARTS = ("fairness", "drift", "satiation", "dp", "leakage", "forget", "fair")


def bench_responsible(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for responsible.json.")],
    quick: Annotated[bool, typer.Option("--quick", help="Smaller runs of every part; a smoke run.")] = False,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    part: Annotated[list[str] | None, typer.Option(
        "--part", help=f"Run only these parts (repeatable): {', '.join(RESPONSIBLE_PARTS)}.")] = None,
    merge: Annotated[bool, typer.Option(
        "--merge", help="Keep the other parts of the responsible.json already in --out (same seed and --quick); "
        "replace only the parts run.")] = False,
) -> None:
    """Responsible personalization: gain per type, minority and outliers, following a type switch and a
    misleading start, long-term satisfaction with planning, the differentially private fit, the leakage audit
    and forgetting; write responsible.json."""
    from warmstart.bench.responsible import run_responsible

    parts = chosen_parts(part, RESPONSIBLE_PARTS)
    with progress_bar(f"responsible{' (quick)' if quick else ''}") as bar:
        doc = run_responsible(quick=quick, seed=seed, progress=bar, parts=parts)
    path = out_dir / "responsible.json"
    if merge:
        doc = merge_responsible(path, doc)
    write_json(path, sanitize(doc))
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
    if "fair_types" in doc:
        f = doc["fair_types"]
        table.add_row("fair_types.auc (unconstrained)", f"{f['fair_auc']:.3f} ({f['unconstrained_auc']:.3f})")
        table.add_row("fair_types.G50 (unconstrained)", f"{f['fair_G50']:.3f} ({f['unconstrained_G50']:.3f})")
    out.print(table)
    out.print(f"wrote {path}")


def merge_responsible(path: Path, doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` (the parts just run) over the ``responsible.json`` at ``path``: its other parts' keys kept, the
    parts and timings joined, the run's seed and ``quick`` checked against the file's; ``machine`` stays the
    file's and ``machine_by_part`` says where each merged part ran."""
    import json

    if not path.is_file():
        raise CliError(f"--merge: expected an existing {path} to merge into, got none")
    old = json.loads(path.read_text())
    for key in ("seed", "quick"):
        if old.get(key) != doc[key]:
            raise CliError(f"--merge: {path} has {key} = {old.get(key)!r}, this run {doc[key]!r}; merge runs of the "
                           f"same settings only")
    parts = [p for p in RESPONSIBLE_PARTS if p in set(old.get("parts", [])) | set(doc["parts"])]
    where = {**old.get("machine_by_part", {}), **{p: doc["machine"] for p in doc["parts"]}}
    return {**old, **doc, "parts": parts, "timings_s": {**old.get("timings_s", {}), **doc["timings_s"]},
            "machine": old.get("machine", doc["machine"]), "machine_by_part": where}

