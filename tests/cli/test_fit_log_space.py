"""`warmstart fit --log`: the item space and K chosen on the log's latest users (the default), kept in the
population file and printed; `--no-choose-space` is the fit it was before."""

import numpy as np
from typer.testing import CliRunner

from warmstart.cli import app
from warmstart.data.events import EventData, save_events
from warmstart.families.linear.item_features import load_item_features
from warmstart.families.linear.population import Population

runner = CliRunner()


def tastes_log(path, n_users=120, seed=0):
    """Two kinds of users with opposite tastes over 15 items, no feature columns."""
    rng = np.random.default_rng(seed)
    kind = rng.integers(2, size=n_users)
    rows = []
    for u in range(n_users):
        taste = np.linspace(-1, 1, 15) * (1 if kind[u] else -1)
        for t, i in enumerate(rng.choice(15, size=12, replace=False)):
            rows.append((f"user{u:03d}", 100 * u + t, f"item{i:02d}", taste[i] + 0.3 * rng.standard_normal()))
    save_events(EventData.from_rows(*zip(*rows)), path)
    return path


def test_fit_log_chooses_the_space_and_k_and_keeps_the_table(tmp_path):
    log = tastes_log(tmp_path / "log.csv")
    res = runner.invoke(app, ["fit", "--log", str(log), "--out", str(tmp_path / "pop.npz"), "--k-max", "4"])
    assert res.exit_code == 0, res.output
    population = Population.load(tmp_path / "pop.npz")
    space = population.diagnostics.space
    assert population.diagnostics.selection == "early events" and space["config"]["n_types"] == [1, 2, 4]
    chosen = space["chosen"]["ours"]
    assert chosen["n_types"] == population.n_types >= 2 and chosen["space"]["n_factors"] >= 2
    assert space["n_validation_users"] == 24 and space["n_fit_users"] == 96
    _, features, meta = load_item_features(tmp_path / "pop.items.npz")
    assert features.shape == (15, population.dim) and meta["info"]["source"] == "learned"
    assert "item space and K" in res.stdout and "chosen by early events" in res.stdout
    # --n-types fixes K and leaves the space to choose
    res = runner.invoke(app, ["fit", "--log", str(log), "--out", str(tmp_path / "k3.npz"), "--n-types", "3"])
    assert res.exit_code == 0, res.output
    assert Population.load(tmp_path / "k3.npz").diagnostics.space["config"]["n_types"] == [3]


def test_no_choose_space_is_the_fit_by_bic(tmp_path):
    log = tastes_log(tmp_path / "log.csv", n_users=60)
    res = runner.invoke(app, ["fit", "--log", str(log), "--out", str(tmp_path / "pop.npz"), "--k-max", "3",
                              "--no-choose-space"])
    assert res.exit_code == 0, res.output
    population = Population.load(tmp_path / "pop.npz")
    assert population.diagnostics.space is None and population.diagnostics.selection == "bic"
    assert population.dim == 4 and "item space and K" not in res.stdout  # 2 learned factors, as before
