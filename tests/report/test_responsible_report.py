"""The responsible-personalization section of the report, from a small real run of the benchmark."""

import json

import pytest

from warmstart.bench.responsible import run_responsible
from warmstart.report.responsible import responsible_section
from warmstart.report.targets import responsible_rows


@pytest.fixture(scope="module")
def doc():
    return json.loads(json.dumps(run_responsible(quick=True, parts=("drift", "forget"))))


def test_rows_and_section_follow_the_measured_figures(doc):
    rows = {r["target"].split(":")[0]: r for r in responsible_rows(doc)}
    assert set(rows) == {"type switch at step 100", "misleading start (5 responses of another type)", "forget"}
    assert rows["forget"]["met"] is True
    assert rows["misleading start (5 responses of another type)"]["met"] is (doc["misleading_start_excess"] <= 0.2)
    html = responsible_section(doc)
    assert "Following a switch" in html and html.count("<img") == 2
    assert f"{doc['switch_recovery_ratio']:.2f}" in html
    assert "Every type" not in html  # the fairness part was not run, so it is not shown
