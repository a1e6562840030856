"""Property tests (hypothesis) of the API under hostile numbers, on SQLite and PostgreSQL: extreme finite floats
(1e300, -1e300, 5e-324, 1e308), NaN and infinities (sent as JSON's ``NaN`` / ``Infinity``), integers far beyond
float64, and strings, nulls and lists where numbers are expected, in ranks, rewards and admin fits.

The invariants: no answer is a 5xx, every error answer has the documented body ``{"error": {"code",
"message"}}``, and every stored belief decodes to a finite one.

``WARMSTART_HYPOTHESIS_EXAMPLES`` sets the number of examples of the rank/reward stream (default 250, about 450
requests per backend; ``make test-hostile`` runs 2,000, about 4,000 requests per backend); the admin-fit test
runs a twentieth of it (at least 12). With ``WARMSTART_HYPOTHESIS_REPORT=FILE`` each test appends its tally
(requests, answers by class, 5xx, non-finite beliefs) to FILE as a JSON line.
"""

from __future__ import annotations

import json
import math
import os
from collections import Counter
from urllib.parse import quote

import numpy as np
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from warmstart.families.registry import population_from_bytes
from warmstart.policies.base import PolicyContext
from warmstart.policies.registry import make_policy, resolve_policy
from warmstart.service.app import create_app
from warmstart.store.store import EventRecord, Store

EXAMPLES = int(os.environ.get("WARMSTART_HYPOTHESIS_EXAMPLES") or 250)
FIT_EXAMPLES = max(12, EXAMPLES // 20)

EXTREMES = [1e300, -1e300, 5e-324, -5e-324, 1e308, -1.7976931348623157e308, 1e160, -1e160, 1e6, -1e6,
            1e6 * (1 + 1e-15), 1e12, 0.0, -0.0, math.nan, math.inf, -math.inf, 10**400, -(10**400), 2**63, 2**1030]
numbers = st.one_of(st.sampled_from(EXTREMES), st.floats(allow_nan=True, allow_infinity=True),
                    st.integers(min_value=-(10**400), max_value=10**400))
not_numbers = st.one_of(st.text(max_size=6), st.none(), st.booleans(), st.lists(st.floats(-1, 1), max_size=2),
                        st.dictionaries(st.text(max_size=2), st.integers(), max_size=1))
hostile = st.one_of(numbers, numbers, not_numbers)
normal = st.floats(-3.0, 3.0, allow_nan=False)


class Tally:
    """Every answer of one test: counts by class, the 5xx seen, error bodies of the wrong shape."""

    def __init__(self, name: str) -> None:
        self.name, self.by_class, self.server_errors, self.bad_shapes = name, Counter(), [], []

    def check(self, r, what: str) -> None:
        self.by_class[f"{r.status_code // 100}xx"] += 1
        if r.status_code >= 500:
            self.server_errors.append(f"{what}: {r.status_code} {r.text[:300]}")
        if r.status_code >= 400:
            try:
                body = r.json()
                ok = set(body) == {"error"} and set(body["error"]) == {"code", "message"}
            except ValueError:
                ok = False
            if not ok:
                self.bad_shapes.append(f"{what}: {r.status_code} {r.text[:300]}")

    @property
    def requests(self) -> int:
        return sum(self.by_class.values())

    def report(self, non_finite: int, beliefs: int) -> dict:
        out = {"test": self.name, "requests": self.requests, "by_class": dict(sorted(self.by_class.items())),
               "server_errors": len(self.server_errors), "bad_error_bodies": len(self.bad_shapes),
               "stored_beliefs": beliefs, "non_finite_beliefs": non_finite}
        path = os.environ.get("WARMSTART_HYPOTHESIS_REPORT")
        if path:
            with open(path, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(out) + "\n")
        return out


def _post(client, url: str, body) -> object:
    """POST ``body`` as JSON with NaN and infinities written as JavaScript does (httpx refuses to encode them)."""
    return client.post(url, content=json.dumps(body), headers={"Content-Type": "application/json"})


def _non_finite_beliefs(client, store) -> tuple[int, int]:
    """``(non-finite or unreadable stored beliefs, stored beliefs)``, each read under the population version it
    was made under, by the service's policy."""
    service = client.app.state.service
    policies = {}
    bad = total = 0
    for batch in store.iter_beliefs():
        for _, (state, _, version) in batch:
            total += 1
            if version not in policies:
                population = population_from_bytes(store.population(version)[0])
                name = resolve_policy(service.policy, population)
                policies[version] = make_policy(name, PolicyContext(population=population), seed=0)
            policy = policies[version]
            try:
                held = policy.summarise_state(policy.state_from_bytes(state))
                finite = math.isfinite(held.n_events) and bool(np.isfinite(held.type_probs).all())
            except ValueError:
                finite = False
            bad += not finite
    return bad, total


@pytest.fixture
def hostile_api(db_url, population):
    store = Store.open(db_url)
    store.activate(store.add_population(population.to_bytes(), fingerprint=population.fingerprint()))
    client = TestClient(create_app(store, seed=0), raise_server_exceptions=False)
    client.headers["Authorization"] = f"Bearer {store.create_api_key('admin')}"
    yield client, store
    store.close()


@st.composite
def features(draw, dim: int):
    """Mostly normal features; sometimes some entries hostile, sometimes the wrong length."""
    values = draw(st.lists(normal, min_size=dim, max_size=dim))
    kind = draw(st.integers(0, 9))
    if kind <= 2:
        for j in draw(st.lists(st.integers(0, dim - 1), min_size=1, max_size=3)):
            values[j] = draw(hostile)
    elif kind == 3:
        values = values[: draw(st.integers(0, dim - 1))] if draw(st.booleans()) else values + [0.0]
    elif kind == 4:
        values = [draw(st.sampled_from([1e6, -1e6, 5e-324, 999_999.0]))] * dim  # at the bounds: accepted
    return values


@st.composite
def rank_bodies(draw, dim: int):
    n = draw(st.integers(1, 4))
    body = {"user_id": draw(st.sampled_from([f"h{i}" for i in range(6)])),
            "actions": [{"features": draw(features(dim))} for _ in range(n)]}
    if draw(st.integers(0, 19)) == 0:  # a field of the wrong kind
        body[draw(st.sampled_from(["user_id", "actions"]))] = draw(hostile)
    return body


rewards = st.one_of(normal, normal, st.sampled_from([1e6, -1e6, 5e-324, -999_999.5]), hostile)


def test_ranks_and_rewards_with_hostile_numbers_never_answer_5xx(hostile_api, population):
    client, store = hostile_api
    tally = Tally(f"rank+reward ({store.dialect})")

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(body=rank_bodies(population.dim), reward=rewards, again=st.integers(0, 9), look=st.booleans())
    def stream(body, reward, again, look):
        r = _post(client, "/v1/rank", body)
        tally.check(r, "rank")
        if r.status_code == 200:
            url = f"/v1/events/{r.json()['event_id']}/reward"
            r2 = _post(client, url, {"reward": reward})
            tally.check(r2, f"reward {reward!r}")
            if again == 0:  # the same event again: a duplicate, a conflict, or a first good reward
                tally.check(_post(client, url, {"reward": 0.5}), "reward again")
        if look and isinstance(body.get("user_id"), str):
            # percent-encoded as any HTTP client must (httpx refuses a control character in a URL)
            tally.check(client.get(f"/v1/users/{quote(body['user_id'], safe='')}/profile"), "profile")

    stream()
    non_finite, beliefs = _non_finite_beliefs(client, store)
    print(tally.report(non_finite, beliefs))
    assert not tally.server_errors, tally.server_errors[:5]
    assert not tally.bad_shapes, tally.bad_shapes[:5]
    assert non_finite == 0 and beliefs > 0
    assert tally.by_class["2xx"] > 0 and tally.by_class["4xx"] > 0


def _seed_users(client, n_users: int, dim: int, rng) -> None:
    for u in range(n_users):
        for _ in range(3):
            actions = [{"features": list(rng.normal(size=dim) / np.sqrt(dim))} for _ in range(3)]
            event = client.post("/v1/rank", json={"user_id": f"s{u}", "actions": actions}).json()
            client.post(f"/v1/events/{event['event_id']}/reward", json={"reward": float(rng.normal())})


finite_extremes = st.sampled_from([1e300, -1e300, 5e-324, 1e308, -1e308, 1e160, 1e7, 1e6, 0.0])


def test_admin_fits_on_hostile_stores_never_answer_5xx(hostile_api, population):
    """Rows a store may hold from before the bounds were checked (any finite number: the store takes them),
    with hostile rewards sent through the API and hostile fit settings; each fit is 200 (unusable rows skipped
    and counted) or a 4xx, a fitted version is evaluated on the log, and, activated, serves."""
    client, store = hostile_api
    tally = Tally(f"admin fit ({store.dialect})")
    dim = population.dim
    _seed_users(client, 24, dim, np.random.default_rng(0))
    counter = iter(range(10**9))

    @settings(max_examples=FIT_EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(rows=st.lists(st.tuples(finite_extremes, finite_extremes, st.integers(0, 3)), min_size=0, max_size=3),
           reward=rewards, k_max=st.one_of(st.integers(1, 3), hostile), incremental=st.booleans(),
           activate=st.booleans())
    def fits(rows, reward, k_max, incremental, activate):
        version = store.active_version()
        for x, r, user in rows:  # legacy rows, written past the API
            event_id = f"legacy-{next(counter)}"
            X = np.full((2, dim), 0.1)
            X[0, : 1 + user] = x
            store.append_event(EventRecord(event_id, f"s{user}", 0, (1.0, 0.0), X[0], True,
                                           population_version=version, candidates=X))
            store.set_reward(event_id, r)
        actions = [{"features": [0.1] * dim}, {"features": [-0.1] * dim}]
        event = client.post("/v1/rank", json={"user_id": "s1", "actions": actions})
        tally.check(event, "rank")
        if event.status_code == 200:
            tally.check(_post(client, f"/v1/events/{event.json()['event_id']}/reward", {"reward": reward}), "reward")
        r = _post(client, "/v1/admin/fit", {"k_max": k_max, "min_users": 2, "incremental": incremental})
        tally.check(r, f"fit k_max={k_max!r}")
        if r.status_code == 200:
            evaluated = client.post(f"/v1/admin/populations/{r.json()['version']}/evaluate", json={"n_boot": 10})
            tally.check(evaluated, "evaluate")
        if r.status_code == 200 and activate:
            tally.check(client.post(f"/v1/admin/populations/{r.json()['version']}/activate", json={}), "activate")
            tally.check(client.post("/v1/rank", json={"user_id": "s2", "actions": actions}), "rank after")

    fits()
    non_finite, beliefs = _non_finite_beliefs(client, store)
    print(tally.report(non_finite, beliefs))
    assert not tally.server_errors, tally.server_errors[:5]
    assert not tally.bad_shapes, tally.bad_shapes[:5]
    assert non_finite == 0
    assert tally.by_class["2xx"] > 0
