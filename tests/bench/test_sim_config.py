"""The cold-start simulator as TOML (warmstart.bench.sim_config) and drift schedules in the cold-start run."""

import tomllib

import numpy as np
import pytest

from warmstart.bench.coldstart import ColdStartConfig, run_coldstart
from warmstart.bench.sim_config import load_sim_config, parse_sim_config, sim_config_toml
from warmstart.families.linear.fit import FitConfig
from warmstart.sim.drift import DriftSpec
from warmstart.sim.linear_types import LinearTypesConfig


@pytest.mark.parametrize("drift", [None, DriftSpec(switch_at=7), DriftSpec(misleading_start=3)])
def test_toml_round_trip(tmp_path, drift):
    sim = LinearTypesConfig.preset_named("hard", dim=3, noise_sd=0.125, outlier_share=1e-5, population_seed=9)
    path = tmp_path / "sim.toml"
    path.write_text(sim_config_toml(sim, drift, comment="a test\nof comments"))
    assert load_sim_config(path) == (sim, drift)


def test_fields_left_out_keep_the_named_presets_values():
    sim, drift = parse_sim_config({"preset": "hard", "dim": 4, "noise_sd": 1})
    assert sim == LinearTypesConfig.preset_named("hard", dim=4, noise_sd=1.0) and drift is None
    assert parse_sim_config({})[0] == LinearTypesConfig()
    assert parse_sim_config(tomllib.loads("[drift]\nmisleading_start = 5\n"))[1] == DriftSpec(misleading_start=5)


@pytest.mark.parametrize(("doc", "message"), [
    ({"dims": 3}, r"unknown keys \['dims'\]"),
    ({"dim": 2.5}, "dim: expected an integer, got 2.5"),
    ({"dim": True}, "dim: expected an integer"),
    ({"noise_sd": "loud"}, "noise_sd: expected a number"),
    ({"preset": "easy"}, "preset: expected one of"),
    ({"minority_share": 0.7, "outlier_share": 0.4}, "minority_share \\+ outlier_share"),
    ({"drift": 5}, "drift: expected a table"),
    ({"drift": {"switch": 5}}, r"\[drift\]: unknown keys \['switch'\]"),
    ({"drift": {"switch_at": 0}}, "drift.switch_at: expected a positive integer"),
    ({"drift": {}}, "drift: expected exactly one of"),
])
def test_bad_files_name_the_key(doc, message):
    with pytest.raises(ValueError, match=message):
        parse_sim_config(doc, "my.toml")


def test_a_file_that_is_not_toml(tmp_path):
    (tmp_path / "x.toml").write_text("dim = = 3\n")
    with pytest.raises(ValueError, match="does not parse"):
        load_sim_config(tmp_path / "x.toml")


def test_drift_spec_answering_and_options():
    own, other = np.zeros((2, 3)), np.ones((2, 3))
    switch = DriftSpec(switch_at=2)
    assert switch.options() == {"switch_at": 2}
    np.testing.assert_array_equal(switch.answering(own, other, 4)[:, :, 0], [[0, 0, 1, 1], [0, 0, 1, 1]])
    misleading = DriftSpec(misleading_start=1)
    np.testing.assert_array_equal(misleading.answering(own, other, 3)[0, :, 0], [1, 0, 0])


@pytest.mark.parametrize("drift", [DriftSpec(switch_at=6), DriftSpec(misleading_start=6)])
def test_new_users_meet_the_drift_schedule(drift):
    """The oracle is told the user who answers first: no regret while that user answers, regret once another
    does. Without drift it has none at all."""
    tiny = {"n_train_users": 200, "n_train_events": 20, "n_test_users": 10, "n_minority_users": 2,
            "n_outlier_users": 2, "steps": 15, "n_bootstrap": 20, "workers": 1,
            "fit": FitConfig(n_types=8, split_merge=False, n_init=1), "policies": ("oracle", "random"),
            "ours": "oracle"}
    plain = run_coldstart(ColdStartConfig.make(seed=1, **tiny))
    drifting = run_coldstart(ColdStartConfig.make(seed=1, drift=drift, **tiny))
    assert max(plain["policies"]["oracle"]["curve"]["cum_regret"]) == 0.0
    cum = np.array(drifting["policies"]["oracle"]["curve"]["cum_regret"])
    assert np.all(cum[:6] == 0.0) and cum[-1] > cum[6] > 0
    assert drifting["config"]["drift"] == {k: getattr(drift, k) for k in ("switch_at", "misleading_start")}


def test_the_shipped_config_files_are_the_presets():
    from pathlib import Path

    folder = Path(__file__).resolve().parents[2] / "benchmarks" / "configs"
    for preset in ("default", "hard"):
        assert load_sim_config(folder / f"coldstart-{preset}.toml") == (LinearTypesConfig.preset_named(preset), None)
