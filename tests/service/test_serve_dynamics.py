"""`warmstart serve --population` with a population of the response-dynamics family (``linear_dynamics``): uvicorn
in a subprocess, candidates sent as the family's rows ``[static, categories, time]``, each user's dynamic state
kept in the stored belief between requests, bad input answered with the field named."""

import numpy as np
import pytest
from support.server import serving

from warmstart.client import ServiceError, WarmstartClient
from warmstart.families.linear.dynamic_family import candidate_rows, example_population


def test_serve_a_dynamics_population(tmp_path):
    """One type on two categories: category 1 appeals more now (1.2 against 1.0) but satiates (rate 0.3, decay
    0.5 per unit of time) and builds a habit (harm 0.1). ``type_greedy`` (named) serves category 1 first and,
    from the state kept between requests, category 0 right after; after a long gap, category 1 again."""
    population = example_population()
    pop_path = population.save(tmp_path / "dynamics.npz")
    served = []
    options = ("--policy", "type_greedy", "--explore", "0")
    with serving(tmp_path, pop_path, *options) as (base, key), WarmstartClient(base, key) as client:
        for t in (0.0, 1.0, 10.0):
            decision = client.rank("u", candidate_rows(np.eye(2), np.eye(2), t).tolist(), ids=["a", "b"])
            served.append(decision.action)
            assert client.reward(decision.event_id, 1.2 if decision.action else 1.0) == "recorded"
        assert served == [1, 0, 1]
        assert client.profile("u")["events_learned_from"] == 3
        with pytest.raises(ServiceError) as err:  # a time before the user's latest event
            client.rank("u", candidate_rows(np.eye(2), np.eye(2), 5.0).tolist())
        assert err.value.status == 422 and "not before the user's latest event" in str(err.value)
        with pytest.raises(ServiceError) as err:  # the static features alone: no categories, no time
            client.rank("u", np.eye(2).tolist())
        assert err.value.status == 422 and "actions" in str(err.value)
        # two decisions outstanding, their rewards reported out of time order: the later event is learnt,
        # the earlier one cannot be (the user's state has moved past it) and is refused, nothing stored
        first = client.rank("u", candidate_rows(np.eye(2), np.eye(2), 20.0).tolist())
        second = client.rank("u", candidate_rows(np.eye(2), np.eye(2), 21.0).tolist())
        assert client.reward(second.event_id, 1.0) == "recorded"
        with pytest.raises(ServiceError) as err:
            client.reward(first.event_id, 1.0)
        assert err.value.status == 422 and err.value.code == "unusable_event"
        assert client.profile("u")["events_learned_from"] == 4
