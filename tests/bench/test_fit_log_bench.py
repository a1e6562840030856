"""`warmstart bench fit-log`: fit --log timed in a fresh process next to --no-choose-space (bench/fit_log.py)."""

import json

import numpy as np
from typer.testing import CliRunner

from warmstart.cli import app
from warmstart.data.events import EventData, save_events
from warmstart.report.replay_targets import fit_log_rows

runner = CliRunner()


def _log(path, n_users=40, seed=0):
    rng = np.random.default_rng(seed)
    rows = [(f"u{u:02d}", 10 * u + t, f"i{int(i)}", float(rng.random() < 0.3 + 0.05 * (int(i) % 8)))
            for u in range(n_users) for t, i in enumerate(rng.choice(12, size=8, replace=False))]
    save_events(EventData.from_rows(*zip(*rows)), path)
    return path


def test_bench_fit_log_times_the_command_and_its_baseline(tmp_path):
    log = _log(tmp_path / "tiny.csv")
    res = runner.invoke(app, ["bench", "fit-log", "--log", str(log), "--out", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    doc = json.loads((tmp_path / "out" / "fit-log.json").read_text())
    run = doc["logs"]["tiny"]
    assert run["n_users"] == 40 and run["n_events"] == 320
    assert run["fit_s"] > 0 and run["baseline_fit_s"] > 0 and run["peak_mb"] > 10 and run["baseline_peak_mb"] > 10
    # the choice was made and read back from the written population (a 0/1 log: the family is chosen too)
    chosen = run["chosen"]
    assert chosen["family"] in ("linear_gaussian", "logistic_bernoulli") and chosen["n_types"] >= 1
    assert chosen["bias_penalty"] in (3.0, 10.0, 30.0, 100.0) and chosen["decision"]
    assert "blas" in doc["machine"] and doc["target_s"] == 60.0
    (row,) = fit_log_rows(doc)
    assert row["command"] == "warmstart bench fit-log --log FILE --out DIR"
    assert row["met"] is (run["fit_s"] <= 60.0) and "tiny " in row["measured"]
    assert "tiny: fit --log" in res.stdout


def test_bench_fit_log_names_a_failing_fit(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("user,time,item,reward\nu1,1,a,1.0\n")  # one user: nothing to fit or choose on
    res = runner.invoke(app, ["bench", "fit-log", "--log", str(bad), "--out", str(tmp_path / "out")])
    assert res.exit_code != 0
    message = str(res.exception)
    assert "fit --log: the command `warmstart fit --log" in message and "failed with code" in message
    assert "users" in message  # what the command said is in the error, not in a deleted folder
    assert not (tmp_path / "out" / "fit-log.json").exists()
