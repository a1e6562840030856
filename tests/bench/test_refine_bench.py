"""``bench refine`` (``warmstart.bench.refine``): the planted-types log over hidden item features, the
alternation's gain where types exist, and the benchmark's document and command."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from warmstart.bench import refine
from warmstart.bench.refine import RefineBenchConfig, repeated_items_log, run_refine
from warmstart.cli import app
from warmstart.families.linear.space import SpaceConfig, choose_space

TINY = RefineBenchConfig(n_users=200, n_items=40, events=(8,), later_events=25, rounds=1, n_boot=50)


def test_the_log_has_repeated_items_without_features_and_longer_later_histories():
    events = repeated_items_log(100, 30, 6, seed=0, later_events=20)
    lengths = events.lengths()
    assert events.features is None and events.n_items == 30 and events.n_users == 100
    assert np.all(lengths[:70] == 6) and np.all(lengths[70:] == 20)
    # every user's items are distinct, and the items repeat across users
    for u in (0, 99):
        items = events.item[events.user == u]
        assert np.unique(items).size == items.size
    assert np.bincount(events.item).min() >= 2
    again = repeated_items_log(100, 30, 6, seed=0, later_events=20)
    assert np.array_equal(again.reward, events.reward)
    with pytest.raises(ValueError, match=r"n_events: expected at most n_items \(30\) per user, got 6 and 40"):
        repeated_items_log(10, 30, 6, seed=0, later_events=40)


@pytest.mark.parametrize("seed", [0, 1])
def test_where_types_exist_one_round_of_the_alternation_lifts_ours_on_validation_users(seed):
    """600 users of 8 planted types with 10 events each over 60 items: the items refined by the types fit
    the validation users' first events better than the factorisation alone, by several standard errors (the
    lead is about 0.3 to 0.4 nats per user on seeds 0 to 3, 4 to 6 standard errors)."""
    events = repeated_items_log(600, 60, 10, seed=seed)
    grid = SpaceConfig(n_factors=(4,), factor_reg=(10.0,), n_types=(4, 8), bias_reg=None, type_rounds=1)
    choice = choose_space(events, grid, seed=seed)
    record = choice.refinement["ours"]
    assert choice.n_types >= 4 and record["chosen"] == 1 and choice.ours.type_rounds == 1
    assert record["lead_over_none"] > 3 * record["lead_se"] > 0


@pytest.fixture(scope="module")
def tiny_doc():
    return run_refine(TINY)


def test_run_refine_replays_with_the_rounds_kept_and_with_none(tiny_doc):
    doc = tiny_doc
    assert doc["benchmark"] == "refine" and doc["config"]["events"] == [8] and doc["config"]["rounds"] == 1
    log = doc["logs"]["8"]
    assert log["n_train_users"] == 140 and log["n_test_users"] == 60
    assert log["none"]["refinement"] == {} and "rounds refined" not in log["none"]["ours_space"]
    assert log["refined"]["refinement"]["ours"]["rounds_tried"] == [0, 1]
    kept = log["refined"]["refinement"]["ours"]["chosen"]
    assert ("items refined by the types" in log["refined"]["ours_space"]) == (kept > 0)
    for w, gain in log["gain"].items():  # paired over the same users: the difference of the two means
        means = [log[arm]["mean_reward"]["mixture_ids"][w] for arm in ("refined", "none")]
        assert gain["mean_diff"] == pytest.approx(means[0] - means[1]) and all(np.isfinite(means))
        lo, hi = gain["ci95"]
        assert lo <= gain["mean_diff"] <= hi
        assert gain["verdict"] == ("better" if lo > 0 else "worse" if hi < 0 else "not significant")
    assert set(log["refined"]["mean_reward"]) >= {"mixture_ids", "pooled_ts", "popularity"}
    assert json.loads(json.dumps(doc))["logs"]["8"]["gain"] == log["gain"]


def test_the_command_writes_refine_json(tmp_path, monkeypatch, tiny_doc):
    """The command runs ``run_refine`` with the quick configuration and writes and prints its document (the
    run itself is the test above's, reused to keep the suite short)."""
    asked = []
    monkeypatch.setattr(refine, "run_refine", lambda cfg, progress=None: asked.append(cfg) or tiny_doc)
    res = CliRunner().invoke(app, ["bench", "refine", "--quick", "--out", str(tmp_path)])
    assert asked == [RefineBenchConfig.make(quick=True)]
    assert res.exit_code == 0, res.output
    doc = json.loads((tmp_path / "refine.json").read_text())
    assert doc["logs"]["8"]["refined"]["refinement"]["ours"]["rounds_tried"] == [0, 1]
    assert "items refined by the types" in res.stdout and "wrote" in res.stdout
