"""The demo's log keeps what the commands read of it (the chosen actions, propensities, rewards, ground truth)
and is small: 10 MB for the demo's 2,000 users x 50 events, where the full candidate sets took 162 MB."""

import numpy as np

from warmstart.bench.coldstart import ColdStartConfig
from warmstart.cli.report import chosen_only
from warmstart.data.bandit_log import load_log, load_truth, save_log
from warmstart.families.linear.model import summarise_log
from warmstart.sim.linear_types import LinearTypesPopulation


def test_the_demo_log_is_small_and_fits_the_same(tmp_path):
    cfg = ColdStartConfig.make("default", quick=True, seed=0)  # what `warmstart demo` simulates
    log = LinearTypesPopulation(cfg.sim).logged(cfg.n_train_users, cfg.n_train_events, seed=0)
    save_log(tmp_path / "log.npz", chosen_only(log))
    assert (tmp_path / "log.npz").stat().st_size < 12e6
    back = load_log(tmp_path / "log.npz")
    assert back.candidates.shape == (2000, 50, 1, 10) and np.all(back.action == 0)
    np.testing.assert_array_equal(back.chosen, log.chosen)
    np.testing.assert_array_equal(back.propensity, log.propensity)  # the logging policy's, among 20
    np.testing.assert_array_equal(back.reward, log.reward)
    a, b = summarise_log(back), log.summary()
    for name in ("A", "b", "c", "n"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    np.testing.assert_array_equal(load_truth(tmp_path / "log.npz")["type"], log.users.type_id)


def test_padded_events_stay_padded():
    log = LinearTypesPopulation(ColdStartConfig().sim).logged(3, 4, seed=1)
    padded = type(log)(log.candidates, np.where(np.arange(4) < 2, log.action, -1), log.propensity, log.reward,
                       log.users)
    assert chosen_only(padded).action.tolist() == [[0, 0, -1, -1]] * 3
