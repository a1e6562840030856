import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from hypothesis import given, settings
from hypothesis import strategies as st

from warmstart.families.learner.fit import LearnerPopulation
from warmstart.sim.tutoring import (
    ENV_ID,
    StudentBatch,
    TutoringEnv,
    add_slow_minority,
    has_slow_minority,
    register_tutoring,
    tutoring_population,
)


def tiny(T: float, L0: float = 0.0, n_skills: int = 3, F: float = 0.0) -> LearnerPopulation:
    """One type with the same parameters on every skill."""
    full = lambda v: np.full((1, n_skills), v)
    return LearnerPopulation(np.ones(1), L0=full(L0), T=full(T), F=full(F), G=full(0.2), S=full(0.1))


@pytest.fixture(scope="module")
def population() -> LearnerPopulation:
    return tutoring_population()


def test_gymnasium_env_checker_passes(population):
    register_tutoring()  # a second registration is a no-op
    env = gym.make(ENV_ID, population=population)
    check_env(env.unwrapped, skip_render_check=True)


def test_default_env_fits_the_population_from_the_data(population):
    env = gym.make(ENV_ID)  # fits (cached in memory for the process)
    assert env.unwrapped.population.n_skills == population.n_skills == 6
    assert np.array_equal(env.unwrapped.population.T, population.T)


def test_population_is_fitted_with_a_slow_minority_and_says_so(population):
    assert 2 <= population.n_types <= 6
    assert has_slow_minority(population)
    note = population.diagnostics.slow_minority
    assert isinstance(note["added"], bool) and note["note"]
    assert population.diagnostics.selection_method == "heldout"
    assert not population.forgets


def test_slow_minority_is_added_when_the_fit_has_none():
    base = LearnerPopulation(np.array([0.6, 0.4]), L0=np.full((2, 2), 0.3), T=np.array([[0.3, 0.2], [0.25, 0.2]]),
                             F=np.zeros((2, 2)), G=np.full((2, 2), 0.2), S=np.full((2, 2), 0.1))
    assert not has_slow_minority(base)
    pop = add_slow_minority(base)
    assert pop.n_types == 3 and has_slow_minority(pop)
    assert np.allclose(pop.weights, [0.54, 0.36, 0.1])
    assert np.allclose(pop.T[2], 0.3 * base.T[0]) and np.allclose(pop.L0[2], base.L0[0])
    assert pop.diagnostics.slow_minority["added"] is True
    with pytest.raises(ValueError, match="learn_scale"):
        add_slow_minority(base, learn_scale=1.5)


def rollout(env, seed, actions):
    obs, info = env.reset(seed=seed)
    out = [(obs["correct"], info["true_type"], tuple(info["known"]))]
    for a in actions:
        obs, r, term, trunc, info = env.step(a)
        out.append((int(obs["correct"]), int(obs["skill"]), int(obs["step"]), r, term, trunc, tuple(info["known"])))
        if term or trunc:
            break
    return out


def test_same_seed_same_episode(population):
    actions = [t % 6 for t in range(40)]
    a = rollout(TutoringEnv(population), 7, actions)
    b = rollout(TutoringEnv(population), 7, actions)
    assert a == b
    others = [rollout(TutoringEnv(population), s, actions) for s in range(8, 14)]
    assert any(o != a for o in others)


def test_terminates_on_true_mastery_and_truncates_at_the_budget():
    env = TutoringEnv(tiny(T=1.0), budget=10)  # every practice teaches the skill
    obs, info = env.reset(seed=0)
    assert obs["skill"] == 3 and obs["step"] == 0 and not info["known"].any()
    for s in range(3):
        obs, reward, term, trunc, info = env.step(s)
        assert reward == -1.0 and obs["step"] == s + 1 and obs["skill"] == s
        assert term == bool(info["known"].all()) == (s == 2) and not trunc
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)
    env = TutoringEnv(tiny(T=0.0), budget=5)  # never learns: truncated at the budget
    env.reset(seed=0)
    flags = [env.step(0)[2:4] for _ in range(5)]
    assert flags == [(False, False)] * 4 + [(False, True)]


def test_bad_actions_and_options_are_clear(population):
    env = TutoringEnv(population)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="action: expected a skill index"):
        env.step(6)
    with pytest.raises(ValueError, match=r"options\['type'\]"):
        env.reset(seed=0, options={"type": 99})
    with pytest.raises(ValueError, match="budget"):
        TutoringEnv(population, budget=0)
    _, info = env.reset(seed=0, options={"type": 1})
    assert info["true_type"] == 1


def test_answers_follow_the_bkt_marginals():
    """Many students practising one skill: the share correct at practice n matches the forward recursion."""
    pop = tiny(T=0.2, L0=0.3, F=0.05)
    n, steps = 20000, 8
    students = StudentBatch.sample(pop, n, np.random.default_rng(0), budget=steps)
    rows, skills = np.arange(n), np.zeros(n, dtype=np.int64)
    p_known = 0.3
    for _ in range(steps):
        share = students.answer(rows, skills).mean()
        expected = 0.2 + p_known * (1 - 0.1 - 0.2)
        assert abs(share - expected) < 4 * np.sqrt(expected * (1 - expected) / n)
        p_known = p_known * (1 - 0.05) + (1 - p_known) * 0.2
        assert abs(students.known[:, 0].mean() - p_known) < 4 * np.sqrt(p_known * (1 - p_known) / n)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(0, 2), min_size=1, max_size=30), st.randoms(use_true_random=False))
def test_practice_order_does_not_change_a_skills_answers(schedule, shuffler):
    """Common random numbers: the n-th practice of a skill gets the same answer in any interleaving."""
    pop = tiny(T=0.3, L0=0.2, F=0.1)
    base = StudentBatch.sample(pop, 1, np.random.default_rng(3), budget=30)
    other = list(schedule)
    shuffler.shuffle(other)

    def per_skill(order):
        st_ = base.copy()
        answers = {s: [] for s in range(3)}
        for s in order:
            answers[s].append(int(st_.answer(np.zeros(1, dtype=np.int64), np.array([s]))[0]))
        return answers, st_.known.copy()

    assert per_skill(schedule)[0] == per_skill(other)[0]
    assert np.array_equal(per_skill(schedule)[1], per_skill(other)[1])


def test_student_batch_checks_its_input(population):
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="n: expected"):
        StudentBatch.sample(population, 0, rng)
    with pytest.raises(ValueError, match="types: expected"):
        StudentBatch.sample(population, 2, rng, types=np.array([0, 99]))
    b = StudentBatch.sample(tiny(0.5), 1, rng, budget=1)
    b.answer(np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64))
    with pytest.raises(ValueError, match="budget"):
        b.answer(np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64))
