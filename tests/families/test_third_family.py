"""A third family, added as one folder (tests/support/families/bernoulli) plus its registry line (the import
below), fits, infers and serves through the same contract as the built-in ones, with nothing else changed."""

from __future__ import annotations

import numpy as np
import pytest
from support.families import bernoulli  # noqa: F401 - the registry line: importing registers the family
from support.families.bernoulli import simulate

from warmstart.families.generic import TypeBelief, TypeBeliefFormatError, TypePopulation
from warmstart.families.registry import available_families, family, fit, load_population
from warmstart.policies import PolicyContext, check_policy, make_policy

P = np.array([[0.9, 0.1, 0.1, 0.5],
              [0.1, 0.9, 0.1, 0.5],
              [0.1, 0.1, 0.9, 0.5]])
SHARES = np.array([0.45, 0.45, 0.10])  # the third type is a minority


@pytest.fixture(scope="module")
def fitted():
    log, _ = simulate(P, SHARES, n_users=600, n_events=30, seed=0)
    fam = family("test_bernoulli")
    return fit("test_bernoulli", fam.summarise(log), k_range=(1, 5), seed=0)


def test_registered_by_its_import():
    assert "test_bernoulli" in available_families()


def test_fit_finds_the_types_by_bic(fitted):
    assert isinstance(fitted, TypePopulation) and fitted.n_types == 3
    assert [k for k, _, _ in fitted.fit.tried] == [1, 2, 3, 4, 5]
    order = np.argsort(fitted.params["p"][:, :3].argmax(1))  # match fitted types to true ones by their best action
    assert np.abs(fitted.params["p"][order] - P).max() < 0.05
    assert np.abs(np.sort(fitted.weights) - np.sort(SHARES)).max() < 0.05


def test_belief_recognises_a_new_user_of_each_type(fitted):
    log, types = simulate(P, np.full(3, 1 / 3), n_users=60, n_events=20, seed=1)
    fam = family("test_bernoulli")
    truth_of_fitted = fitted.params["p"][:, :3].argmax(1)  # the true type whose best action each type shares
    hits = 0
    for u in range(60):
        belief = TypeBelief.fresh(fitted)
        for t in range(20):
            belief.observe(log.chosen[u, t], float(log.reward[u, t]))
        hits += truth_of_fitted[int(np.argmax(belief.type_probs()))] == types[u]
        # exact: the belief after the events equals the posterior from the user's statistics
        np.testing.assert_allclose(belief.type_probs(), fitted.posterior(fam.summarise(log)[u : u + 1])[0],
                                   rtol=1e-9)
    assert hits >= 57


def test_population_file_round_trip(fitted, tmp_path):
    back = load_population(fitted.save(tmp_path / "bernoulli.npz"))
    assert isinstance(back, TypePopulation) and back.fingerprint() == fitted.fingerprint()
    assert back.fit == fitted.fit


@pytest.mark.parametrize("name", ["type_ts", "type_greedy"])
def test_the_generic_policies_pass_the_contract(fitted, name):
    check_policy(make_policy(name, PolicyContext(dim=4, population=fitted), seed=0))


def test_greedy_plays_the_best_action_of_the_users_type(fitted):
    """``type_greedy`` plays the largest expected value under the type posterior: for a fresh user the
    population's mean best action (the safe action 3 here, which tells the types nothing, so greedy alone
    would stay there); once a type-1 user's rewards for actions 0 and 1 are in the belief, that type's best
    action, 1."""
    policy = make_policy("type_greedy", PolicyContext(dim=4, population=fitted), seed=0)
    X = np.eye(4)
    state = policy.new_user()
    first = policy.act(state, X)
    assert first.action == int(np.argmax(fitted.weights @ fitted.params["p"])) == 3 and first.propensity == 1.0
    rng = np.random.default_rng(3)
    for t in range(12):
        a = t % 2
        policy.update(state, X, a, float(rng.random() < P[1, a]))
    assert np.argmax(state.type_probs()) == np.argmax(fitted.params["p"][:, 1])
    assert [policy.act(state, X).action for _ in range(3)] == [1, 1, 1]


def test_policy_serves_a_user_and_stores_the_state(fitted):
    policy = make_policy("type_ts", PolicyContext(dim=4, population=fitted), seed=0)
    state = policy.new_user()
    X = np.eye(4)
    rng = np.random.default_rng(2)
    for _ in range(25):  # a user of type 1: action 1 pays
        d = policy.act(state, X)
        policy.update(state, X, d.action, float(rng.random() < P[1, d.action]))
    back = policy.state_from_bytes(policy.state_to_bytes(state))
    np.testing.assert_array_equal(back.type_probs(), state.type_probs())
    assert policy.act(back, X).action == 1
    with pytest.raises(ValueError, match="reward: expected 0 or 1"):
        policy.update(state, X, 0, 0.5)
    with pytest.raises(TypeBeliefFormatError, match="another population"):
        TypeBelief.from_bytes(policy.state_to_bytes(state), TypePopulation(
            family="test_bernoulli", weights=fitted.weights, params={"p": fitted.params["p"][::-1].copy()}))


def test_the_service_serves_it_through_the_policy_contract(fitted, tmp_path):
    """The HTTP API on a store whose active population is of the new family: rank, reward, profile, dashboard
    counts; nothing in the service knows the family. With no policy named, the service serves it with the
    generic ``type_ts`` (``served_policy``)."""
    from fastapi.testclient import TestClient

    from warmstart.service.app import create_app
    from warmstart.store.store import Store

    store = Store.open(tmp_path / "svc.db")
    try:
        store.activate(store.add_population(fitted.to_bytes(), fingerprint=fitted.fingerprint()))
        app = create_app(store, seed=0)  # the default policy, "auto": type_ts for a generic family's population
        client = TestClient(app, raise_server_exceptions=False)
        client.headers["Authorization"] = f"Bearer {store.create_api_key('client')}"
        actions = [{"id": f"a{i}", "features": list(np.eye(4)[i])} for i in range(4)]
        rng = np.random.default_rng(3)
        for _ in range(25):  # a user of the minority type: action 2 pays
            body = client.post("/v1/rank", json={"user_id": "u", "actions": actions}).json()
            reward = float(rng.random() < P[2, body["action"]])
            assert client.post(f"/v1/events/{body['event_id']}/reward", json={"reward": reward}).status_code == 200
        profile = client.get("/v1/users/u/profile").json()
        assert profile["events_learned_from"] == 25 and profile["belief_stored"] is True
        top = profile["types"][0]
        assert top["probability"] > 0.95
        assert fitted.params["p"][int(top["type"].split()[-1])].argmax() == 2
        body = client.post("/v1/rank", json={"user_id": "u", "actions": actions}).json()
        assert body["action"] == 2
        bad = client.post(f"/v1/events/{body['event_id']}/reward", json={"reward": 0.5})
        assert bad.status_code == 422 and "reward: expected 0 or 1" in bad.json()["error"]["message"]
        assert app.state.service.engine().policy_name == "type_ts"
    finally:
        store.close()


def test_the_service_serves_the_policy_the_fit_recorded(fitted, tmp_path):
    """A population whose fit recorded the policy to serve it with (``fit --log`` does) is served with it when
    no policy is named; a named policy wins; a recorded name that is no registered policy falls back."""
    from dataclasses import replace

    from warmstart.service.engine import Engine
    from warmstart.store.store import Store

    store = Store.open(tmp_path / "svc.db")
    try:
        for recorded, named, served in [("type_greedy", "auto", "type_greedy"), ("type_greedy", "type_ts", "type_ts"),
                                        ("no_such_policy", "auto", "type_ts")]:
            pop = replace(fitted, record={"decision": {"policy": recorded}})
            store.activate(store.add_population(pop.to_bytes(), fingerprint=pop.fingerprint()))
            engine = Engine(store, policy=named, explore=0.0)
            assert engine.policy_name == served and engine.policy.name == served
    finally:
        store.close()


def test_bad_files_and_bytes_are_refused_with_the_reason(fitted, tmp_path):
    from warmstart.families.generic import TypePopulationFormatError

    data = fitted.to_bytes()
    with pytest.raises(TypePopulationFormatError, match="not a readable"):
        TypePopulation.from_bytes(data[: len(data) // 2], source="half.npz")
    blob = TypePopulation(family="no_such_family", weights=fitted.weights, params=fitted.params).to_bytes()
    with pytest.raises(TypePopulationFormatError, match="expected a registered family .* got 'no_such_family'"):
        TypePopulation.from_bytes(blob, source="x.npz")
    with pytest.raises(ValueError, match=r"params\['p'\]: expected a first axis of 3 types"):
        TypePopulation(family="test_bernoulli", weights=fitted.weights, params={"p": fitted.params["p"][:2]})
    belief = TypeBelief.fresh(fitted)
    belief.observe(np.eye(4)[0], 1.0)
    raw = belief.to_bytes()
    with pytest.raises(TypeBeliefFormatError, match="expected .* bytes for 3 types, got"):
        TypeBelief.from_bytes(raw[:-8], fitted)
    with pytest.raises(TypeBeliefFormatError, match="bad magic"):
        TypeBelief.from_bytes(b"XXX" + raw[3:], fitted)
    with pytest.raises(ValueError, match="x: expected shape"):
        belief.observe(np.ones(5), 1.0)
