"""Issue 18's stretch targets, "the identification itself", are rows of the targets table whether met or not."""

import copy

from warmstart.report.coldstart_targets import _example_coldstart, coldstart_rows
from warmstart.report.targets import responsible_rows


def _stretch(rows):
    (row,) = [r for r in rows if r["target"].startswith("stretch:")]
    return row


def test_g10_row_reads_the_gain_curve_at_step_10():
    doc = _example_coldstart()
    doc["gain_captured"]["G"] = [0.5] * 9 + [0.84] + [0.95] * 190
    row = _stretch(coldstart_rows(doc, None))
    assert row["target"] == "stretch: the identification itself, G(10) (default preset)"
    assert (row["threshold"], row["measured"], row["met"]) == (">= 0.85", "0.84", False)
    doc["gain_captured"]["G"][9] = 0.86
    assert _stretch(coldstart_rows(doc, None))["met"] is True
    short = copy.deepcopy(doc)
    short["gain_captured"]["G"] = [0.9] * 5  # a run shorter than 10 steps measures nothing
    assert _stretch(coldstart_rows(short, None))["met"] is None


def test_misleading_start_row_compares_with_the_told_policy():
    doc = {"switch_recovery_ratio": 1.3, "switch_detect_rate": 1.0, "false_alarm_rate": 0.0,
           "misleading_start_excess": 0.93, "misleading_start_floor": 0.45, "drift": {"policies": {}}}
    row = _stretch(responsible_rows(doc))
    assert (row["threshold"], row["measured"], row["met"]) == ("<= 1.25x", "+93% / +45% = 2.07x", False)
    doc["misleading_start_excess"] = 0.55
    assert _stretch(responsible_rows(doc))["met"] is True
