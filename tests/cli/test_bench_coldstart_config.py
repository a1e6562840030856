"""`warmstart bench coldstart` configurable: simulator options, a TOML file (--config), --write-config, drift;
the default preset and its TOML file give the same JSON."""

import json
from pathlib import Path

import pytest
from support.cli import run

REPO = Path(__file__).resolve().parents[2]
DEFAULT_TOML = REPO / "benchmarks" / "configs" / "coldstart-default.toml"
TINY = ["--train-users", "150", "--train-events", "20", "--test-users", "8", "--minority-users", "3",
        "--outlier-users", "3", "--steps", "20", "--policies", "mixture_ids,from_scratch_ts,oracle_type",
        "--workers", "1"]
TIMING = ("build_s", "serve_s", "decisions_per_s")




def _without_timing(doc):
    doc = json.loads(json.dumps(doc))
    doc.pop("machine")
    doc["fit"].pop("fit_s")
    doc["config"].pop("sim_source")
    for p in doc["policies"].values():
        for k in TIMING:
            p.pop(k)
    return doc


def test_the_default_toml_reproduces_the_default_preset(tmp_path):
    """The shipped benchmarks/configs/coldstart-default.toml is what --write-config writes for the default
    preset, and a run with it gives the preset's JSON: every number but the timings equal."""
    written = tmp_path / "default.toml"
    run("bench", "coldstart", "--write-config", written)
    assert written.read_text().splitlines()[1:] == DEFAULT_TOML.read_text().splitlines()[1:]  # line 1: provenance
    run("bench", "coldstart", "--out", tmp_path / "preset", *TINY)
    run("bench", "coldstart", "--config", DEFAULT_TOML, "--out", tmp_path / "toml", *TINY)
    a = json.loads((tmp_path / "preset" / "coldstart.json").read_text())
    b = json.loads((tmp_path / "toml" / "coldstart.json").read_text())
    assert a["config"]["sim_source"] == "--preset default"
    assert b["config"]["sim_source"] == f"--config {DEFAULT_TOML}"
    assert json.dumps(_without_timing(a), sort_keys=True) == json.dumps(_without_timing(b), sort_keys=True)
    assert a["config"]["sim"]["n_types"] == 8 and a["config"]["drift"] is None


def test_options_and_drift_are_used_and_written_into_the_json(tmp_path):
    args = ["--dim", "4", "--types", "3", "--actions", "6", "--noise", "0.2", "--minority-share", "0.1",
            "--outlier-share", "0.05", "--switch-at", "12"]
    run("bench", "coldstart", "--out", tmp_path, *args, *TINY)
    doc = json.loads((tmp_path / "coldstart-custom.json").read_text())
    sim = doc["config"]["sim"]
    assert (sim["dim"], sim["n_types"], sim["n_actions"], sim["noise_sd"]) == (4, 3, 6, 0.2)
    assert (sim["minority_share"], sim["outlier_share"]) == (0.1, 0.05)
    assert doc["config"]["drift"] == {"switch_at": 12, "misleading_start": None}
    assert "n_types = 3" in doc["config"]["sim_source"]
    # the same settings through a TOML file written by --write-config: the same JSON
    toml = tmp_path / "mine.toml"
    run("bench", "coldstart", "--write-config", toml, *args)
    assert "[drift]\nswitch_at = 12" in toml.read_text()
    run("bench", "coldstart", "--config", toml, "--name", "mine", "--out", tmp_path, *TINY)
    again = json.loads((tmp_path / "coldstart-mine.json").read_text())
    assert json.dumps(_without_timing(doc), sort_keys=True) == json.dumps(_without_timing(again), sort_keys=True)


@pytest.mark.parametrize(("args", "message"), [
    (["--preset", "hard", "--config", str(DEFAULT_TOML)], "--preset, --config: expected one of them"),
    (["--switch-at", "30", "--steps", "20"], "drift.switch_at: expected a step below steps = 20"),
    (["--switch-at", "3", "--misleading-start", "4"], "drift: expected exactly one of"),
    (["--types", "1", "--switch-at", "3"], "drift: expected a population of at least 2 types"),
    (["--config", "missing.toml"], "--config: expected a TOML file"),
    ([], "bench coldstart: expected --out DIR"),
])
def test_bad_settings_are_one_line_errors(tmp_path, args, message):
    out = [] if not args else ["--out", tmp_path]
    proc = run("bench", "coldstart", *out, *args, check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0], proc.stderr
