"""Drift schedules of the simulators: who answers which step, and bad options named."""

import numpy as np
import pytest

from warmstart.sim.drift import DriftSchedule, other_type_ids
from warmstart.sim.linear_types import LinearTypesEnv
from warmstart.sim.satiation import SatiationEnv
from warmstart.sim.users import OUTLIER


@pytest.mark.parametrize("make", [lambda: LinearTypesEnv(horizon=12), lambda: SatiationEnv(horizon=12)])
def test_switch_and_misleading_start_change_who_answers(make):
    env = make()
    env.reset(seed=3, options={"switch_at": 4})
    first = env.unwrapped.user
    types = []
    for _ in range(6):
        info = env.step(0)[4]
        types.append(int(env.unwrapped.user.type_id[0]))
        assert np.isfinite(info["expected_reward"])
    assert types[:3] == [int(first.type_id[0])] * 3 and len(set(types[3:])) == 1 and types[3] != types[0]
    env.reset(seed=3, options={"misleading_start": 2})
    start = int(env.unwrapped.user.type_id[0])
    env.step(0)
    assert int(env.unwrapped.user.type_id[0]) == start
    env.step(0)
    assert int(env.unwrapped.user.type_id[0]) != start  # the user's own responses begin at step 3


def test_the_answering_user_sets_the_expected_reward():
    env = LinearTypesEnv(horizon=5)
    env.reset(seed=0, options={"switch_at": 1})
    env.step(2)
    obs2 = env._obs
    theta_new = env.unwrapped.user.theta[0]
    info2 = env.step(1)[4]
    assert info2["expected_reward"] == pytest.approx(float(obs2[1] @ theta_new))


def test_other_type_ids_never_repeat_the_type():
    rng = np.random.default_rng(0)
    t = np.array([0, 1, 2, OUTLIER] * 50)
    other = other_type_ids(t, 3, rng)
    assert np.all(other[t >= 0] != t[t >= 0]) and set(other.tolist()) <= {0, 1, 2}
    with pytest.raises(ValueError, match="at least 2 types"):
        other_type_ids(t, 1, rng)


@pytest.mark.parametrize("options, field", [({"switch_at": 0}, "switch_at"), ({"misleading_start": 1.5},
                                            "misleading_start"), ({"switch_at": 2, "misleading_start": 2},
                                            "at most one"), ({"sideways": 1}, "unknown keys")])
def test_bad_options_are_named(options, field):
    with pytest.raises(ValueError, match=field):
        DriftSchedule.from_options(options, lambda kind: None, lambda user: None)
