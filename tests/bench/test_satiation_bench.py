import json
import math

import pytest

from warmstart.bench.satiation import POLICIES, SatiationBenchConfig, run_satiation


@pytest.fixture(scope="module")
def doc():
    return run_satiation(n_users=12, steps=40, seed=0, quick=True)


def test_quick_run_returns_the_documented_keys_with_finite_values(doc):
    for key in ("planning_long_term", "myopic_long_term", "ratio", "planning_short_term", "myopic_short_term",
                "short_term_ratio"):
        assert math.isfinite(doc[key]), key
    assert doc["ratio"] == pytest.approx(doc["planning_long_term"] / doc["myopic_long_term"])
    lo, hi = doc["ratio_ci95"]
    assert lo <= doc["ratio"] <= hi
    assert set(doc["policies"]) == set(POLICIES)
    assert doc["target"]["threshold"] == 1.15 and doc["target"]["passed"] == (doc["ratio"] >= 1.15)
    assert {"short_term", "long_term", "engagement"} <= set(doc["definitions"])
    assert doc["seed"] == 0 and doc["config"]["steps"] == 40 and doc["config"]["n_users"] == 12
    json.dumps(doc)  # JSON-able as returned


def test_policies_are_summarised_consistently(doc):
    for name, p in doc["policies"].items():
        assert len(p["curve"]["engagement"]) == 40, name
        lo, hi = p["long_term_ci95"]
        assert lo <= p["long_term"] <= hi, name
        assert sum(t["n_users"] for t in p["per_type"].values()) == 12, name
        assert 0.0 <= p["late_clickbait_share"] <= 1.0
    # the oracles know theta: the myopic oracle is the best of the moment, so its myopic regret is zero
    assert doc["policies"]["oracle"]["late_myopic_regret"] == pytest.approx(0.0)
    assert doc["policies"]["random"]["late_clickbait_share"] > 0.0


def test_same_seed_same_document_numbers():
    cfg = SatiationBenchConfig.make(quick=True, n_users=4, steps=10, n_train_users=200,
                                    policies=("mixture_plan", "mixture_ts"))
    a, b = run_satiation(config=cfg), run_satiation(config=cfg)

    def numbers(doc):  # everything but the timings
        return {k: {f: v for f, v in p.items() if f != "serve_s"} for k, p in doc["policies"].items()}

    assert a["ratio"] == b["ratio"] and numbers(a) == numbers(b)
