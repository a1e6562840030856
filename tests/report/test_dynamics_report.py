"""The report's learned-dynamics section and the fair-types part of the responsible section follow the figures
of the shipped benchmark JSON (``dynamics.json``, ``responsible.json``), and a partial document still renders."""

from __future__ import annotations

import html
import json
from pathlib import Path

from warmstart.report.dynamics import dynamics_section, movielens_png
from warmstart.report.html import render_report
from warmstart.report.responsible import responsible_section

RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results"


def test_dynamics_section_shows_the_shipped_figures() -> None:
    doc = json.loads((RESULTS / "dynamics.json").read_text())
    section = dynamics_section(doc)
    sat = doc["satiation"]
    # the learned planner's share of the oracle's gain, to three decimals, and every planner measured
    assert f"{sat['gain_shares']['mixture_plan']['share']:.3f}" in section
    assert all(f"<strong>{name}</strong>" in section for name in ("mixture_plan", "mixture_plan_given", "oracle_plan"))
    # recovery: each true type's coverage count, and the verdict as measured
    for r in sat["recovery"]["per_type"].values():
        assert f"{r['n_covered']} of {r['n_params']}" in section
    assert ("<strong>not met</strong>" in section) == (not sat["recovery"]["met"] or not sat["recovery"].get(
        "met_simultaneous", True))
    if "met_simultaneous" in sat["recovery"]:
        assert f"+-{sat['recovery']['simultaneous_c']:.2f} bootstrap SDs" in section
    # MovieLens: the figure and each position's log-likelihood difference
    ml = doc["movielens"]["by_position"]
    assert "data:image/png;base64," in section and "dynamics-movielens" in section
    for row in ml.values():
        assert f"{row['loglik_diff']['value']:.4f}" in section


def test_dynamics_section_is_on_the_page_only_with_its_file() -> None:
    coldstart = {"seed": 0, "config": {"preset": "default"}}
    assert 'id="dynamics"' not in render_report(coldstart)
    page = render_report(coldstart, dynamics={"satiation": {"gain_shares": {}, "policies": {}}})
    assert 'id="dynamics"' in page and "Parameter recovery" not in page   # no recovery part: no heading


def test_movielens_figure_needs_positions_and_takes_missing_cis() -> None:
    assert movielens_png({}) is None
    png = movielens_png({"1-5": {"loglik_diff": {"value": 0.01}, "rmse_diff": {}}})
    assert png is not None and png[1:4] == b"PNG"


def test_fair_types_part_follows_responsible_json() -> None:
    doc = json.loads((RESULTS / "responsible.json").read_text())
    section = responsible_section(doc)
    fair = doc["fair_types"]
    assert "Fair types by construction" in section
    assert f"{fair['fair_auc']:.3f}" in section and f"{fair['unconstrained_auc']:.3f}" in section
    assert html.escape(f"{fair['G50_ratio']:.1%}") in section
    without = {k: v for k, v in doc.items() if k != "fair_types"}
    assert "Fair types by construction" not in responsible_section(without)
