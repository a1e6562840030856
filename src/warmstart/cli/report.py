"""``report`` (the HTML report of a bench folder) and ``demo`` (the whole loop on the embedded defaults)."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import typer

from warmstart.cli._common import CliError, out, progress_bar, sanitize, write_json
from warmstart.cli.bench_coldstart import print_coldstart
from warmstart.cli.fit import print_population


def report(
    bench_dir: Annotated[Path, typer.Argument(help="Folder holding coldstart.json (and speed.json).")],
) -> None:
    """Write BENCH_DIR/index.html (figures embedded, no external assets) and BENCH_DIR/targets.json."""
    from warmstart.report.html import write_report
    from warmstart.report.targets import write_targets

    if not (bench_dir / "coldstart.json").is_file():
        raise CliError(f"report: expected {bench_dir / 'coldstart.json'}; run `warmstart bench coldstart` first")
    write_targets(bench_dir)
    path = write_report(bench_dir)
    out.print(f"report: {path.resolve()}")


def demo(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the log, population, JSON and report.")] = Path(
        "demo-out"
    ),
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
) -> None:
    """The whole loop on the embedded defaults: simulate -> fit -> bench coldstart --quick -> bench speed
    --quick -> learner types on real students (bench kt --quick --skip-pybkt) -> bench tutoring --quick ->
    report."""
    from warmstart.bench.coldstart import ColdStartConfig, run_coldstart
    from warmstart.bench.speed import run_speed
    from warmstart.data.bandit_log import save_log
    from warmstart.families.linear.fit import fit_population
    from warmstart.report.html import write_report
    from warmstart.report.targets import write_targets
    from warmstart.sim.linear_types import LinearTypesPopulation

    cfg = ColdStartConfig.make("default", quick=True, seed=seed)
    truth = LinearTypesPopulation(cfg.sim)
    log = truth.logged(cfg.n_train_users, cfg.n_train_events, seed=seed)
    save_log(out_dir / "log.npz", chosen_only(log))
    size = (out_dir / "log.npz").stat().st_size
    out.print(f"1/7 simulated {cfg.n_train_users} training users x {cfg.n_train_events} events -> "
              f"{out_dir / 'log.npz'} ({size / 1e6:.1f} MB: the chosen action of each event; the "
              f"{cfg.sim.n_actions} candidates of each step stay in memory)")
    with progress_bar("2/7 fit") as bar:
        t0 = time.perf_counter()
        population = fit_population(log.summary(), cfg.fit, progress=bar)
        fit_s = time.perf_counter() - t0
    population.save(out_dir / "population.npz")
    print_population(population, fit_s)
    with progress_bar("3/7 cold start (quick)") as bar:
        doc = run_coldstart(cfg, progress=bar, population=population, log=log, fit_s=fit_s)
    write_json(out_dir / "coldstart.json", sanitize(doc))
    print_coldstart(doc)
    with progress_bar("4/7 speed (quick)") as bar:
        speed = run_speed(quick=True, seed=seed, progress=bar)
    write_json(out_dir / "speed.json", sanitize(speed))
    _demo_learners(out_dir, seed)
    write_targets(out_dir)
    path = write_report(out_dir)
    out.print(f"7/7 report: {path.resolve()}")


def chosen_only(log: Any) -> Any:
    """The log with only each event's chosen action among its candidates (``action`` 0, or -1 where padded;
    propensities, rewards and ground truth as they were): what ``warmstart fit``, the audits and ``explain`` read
    of a log, at 1/A of the size. The demo's full log of 2,000 users x 50 events x 20 candidates was 162 MB."""
    import numpy as np

    return replace(log, candidates=np.ascontiguousarray(log.chosen[:, :, None, :]),
                   action=np.where(np.asarray(log.action) >= 0, 0, -1))


def _demo_learners(out_dir: Path, seed: int) -> None:
    """Steps 5 and 6 of the demo, on ASSISTments 2009 students (shipped with warmstart). Should the files be
    missing anyway, the steps are skipped with a note printed and written to ``skipped.json``, which the report
    shows at its top."""
    from warmstart.bench.kt import KTBenchConfig, run_kt
    from warmstart.bench.tutoring import run_tutoring
    from warmstart.data.assistments import assistments2009_root
    from warmstart.report.html import SKIPPED

    try:
        assistments2009_root()
    except ValueError as exc:
        out.print(f"5/7 and 6/7 skipped: {exc}")
        steps = ["5/7 learner types on unseen ASSISTments 2009 students", "6/7 tutoring"]
        write_json(out_dir / SKIPPED, {"skipped": [{"step": s, "reason": str(exc)} for s in steps]})
        return
    (out_dir / SKIPPED).unlink(missing_ok=True)  # a note left by an earlier run in the same folder
    with progress_bar("5/7 learner types on unseen ASSISTments 2009 students (quick, no pyBKT)") as bar:
        kt = run_kt(KTBenchConfig(seed=seed, pybkt=False, quick=True), progress=bar)
    write_json(out_dir / "kt.json", sanitize(kt))
    out.print("   AUC " + ", ".join(f"{k} {m['auc']:.3f}" for k, m in kt["models"].items()))
    with progress_bar("6/7 tutoring (quick)") as bar:
        tut = run_tutoring(quick=True, seed=seed, progress=bar)
    write_json(out_dir / "tutoring.json", sanitize(tut))
    out.print("   steps to mastery " + ", ".join(f"{k} {p['steps_to_mastery']:.1f}"
                                                for k, p in tut["policies"].items()))

