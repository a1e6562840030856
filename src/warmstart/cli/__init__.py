"""The ``warmstart`` command line: simulate, fit, bench, report, demo.

Every command prints one line on error (``error: ...``) and exits with status 2; long work shows a progress
bar. Benchmarks write JSON with their configuration, seed, version and machine.

The commands live in one module per group (``data``, ``fit``, ``bench``, ``report``, ``ope``, ``service``,
``audit``; ``bench coldstart``, with its many simulator options, in ``bench_coldstart``; what they share in
``_common``); this module builds the Typer app from them. The order of
registration below is the order ``warmstart --help`` lists them in. Each command imports its heavy modules
when it runs, so ``warmstart --help`` stays fast.
"""

from __future__ import annotations

import typer

from warmstart.cli import (
    audit,
    bench,
    bench_coldstart,
    bench_dynamics,
    bench_refine,
    bench_sparse,
    data,
    fit,
    ope,
    report,
    service,
)
from warmstart.cli._common import CliError, progress_bar, run_app

__all__ = ["CliError", "app", "main", "progress_bar"]

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

app.command("simulate")(data.simulate)
app.command("stats")(data.stats)
app.command("merge-shards")(data.merge_shards_command)
app.command("fit")(fit.fit)
bench_app.command("coldstart")(bench_coldstart.bench_coldstart)
bench_app.command("speed")(bench.bench_speed)
bench_app.command("kt")(bench.bench_kt)
bench_app.command("replay")(bench.bench_replay)
bench_app.command("fit-log")(bench.bench_fit_log)
bench_app.command("service")(bench.bench_service)
bench_app.command("tutoring")(bench.bench_tutoring)
bench_app.command("scale")(bench.bench_scale)
bench_app.command("responsible")(bench.bench_responsible)
bench_app.command("sparse")(bench_sparse.bench_sparse)
bench_app.command("dynamics")(bench_dynamics.bench_dynamics)
bench_app.command("refine")(bench_refine.bench_refine)
app.command("report")(report.report)
app.command("demo")(report.demo)
app.command("ope")(ope.ope)
keys_app.command("create")(service.keys_create)
app.command("types")(service.types)
app.command("serve")(service.serve)
audit_app.command("fairness")(audit.audit_fairness)
audit_app.command("leakage")(audit.audit_leakage)
app.command("explain")(audit.explain)


def main() -> None:
    run_app(app)
