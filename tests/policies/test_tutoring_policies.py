import numpy as np
import pytest

from warmstart.bench.tutoring import simulate_policy
from warmstart.families.learner.belief import DEFAULT_GRID, LearnerBeliefBatch
from warmstart.families.learner.fit import LearnerPopulation
from warmstart.policies.tutoring import (
    BeliefState,
    TutoringPolicy,
    TutoringSetup,
    _component_learn,
    make_tutoring_policy,
    register_tutoring_policy,
    tutoring_policy_names,
)
from warmstart.sim.tutoring import StudentBatch, tutoring_population, tutoring_single_type

NAMES = ("ours", "bkt_mastery", "round_robin", "random", "oracle_type")


@pytest.fixture(scope="module")
def setup() -> TutoringSetup:
    return TutoringSetup(population=tutoring_population(), single_type=tutoring_single_type())


def new(policy: TutoringPolicy, true_type: int = 0):
    return policy.new_student(true_type=true_type if policy.needs_truth else None)


def test_every_policy_is_registered_and_unknown_names_are_clear(setup):
    assert set(NAMES) <= set(tutoring_policy_names())
    with pytest.raises(ValueError, match="policy: expected one of"):
        make_tutoring_policy("nope", setup)
    with pytest.raises(ValueError, match="already registered"):
        register_tutoring_policy("ours")(type("Other", (TutoringPolicy,), {}))


@pytest.mark.parametrize("name", NAMES)
def test_policy_contract(name, setup):
    """Valid skills, never a declared one, declarations final, episode ends when all are declared."""
    policy = make_tutoring_policy(name, setup, seed=1)
    students = StudentBatch.sample(setup.population, 12, np.random.default_rng(0), budget=120)
    for i in range(12):
        state = new(policy, int(students.types[i]))
        before = policy.mastered(state)
        for _ in range(120):
            if before.all():
                break
            skill = policy.choose(state)
            assert 0 <= skill < setup.n_skills and not before[skill]
            correct = int(students.answer(np.array([i]), np.array([skill]))[0])
            policy.observe(state, skill, correct)
            after = policy.mastered(state)
            assert after.dtype == bool and after.shape == (setup.n_skills,)
            assert np.all(after[before])  # declarations are final
            before = after
        if before.all():
            with pytest.raises(ValueError, match="every skill declared"):
                policy.choose(state)


@pytest.mark.parametrize("name", NAMES)
def test_bad_input_raises_and_changes_nothing(name, setup):
    policy = make_tutoring_policy(name, setup)
    state = new(policy)
    skill = policy.choose(state)
    steps = state.n_steps.copy()
    for bad_skill, bad_correct, match in ((setup.n_skills, 1, "skills: expected skill indices"),
                                          (-1, 1, "skills: expected skill indices"),
                                          (1.5, 1, "skill: expected an integer"),
                                          (skill, 2, "correct: expected"),
                                          (skill, "yes", "correct: expected")):
        with pytest.raises(ValueError, match=match):
            policy.observe(state, bad_skill, bad_correct)
    assert np.array_equal(state.n_steps, steps)
    declared = np.flatnonzero(policy.mastered(state))
    if declared.size:
        with pytest.raises(ValueError, match="not yet declared"):
            policy.observe(state, int(declared[0]), 1)
    batch = policy.new_batch(3, true_types=np.zeros(3, dtype=np.int64))
    with pytest.raises(ValueError, match="rows: expected distinct"):
        policy.choose_many(batch, np.array([0, 0]))
    with pytest.raises(ValueError, match="rows: expected indices"):
        policy.choose_many(batch, np.array([5]))
    with pytest.raises(ValueError, match="one student"):
        policy.choose(batch)


def test_oracle_needs_the_true_type_and_setup_is_validated(setup):
    with pytest.raises(ValueError, match="true_types"):
        make_tutoring_policy("oracle_type", setup).new_student()
    with pytest.raises(ValueError, match="true_types: expected"):
        make_tutoring_policy("oracle_type", setup).new_batch(2, true_types=np.array([0, 99]))
    with pytest.raises(ValueError, match="single_type: expected a population of one type"):
        TutoringSetup(population=setup.population, single_type=setup.population)
    with pytest.raises(ValueError, match="threshold"):
        TutoringSetup(population=setup.population, single_type=setup.single_type, threshold=1.0)
    with pytest.raises(ValueError, match="streak"):
        TutoringSetup(population=setup.population, single_type=setup.single_type, streak=0)
    with pytest.raises(ValueError, match="setup"):
        make_tutoring_policy("ours", "not a setup")  # type: ignore[arg-type]


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_choices_and_one_student_is_a_batch_of_one(name, setup):
    students = StudentBatch.sample(setup.population, 40, np.random.default_rng(4), budget=60)
    a = simulate_policy(name, setup, students, seed=3)
    b = simulate_policy(name, setup, students, seed=3)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    # the one-student verbs on student 0 give the same trajectory as the batch
    policy = make_tutoring_policy(name, setup, seed=3)
    one = students.copy()
    state = new(policy, int(one.types[0]))
    steps = 0
    while not policy.mastered(state).all() and steps < 60:
        skill = policy.choose(state)
        policy.observe(state, skill, int(one.answer(np.array([0]), np.array([skill]))[0]))
        steps += 1
    if name != "random":  # random's generator is shared across the batch, so its draws differ
        assert steps == a["steps"][0]


def test_component_learn_rates_match_the_belief(setup):
    belief = LearnerBeliefBatch.fresh(setup.population, 1, DEFAULT_GRID)
    assert np.allclose(_component_learn(setup.population, DEFAULT_GRID), belief._comp.T)
    plain = LearnerBeliefBatch.fresh(setup.population, 1, None)
    assert np.allclose(_component_learn(setup.population, None), plain._comp.T)


def test_oracle_belief_is_plain_bkt_with_the_true_type():
    """Reference: the BKT forward recursion written out with the true type's parameters."""
    pop = LearnerPopulation(np.array([0.5, 0.5]), L0=np.array([[0.2, 0.4], [0.6, 0.1]]),
                            T=np.array([[0.3, 0.1], [0.05, 0.2]]), F=np.array([[0.0, 0.02], [0.01, 0.0]]),
                            G=np.full((2, 2), 0.2), S=np.full((2, 2), 0.1))
    single = LearnerPopulation(np.ones(1), pop.L0[:1], pop.T[:1], pop.F[:1], pop.G[:1], pop.S[:1])
    setup = TutoringSetup(population=pop, single_type=single, threshold=0.99)
    policy = make_tutoring_policy("oracle_type", setup)
    state = policy.new_student(true_type=1)
    assert isinstance(state, BeliefState)
    pk = pop.L0[1].copy()
    for skill, correct in [(0, 1), (1, 0), (0, 1), (1, 1), (1, 1)]:
        policy.observe(state, skill, correct)
        like = (1 - pop.S[1, skill]) if correct else pop.S[1, skill]
        miss = pop.G[1, skill] if correct else 1 - pop.G[1, skill]
        post = pk[skill] * like / (pk[skill] * like + (1 - pk[skill]) * miss)
        pk[skill] = post * (1 - pop.F[1, skill]) + (1 - post) * pop.T[1, skill]
        assert np.allclose(state.belief.p_known(), pk[None])
    # the gain rule: argmax of P(unknown) * T under the true type
    assert policy.choose(state) == int(np.argmax((1 - pk) * pop.T[1]))


def test_streak_rule_and_round_robin_order(setup):
    policy = make_tutoring_policy("round_robin", setup)
    state = policy.new_student()
    assert [policy.choose(state) for _ in range(2)] == [0, 0]  # choosing does not advance
    for answer in (1, 1, 0):  # skills 0, 1, 2 in turn; the wrong answer leaves skill 2 with no run
        skill = policy.choose(state)
        policy.observe(state, skill, answer)
    assert not policy.mastered(state).any()
    seen = []
    while not policy.mastered(state).all():
        skill = policy.choose(state)
        seen.append(skill)
        policy.observe(state, skill, 1)
        if skill == 0:
            assert policy.mastered(state)[0] == (seen.count(0) == 2)  # 1 + 2 correct in a row
    # cycles from the skill after the last one, skipping declared skills (0 and 1 are declared first)
    assert seen == [3, 4, 5, 0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5, 2]


def test_oracle_type_beats_random(setup):
    """Knowing the type: far fewer false declarations and more students who truly master every skill."""
    students = StudentBatch.sample(setup.population, 300, np.random.default_rng(11), budget=200)
    oracle = simulate_policy("oracle_type", setup, students)
    rand = simulate_policy("random", setup, students, seed=2)

    def false_rate(r):
        return r["false_declarations"].sum() / r["declarations"].sum()

    assert false_rate(oracle) < 0.5 * false_rate(rand)
    assert oracle["true_mastery"].mean() > rand["true_mastery"].mean() + 0.1
