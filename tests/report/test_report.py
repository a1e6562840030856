"""Tests of the self-contained HTML benchmark report built from fake but realistic benchmark JSON."""

from __future__ import annotations

import base64
import json
import math
import re
from pathlib import Path
from typing import Any

import pytest

from warmstart.report.figures import _truth
from warmstart.report.html import write_report

# (name, regret per step at t=1, regret per step late, learning time constant)
POLICIES = {
    "mixture_ids": (0.9, 0.02, 3.0),
    "from_scratch_ts": (1.0, 0.08, 12.0),
    "pooled_ts": (0.8, 0.35, 4.0),
    "oracle": (0.0, 0.0, 1.0),
}


def _curve(start: float, late: float, tau: float, steps: int) -> list[float]:
    total, out = 0.0, []
    for t in range(1, steps + 1):
        total += late + (start - late) * math.exp(-(t - 1) / tau)
        out.append(total)
    return out


def _block(cum: list[float], scale: float, steps_to_90: int | None) -> dict[str, Any]:
    return {"regret_at": {h: cum[int(h) - 1] * scale for h in ("10", "20", "30") if int(h) <= len(cum)},
            "steps_to_90": steps_to_90}


def fake_coldstart(steps: int = 30, n_types: int = 2, preset: str = "default") -> dict[str, Any]:
    """A small coldstart.json: 4 policies, ``steps`` steps, ``n_types`` types, minority and outliers."""
    horizons = [h for h in ("10", "20", "30") if int(h) <= steps]
    policies = {}
    for name, (start, late, tau) in POLICIES.items():
        cum = _curve(start, late, tau, steps)
        s90 = None if name == "pooled_ts" else (1 if name == "oracle" else int(2 * tau) + 1)
        policies[name] = {
            "settings": {"prior_scale": 1.0, "exploration": {"kind": "thompson", "samples": 1}, "note": "<b>"},
            "regret_at": {h: cum[int(h) - 1] for h in horizons},
            "regret_ci95": {h: [cum[int(h) - 1] * 0.9, cum[int(h) - 1] * 1.1] for h in horizons},
            "steps_to_90": s90,
            "late_regret_per_step": late,
            "type_accuracy_at": {"5": 0.6, "10": 0.8, "20": 0.9} if name == "mixture_ids" else None,
            "per_type": {str(k): _block(cum, 0.8 + 0.2 * k, s90) for k in range(n_types)},
            "minority": _block(cum, 1.4, s90),
            "outliers": _block(cum, 2.0, None),
            "curve": {"cum_regret": cum, "cum_regret_lo": [c * 0.9 for c in cum],
                      "cum_regret_hi": [c * 1.1 for c in cum],
                      "reward": [1.0 - (late + (start - late) * math.exp(-t / tau)) for t in range(steps)]},
            "elapsed_s": 1.5,
        }
    scratch = policies["from_scratch_ts"]["curve"]["cum_regret"]
    ours = policies["mixture_ids"]["curve"]["cum_regret"]
    gain = [(s - o) / s if s > 0 else None for s, o in zip(scratch, ours, strict=True)]
    names = [f"type {k}" for k in range(n_types)] + ["novel"]
    examples = []
    for user, group, true in ((3, "population", 0), (7, "minority", n_types - 1), (11, "outlier", -1)):
        target = n_types if true == -1 else true
        probs = []
        for t in range(12):
            w = 1 - math.exp(-t / 3)
            row = [(1 - w) / (n_types + 1) + (w if k == target else 0.0) for k in range(n_types + 1)]
            probs.append(row)
        examples.append({"user": user, "group": group, "true_type": true, "type_names": names, "probs": probs})
    return {
        "config": {"preset": preset, "dim": 6, "n_actions": 10, "n_types": n_types, "n_train_users": 500,
                   "n_train_events": 20000, "n_test_users": 60, "n_minority_users": 6, "n_outlier_users": 4,
                   "steps": steps, "sim": {"noise": 0.5}},
        "seed": 0,
        "version": "0.1.0",
        "machine": {"python": "3.11.2", "platform": "Linux-x86_64", "cpu_count": 8, "blas": ["openblas"]},
        "ours": "mixture_ids",
        "fit": {"selected_k": n_types, "fit_s": 2.5, "minority_recovered": True,
                "k_path": [{"K": k, "bic": 1000.0 - 300 * min(k, n_types) + 20 * k, "loglik": -500.0 + 150 * min(
                    k, n_types)} for k in range(1, n_types + 3)]},
        "policies": policies,
        "gain_captured": {"t": list(range(1, steps + 1)), "G": gain},
        "type_posterior_examples": examples,
    }


SPEED = {"act_update_us": 42.0, "vw_predict_learn_us": 130.0, "batch_decisions_per_s": 250000.0,
         "em_fit_s_100k": 3.2, "belief_bytes": 1024, "machine": {"python": "3.11.2", "cpu_count": 8},
         "act_update_policy": "mixture_ids", "act_update_us_by_policy": {"mixture_ids": 42.0, "mixture_ts": 30.0},
         "config": {"dim": 6, "steps": 1000}, "em_fit_settings": "K fixed", "some_new_timing_s": 0.5}
TARGETS = {"rows": [
    {"target": "regret@20 vs from scratch", "threshold": "<= 0.5x", "measured": "0.31x", "met": True,
     "command": "warmstart bench coldstart", "note": ""},
    {"target": "act+update latency", "threshold": "< 20 us", "measured": "42 us", "met": False,
     "command": "warmstart bench speed", "note": "slow CI box"},
    {"target": "EM fit, 1M events", "threshold": "< 60 s", "measured": "", "met": None,
     "command": "warmstart bench fit", "note": "not run"},
]}


def _write(folder: Path, name: str, data: dict[str, Any]) -> None:
    (folder / name).write_text(json.dumps(data), encoding="utf-8")


def _images(page: str) -> list[bytes]:
    return [base64.b64decode(m) for m in re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)]


def test_full_report(tmp_path: Path) -> None:
    _write(tmp_path, "coldstart.json", fake_coldstart())
    _write(tmp_path, "speed.json", SPEED)
    _write(tmp_path, "targets.json", TARGETS)
    index = write_report(tmp_path)
    assert index == tmp_path / "index.html"
    assert index.is_file()
    page = index.read_text(encoding="utf-8")

    images = _images(page)
    # regret curves, gain captured, type posteriors, regret by group, K path
    assert len(images) == 5
    assert all(img.startswith(b"\x89PNG\r\n\x1a\n") for img in images)
    for alt in ("Cumulative regret against step", "Gain captured G(t)", "Posterior over types for example users",
                "Regret per true type, minority and outliers", "BIC against number of types"):
        assert re.search(rf'<img src="data:image/png;base64,[A-Za-z0-9+/=]+" alt="{re.escape(alt)}">', page)
    for name in POLICIES:
        assert name in page
    assert "http://" not in page and "https://" not in page
    assert "<script" not in page.lower() and "<link" not in page.lower()
    # the setting "<b>" is escaped, not interpreted
    assert "&lt;b&gt;" in page and "<b>" not in page

    assert "✓ met" in page and "✗ not met" in page and "– not measured" in page
    for row in TARGETS["rows"]:
        assert row["target"] in page
    assert "1 of 3 targets met, 1 not met, 1 not measured." in page
    assert "42.0 µs against 130 µs" in page
    assert "some new timing s" in page and "act + update, one user, one decision, mixture_ts" in page
    assert "<details>" in page
    assert 'class="skipped"' not in page  # no step was skipped


def test_skipped_steps_are_named_at_the_top(tmp_path: Path) -> None:
    _write(tmp_path, "coldstart.json", fake_coldstart())
    _write(tmp_path, "skipped.json", {"skipped": [
        {"step": "5/7 learner types", "reason": "root: expected a folder with <the files>"},
        {"step": "6/7 tutoring", "reason": "same"}]})
    page = write_report(tmp_path).read_text(encoding="utf-8")
    box = page.index('<div class="skipped">')
    assert box < page.index('class="summary"')
    assert "<strong>5/7 learner types</strong>: root: expected a folder with &lt;the files&gt;" in page
    assert "<strong>6/7 tutoring</strong>: same" in page


def test_hard_preset_section(tmp_path: Path) -> None:
    _write(tmp_path, "coldstart.json", fake_coldstart())
    hard = fake_coldstart(n_types=3, preset="hard")
    # as `warmstart.bench.coldstart` writes it: simulator settings nested under "sim", fitted-to-true mapping
    hard["config"]["sim"] = {k: hard["config"].pop(k) for k in ("dim", "n_actions", "n_types")}
    for ex in hard["type_posterior_examples"]:
        ex["fitted_to_true"] = [2, 0, 1, -1]
    _write(tmp_path, "coldstart-hard.json", hard)
    page = write_report(tmp_path).read_text(encoding="utf-8")
    assert "Hard preset" in page and 'id="hard-regret"' in page
    assert "from 3 hidden user types" in page
    assert len(_images(page)) == 10


def test_truth_maps_fitted_types_to_true_types() -> None:
    names = ["type 0", "type 1", "type 2", "novel"]
    mapping = [2, 6, 4, -1]
    assert _truth({"true_type": 6, "fitted_to_true": mapping}, names) == ([1], "true type 6 → fitted type 1")
    assert _truth({"true_type": -1, "fitted_to_true": mapping}, names)[0] == [3]
    assert _truth({"true_type": 7, "fitted_to_true": mapping}, names)[0] == []
    assert _truth({"true_type": 1}, names)[0] == [1]


def test_without_optional_files(tmp_path: Path) -> None:
    doc = fake_coldstart()
    doc["policies"]["some_new_policy"] = doc["policies"]["pooled_ts"]
    del doc["type_posterior_examples"], doc["gain_captured"]
    _write(tmp_path, "coldstart.json", doc)
    page = write_report(tmp_path).read_text(encoding="utf-8")
    assert "some_new_policy" in page
    assert len(_images(page)) == 3
    assert 'id="targets"' not in page and 'id="speed"' not in page


def test_missing_coldstart(tmp_path: Path) -> None:
    _write(tmp_path, "speed.json", SPEED)
    with pytest.raises(FileNotFoundError, match=r"coldstart\.json") as info:
        write_report(tmp_path)
    assert str(tmp_path) in str(info.value) and "\n" not in str(info.value)
    assert not (tmp_path / "index.html").exists()
