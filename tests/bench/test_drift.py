"""The drift benchmark on a small run: scenarios, the told floor, and lock-in without change detection."""

import numpy as np
import pytest

from warmstart.bench.drift import DriftConfig, answering_theta, run_drift
from warmstart.sim.linear_types import LinearTypesConfig


def test_answering_theta_follows_the_schedule():
    cfg = DriftConfig(steps=10, switch_at=6, misleading=2, excess_at=8)
    own, other = np.zeros(3), np.ones(3)
    assert answering_theta(cfg, own, other, "normal").sum() == 0
    assert answering_theta(cfg, own, other, "switch")[:, 0].tolist() == [0] * 6 + [1] * 4
    assert answering_theta(cfg, own, other, "misleading")[:, 0].tolist() == [1] * 2 + [0] * 8
    with pytest.raises(ValueError, match="scenario"):
        answering_theta(cfg, own, other, "sideways")


def test_config_errors_name_the_field():
    with pytest.raises(ValueError, match="switch_at"):
        DriftConfig(steps=10, switch_at=10, excess_at=10)
    with pytest.raises(ValueError, match="policies"):
        DriftConfig(policies=("nope",))


def test_small_run_change_detection_follows_a_switch_that_locks_the_plain_belief_in():
    sim = LinearTypesConfig(n_types=3, dim=4, n_actions=6, minority_share=0.1, outlier_share=0.0)
    cfg = DriftConfig(sim=sim, n_train_users=400, n_train_events=30, n_users=12, steps=60, switch_at=30,
                      misleading=3, excess_at=30, n_bootstrap=100, workers=1, change_hazard=0.01,
                      policies=("mixture_ids_cp", "mixture_ids", "mixture_ids_told"))
    doc = run_drift(cfg)
    cp, plain, told = (doc["policies"][k] for k in ("mixture_ids_cp", "mixture_ids", "mixture_ids_told"))
    assert plain["regret_after_switch"] > 2 * cp["regret_after_switch"]
    assert cp["switch_detect_rate"] >= 0.75 and plain["switch_detect_rate"] is None
    assert told["switch_recovery_ratio"] < plain["switch_recovery_ratio"]
    assert len(cp["curves"]["switch"]) == 60 and np.isfinite(cp["misleading_start_excess"])


def test_drift_options_of_the_mixture_policies(population):
    from warmstart.families.linear.changepoint import ChangePointBelief
    from warmstart.policies.base import PolicyContext
    from warmstart.policies.registry import make_policy

    ctx = PolicyContext(dim=10, population=population)
    state = make_policy("mixture_ids", ctx, discount=0.9).new_user()
    assert state.discount == 0.9
    assert isinstance(make_policy("mixture_ids_cp", ctx).new_user(), ChangePointBelief)
    assert make_policy("mixture_ids_cp", ctx).settings()["change_hazard"] == 1e-3
    with pytest.raises(ValueError, match="at most one way"):
        make_policy("mixture_ids", ctx, discount=0.9, change_hazard=0.01)
    with pytest.raises(ValueError, match="discount"):
        make_policy("mixture_ids", ctx, discount=0.0)
    with pytest.raises(ValueError, match="change_hazard"):
        make_policy("mixture_ids_cp", ctx, change_hazard=0.0)


def test_told_late_restarts_one_response_after_the_change_and_keeps_that_response():
    """``mixture_ids_told_late`` decides as ``mixture_ids`` until one response after the change (the same seed
    and streams; one user, so that no earlier user's restart moves the policy's random stream), unlike
    ``mixture_ids_told``, which is told at the change; then it drops the misleading start."""
    sim = LinearTypesConfig(n_types=3, dim=4, n_actions=6, minority_share=0.1, outlier_share=0.0)
    cfg = DriftConfig(sim=sim, n_train_users=400, n_train_events=30, n_users=1, steps=40, switch_at=20,
                      misleading=4, excess_at=30, n_bootstrap=20, workers=1,
                      policies=("mixture_ids", "mixture_ids_told", "mixture_ids_told_late"))
    doc = run_drift(cfg)
    plain, told, late = (doc["policies"][k]["curves"] for k in ("mixture_ids", "mixture_ids_told",
                                                                 "mixture_ids_told_late"))
    m, s = cfg.misleading, cfg.switch_at
    assert late["normal"] == told["normal"] == plain["normal"]
    assert late["misleading"][: m + 1] == plain["misleading"][: m + 1] and told["misleading"][:m] == plain["misleading"][:m]
    assert late["misleading"][m + 1 :] != plain["misleading"][m + 1 :] and late["misleading"] != told["misleading"]
    assert late["switch"][: s + 1] == plain["switch"][: s + 1] and late["switch"][s + 1 :] != plain["switch"][s + 1 :]
