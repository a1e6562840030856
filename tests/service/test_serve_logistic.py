"""`warmstart serve --population` with a population of the Bernoulli-logistic family (``logistic_bernoulli``, what
`fit --log` makes of a 0/1 log): uvicorn in a subprocess, the type posterior kept in the stored belief between
requests, a reward that is not 0 or 1 refused with the field named and nothing learnt from it."""

import numpy as np
import pytest
from support.server import serving

from warmstart.client import ServiceError, WarmstartClient
from warmstart.families.generic import TypePopulation


def test_serve_a_logistic_population(tmp_path):
    """Two types over two items: the majority (70%) likes item 0 (``w = [2, -2]``), the minority item 1.
    ``type_greedy`` shows a new user item 0; after one dislike of it the belief has moved to the minority
    (0.78) and item 1 comes first, for that user only."""
    population = TypePopulation(family="logistic_bernoulli", weights=np.array([0.7, 0.3]),
                                params={"mu": np.array([[2.0, -2.0], [-2.0, 2.0]]),
                                        "cov": np.stack([0.1 * np.eye(2)] * 2)})
    pop_path = population.save(tmp_path / "logistic.npz")
    items = np.eye(2).tolist()
    options = ("--policy", "type_greedy", "--explore", "0")
    with serving(tmp_path, pop_path, *options) as (base, key), WarmstartClient(base, key) as client:
        first = client.rank("minority", items)
        assert first.action == 0
        assert client.reward(first.event_id, 0.0) == "recorded"
        second = client.rank("minority", items)
        assert second.action == 1  # the belief moved, read back from the stored state
        assert client.reward(second.event_id, 1.0) == "recorded"
        assert client.rank("minority", items).action == 1
        assert client.rank("majority", items).action == 0  # another user starts from the prior
        assert client.profile("minority")["events_learned_from"] == 2
        for bad in (0.5, 1e300, -1.0):  # a 0/1 family's reward: refused, named, nothing learnt
            decision = client.rank("minority", items)
            with pytest.raises(ServiceError) as err:
                client.reward(decision.event_id, bad)
            assert 400 <= err.value.status < 500 and "reward" in str(err.value), (bad, str(err.value))
        assert client.profile("minority")["events_learned_from"] == 2
