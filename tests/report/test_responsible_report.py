"""The responsible-personalization section of the report, from a small real run of the benchmark."""

import json

import pytest

from warmstart.bench.responsible import run_responsible
from warmstart.report.responsible import responsible_section
from warmstart.report.targets import responsible_rows


@pytest.fixture(scope="module")
def doc():
    """The drift and forget parts, smaller than ``--quick`` (500 training users, 20 users per drift scenario):
    the report is tested here, not the figures (`warmstart bench responsible` measures them)."""
    return json.loads(json.dumps(run_responsible(quick=True, parts=("drift", "forget"), train_users=500,
                                                 drift_users=20)))


def test_rows_and_section_follow_the_measured_figures(doc):
    assert doc["drift"]["config"]["n_users"] == 20 and doc["drift"]["config"]["n_train_users"] == 500
    rows = {r["target"].split(":")[0]: r for r in responsible_rows(doc)}
    assert set(rows) == {"type switch at step 100", "misleading start (5 responses of another type)", "forget",
                         "stretch"}
    assert rows["forget"]["met"] is True
    assert rows["misleading start (5 responses of another type)"]["met"] is (doc["misleading_start_excess"] <= 0.2)
    told = doc["misleading_start_excess"] / doc["misleading_start_floor"]
    assert rows["stretch"]["met"] is (told <= 1.25) and f"= {told:.2f}x" in rows["stretch"]["measured"]
    html = responsible_section(doc)
    assert "Following a switch" in html and html.count("<img") == 2
    assert f"{doc['switch_recovery_ratio']:.2f}" in html
    assert "Every type" not in html  # the fairness part was not run, so it is not shown
