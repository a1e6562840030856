"""The service with change detection (``--policy mixture_ids_cp``): its per-user state is stored, read back and
learned from like a plain belief, and a user whose responses change is followed."""

import numpy as np
import pytest

from warmstart.families.linear.belief import BeliefFormatError
from warmstart.families.linear.changepoint import ChangePointBelief
from warmstart.policies.base import PolicyContext
from warmstart.policies.registry import make_policy


@pytest.fixture
def served(serve, population):
    return (*serve("mixture_ids_cp"), population)


def test_a_user_who_changes_is_followed_through_the_api(served, truth):
    client, store, population = served
    rng = np.random.default_rng(3)
    before, after = truth.type_means[0], truth.type_means[1]
    for t in range(40):
        theta = before if t < 25 else after
        X = truth.candidates(rng, ())
        actions = [{"id": f"i{j}", "features": X[j].tolist()} for j in range(X.shape[0])]
        r = client.post("/v1/rank", json={"user_id": "u", "actions": actions})
        assert r.status_code == 200, r.text
        a = r.json()["action"]
        ok = client.post(f"/v1/events/{r.json()['event_id']}/reward",
                         json={"reward": float(X[a] @ theta + 0.3 * rng.normal())})
        assert ok.status_code == 200, ok.text
    stored, version, _ = store.get_belief("u")
    policy = make_policy("mixture_ids_cp", PolicyContext(dim=10, population=population))
    state = policy.state_from_bytes(stored)
    assert isinstance(state, ChangePointBelief) and version == 40 and state.t == 40
    assert state.alarms and 25 < state.alarms[0] <= 30
    profile = client.get("/v1/users/u/profile").json()
    assert profile["events_learned_from"] == 40
    # the state the service kept is the one a replay of the log gives
    replayed = policy.replay(*_log(store, "u"))
    np.testing.assert_allclose(state.type_probs(), replayed.type_probs(), atol=1e-9)
    assert state.starts == replayed.starts and state.alarms == replayed.alarms


def _log(store, user):
    events = [e for e in store.user_events(user) if e.reward is not None]
    return np.stack([e.features for e in events]), np.array([e.reward for e in events])


def test_state_bytes_are_checked(population):
    policy = make_policy("mixture_ids_cp", PolicyContext(dim=10, population=population))
    state = policy.new_user()
    state.observe(np.ones(10) / 3, 0.5)
    data = state.to_bytes()
    assert policy.state_from_bytes(data).t == 1
    other = make_policy("mixture_ids", PolicyContext(dim=10, population=population)).new_user().to_bytes()
    for bad, match in ((data[:10], "at least"), (b"XYZ" + data[3:], "magic"), (data[:-8], "expected"),
                       (other, "magic")):
        with pytest.raises(BeliefFormatError, match=match):
            policy.state_from_bytes(bad)
