"""CLI smoke tests: every command runs, help is clear, and errors are one line without a traceback."""

import json

import pytest
from support.cli import run
from typer.testing import CliRunner

from warmstart.cli import app
from warmstart.families.linear.population import Population


@pytest.mark.parametrize("cmd", [[], ["simulate"], ["fit"], ["bench"], ["bench", "coldstart"], ["bench", "speed"],
                                 ["bench", "kt"], ["bench", "tutoring"],
                                 ["bench", "replay"], ["report"], ["demo"], ["serve"], ["keys"], ["ope"],
                                 ["keys", "create"]])
def test_help_is_clear(cmd):
    """In process (typer's runner): the same help text, without starting Python once per command."""
    res = CliRunner().invoke(app, [*cmd, "--help"])
    assert res.exit_code == 0 and "Usage" in res.stdout and len(res.stdout.splitlines()) > 3


def test_help_through_the_entry_point():
    out = run("bench", "--help").stdout
    assert "Usage" in out and "coldstart" in out and len(out.splitlines()) > 3


def test_simulate_then_fit(tmp_path):
    log = tmp_path / "log.npz"
    run("simulate", "--users", "300", "--events", "20", "--out", str(log))
    pop = tmp_path / "pop.npz"
    res = run("fit", str(log), "--out", str(pop), "--k-max", "4")
    assert "novel" in res.stdout
    # standard error is a pipe here, as in a log file or CI: the progress comes as timed lines, not a bar
    lines = res.stderr.splitlines()
    assert lines[0].startswith("[0:00:00] fit: ") and lines[-1].endswith("fit: done"), res.stderr
    assert Population.load(pop).n_types >= 1


def test_errors_are_one_line_without_traceback(tmp_path):
    proc = run("fit", str(tmp_path / "missing.npz"), check=False)
    assert proc.returncode == 2
    assert "error:" in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    proc = run("simulate", "--preset", "nope", "--out", str(tmp_path / "x.npz"), check=False)
    assert proc.returncode == 2 and "preset" in proc.stderr and "Traceback" not in proc.stderr
    (tmp_path / "bad.npz").write_text("garbage")
    proc = run("fit", str(tmp_path / "bad.npz"), check=False)
    assert proc.returncode == 2 and "not a readable" in proc.stderr
    proc = run("bench", "coldstart", "--out", str(tmp_path), "--policies", "banana", check=False)
    assert proc.returncode == 2 and "--policies" in proc.stderr
    proc = run("report", str(tmp_path / "empty"), check=False)
    assert proc.returncode == 2 and "coldstart.json" in proc.stderr


def test_bench_coldstart_quick_and_report(tmp_path):
    """The quick benchmark with every policy (VW and CLUB included), then the report from its JSON (a quarter of
    the quick run's training users, under a third of its new users: the figures are not what is tested here)."""
    run("bench", "coldstart", "--quick", "--train-users", "500", "--test-users", "60", "--minority-users", "15",
        "--outlier-users", "15", "--out", str(tmp_path))
    doc = json.loads((tmp_path / "coldstart.json").read_text())
    assert doc["config"]["quick"] is True
    assert set(doc["policies"]) == {"mixture_ids", "floored", "mixture_ts", "from_scratch_ts", "pooled_ts", "club",
                                    "vw_pooled", "oracle_type", "oracle", "random"}
    assert doc["policies"]["vw_pooled"]["settings"], "the report must say which settings VW ran with"
    run("report", str(tmp_path))
    html = (tmp_path / "index.html").read_text()
    assert "data:image/png;base64," in html and "mixture_ids" in html
    targets = json.loads((tmp_path / "targets.json").read_text())["rows"]
    assert any(r["target"].startswith("gain captured") and r["met"] is not None for r in targets)


def test_bench_kt_quick_on_real_students(tmp_path):
    """A seeded subset of ASSISTments 2009 students: the JSON has every key, and the learner types predict
    unseen students better than the per-skill mean (a baseline with no student state)."""
    run("bench", "kt", "--quick", "--skip-pybkt", "--out", str(tmp_path))
    doc = json.loads((tmp_path / "kt.json").read_text())
    models = doc["models"]
    assert {"ours", "bkt", "skill_mean"} <= set(models)
    for m in models.values():
        assert set(m["by_bucket"]) == {"1-5", "6-10", "11-20", "21-50", "51+"}
        lo, hi = m["auc_ci95"]
        assert lo <= m["auc"] <= hi
    assert models["ours"]["auc"] > models["skill_mean"]["auc"] + 0.05
    assert models["ours"]["log_loss"] < models["skill_mean"]["log_loss"]
    assert doc["config"]["data_counts"]["test"]["students"] == 300


def test_bench_kt_rejects_an_unknown_data_set(tmp_path):
    proc = run("bench", "kt", "--data", "nope", "--skip-pybkt", "--out", str(tmp_path), check=False)
    assert proc.returncode == 2 and "--data: expected assistments2009 or a knowledge-tracing file" in proc.stderr


def test_fit_and_replay_an_event_log(tmp_path):
    """A CSV event log (exported from the simulator) is fitted with `fit --log` and replayed with
    `bench replay --log`; ours serves the later users better than uniform choice (the two policies compared;
    the peers are replayed in tests/bench/test_replay*.py and tests/cli/test_bench_replay.py)."""
    path = tmp_path / "events.csv"
    run("simulate", "--users", "400", "--events", "20", "--seed", "4", "--out", str(path))
    run("fit", "--log", str(path), "--out", str(tmp_path / "pop.npz"), "--k-max", "4")
    assert Population.load(tmp_path / "pop.npz").n_types >= 2
    assert (tmp_path / "pop.items.npz").is_file()
    run("bench", "replay", "--log", str(path), "--steps", "10", "--policies", "mixture_ids,random", "--out",
        str(tmp_path))
    doc = json.loads((tmp_path / "replay.json").read_text())
    assert doc["policies"]["mixture_ids"]["mean_reward"]["1-10"] > doc["policies"]["random"]["mean_reward"]["1-10"]
    bad = run("fit", "--out", str(tmp_path / "x.npz"), check=False)
    assert bad.returncode == 2 and "expected exactly one of LOG_PATH" in bad.stderr


def test_bench_service_smoke(tmp_path):
    """A few round trips against a real server on a free loopback port, one kill, a small exploration run: every
    key, no errors, no server error on malformed or unauthenticated requests (the kill bench at length and the
    PostgreSQL two-worker run are tests/service/test_durability.py's; what the exploration finds,
    tests/service/test_explore.py's)."""
    run("bench", "service", "--round-trips", "40", "--clients", "2", "--kills", "1", "--no-postgres",
        "--explore-users", "4", "--explore-steps", "5", "--out", str(tmp_path))
    doc = json.loads((tmp_path / "service.json").read_text())
    s = doc["sqlite_one_worker"]
    assert s["round_trips_done"] == 40 and s["errors"] == 0 and s["p99_ms"] >= s["p50_ms"] > 0
    assert doc["inprocess_act_update_us"] > 0 and doc["rank_p50_ms"] > doc["inprocess_act_us"] / 1e3
    assert doc["kill9"]["kills_done"] == 1 and doc["kill9"]["lost_acknowledged_rewards"] == 0
    for probe in ("malformed", "unauthenticated"):
        assert doc["probes"][probe]["server_errors"] == 0
        assert doc["probes"][probe]["unexpected"] == [], doc["probes"][probe]["unexpected"]
    assert doc["probes"]["malformed"]["probes"] >= 30
    support = doc["exploration"]["support"]
    assert (support["users"], support["steps"], support["floor"]["n_events"]) == (4, 5, 20)
    assert support["floor"]["min_probability"] >= support["bound"] - 1e-12 > 0
    assert "postgresql_two_workers" not in doc
    bad = run("bench", "service", "--no-postgres", "--postgres-url", "postgresql+psycopg://h/db", "--out",
              str(tmp_path), check=False)
    assert bad.returncode == 2 and "--postgres-url: expected no database with --no-postgres" in bad.stderr
    bad = run("bench", "service", "--no-postgres", "--explore-users", "0", "--out", str(tmp_path), check=False)
    assert bad.returncode == 2 and "--explore-users" in bad.stderr and "Traceback" not in bad.stderr


def test_ope_on_the_open_bandit_dataset(tmp_path):
    """BTS estimated from the uniform-random logs: every estimator has an interval around its estimate, and
    IPS's interval overlaps the on-policy click rate's."""
    run("ope", "--n-sim", "20000", "--n-boot", "200", "--out", str(tmp_path / "ope.json"))
    doc = json.loads((tmp_path / "ope.json").read_text())
    for name in ("ips", "snips", "dr", "dm", "on_policy_ctr_bts"):
        lo, hi = doc[name]["ci95"]
        assert lo <= doc[name]["estimate"] <= hi
    ips, bts = doc["ips"]["ci95"], doc["on_policy_ctr_bts"]["ci95"]
    assert ips[0] <= bts[1] and bts[0] <= ips[1]


def test_demo_writes_the_steps_it_skips(tmp_path, monkeypatch):
    """Steps 5 and 6 need ASSISTments 2009, which ships with warmstart; were it missing, the demo says so in
    skipped.json, which the report shows at its top (tests/report/test_report.py)."""
    from warmstart.cli.report import _demo_learners
    from warmstart.data import _paths

    monkeypatch.setenv("WARMSTART_DATA", str(tmp_path / "empty"))
    monkeypatch.setenv("WARMSTART_NO_SHIPPED_DATA", "1")
    monkeypatch.setattr(_paths, "REPO", tmp_path)
    _demo_learners(tmp_path, 0)
    doc = json.loads((tmp_path / "skipped.json").read_text())
    assert [s["step"][:3] for s in doc["skipped"]] == ["5/7", "6/7"]
    assert all("ASSISTments 2009 files" in s["reason"] for s in doc["skipped"])
    assert not (tmp_path / "kt.json").exists()
