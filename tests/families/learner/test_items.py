"""Item difficulty offsets: recovered from simulated students, used in the online belief, bad input refused."""

import numpy as np
import pytest

from warmstart.families.learner.belief import item_adjusted, predict_online
from warmstart.families.learner.fit import LearnerPopulation
from warmstart.families.learner.items import ItemOffsets, choose_prior_sd, fit_item_offsets, has_items
from warmstart.sim.learners import simulate_learners

N_ITEMS = 60


def _population() -> LearnerPopulation:
    return LearnerPopulation(np.array([0.6, 0.4]), L0=np.full((2, 3), 0.3), T=np.array([[0.25] * 3, [0.05] * 3]),
                             F=np.zeros((2, 3)), G=np.full((2, 3), 0.25), S=np.full((2, 3), 0.1))


def _log_with_items(pop, n_students, seed):
    """Students from ``pop`` answering items whose difficulty shifts the log odds of a right answer: the
    hidden states come from the simulator (they do not depend on the answers), the answers are redrawn."""
    rng = np.random.default_rng(seed)
    log = simulate_learners(pop, n_students, 30, rng)
    truth = np.random.default_rng(99).normal(0.0, 1.0, N_ITEMS)
    item = log.skill * (N_ITEMS // 3) + rng.integers(N_ITEMS // 3, size=log.skill.size)  # items within a skill
    G, S = item_adjusted(pop.G[log.types[log.student], log.skill], pop.S[log.types[log.student], log.skill],
                         truth[item])
    p = np.where(log.known.astype(bool), 1.0 - S, G)
    correct = (rng.random(p.size) < p).astype(np.int8)
    return log.student, log.skill, item, correct, truth


def _log_loss(y, p):
    p = np.clip(p, 1e-9, 1 - 1e-9)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def test_offsets_are_recovered_and_improve_unseen_students():
    pop = _population()
    train = _log_with_items(pop, 1500, seed=1)
    st, sk, it, co, truth = _log_with_items(pop, 500, seed=2)
    fit = fit_item_offsets(pop, *train[:4], N_ITEMS, prior_sd=1.0, grid=None)
    assert np.corrcoef(fit.offset, truth)[0, 1] > 0.9
    with_items = predict_online(pop, st, sk, co, grid=None, item_offset=fit.for_responses(it))
    without = predict_online(pop, st, sk, co, grid=None)
    assert _log_loss(co, with_items) < _log_loss(co, without) - 0.01


def test_prior_is_chosen_on_heldout_students():
    pop = _population()
    train = _log_with_items(pop, 600, seed=3)[:4]
    heldout = _log_with_items(pop, 300, seed=4)[:4]
    best, scores = choose_prior_sd(pop, train, heldout, N_ITEMS, candidates=(0.05, 1.0), grid=None)
    assert set(scores) == {"0.05", "1.0"}
    # the planted offsets have sd 1: a prior that pins them near zero must lose
    assert best.prior_sd == 1.0 and scores["1.0"] < scores["0.05"]


def test_zero_offsets_change_nothing_and_easier_items_raise_both_states():
    G, S = np.array([0.2, 0.3]), np.array([0.1, 0.05])
    g0, s0 = item_adjusted(G, S, np.zeros(2))
    np.testing.assert_allclose(g0, G)
    np.testing.assert_allclose(s0, S)
    g1, s1 = item_adjusted(G, S, np.ones(2))
    assert np.all(g1 > G) and np.all(s1 < S)
    pop = _population()
    st, sk, _, co, _ = _log_with_items(pop, 20, seed=5)
    np.testing.assert_allclose(predict_online(pop, st, sk, co, item_offset=np.zeros(st.size)),
                               predict_online(pop, st, sk, co))


def test_unknown_items_get_no_offset():
    offsets = ItemOffsets(np.array([0.5, -0.5]), np.array([3.0, 4.0]), 1.0)
    np.testing.assert_array_equal(offsets.for_responses(np.array([0, 1, -1, 7])), [0.5, -0.5, 0.0, 0.0])


def test_bad_input_names_the_field():
    pop = _population()
    st, sk, it, co, _ = _log_with_items(pop, 5, seed=6)
    with pytest.raises(ValueError, match="item_offset: expected"):
        predict_online(pop, st, sk, co, item_offset=np.zeros(st.size + 1))
    with pytest.raises(ValueError, match="item: expected"):
        fit_item_offsets(pop, st, sk, it.astype(float), co, N_ITEMS)
    with pytest.raises(ValueError, match="item: expected ids below"):
        fit_item_offsets(pop, st, sk, it, co, 3)
    with pytest.raises(ValueError, match="prior_sd"):
        fit_item_offsets(pop, st, sk, it, co, N_ITEMS, prior_sd=0.0)
    for item in (it, np.full(it.size, -1)):  # no candidate prior: an error naming it, with or without item ids
        with pytest.raises(ValueError, match="candidates: expected at least one"):
            choose_prior_sd(pop, (st, sk, item, co), (st, sk, item, co), N_ITEMS, candidates=())


def test_a_log_without_item_ids_fits_no_offsets():
    """Item ids are optional in the generic format: all -1 (or no item table at all) is no item to fit, not an
    IndexError."""
    pop = _population()
    st, sk, _, co, _ = _log_with_items(pop, 40, seed=7)
    none = np.full(st.size, -1)
    for n_items in (0, 5):
        fit = fit_item_offsets(pop, st, sk, none, co, n_items)
        np.testing.assert_array_equal(fit.offset, np.zeros(n_items))
        np.testing.assert_array_equal(fit.count, np.zeros(n_items))
    best, scores = choose_prior_sd(pop, (st, sk, none, co), (st, sk, none, co), 0)
    assert scores == {} and best.offset.size == 0 and not has_items(none) and has_items(np.array([-1, 3]))
    np.testing.assert_array_equal(best.for_responses(none), np.zeros(st.size))
