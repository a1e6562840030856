"""The ``als`` replay peer (``warmstart.bench.replay_als``): its fold-in against a brute-force solve, the
reward-to-confidence map, that it learns a strong item structure, tuning on training users only, seeding, and
the error without implicit."""

import functools
import sys
from types import SimpleNamespace

import numpy as np
import pytest

from warmstart.bench.replay import REPLAY_BASELINES, _new_users, _serve, run_replay, split_by_first_event
from warmstart.bench.replay_als import (
    NEGATIVES,
    ALSGrid,
    ALSSettings,
    Confidence,
    ImplicitALSPeer,
    _FittedALS,
    tune_als,
)
from warmstart.data.events import EventData
from warmstart.families.linear.events import EventFitConfig
from warmstart.families.linear.fit import FitConfig

pytest.importorskip("implicit")  # the module imports implicit lazily, when a peer is built

SMALL = ALSSettings(factors=4, regularization=0.1, alpha=10.0)
TINY_GRID = ALSGrid(factors=(2, 4), regularization=(0.1,), alpha=(1.0, 10.0), negatives=NEGATIVES)


def two_camps(n_users: int = 200, n_items: int = 40, per_user: int = 24, seed: int = 0) -> EventData:
    """Two camps of users with opposite tastes: camp 0 likes items 0-19 (reward 1) and not 20-39 (reward 0),
    camp 1 the reverse; each user rated ``per_user`` random items, half from each block, users arrive in index
    order. Every item is liked by half the users, so popularity is no better than chance; one like tells the
    camp."""
    rng = np.random.default_rng(seed)
    half = n_items // 2
    rows = []
    for u in range(n_users):
        camp = u % 2
        items = np.concatenate([rng.choice(half, per_user // 2, replace=False),
                                half + rng.choice(half, per_user // 2, replace=False)])
        for t, i in enumerate(rng.permutation(items)):
            rows.append((u, u * 100 + t, f"i{i:02d}", float((i < half) == (camp == 0))))
    return EventData.from_rows(*zip(*rows, strict=True))


def context_of(events: EventData) -> SimpleNamespace:
    return SimpleNamespace(train=events)  # the peer reads only ``context.train``


@pytest.fixture(scope="module")
def camps():
    events = two_camps()
    train_idx, test_idx = split_by_first_event(events, 0.7)
    return events, events.subset(train_idx), events.subset(test_idx)


def test_fold_in_is_the_weighted_least_squares_solve(camps):
    _, train, _ = camps
    fitted = _FittedALS(train, SMALL, seed=0)
    Y = fitted.model.item_factors.astype(np.float64)
    items, values = [3, 25, 7], [4.0, -6.0, 1.5]  # two likes, one dislike (signed confidences)
    # Hu et al.: x = (Y'Y + lambda I + sum_i (c_i - 1) y_i y_i')^-1 sum_{likes} c_i y_i
    A = Y.T @ Y + SMALL.regularization * np.eye(SMALL.factors)
    b = np.zeros(SMALL.factors)
    for i, v in zip(items, values, strict=True):
        A += (abs(v) - 1) * np.outer(Y[i], Y[i])
        b += max(v, 0.0) * Y[i]
    np.testing.assert_allclose(fitted.user_factor(items, values), np.linalg.solve(A, b), rtol=2e-4, atol=1e-6)


def test_confidence_is_signed_and_scaled_to_the_training_extremes():
    ratings = Confidence.from_rewards(np.array([1.0, 2.0, 3.0, 4.0, 5.0]))  # threshold 3
    got = ratings(np.array([5.0, 4.0, 3.0, 1.0]), alpha=10.0, negatives="disliked")
    np.testing.assert_allclose(got, [11.0, 6.0, -1.0, -11.0])
    np.testing.assert_allclose(ratings(np.array([5.0, 1.0]), alpha=10.0, negatives="ignored"), [11.0, 0.0])
    binary = Confidence.from_rewards(np.array([0.0, 1.0, 1.0, 1.0]))
    np.testing.assert_allclose(binary(np.array([1.0, 0.0]), alpha=40.0, negatives="disliked"), [41.0, -41.0])


def test_als_learns_the_camps_and_beats_random_over_steps_1_to_10(camps):
    _, train, test = camps
    users = _new_users(test, 20, seed=0)
    F = np.zeros((train.n_items, 1))
    rewards = _serve(ImplicitALSPeer(context_of(train), seed=0, settings=SMALL), users, F, None, 20)
    als = np.nanmean(rewards[:, :10], axis=1).mean()
    random_expected = np.mean([u.reward.mean() for u in users])  # 0.5 by construction
    assert als > random_expected + 0.25, (als, random_expected)
    # after the first like the peer stays in the user's camp
    first_like = np.argmax(rewards == 1.0, axis=1)
    later = np.concatenate([r[f + 1: 10] for r, f in zip(rewards, first_like, strict=True)])
    assert later.mean() > 0.9


def test_tuning_picks_from_the_grid_and_sees_only_training_users(camps):
    _, train, test = camps
    tuning = tune_als(train, seed=0, steps=10, window=5, grid=TINY_GRID)
    assert tuning.chosen in TINY_GRID.settings()
    assert len(tuning.scores) == len(TINY_GRID.settings()) == 8
    assert tuning.chosen == TINY_GRID.settings()[int(np.argmax(np.round(tuning.scores, 12)))]
    # held out: the latest 20% of the training users by first event, none of them a new user
    val = set(tuning.validation_users.tolist())
    assert val <= set(train.user_ids.tolist()) and not val & set(test.user_ids.tolist())
    latest = train.user_ids[np.argsort(train.first_times(), kind="stable")[-len(val):]]
    assert val == set(latest.tolist()) and len(val) == round(0.2 * train.n_users)
    assert tuning.n_fit_users + len(val) == train.n_users
    doc = tuning.to_dict()
    assert doc["window"] == "1-5" and len(doc["validation"]) == 8 and doc["n_validation_users"] == len(val)


def test_the_peer_reports_its_tuning(camps):
    _, train, _ = camps
    peer = ImplicitALSPeer(context_of(train), seed=3, grid=TINY_GRID, steps=10, window=5)
    s = peer.settings()
    assert peer.tuning is not None
    assert {k: s[k] for k in ("factors", "regularization", "alpha", "negatives")} == {
        k: v for k, v in peer.tuning.chosen.to_dict().items() if k != "iterations"}
    assert s["tuning"]["grid"] == TINY_GRID.to_dict() and "popularity" in s["before_first_like"]
    assert s["confidence"]["threshold"] == pytest.approx(train.reward.mean())


def test_same_seed_same_rewards(camps):
    _, train, test = camps
    users = _new_users(test, 20, seed=1)
    F = np.zeros((train.n_items, 1))
    runs = [ImplicitALSPeer(context_of(train), seed=s, settings=SMALL) for s in (5, 5, 6)]
    np.testing.assert_array_equal(runs[0].fitted.model.item_factors, runs[1].fitted.model.item_factors)
    assert not np.array_equal(runs[0].fitted.model.item_factors, runs[2].fitted.model.item_factors)
    a, b = (_serve(p, users, F, None, 20) for p in runs[:2])
    np.testing.assert_array_equal(a, b)


def test_registered_for_the_replay(camps, monkeypatch):
    events, _, _ = camps
    assert REPLAY_BASELINES["als"] is ImplicitALSPeer
    # the default grid takes seconds even here; the tuning path is the same with a smaller one
    monkeypatch.setitem(REPLAY_BASELINES, "als", functools.partial(ImplicitALSPeer, grid=TINY_GRID, steps=10))
    doc = run_replay(events, steps=10, windows=(5, 10), policies=("als", "popularity"), n_boot=20,
                     fit_config=EventFitConfig(population=FitConfig(k_range=(1, 3), n_init=1)))
    als, pop = doc["policies"]["als"], doc["policies"]["popularity"]
    assert als["mean_reward"]["1-10"] > pop["mean_reward"]["1-10"] + 0.2
    assert als["settings"]["tuning"]["n_validation_users"] > 0


def test_without_implicit_the_error_says_how_to_install(camps, monkeypatch):
    _, train, _ = camps
    for name in ("implicit", "implicit.cpu", "implicit.cpu.als"):
        monkeypatch.setitem(sys.modules, name, None)  # makes ``import implicit...`` raise ImportError
    with pytest.raises(ImportError, match=r"pip install 'warmstart\[peers\]'"):
        ImplicitALSPeer(context_of(train), seed=0)
    with pytest.raises(ImportError, match="implicit"):
        tune_als(train, seed=0)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"factors": 0}, "factors"), ({"regularization": 0.0}, "regularization"), ({"alpha": -1.0}, "alpha"),
    ({"negatives": "dropped"}, "negatives"), ({"iterations": 0}, "iterations")])
def test_bad_settings_name_the_field(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ALSSettings(**kwargs)
