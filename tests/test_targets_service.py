"""The results-table rows of the service and OPE targets, computed from the committed benchmark JSON: each row
says met or not from the numbers, and a miss is reported as a miss."""

import json
from pathlib import Path

from warmstart.report.targets import ope_rows, service_rows

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"


def test_service_rows_follow_the_numbers():
    doc = json.loads((RESULTS / "service.json").read_text())
    rows = {r["target"]: r for r in service_rows(doc, json.loads((RESULTS / "obp-check.json").read_text()))}
    speed = rows["rank + reward round trips, SQLite, one worker, loopback"]
    s = doc["sqlite_one_worker"]
    assert speed["met"] == (s["round_trips_per_s"] >= 1000 and s["p99_ms"] <= 20)
    assert f"{s['round_trips_per_s']:.0f}/s" in speed["measured"]
    doc["kill9"]["lost_acknowledged_rewards"] = 1  # one lost reward must turn the row into a miss
    doc["postgresql_two_workers"]["lost_updates"] = 2
    doc["probes"]["malformed"]["server_errors"] = 1
    worse = {r["target"]: r["met"] for r in service_rows(doc)}
    assert worse["acknowledged rewards lost across 20 kill -9 under load"] is False
    assert worse["PostgreSQL, two workers: no lost update (log replayed against the beliefs)"] is False
    assert worse["5xx answers under schemathesis and the malformed-input probe"] is False
    assert not any("|" in r["measured"] for r in rows.values())  # the markdown table stays a table


def test_ope_row_reports_the_estimates_next_to_the_on_policy_rate():
    doc = json.loads((RESULTS / "ope-obd.json").read_text())
    (row,) = ope_rows(doc)
    assert f"{doc['dr']['estimate']:.5f}" in row["measured"] and "on-policy 0.00420" in row["measured"]
