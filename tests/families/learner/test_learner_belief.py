import doctest
import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import warmstart.families.learner.belief as belief_module
from warmstart.families.learner.belief import (
    DEFAULT_GRID,
    LearnerBeliefBatch,
    LearnerBeliefFormatError,
    PersonalGrid,
    predict_online,
)
from warmstart.families.learner.fit import LearnerFitConfig, LearnerPopulation, fit_learner_types
from warmstart.sim.learners import simulate_learners
from warmstart.testing import random_response_log

GRID = PersonalGrid(learn=(0.5, 1.0, 3.0), slip=(0.5, 1.0), log_sd=0.6)


@pytest.fixture(scope="module")
def pop() -> LearnerPopulation:
    rng = np.random.default_rng(0)
    k, s = 2, 3
    u = lambda lo, hi: rng.uniform(lo, hi, (k, s))
    return LearnerPopulation(np.array([0.7, 0.3]), L0=u(0.1, 0.6), T=u(0.05, 0.4), F=u(0.0, 0.1),
                             G=u(0.1, 0.35), S=u(0.05, 0.3))


# --------------------------------------------------------------------------- brute force
def odds(p, m):
    return m * p / (1 - p + m * p)


def seq_prob(p, obs):
    """P(responses) of one skill sequence by enumerating every hidden path."""
    L0, T, F, G, S = p
    total = 0.0
    for z in itertools.product((0, 1), repeat=len(obs)):
        pr = L0 if z[0] else 1 - L0
        for t, o in enumerate(obs):
            pr *= (1 - S if o else S) if z[t] else (G if o else 1 - G)
            if t + 1 < len(obs):
                pr *= (1 - F if z[t + 1] else F) if z[t] else (T if z[t + 1] else 1 - T)
        total += pr
    return total


def brute_predictions(pop, grid, skills, correct):
    """P(correct) of each response from the posterior recomputed from scratch over (type, multipliers)."""
    comps = []
    for k in range(pop.n_types):
        for ml, ms in itertools.product(grid.learn, grid.slip):
            prior = pop.weights[k] * np.exp(-(np.log(ml) ** 2 + np.log(ms) ** 2) / (2 * grid.log_sd**2))
            comps.append((k, ml, ms, prior))

    def joint(k, ml, ms, sk, co):
        out = 1.0
        for s in set(sk):
            obs = [c for kk, c in zip(sk, co) if kk == s]
            p = (pop.L0[k, s], odds(pop.T[k, s], ml), pop.F[k, s], pop.G[k, s], odds(pop.S[k, s], ms))
            out *= seq_prob(p, obs)
        return out

    preds = []
    for t in range(len(skills)):
        num = den = 0.0
        for k, ml, ms, prior in comps:
            past = joint(k, ml, ms, skills[:t], correct[:t])
            num += prior * joint(k, ml, ms, skills[: t + 1], list(correct[:t]) + [1])
            den += prior * past
        preds.append(num / den)
    return np.array(preds)


# --------------------------------------------------------------------------- exactness
def test_online_predictions_equal_a_brute_force_posterior_recomputation(pop):
    rng = np.random.default_rng(1)
    student, skill, correct = random_response_log(rng, 4, 3, 7)
    got = predict_online(pop, student, skill, correct, grid=GRID)
    want = np.concatenate([brute_predictions(pop, GRID, list(skill[student == i]), list(correct[student == i]))
                           for i in range(4)])
    assert np.allclose(got, want, atol=1e-12)


def test_batch_observe_and_predict_equal_the_online_replay(pop):
    rng = np.random.default_rng(2)
    student, skill, correct = random_response_log(rng, 6, 3, 12)
    online = predict_online(pop, student, skill, correct, grid=GRID)
    types_online = predict_online(pop, student, skill, correct, grid=GRID, return_type_probs=True)
    batch = LearnerBeliefBatch.fresh(pop, 6, GRID)
    got, types_got = np.empty_like(online), np.empty_like(types_online)
    starts = np.searchsorted(student, np.arange(6))
    counts = np.bincount(student)
    for t in range(counts.max()):
        who = np.flatnonzero(counts > t)
        rows = starts[who] + t
        got[rows] = batch.predict(who, skill[rows])
        types_got[rows] = batch.type_probs(who)
        batch.observe(who, skill[rows], correct[rows])
    assert np.allclose(got, online, atol=1e-12)
    assert np.allclose(types_got, types_online, atol=1e-12)
    ids, replayed = LearnerBeliefBatch.from_log(pop, student, skill, correct, GRID)
    assert np.array_equal(ids, np.arange(6))
    assert np.allclose(replayed.known, batch.known) and np.allclose(replayed.log_evidence, batch.log_evidence)
    assert np.array_equal(replayed.seen, batch.seen) and np.array_equal(replayed.n_observed, counts)


def test_batch_with_item_difficulties_equals_the_online_replay(pop):
    """Serving one response at a time with item offsets gives the replay's predictions, and an easy item
    answered right moves the belief less than a hard one."""
    rng = np.random.default_rng(3)
    student, skill, correct = random_response_log(rng, 5, 3, 10)
    offset = rng.normal(0.0, 1.0, student.size)
    online = predict_online(pop, student, skill, correct, grid=GRID, item_offset=offset)
    batch = LearnerBeliefBatch.fresh(pop, 5, GRID)
    got = np.empty_like(online)
    starts, counts = np.searchsorted(student, np.arange(5)), np.bincount(student)
    for t in range(counts.max()):
        who = np.flatnonzero(counts > t)
        rows = starts[who] + t
        got[rows] = batch.predict(who, skill[rows], item_offset=offset[rows])
        batch.observe(who, skill[rows], correct[rows], item_offset=offset[rows])
    assert np.allclose(got, online, atol=1e-12)
    two = LearnerBeliefBatch.fresh(pop, 2, GRID)
    two.observe(np.array([0, 1]), np.array([0, 0]), np.array([1, 1]), item_offset=np.array([2.0, -2.0]))
    before = LearnerBeliefBatch.fresh(pop, 1, GRID).p_known()[0, 0]
    easy, hard = two.p_known()[:, 0]
    assert before < easy < hard
    with pytest.raises(ValueError, match="item_offset: expected 2 finite numbers"):
        two.predict(np.array([0, 1]), np.array([0, 0]), item_offset=np.array([0.0, np.nan]))


def test_without_a_grid_a_single_type_is_plain_bkt(pop):
    one = LearnerPopulation(np.ones(1), *(x[:1] for x in pop.tables()))
    rng = np.random.default_rng(3)
    student, skill, correct = random_response_log(rng, 3, 3, 8)
    got = predict_online(one, student, skill, correct, grid=None)
    want = np.concatenate([brute_predictions(one, PersonalGrid(learn=(1.0,), slip=(1.0,)), list(skill[student == i]),
                                             list(correct[student == i])) for i in range(3)])
    assert np.allclose(got, want, atol=1e-12)
    assert LearnerBeliefBatch.fresh(one, 2, grid=None).component_probs().shape == (2, 1)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(1, 15))
def test_interleaving_of_different_skills_does_not_change_the_belief(pop, seed, n):
    rng = np.random.default_rng(seed)
    skill, correct = rng.integers(0, 3, n), rng.integers(0, 2, n)
    # a random interleaving that keeps each skill's own order
    perm = rng.permutation(n)
    for s in range(3):
        where = np.flatnonzero(skill[perm] == s)
        perm[where] = np.sort(perm[where])
    zeros = np.zeros(n, dtype=int)
    _, a = LearnerBeliefBatch.from_log(pop, zeros, skill, correct, GRID)
    _, b = LearnerBeliefBatch.from_log(pop, zeros, skill[perm], correct[perm], GRID)
    assert np.allclose(a.log_evidence, b.log_evidence, atol=1e-10)
    assert np.allclose(a.known, b.known, atol=1e-12)


# --------------------------------------------------------------------------- behaviour
def test_types_are_recognised_and_personal_rates_take_over_with_history():
    k, s = 2, 30
    truth = LearnerPopulation(np.array([0.5, 0.5]), L0=np.full((k, s), 0.2), T=np.array([[0.3] * s, [0.05] * s]),
                              F=np.zeros((k, s)), G=np.full((k, s), 0.2), S=np.full((k, s), 0.1))
    grid = PersonalGrid(learn=(0.25, 0.5, 1.0, 2.0, 4.0), slip=(0.5, 1.0, 2.0))
    fresh = LearnerBeliefBatch.fresh(truth, 1, grid)
    assert np.allclose(fresh.type_probs(), truth.weights)
    prior = fresh.multiplier_probs()[0]
    assert prior.argmax() == np.ravel_multi_index((2, 1), prior.shape)  # no history: the type's own rates
    # the type is recognised from the responses of ordinary slow learners
    n = 40
    slow = simulate_learners(truth, n, 60, rng=5, types=np.ones(n, int), skills_per_student=10)
    _, b = LearnerBeliefBatch.from_log(truth, slow.student, slow.skill, slow.correct, grid)
    assert np.mean(b.type_probs().argmax(1) == 1) >= 0.9
    # students of the slow type who learn 4x faster (odds) than it: the type's rate leads early, the personal
    # rate takes over as history grows (a population of the slow type alone, so no other type can explain them)
    log = simulate_learners(truth, n, 300, rng=4, types=np.ones(n, int), learn_scale=np.full(n, 4.0),
                            skills_per_student=s)
    slow_only = LearnerPopulation(np.ones(1), *(x[1:] for x in truth.tables()))

    def learn_posterior(length):
        rows = np.concatenate([np.flatnonzero(log.student == i)[:length] for i in range(n)])
        _, batch = LearnerBeliefBatch.from_log(slow_only, log.student[rows], log.skill[rows], log.correct[rows],
                                               grid)
        return batch.multiplier_probs().sum(2).mean(0)

    early, late = learn_posterior(5), learn_posterior(300)
    assert early.argmax() == 2 and early[2] > 0.4
    assert late[3:].sum() > 0.8


def test_mixture_predicts_held_out_students_better_than_single_type_bkt():
    k, s = 3, 6
    rows = lambda *v: np.array([[x] * s for x in v])
    truth = LearnerPopulation(np.array([0.5, 0.4, 0.1]), L0=rows(0.2, 0.25, 0.15), T=rows(0.35, 0.25, 0.03),
                              F=np.zeros((k, s)), G=rows(0.2, 0.2, 0.2), S=rows(0.06, 0.3, 0.1))
    train, test = simulate_learners(truth, 500, 60, rng=6), simulate_learners(truth, 200, 60, rng=7)
    mix = fit_learner_types(train.student, train.skill, train.correct, s, LearnerFitConfig(n_types=3, n_init=2))
    bkt = fit_learner_types(train.student, train.skill, train.correct, s, LearnerFitConfig(n_types=1))

    def logloss(p):
        y = test.correct
        return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))

    p_mix = predict_online(mix, test.student, test.skill, test.correct, grid=None)
    p_bkt = predict_online(bkt, test.student, test.skill, test.correct, grid=None)
    p_tuned = predict_online(bkt, test.student, test.skill, test.correct, grid=DEFAULT_GRID)
    assert logloss(p_mix) < logloss(p_tuned) < logloss(p_bkt)


# --------------------------------------------------------------------------- bytes
def test_bytes_round_trip_is_exact_and_compact(pop):
    rng = np.random.default_rng(8)
    student, skill, correct = random_response_log(rng, 3, 3, 10)
    _, batch = LearnerBeliefBatch.from_log(pop, student, skill, correct, GRID)
    for i in range(3):
        data = batch.student_bytes(i)
        back = LearnerBeliefBatch.from_bytes(data, pop)
        assert back.grid == GRID and back.n_observed[0] == batch.n_observed[i]
        assert np.array_equal(back.known[0], batch.known[i]) and np.array_equal(back.log_evidence[0],
                                                                               batch.log_evidence[i])
        assert np.allclose(back.predict([0, 0, 0], [0, 1, 2]), batch.predict([i, i, i], [0, 1, 2]))
    assert len(LearnerBeliefBatch.fresh(pop, 1, GRID).student_bytes(0)) < 200  # untouched skills cost nothing


def test_damaged_or_foreign_bytes_are_rejected(pop):
    batch = LearnerBeliefBatch.fresh(pop, 1, GRID)
    batch.observe([0], [1], [1])
    data = batch.student_bytes(0)
    with pytest.raises(LearnerBeliefFormatError, match="magic"):
        LearnerBeliefBatch.from_bytes(b"XXX" + data[3:], pop)
    with pytest.raises(LearnerBeliefFormatError, match="version 7"):
        LearnerBeliefBatch.from_bytes(data[:3] + bytes([7]) + data[4:], pop)
    with pytest.raises(LearnerBeliefFormatError, match="expected"):
        LearnerBeliefBatch.from_bytes(data[:-5], pop)
    with pytest.raises(LearnerBeliefFormatError, match="at least"):
        LearnerBeliefBatch.from_bytes(data[:10], pop)
    other = LearnerPopulation(pop.weights[::-1], *pop.tables())
    with pytest.raises(LearnerBeliefFormatError, match="another population"):
        LearnerBeliefBatch.from_bytes(data, other)
    bad = bytearray(data)
    bad[-8:] = np.array([np.nan]).tobytes()
    with pytest.raises(LearnerBeliefFormatError, match="outside"):
        LearnerBeliefBatch.from_bytes(bytes(bad), pop)


# --------------------------------------------------------------------------- errors
def test_bad_input_raises_and_changes_nothing(pop):
    batch = LearnerBeliefBatch.fresh(pop, 3, GRID)
    batch.observe([0, 2], [1, 2], [1, 0])
    before = (batch.known.copy(), batch.log_evidence.copy(), batch.seen.copy(), batch.n_observed.copy())
    cases = [
        (([0], [3], [1]), r"skills: expected skill indices in \[0, 2\], got 3 \(unknown skill\)"),
        (([0], [1], [2]), "correct: expected 1 values, each 0 or 1"),
        (([0, 0], [1, 2], [1, 1]), "at most once"),
        (([5], [1], [1]), r"students: expected indices in \[0, 2\], got 5"),
        (([0, 1], [1], [1, 1]), "one skill per student"),
        (([0.5], [1], [1]), "integer student indices"),
        (([1], [1.0], [1]), "integer skill indices"),
    ]
    for args, msg in cases:
        with pytest.raises(ValueError, match=msg):
            batch.observe(*args)
    with pytest.raises(ValueError, match="unknown skill"):
        batch.predict([0], [-1])
    for x, y in zip(before, (batch.known, batch.log_evidence, batch.seen, batch.n_observed)):
        assert np.array_equal(x, y)
    with pytest.raises(ValueError, match="correct: expected 0 or 1"):
        predict_online(pop, [0, 0], [0, 1], [1, 3])
    with pytest.raises(ValueError, match="grouped by student"):
        predict_online(pop, [1, 0], [0, 1], [1, 0])
    assert predict_online(pop, [], [], []).shape == (0,)


@pytest.mark.parametrize(
    ("kwargs", "msg"),
    [({"learn": (1.0, 0.5)}, "strictly increasing"), ({"slip": (0.0, 1.0)}, "positive"), ({"learn": ()}, "1 to 255"),
     ({"log_sd": 0.0}, "log_sd")],
)
def test_grid_validates_itself(kwargs, msg):
    with pytest.raises(ValueError, match=msg):
        PersonalGrid(**kwargs)


def test_grid_prior_is_normalised_and_peaks_at_one():
    p = np.exp(DEFAULT_GRID.log_prior())
    assert np.isclose(p.sum(), 1.0) and p.argmax() == 4 and p[4] > 0.4


def test_docstring_examples_run():
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE  # as tests/test_doctests.py
    assert doctest.testmod(belief_module, optionflags=flags).failed == 0
