"""``warmstart fit --log FILE --fair-attribute COLUMN``: fair types recorded in the population, and the errors
for a missing column and bad values (a ``CliError`` naming the column: one line, exit status 2, through the
real entry point)."""

import csv

import numpy as np
import pytest
from typer.testing import CliRunner

import warmstart as ws
from warmstart.cli import app
from warmstart.data.events import export_events
from warmstart.families.linear.population import Population

runner = CliRunner()


@pytest.fixture(scope="module")
def events_csv(tmp_path_factory):
    """200 users of four 3-d types exported as CSV with per-user columns: ``group`` linked to the type, and
    ``bad``, which changes within user 0."""
    truth = ws.sim.LinearTypesPopulation(ws.sim.LinearTypesConfig(dim=3, n_actions=6, n_types=4,
                                                                    minority_share=0.0, outlier_share=0.0))
    log = truth.logged(200, 15, seed=0)
    path = export_events(log, tmp_path_factory.mktemp("fit-fair") / "events.csv")
    p = np.where(log.users.type_id < 2, 0.9, 0.1)
    group = np.where(np.random.default_rng(1).random(200) < p, "a", "b")
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    rows[0] += ["group", "bad"]
    for j, row in enumerate(rows[1:]):
        row += [group[int(row[0])], "x" if j == 0 else "y"]
    with open(path, "w", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return path


def test_fit_fair_attribute_records_it(events_csv, tmp_path):
    out = tmp_path / "population.npz"
    res = runner.invoke(app, ["fit", "--log", str(events_csv), "--fair-attribute", "group", "--k-max", "2",
                              "--restarts", "1", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "fair types for 'group'" in res.output
    diagnostics = Population.load(out).diagnostics
    fair = diagnostics.fair
    assert fair["attribute"] == "group" and fair["levels"] == ["a", "b"] and fair["group_sizes"][0] > 0
    assert diagnostics.selection == "bic (fair)" and "served_entropy_share" in diagnostics.k_path[0]


@pytest.mark.parametrize(("column", "message"), [
    ("nope", "column 'nope': expected a per-user column, got no such column"),
    ("bad", "column 'bad': expected one value per user"),
])
def test_fit_fair_attribute_errors_name_the_column(events_csv, tmp_path, column, message):
    res = runner.invoke(app, ["fit", "--log", str(events_csv), "--fair-attribute", column,
                              "--out", str(tmp_path / "p.npz")])
    error = str(res.exception)
    assert res.exit_code != 0 and error.startswith(f"--fair-attribute {column!r}: ") and message in error, error
    assert not (tmp_path / "p.npz").exists()
