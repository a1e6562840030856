"""``warmstart audit fairness``, ``audit leakage`` and ``explain`` on small exported logs (typer's CliRunner),
and their errors (one line, exit status 2, no traceback, through the real entry point)."""

import csv
import json
import subprocess
import sys

import numpy as np
import pytest
from typer.testing import CliRunner

from warmstart.cli import app
from warmstart.data.bandit_log import save_log
from warmstart.data.events import export_events
from warmstart.families.linear.fit import FitConfig, fit_population

runner = CliRunner()


@pytest.fixture(scope="module")
def files(tmp_path_factory, truth):
    """A population fitted on a training log, and held-out users exported as CSV with per-user columns: their
    true type, a region independent of everything, an attribute linked to the true type."""
    root = tmp_path_factory.mktemp("audit-cli")
    pop = fit_population(truth.logged(500, 30, seed=0).summary(), FitConfig(n_types=8, split_merge=False))
    pop.save(root / "population.npz")
    log = truth.logged(300, 20, seed=1)
    save_log(root / "log.npz", log)
    path = export_events(log, root / "events.csv")
    rng = np.random.default_rng(2)
    t = log.users.type_id
    columns = {"true_type": np.where(t < 0, "outlier", t.astype(str)),
               "region": rng.choice(["north", "south"], size=300),
               "attr": np.where(rng.random(300) < np.where(t < 4, 0.95, 0.05), "yes", "no")}
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    rows[0] += list(columns)
    for row in rows[1:]:
        row += [str(v[int(row[0])]) for v in columns.values()]
    with open(path, "w", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return root


def invoke(*args: str):
    return runner.invoke(app, [str(a) for a in args])


def test_help_is_clear():
    for cmd in (["audit"], ["audit", "fairness"], ["audit", "leakage"], ["explain"]):
        res = invoke(*cmd, "--help")
        assert res.exit_code == 0 and "Usage" in res.stdout
    assert "--threshold" in invoke("audit", "leakage", "--help").stdout


def test_audit_fairness_by_group_and_true_type(files):
    res = invoke("audit", "fairness", "--log", files / "events.csv", "--population", files / "population.npz",
                 "--group", "region", "--true-type", "true_type", "--out", files / "fair", "--n-boot", "100")
    assert res.exit_code == 0, res.output
    doc = json.loads((files / "fair" / "fairness.json").read_text())
    kinds = {s["kind"] for s in doc["segments"]}
    assert kinds == {"inferred type", "inferred type (weighted)", "group", "true type"}
    assert {s["name"] for s in doc["segments"] if s["kind"] == "group"} == {"north", "south"}
    assert doc["config"]["group"] == "region" and doc["n_users"] == 300
    assert "region=north" in res.stdout and "true type 3" in res.stdout and "rule:" in res.stdout
    assert (files / "fair" / "fairness.md").read_text().startswith("# Fairness audit")


def test_audit_fairness_on_a_simulated_log_uses_its_true_types(files):
    res = invoke("audit", "fairness", "--log", files / "log.npz", "--population", files / "population.npz",
                 "--out", files / "fair-npz", "--n-boot", "50")
    assert res.exit_code == 0, res.output
    doc = json.loads((files / "fair-npz" / "fairness.json").read_text())
    assert doc["config"]["true_type"] == "true_type"
    assert any(s["kind"] == "true type" for s in doc["segments"])


def test_audit_leakage_warns_on_a_linked_attribute_only(files):
    common = ("--log", files / "events.csv", "--population", files / "population.npz", "--n-boot", "100",
              "--n-perm", "50")
    res = invoke("audit", "leakage", *common, "--attribute", "attr", "--out", files / "leak")
    assert res.exit_code == 0, res.output
    doc = json.loads((files / "leak" / "leakage.json").read_text())
    assert doc["auc"] >= 0.8 and doc["leaks"] is True and doc["positive_class"] == "yes"
    assert "warning:" in res.stderr and "'attr'" in res.stderr and "AUC" in res.stdout
    res = invoke("audit", "leakage", *common, "--attribute", "region", "--out", files / "leak2")
    assert res.exit_code == 0, res.output
    doc = json.loads((files / "leak2" / "leakage.json").read_text())
    assert doc["ci95"][0] <= 0.5 <= doc["ci95"][1] and doc["leaks"] is False
    assert "warning:" not in res.stderr and "below the warning threshold" in res.stdout
    res = invoke("audit", "leakage", *common, "--attribute", "region", "--out", files / "leak3", "--threshold",
                 "0.01")
    assert res.exit_code == 0 and "warning:" in res.stderr  # the threshold is the caller's


def test_explain_prints_what_was_inferred(files):
    res = invoke("explain", "17", "--population", files / "population.npz", "--user-log", files / "events.csv",
                 "--json", files / "explain.json")
    assert res.exit_code == 0, res.output
    assert "What was inferred about user 17" in res.stdout and "Based on 20 events" in res.stdout
    assert "Type probabilities:" in res.stdout and "reset" in res.stdout
    doc = json.loads((files / "explain.json").read_text())
    assert doc["n_events"] == 20 and abs(sum(t["probability"] for t in doc["types"]) - 1) < 1e-9


def test_bad_input_is_a_clear_error(files):
    res = invoke("audit", "leakage", "--log", files / "events.csv", "--population", files / "population.npz",
                 "--attribute", "sex", "--out", files / "x")
    assert res.exit_code != 0 and isinstance(res.exception, ValueError) and "'sex'" in str(res.exception)
    res = invoke("audit", "fairness", "--log", files / "events.csv", "--population", files / "population.npz",
                 "--group", "nope", "--out", files / "x")
    assert res.exit_code != 0 and "'nope'" in str(res.exception)
    res = invoke("explain", "nobody", "--population", files / "population.npz", "--user-log", files / "events.csv")
    assert res.exit_code != 0 and "'nobody'" in str(res.exception) and "e.g. 0, 1, 2" in str(res.exception)
    res = invoke("audit", "fairness", "--log", files / "events.csv", "--out", files / "x")
    assert res.exit_code == 2 and "--population" in res.output  # a required option


def test_errors_are_one_line_through_the_entry_point(files):
    proc = subprocess.run([sys.executable, "-m", "warmstart.cli", "audit", "leakage", "--log",
                           str(files / "events.csv"), "--population", str(files / "population.npz"), "--attribute",
                           "sex", "--out", str(files / "x")], capture_output=True, text=True, timeout=120,
                          check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()] and "column 'sex'" in proc.stderr


def test_a_log_without_item_features_uses_the_items_file_next_to_the_population(tmp_path):
    """Two kinds of users with opposite tastes over 15 items, no feature columns: `fit --log` learns item
    features and writes them beside the population, where the audits and explain find them."""
    from warmstart.data.events import EventData, save_events

    rng = np.random.default_rng(0)
    kind = rng.integers(2, size=120)
    rows = []
    for u in range(120):
        taste = np.linspace(-1, 1, 15) * (1 if kind[u] else -1)
        for t, i in enumerate(rng.choice(15, size=12, replace=False)):
            rows.append((f"user{u}", t, f"item{i:02d}", taste[i] + 0.3 * rng.standard_normal()))
    save_events(EventData.from_rows(*zip(*rows)), tmp_path / "plain.csv")
    res = invoke("fit", "--log", tmp_path / "plain.csv", "--out", tmp_path / "pop.npz", "--n-types", "2")
    assert res.exit_code == 0, res.output
    assert (tmp_path / "pop.items.npz").is_file()
    res = invoke("explain", "user3", "--population", tmp_path / "pop.npz", "--user-log", tmp_path / "plain.csv")
    assert res.exit_code == 0, res.output
    assert "item popularity" in res.stdout and "Based on 12 events" in res.stdout
    # the items named first are from the right end of this user's kind's taste
    best = int(res.stdout.split("would most like item")[1][:2])
    worst = int(res.stdout.split("least like item")[1][:2])
    assert (best > 7 and worst < 7) if kind[3] else (best < 7 and worst > 7)
    res = invoke("audit", "fairness", "--log", tmp_path / "plain.csv", "--population", tmp_path / "pop.npz",
                 "--out", tmp_path / "fair", "--n-boot", "50")
    assert res.exit_code == 0, res.output
    doc = json.loads((tmp_path / "fair" / "fairness.json").read_text())
    assert doc["config"]["feature_source"] == "items file"
    (tmp_path / "pop.items.npz").unlink()
    res = invoke("explain", "user3", "--population", tmp_path / "pop.npz", "--user-log", tmp_path / "plain.csv")
    assert res.exit_code != 0 and "items file" in str(res.exception)
