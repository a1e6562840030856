"""A small run of `warmstart bench service`: a real server, round trips over HTTP, then the malformed-input
and unauthenticated probes, none of which may get a 5xx."""

from warmstart.bench.service import run_service_bench


def test_service_bench_small_run_has_no_errors_and_no_server_error_on_bad_input():
    doc = run_service_bench(round_trips=60, clients=2, users=10, seed=1, max_seconds=120, explore_users=6,
                            explore_steps=6)
    run = doc["sqlite_one_worker"]
    assert run["round_trips_done"] == 60 and run["errors"] == 0
    assert 0 < run["p50_ms"] <= run["p99_ms"]
    assert doc["rank_p50_ms"] > doc["inprocess_act_us"] / 1e3  # HTTP and the store cost something
    for probe in ("malformed", "unauthenticated"):
        assert doc["probes"][probe]["server_errors"] == 0
        assert doc["probes"][probe]["unexpected"] == [], doc["probes"][probe]["unexpected"]
    assert doc["probes"]["malformed"]["probes"] >= 30
    # the exploration part at the size asked for (what it finds: tests/service/test_explore.py)
    support = doc["exploration"]["support"]
    assert (support["users"], support["steps"], support["floor"]["n_events"]) == (6, 6, 36)
    assert support["floor"]["min_probability"] >= support["bound"] - 1e-12 > 0
