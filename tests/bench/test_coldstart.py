import json

import numpy as np
import pytest

from warmstart.bench.coldstart import ColdStartConfig, gain_curve, run_coldstart
from warmstart.bench.metrics import steps_to_90
from warmstart.families.linear.fit import FitConfig
from warmstart.report.targets import coldstart_rows, markdown_table
from warmstart.stats import bootstrap_ci, moving_average

TINY = {
    "n_train_users": 300, "n_train_events": 30, "n_test_users": 12, "n_minority_users": 4,
    "n_outlier_users": 4, "steps": 25, "n_bootstrap": 50,
    "fit": FitConfig(n_types=8, split_merge=False, n_init=1),
    "policies": ("mixture_ids", "mixture_ts", "from_scratch_ts", "pooled_ts", "oracle_type", "oracle", "random"),
}


def test_moving_average_and_steps_to_90():
    assert np.allclose(moving_average(np.arange(1, 7, dtype=float), 3), [1, 1.5, 2, 3, 4, 5])
    rand = np.zeros((2, 10))
    orc = np.ones((2, 10))
    pol = np.tile(np.linspace(0, 1, 10), (2, 1))
    # the 5-step trailing average of a linear ramp reaches 0.9 at step 10 (mean of 5/9..9/9 = 7/9 < 0.9): never
    assert steps_to_90(pol, rand, orc) is None
    assert steps_to_90(orc, rand, orc) == 1


def test_bootstrap_ci_brackets_the_mean(rng):
    x = rng.normal(size=400)
    lo, hi = bootstrap_ci(x, rng, 500)
    assert lo < x.mean() < hi and hi - lo < 0.4


def test_same_seed_gives_identical_json_and_sane_results():
    cfg = ColdStartConfig.make(seed=4, workers=1, **TINY)
    a = run_coldstart(cfg)
    b = run_coldstart(cfg)
    for doc in (a, b):
        doc.pop("machine")
        for p in doc["policies"].values():
            for k in ("build_s", "serve_s", "decisions_per_s"):
                p.pop(k)
        doc["fit"].pop("fit_s")
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
    P = a["policies"]
    assert P["oracle"]["regret_at"]["20"] == 0.0
    # the bootstrap is worth something: every informed policy beats random by far
    for name in ("mixture_ids", "mixture_ts", "from_scratch_ts", "pooled_ts", "oracle_type"):
        assert P[name]["regret_at"]["20"] < 0.5 * P["random"]["regret_at"]["20"], name
    assert P["mixture_ids"]["type_accuracy_at"] is not None and P["pooled_ts"]["type_accuracy_at"] is None
    lo, hi = P["mixture_ids"]["regret_ci95"]["20"]
    assert lo <= P["mixture_ids"]["regret_at"]["20"] <= hi
    assert set(P["mixture_ids"]) >= {"regret_at", "regret_ci95", "steps_to_90", "late_regret_per_step",
                                     "type_accuracy_at", "per_type", "minority", "outliers"}
    rows = coldstart_rows(a, None)
    assert any(r["target"].startswith("gain captured") for r in rows)
    assert "| target |" in markdown_table(rows)
    c = run_coldstart(ColdStartConfig.make(seed=5, workers=1, **TINY))
    assert c["policies"]["mixture_ids"]["regret_at"] != a["policies"]["mixture_ids"]["regret_at"]


def test_gain_curve_definition():
    pol = {"from_scratch_ts": {"curve": {"cum_regret": [10.0, 20.0]}},
           "oracle_type": {"curve": {"cum_regret": [2.0, 4.0]}},
           "ours": {"curve": {"cum_regret": [4.0, 4.0]}}}
    assert gain_curve(pol, "ours")["G"] == [0.75, 1.0]


def test_config_validation_names_the_field():
    with pytest.raises(ValueError, match="steps"):
        ColdStartConfig(steps=0)
    with pytest.raises(ValueError, match="ours"):
        ColdStartConfig(policies=("random",), ours="mixture_ids")
