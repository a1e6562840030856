"""Tests of the knowledge-tracing (kt.json) and tutoring (tutoring.json) sections of the HTML report, from
small synthetic JSON documents shaped like `warmstart.bench.kt` and `warmstart.bench.tutoring` write them."""

from __future__ import annotations

import base64
import html
import json
import re
from pathlib import Path
from typing import Any

from warmstart.report.figures import kt_buckets_png, tutoring_png
from warmstart.report.html import render_report, write_report
from warmstart.report.learning import _chosen_skills

BUCKETS = ("1-5", "6-10", "11-20", "21-50", "51+")
KT_ALT = "AUC by position in the student's history"
TUTORING_ALT = "Steps to mastery and false mastery rate by type of student"
# A coldstart.json with nothing to draw: the tests here look only at the new sections.
COLDSTART: dict[str, Any] = {"ours": "mixture_ids", "policies": {}}


def _kt_model(auc: float, fit_s: float | None) -> dict[str, Any]:
    return {
        "auc": auc,
        "log_loss": 0.6 - auc / 10,
        "rmse": 0.45,
        "auc_ci95": [auc - 0.02, auc + 0.02],
        "fit_s": fit_s,
        "auc_first10": auc + 0.01,
        "n_first10": 120,
        "by_bucket": {
            b: {"auc": auc - 0.01 * i, "log_loss": 0.55, "n": 100 * (i + 1)} for i, b in enumerate(BUCKETS)
        },
    }


def fake_kt() -> dict[str, Any]:
    words = {
        "0": {
            "Addition": "slow learner, careless",
            "Fractions": "typical",
            "Venn Diagram": "new to it",
            "<script>": "fast learner",
        },
        "1": {
            "Addition": "fast learner, careful",
            "Fractions": "typical",
            "Venn Diagram": "knows it already",
            "<script>": "typical",
        },
    }
    return {
        "version": "0.1.0",
        "machine": {"python": "3.11", "cpu_count": 2},
        "config": {
            "data": "assistments2009",
            "seed": 0,
            "k_range": [1, 3],
            "quick": True,
            "data_counts": {
                "train": {"students": 40, "responses": 3000},
                "valid": {"students": 15, "responses": 1000},
                "test": {"students": 30, "responses": 2000},
            },
            "fit_timing_note": "pyBKT skipped",
        },
        "models": {
            "ours": _kt_model(0.76, 1.3),
            "ours_no_grid": _kt_model(0.75, 0.9),
            "bkt": _kt_model(0.72, 0.3),
            "skill_mean": _kt_model(0.62, None),
        },
        "pybkt_note": "skipped (--skip-pybkt): a quick run, not a comparison",
        "population": {
            "n_types": 2,
            "weights": [0.6, 0.4],
            "selected_k": 2,
            "selection": [],
            "types": [
                {"index": 0, "weight": 0.6, "summary": "slow learner"},
                {"index": 1, "weight": 0.4, "summary": "typical"},
            ],
            "skill_words": words,
        },
    }


def _tutoring_block(steps: float, false_rate: float) -> dict[str, Any]:
    return {
        "n_students": 50,
        "steps_to_mastery": steps,
        "steps_ci95": [steps - 3, steps + 3],
        "false_mastery_rate": false_rate,
        "false_mastery_ci95": [false_rate * 0.8, false_rate * 1.2],
        "true_mastery_rate": 0.7,
        "declared_all_rate": 0.9,
    }


def fake_tutoring() -> dict[str, Any]:
    policies = {}
    for name, steps, rate in (
        ("ours", 90.0, 0.04),
        ("bkt_mastery", 88.0, 0.065),
        ("round_robin", 60.0, 0.12),
        ("oracle_type", 93.0, 0.03),
    ):
        p = _tutoring_block(steps, rate)
        p["per_type"] = {
            "0": {**_tutoring_block(steps * 1.2, rate * 1.3), "n_students": 30},
            "1": {**_tutoring_block(steps * 0.5, rate * 0.5), "n_students": 20},
        }
        policies[name] = p
    return {
        "version": "0.1.0",
        "machine": {"python": "3.11", "cpu_count": 2},
        "config": {
            "n_students": 50,
            "seed": 0,
            "budget": 200,
            "quick": True,
            "threshold": 0.95,
            "streak": 3,
            "skills": {"ids": [1, 2], "names": ["Proportion", "Equation Solving"]},
        },
        "population": {
            "n_types": 2,
            "weights": [0.6, 0.4],
            "student_type_counts": [30, 20],
            "types": [
                {"index": 0, "weight": 0.6, "summary": "slow learner, careless"},
                {"index": 1, "weight": 0.4, "summary": "fast learner"},
            ],
            "slow_minority": {"added": False, "note": "nothing added"},
        },
        "policies": policies,
        "targets": {},
        "frontier": {"bkt_false_mastery_rate": 0.065, "ratio_to_bkt_steps": 0.89},
    }


TARGETS = {
    "rows": [
        {
            "target": "regret@20 vs from scratch",
            "threshold": "<= 0.5x",
            "measured": "0.31x",
            "met": True,
            "command": "warmstart bench coldstart",
            "note": "",
        },
        {
            "target": "stretch: AUC ours",
            "threshold": ">= 0.75",
            "measured": "0.7600",
            "met": True,
            "command": "warmstart bench kt --quick --out DIR",
            "note": "",
        },
        {
            "target": "AUC ours - pyBKT (unseen ASSIST2009 students)",
            "threshold": ">= +0.02",
            "measured": "pyBKT not run",
            "met": None,
            "command": "warmstart bench kt --quick --out DIR",
            "note": "",
        },
        {
            "target": "tutoring: practice steps to mastery, ours / bkt_mastery",
            "threshold": "<= 0.8",
            "measured": "1.02",
            "met": False,
            "command": "warmstart bench tutoring --out DIR",
            "note": "",
        },
    ]
}


def _write(folder: Path, name: str, data: dict[str, Any]) -> None:
    (folder / name).write_text(json.dumps(data), encoding="utf-8")


def _image(page: str, alt: str) -> bytes | None:
    m = re.search(
        rf'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)" alt="{re.escape(html.escape(alt))}">', page
    )
    return base64.b64decode(m.group(1)) if m else None


def test_sections_appear_when_files_are_present(tmp_path: Path) -> None:
    _write(tmp_path, "coldstart.json", COLDSTART)
    _write(tmp_path, "kt.json", fake_kt())
    _write(tmp_path, "tutoring.json", fake_tutoring())
    _write(tmp_path, "targets.json", TARGETS)
    page = write_report(tmp_path).read_text(encoding="utf-8")

    assert '<section id="kt"><h2>Knowledge tracing on unseen ASSISTments 2009 students</h2>' in page
    assert '<section id="tutoring"><h2>Tutoring (warmstart/Tutoring-v0)</h2>' in page
    assert '<a href="#kt">' in page and '<a href="#tutoring">' in page
    for alt in (KT_ALT, TUTORING_ALT):
        png = _image(page, alt)
        assert png is not None and png.startswith(b"\x89PNG\r\n\x1a\n")

    kt = page[page.index('<section id="kt">') : page.index('<section id="tutoring">')]
    for name in ("ours", "ours_no_grid", "bkt", "skill_mean"):
        assert f"<strong>{name}</strong>" in kt
    assert "0.760" in kt and "[0.740, 0.780]" in kt  # AUC of ours with its interval
    assert "pyBKT: skipped (--skip-pybkt)" in kt and "Quick run" in kt
    assert "Type 0 · 60.0% of students" in kt and "slow learner, careless" in kt
    assert "&lt;script&gt;" in kt and "<script" not in page.lower()  # names from the JSON are escaped

    tutoring = page[page.index('<section id="tutoring">') : page.index('<section id="details">')]
    for name in ("ours", "bkt_mastery", "round_robin", "oracle_type"):
        assert f"<strong>{name}</strong>" in tutoring
    assert "P(known) ≥ 0.95" in tutoring and "3 correct answers in a row" in tutoring
    assert "4.0%" in tutoring and "6.5%" in tutoring  # false mastery rates of ours and bkt_mastery
    assert "0.89× bkt_mastery's steps" in tutoring
    assert "fast learner" in tutoring and "Proportion" in tutoring

    assert "knowledge tracing AUC, unseen students" in page and "tutoring: steps to mastery" in page
    assert "Knowledge-tracing benchmark config" in page and "Machine (tutoring run)" in page


def test_sections_absent_without_files(tmp_path: Path) -> None:
    _write(tmp_path, "coldstart.json", COLDSTART)
    page = write_report(tmp_path).read_text(encoding="utf-8")
    assert 'id="kt"' not in page and 'id="tutoring"' not in page
    assert "Knowledge tracing" not in page and "Tutoring" not in page
    assert _image(page, KT_ALT) is None and _image(page, TUTORING_ALT) is None
    assert "knowledge-tracing" not in page.lower()


def test_targets_table_shows_every_row() -> None:
    page = render_report(COLDSTART, targets=TARGETS)
    for row in TARGETS["rows"]:
        assert row["target"] in page
    assert "2 of 4 targets met, 1 not met, 1 not measured." in page


def test_render_report_takes_each_section_alone() -> None:
    kt_only = render_report(COLDSTART, kt=fake_kt())
    assert 'id="kt"' in kt_only and 'id="tutoring"' not in kt_only
    tutoring_only = render_report(COLDSTART, tutoring=fake_tutoring())
    assert 'id="tutoring"' in tutoring_only and 'id="kt"' not in tutoring_only


def test_sparse_documents_do_not_break_the_page() -> None:
    kt = {"models": {"ours": {"auc": 0.7}, "weird": {"auc": None, "by_bucket": {}}}, "population": {}}
    tutoring = {"policies": {"ours": {"steps_to_mastery": 12.0}}, "population": {}, "config": {}}
    page = render_report(COLDSTART, kt=kt, tutoring=tutoring)
    assert f"{html.escape(KT_ALT)}: no data to draw." in page
    assert "weird" in page and "Learner types" not in page and "Types of student" not in page
    assert _image(page, TUTORING_ALT) is not None


def test_figures_need_data() -> None:
    assert kt_buckets_png({}) is None
    assert kt_buckets_png({"models": {"ours": {"by_bucket": {"1-5": {"auc": None}}}}}) is None
    assert tutoring_png({"policies": {}}) is None


def test_chosen_skills_prefer_response_counts() -> None:
    words = fake_kt()["population"]["skill_words"]
    counts = {"Fractions": 900, "Addition": 500, "Venn Diagram": 0, "<script>": 10}
    skills, why = _chosen_skills({"skill_responses": counts}, words)
    assert skills == ["Fractions", "Addition", "<script>"] and "most training responses" in why
    in_order = [500, 900, 0, 10]  # a list in skill order works too
    assert _chosen_skills({"skill_responses": in_order}, words)[0] == ["Fractions", "Addition", "<script>"]
    # without counts: the skills on which the types differ; one typical for every type is left out
    skills, why = _chosen_skills({}, words)
    assert skills[0] == "Addition" and "Fractions" not in skills and "differ most" in why


def _fake_replay(ours: float) -> dict[str, Any]:
    def block(mean: float) -> dict[str, Any]:
        return {"mean_reward": {"1-5": mean, "1-10": mean}, "ci95": {"1-5": [mean - 0.1, mean + 0.1],
                "1-10": [mean - 0.1, mean + 0.1]}, "mean_reward_by_step": [mean] * 10}

    return {"n_train_users": 70, "n_test_users": 30, "data": {"n_events": 900, "n_items": 40},
            "policies": {"mixture_ids": block(ours), "random": block(0.0)},
            "reference": {"hindsight_best": {"mean_reward": {"1-5": 2.0, "1-10": 1.5}}}}


def test_replay_section_reads_every_replay_folder(tmp_path: Path) -> None:
    _write(tmp_path, "coldstart.json", COLDSTART)
    for name, ours in (("replay-a", 0.75), ("replay-b", 0.5)):
        (tmp_path / name).mkdir()
        _write(tmp_path / name, "replay.json", _fake_replay(ours))
    page = write_report(tmp_path).read_text(encoding="utf-8")
    section = page[page.index('<section id="replay">') : page.index('<section id="details">')]
    assert '<section id="replay-replay-a">' in section and '<section id="replay-replay-b">' in section
    assert "0.750" in section and "0.500" in section and "best in hindsight" in section
    for name in ("replay-a", "replay-b"):
        png = _image(page, f"replay {name}")
        assert png is not None and png.startswith(b"\x89PNG\r\n\x1a\n")
    assert "Chosen on the earlier users only" not in section  # no choice recorded: nothing said
    # what the choice made for ours is said beside its table
    doc = _fake_replay(0.75)
    doc["fit"] = {"space": {"chosen": {"ours": {"space": {"name": "bias + 4 factors (reg 10)"}, "n_types": 8}},
                            "bias_penalty": {"chosen": 100.0},
                            "refinement": {"ours": {"scores": [-1.5, -1.25], "chosen": 1, "lead_over_none": 0.25,
                                                    "lead_se": 0.125}}},
                  "family": {"chosen": "logistic_bernoulli"}}
    _write(tmp_path / "replay-a", "replay.json", doc)
    page = write_report(tmp_path).read_text(encoding="utf-8")
    assert ("Chosen on the earlier users only: ours' item space bias + 4 factors (reg 10), K = 8; item bias "
            "penalty 100; ours' rounds of items refined by the types scored -1.500, -1.250 for 0, 1, .. rounds "
            "(chosen 1, lead over none 0.250, se 0.125); family logistic_bernoulli.") in page
    (tmp_path / "replay-a" / "replay.json").unlink()
    (tmp_path / "replay-b" / "replay.json").unlink()
    assert 'id="replay"' not in write_report(tmp_path).read_text(encoding="utf-8")


def test_refine_section_shows_the_rounds_kept_and_both_replays(tmp_path: Path) -> None:
    _write(tmp_path, "coldstart.json", {"seed": 0, "config": {"preset": "default"}})
    assert 'id="refine"' not in write_report(tmp_path).read_text(encoding="utf-8")
    arm = {"mean_reward": {"mixture_ids": {"1-10": 1.25}}, "ci95": {"mixture_ids": {"1-10": [1.125, 1.375]}}}
    none = {"mean_reward": {"mixture_ids": {"1-10": 1.0}}, "ci95": {"mixture_ids": {"1-10": [0.875, 1.125]}}}
    refinement = {"ours": {"chosen": 3, "lead_over_none": 1.5, "lead_se": 0.25}, "pooled": {"chosen": 4}}
    _write(tmp_path, "refine.json", {"config": {"n_users": 3000, "n_items": 300, "later_events": 40},
                                     "logs": {"10": {"refined": {**arm, "refinement": refinement}, "none": none,
                                                     "gain": {"1-10": {"mean_diff": 0.25,
                                                                       "ci95": [0.125, 0.375]}}}}})
    page = write_report(tmp_path).read_text(encoding="utf-8")
    section = page[page.index('<section id="refine">'):]
    section = section[: section.index("</section>")]
    assert "3,000 users of LinearTypes-v0" in section and "the later ones 40" in section
    assert '<td class="num">10</td><td class="num">3, 4</td><td class="num">1.500 (se 0.250)</td>' in section
    assert ('1.250<span class="ci">[1.125, 1.375]</span> / 1.000<span class="ci">[0.875, 1.125]</span>'
            '<div class="ci">+0.250 <span class="ci">[+0.125, +0.375]</span></div>') in section
