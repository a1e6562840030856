"""``warmstart fit --dp-epsilon``: a private fit whose budget is in the saved population, and its errors."""

from typer.testing import CliRunner

from warmstart.cli import app
from warmstart.data.bandit_log import save_log
from warmstart.families.linear.population import Population

runner = CliRunner()


def test_private_fit_records_its_budget_and_refuses_what_it_cannot_make_private(tmp_path, truth):
    save_log(tmp_path / "log.npz", truth.logged(1500, 20, seed=0))
    out = tmp_path / "p.npz"
    res = runner.invoke(app, ["fit", str(tmp_path / "log.npz"), "--n-types", "4", "--dp-epsilon", "2",
                              "--out", str(out)])
    assert res.exit_code == 0, res.output
    dp = Population.load(out).diagnostics.dp
    assert dp["epsilon"] == 2.0 and dp["delta"] == 1e-6 and dp["epsilon_accounted"] <= 2.0
    assert Population.load(out).n_types == 4
    res = runner.invoke(app, ["fit", str(tmp_path / "log.npz"), "--dp-epsilon", "1", "--out", str(out)])
    assert res.exit_code != 0 and "--n-types" in str(res.exception)
    res = runner.invoke(app, ["fit", str(tmp_path / "log.npz"), "--n-types", "4", "--dp-epsilon", "0",
                              "--out", str(out)])
    assert res.exit_code != 0 and "epsilon: expected a positive" in str(res.exception)
