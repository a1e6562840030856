"""The logistic family in the replay: its agent runs on a tiny log, and on a 0/1 log ours' family is chosen on
the training users' validation users by the one-step-ahead log loss, recorded in ``fit.family``."""

import json

import numpy as np
import pytest

from warmstart.bench.replay import run_replay, split_by_first_event
from warmstart.bench.replay_logistic import (
    LINEAR,
    LOGISTIC,
    one_step_ahead,
    per_user_log_loss,
    score,
)
from warmstart.data.events import EventData
from warmstart.families.linear.fit import FitConfig
from warmstart.families.linear.item_features import ItemFeatureConfig
from warmstart.families.linear.space import SpaceConfig
from warmstart.families.logistic.model import Events, adf_pass, predict_proba
from warmstart.stats import normalised_exp

GRID = SpaceConfig(n_factors=(0, 1), factor_reg=(1.0,), n_types=(1, 2),
                   item_features=ItemFeatureConfig(max_iter=20), population=FitConfig(n_init=1))


def two_tastes(n_users: int, n_items: int, seed: int, binary: bool = True) -> EventData:
    """Every user answers every item in a random order: half like the first half of the items (with
    probability 0.85), half the second."""
    rng = np.random.default_rng(seed)
    user = np.repeat(np.arange(n_users), n_items)
    item = np.concatenate([rng.permutation(n_items) for _ in range(n_users)])
    like = (user % 2 == 0) == (item < n_items // 2)
    p = np.where(like, 0.85, 0.15)
    reward = (rng.random(p.shape) < p).astype(float) if binary else p + 0.1 * rng.standard_normal(p.shape)
    return EventData.from_rows(user, user * n_items + np.tile(np.arange(n_items), n_users),
                               [f"i{i:02d}" for i in item], reward)


@pytest.fixture(scope="module")
def binary_replay():
    return run_replay(two_tastes(120, 12, seed=0), steps=5, policies=("mixture_ids", "pooled_ts", "popularity"),
                      n_boot=50, choose=True, space_config=GRID)


def test_one_step_ahead_is_the_filters_mixture_prediction():
    """The per-event loop equals the vectorised filter: the mixture of the types' predictions, weighted by
    the type posterior before the event."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 6, 2))
    r = (rng.random((4, 6)) < 0.5).astype(float)
    params = {"mu": np.array([[1.0, -1.0], [-1.0, 1.0]]), "cov": np.stack([0.5 * np.eye(2), np.eye(2)])}
    log_w = np.log([0.3, 0.7])
    got = one_step_ahead(LOGISTIC, params, log_w, Events.from_arrays(x, r))
    for t in range(6):
        before = adf_pass(Events.from_arrays(x[:, :t], r[:, :t]), params["mu"], params["cov"])
        post = normalised_exp(before.log_evidence + log_w)
        p_k = predict_proba(before.mean, before.cov, x[:, t, None, :])
        np.testing.assert_allclose(got[:, t], (post * p_k).sum(1), rtol=1e-10)
    # the linear family's prediction is its predictive mean: with one type and no noise learned, x . mu first
    lin = {"mu": np.array([[0.2, 0.1]]), "cov": np.eye(2)[None], "noise_var": np.array([0.25])}
    first = one_step_ahead(LINEAR, lin, np.zeros(1), Events.from_arrays(x, r))[:, 0]
    np.testing.assert_allclose(first, x[:, 0] @ lin["mu"][0])


def test_scores_clip_and_average_per_user():
    p1 = np.array([[1.0, 0.0], [0.5, np.nan]])  # a sure and wrong prediction costs -log(1e-3), not infinity
    r = np.array([[1.0, 1.0], [0.0, 0.0]])
    np.testing.assert_allclose(per_user_log_loss(p1, r), [(-np.log(1 - 1e-3) - np.log(1e-3)) / 2, np.log(2)])
    s = score(p1, r)
    assert s.n_users == 2 and np.isfinite(s.log_loss) and s.brier == pytest.approx(((1e-3) ** 2 + 0.999 ** 2) / 4
                                                                                   + 0.125)


def test_a_binary_log_chooses_ours_family_on_validation_users(binary_replay):
    doc = binary_replay
    fam = doc["fit"]["family"]
    assert fam["chosen"] in (LINEAR, LOGISTIC)
    lin, logi = fam[LINEAR], fam[LOGISTIC]
    assert set(logi["by_n_types"]) == {"1", "2"} and logi["n_types"] in (1, 2)
    best = min(v["log_loss"] for v in logi["by_n_types"].values())
    assert logi["by_n_types"][str(logi["n_types"])]["log_loss"] == best
    assert fam["margin_log_loss"] == pytest.approx(lin["log_loss"] - best)
    # the logistic family unless the linear one's log loss is lower by more than 2 standard errors
    assert (fam["chosen"] == LINEAR) == (fam["margin_log_loss"] < -2 * fam["margin_se"])
    for row in [lin, *logi["by_n_types"].values()]:
        assert 0 < row["log_loss"] < np.log(1e3) and 0 < row["brier"] < 1
    assert lin["n_types"] == doc["fit"]["space"]["chosen"]["ours"]["n_types"]
    assert fam["space"] == doc["fit"]["space"]["chosen"]["ours"]["space"]["name"]
    assert fam["settings"]["n_validation_users"] == doc["fit"]["space"]["n_validation_users"]
    # two clear tastes: the types predict better than one prior, whichever family
    assert logi["n_types"] == 2
    # ours is served in the chosen family; the other family is replayed beside it
    other = "linear_ids" if fam["chosen"] == LOGISTIC else "logistic_ts"
    # with the logistic family chosen, its one-prior peer (K = 1, ours' decision rule) is replayed too
    extra = {"logistic_pooled"} if fam["chosen"] == LOGISTIC else set()
    assert set(doc["policies"]) == {"mixture_ids", "pooled_ts", "popularity", other, *extra}
    assert other in doc["paired"]["vs"]
    if extra:
        pooled = doc["policies"]["logistic_pooled"]["settings"]
        assert pooled["family"] == LOGISTIC and pooled["decision"] == fam["logistic_decision"]["chosen"]
    if fam["chosen"] == LOGISTIC:
        assert doc["policies"]["mixture_ids"]["settings"]["family"] == LOGISTIC
    # how the logistic agent acts was chosen on the validation users' replay, and it acts so
    decision = fam["logistic_decision"]
    assert set(decision["scores"]) == {"thompson", "greedy"}
    assert decision["scores"][decision["chosen"]] == max(decision["scores"].values())
    served = doc["policies"]["mixture_ids" if fam["chosen"] == LOGISTIC else other]["settings"]
    assert served["decision"] == decision["chosen"]
    # the oracle_user reference is of ours' family: a ceiling for ours over the first steps
    oracle = doc["reference"]["oracle_user"]["mean_reward"]["1-5"]
    assert oracle >= doc["policies"]["mixture_ids"]["mean_reward"]["1-5"] - 0.02
    assert oracle <= doc["reference"]["hindsight_best"]["mean_reward"]["1-5"]
    json.dumps(doc, allow_nan=False)


def test_the_family_choice_reads_the_training_users_only(monkeypatch):
    from warmstart.bench import replay

    events = two_tastes(60, 8, seed=1)
    seen = []
    choose_family = replay.choose_family

    def spy(train, *args, **kwargs):
        seen.append(train.user_ids.tolist())
        return choose_family(train, *args, **kwargs)

    monkeypatch.setattr(replay, "choose_family", spy)
    docs = [run_replay(events, steps=3, policies=("mixture_ids", "random"), n_boot=20, choose=True,
                       space_config=GRID, seed=2) for _ in range(2)]
    train_idx, _ = split_by_first_event(events, 0.7)
    assert seen == [events.user_ids[train_idx].tolist()] * 2
    strip = [{k: v for k, v in d.items() if k not in ("timing", "machine")} for d in docs]
    assert strip[0] == strip[1]  # same seed, same document


def test_real_rewards_get_no_family_choice():
    doc = run_replay(two_tastes(60, 8, seed=1, binary=False), steps=3, policies=("mixture_ids", "random"),
                     n_boot=20, choose=True, space_config=GRID)
    assert doc["fit"]["family"] is None and set(doc["policies"]) == {"mixture_ids", "random"}


def test_the_logistic_agent_runs_on_a_tiny_log_without_the_choice():
    doc = run_replay(two_tastes(40, 8, seed=3), steps=5, policies=("logistic_ts", "random"), n_boot=20,
                     ours="logistic_ts")
    res = doc["policies"]["logistic_ts"]
    assert res["settings"]["family"] == LOGISTIC and res["n_users"] == 12
    assert all(0.0 <= v <= 1.0 for v in res["mean_reward"].values())
    # after the first steps the agent tells the tastes apart: better than random over steps 1-5
    assert doc["paired"]["vs"]["random"]["windows"]["1-5"]["mean_diff"] > 0


def test_fractional_rewards_of_repeated_items_update_the_logistic_agent():
    """A user who answered an item several times is replayed with the mean: the agent learns from it (a soft
    step) instead of refusing it, and other values are still refused."""
    from warmstart.bench.replay_logistic import LogisticAgent

    base = two_tastes(40, 8, seed=4)
    twice = EventData.from_rows(np.concatenate([base.user, base.user]),
                                np.concatenate([base.time, base.time + 1e6]),
                                np.concatenate([base.item_ids[base.item]] * 2),
                                np.concatenate([base.reward, 1.0 - base.reward]))
    doc = run_replay(twice, steps=5, policies=("logistic_ts", "random"), n_boot=20, ours="logistic_ts")
    assert doc["policies"]["logistic_ts"]["settings"]["fractional_rewards"] == "soft online-Laplace step"
    from types import SimpleNamespace

    from warmstart.policies import PolicyContext

    agent = LogisticAgent(SimpleNamespace(policy_context=PolicyContext(dim=1), train=base,
                                          features=np.ones((base.n_items, 1)), rows=None, family=None), seed=0)
    state = agent.new_user()
    before = state.log_evidence.copy()
    agent.update(state, np.ones((2, 1)), np.arange(2), 0, 0.25)
    assert state.n == 1.0 and np.all(state.log_evidence < before)
    with pytest.raises(ValueError, match=r"reward: expected a value in \[0, 1\]"):
        agent.update(state, np.ones((2, 1)), np.arange(2), 0, 1.5)


def test_the_greedy_agent_plays_the_mixtures_best_prediction():
    from types import SimpleNamespace

    from warmstart.bench.replay_logistic import LogisticAgent
    from warmstart.families.generic import TypePopulation
    from warmstart.policies import PolicyContext

    population = TypePopulation(family=LOGISTIC, weights=np.array([0.9, 0.1]),
                                params={"mu": np.array([[1.0, -1.0], [-3.0, 3.0]]),
                                        "cov": np.stack([0.1 * np.eye(2)] * 2)})
    family = SimpleNamespace(population=population, decision="greedy")
    agent = LogisticAgent(SimpleNamespace(policy_context=PolicyContext(dim=2), train=None, features=None, rows=None,
                                          family=family), seed=0)
    X = np.eye(2)
    state = agent.new_user()
    assert agent.act(state, X, np.arange(2)).action == 0  # the majority type's item
    for _ in range(3):
        agent.update(state, X, np.arange(2), 0, 0.0)  # disliked: the minority type
    d = agent.act(state, X, np.arange(2))
    assert d.action == 1 and d.propensity == 1.0
    with pytest.raises(ValueError, match="decision: expected one of"):
        LogisticAgent(SimpleNamespace(policy_context=PolicyContext(dim=2), train=None, features=None, rows=None,
                                      family=family), seed=0, decision="softmax")
