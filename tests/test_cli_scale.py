"""``warmstart stats`` (an event log to Parquet shards) and ``warmstart fit SHARDS`` on both backends."""

import numpy as np
from typer.testing import CliRunner

from warmstart.cli import app
from warmstart.families.linear.population import Population
from warmstart.families.linear.shards import SummaryShards

runner = CliRunner()


def test_stats_then_fit_in_process_and_on_ray_give_one_population(tmp_path):
    log = tmp_path / "log.csv"
    # 30 events a user: types clear enough that the fits converge in few passes (each pass on Ray costs)
    assert runner.invoke(app, ["simulate", "--users", "1200", "--events", "30", "--out", str(log)]).exit_code == 0
    res = runner.invoke(app, ["stats", str(log), "--out", str(tmp_path / "shards"), "--shard-users", "400"])
    assert res.exit_code == 0, res.output
    shards = SummaryShards.open(tmp_path / "shards")
    assert shards.n_users == 1200 and len(shards.shards) == 3 and shards.n_events == 36_000
    common = ["fit", str(tmp_path / "shards"), "--n-types", "3", "--init-sample", "500"]
    res = runner.invoke(app, [*common, "--out", str(tmp_path / "a.npz")])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, [*common, "--out", str(tmp_path / "b.npz"), "--backend", "ray", "--workers", "2"])
    assert res.exit_code == 0, res.output
    a, b = Population.load(tmp_path / "a.npz"), Population.load(tmp_path / "b.npz")
    np.testing.assert_array_equal(a.components.cov, b.components.cov)
    np.testing.assert_array_equal(a.weights, b.weights)
    assert a.diagnostics.n_users == 1200 and a.diagnostics.init_sample["n_users"] == 500


def test_fit_backend_errors_name_the_option(tmp_path):
    log = tmp_path / "log.npz"
    assert runner.invoke(app, ["simulate", "--users", "50", "--events", "5", "--out", str(log)]).exit_code == 0
    for args, words in (
        (["--backend", "spark"], "--backend: expected inprocess or ray"),
        (["--address", "127.0.0.1:1"], "--address and --workers: expected only with --backend ray"),
        (["--init-sample", "1"], "init_sample: expected None or at least 2"),
    ):
        res = runner.invoke(app, ["fit", str(log), *args, "--out", str(tmp_path / "p.npz")])
        assert res.exit_code != 0 and words in str(res.exception), (args, res.output)
    res = runner.invoke(app, ["fit", str(tmp_path), "--out", str(tmp_path / "p.npz")])  # a folder, no manifest
    assert res.exit_code != 0 and "manifest.json" in str(res.exception)
    res = runner.invoke(app, ["fit", str(log), "--backend", "ray", "--address", "127.0.0.1:9", "--out",
                              str(tmp_path / "p.npz")])  # nothing listens on the discard port
    assert res.exit_code != 0 and "nothing answers at '127.0.0.1:9'" in str(res.exception)
    res = runner.invoke(app, ["stats", str(tmp_path / "missing.csv"), "--out", str(tmp_path / "s")])
    assert res.exit_code != 0 and "missing.csv" in str(res.exception)
    assert not (tmp_path / "s").exists()
