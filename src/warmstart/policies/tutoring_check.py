"""``check_tutoring_policy``: the contract every tutoring policy passes (the tutoring counterpart of
``check_policy``). Third-party tutoring policies can run it too.

>>> import numpy as np
>>> from warmstart.families.learner.population import LearnerPopulation
>>> from warmstart.policies.tutoring import TutoringSetup, make_tutoring_policy
>>> full = lambda v: np.full((1, 3), v)
>>> bkt = LearnerPopulation(np.ones(1), L0=full(0.3), T=full(0.2), F=full(0.0), G=full(0.2), S=full(0.1))
>>> check_tutoring_policy(make_tutoring_policy("round_robin", TutoringSetup(population=bkt, single_type=bkt)))
"""

from __future__ import annotations

import numpy as np

from warmstart.policies.check import expect_refused
from warmstart.policies.tutoring import TutoringPolicy, TutoringState
from warmstart.policies.tutoring_base import _example_setup  # noqa: F401  (the examples use it)


class _Student:
    """A simulated student of the setup's first type (plain BKT with its parameters), from a fixed seed."""

    def __init__(self, policy: TutoringPolicy, seed: int) -> None:
        pop = policy.setup.population
        self.L0, self.T, self.F, self.G, self.S = (x[0] for x in pop.tables())
        self.rng = np.random.default_rng(seed)
        self.known = self.rng.random(pop.n_skills) < self.L0

    def answer(self, skill: int) -> int:
        k = self.known[skill]
        right = self.rng.random() < (1.0 - self.S[skill] if k else self.G[skill])
        u = self.rng.random()
        self.known[skill] = u >= self.F[skill] if k else u < self.T[skill]
        return int(right)


def _new(policy: TutoringPolicy) -> TutoringState:
    return policy.new_student(true_type=0 if policy.needs_truth else None)


def _rollout(policy: TutoringPolicy, seed: int, steps: int) -> tuple[list[tuple[int, int]], TutoringState]:
    """Up to ``steps`` choices and answers of one simulated student, checking every decision on the way."""
    name, n = policy.name, policy.n_skills
    state, student, history = _new(policy), _Student(policy, seed), []
    before = policy.mastered(state)
    for _ in range(steps):
        if before.all():
            break
        skill = policy.choose(state)
        assert isinstance(skill, int) and 0 <= skill < n, f"{name}: choose gave {skill!r}, not a skill in [0, {n})"
        assert not before[skill], f"{name}: chose skill {skill}, which is declared mastered"
        correct = student.answer(skill)
        policy.observe(state, skill, correct)
        history.append((skill, correct))
        after = policy.mastered(state)
        assert after.dtype == bool and after.shape == (n,), f"{name}: mastered must be a boolean array of {n} skills"
        assert np.all(after[before]), f"{name}: a declared skill was undeclared (declarations are final)"
        before = after
    return history, state


def _same(policy: TutoringPolicy, a: TutoringState, b: TutoringState) -> bool:
    try:
        return policy.state_to_bytes(a) == policy.state_to_bytes(b)
    except NotImplementedError:
        return bool(np.array_equal(a.declared, b.declared) and np.array_equal(a.n_steps, b.n_steps))


def _check_bytes(policy: TutoringPolicy, steps: int) -> None:
    name = policy.name
    p = policy.clone()
    _, state = _rollout(p, 11, steps)
    try:
        blob = p.state_to_bytes(state)
    except NotImplementedError:
        return
    assert isinstance(blob, bytes), f"{name}: state_to_bytes must return bytes, got {type(blob).__name__}"
    back = p.state_from_bytes(blob)
    assert p.state_to_bytes(back) == blob, f"{name}: state_from_bytes(state_to_bytes(s)) writes other bytes"
    assert np.array_equal(p.mastered(back), p.mastered(state)), f"{name}: the declared skills changed in bytes"
    if not p.mastered(state).all():
        saved = p.rng.bit_generator.state
        first = p.choose(state)
        p.rng.bit_generator.state = saved
        assert p.choose(back) == first, f"{name}: a state read back from its bytes chooses differently"
        p.observe(state, first, 1)
        p.observe(back, first, 1)
        assert p.state_to_bytes(back) == p.state_to_bytes(state), f"{name}: a state read back learns differently"


def _check_batch(policy: TutoringPolicy, steps: int) -> None:
    """Answers fed to row 1 of a batch of 3 leave it as they leave a student of its own."""
    name = policy.name
    history, single = _rollout(policy.clone(), 21, steps)
    batch = policy.clone().new_batch(3, true_types=np.zeros(3, dtype=np.int64) if policy.needs_truth else None)
    for skill, correct in history:
        policy.observe_many(batch, np.array([1]), np.array([skill]), np.array([correct]))
    assert np.array_equal(policy.mastered_many(batch)[1], policy.mastered(single)), \
        f"{name}: a batch and a single student given the same answers declare different skills"
    untouched = np.tile(policy.mastered(_new(policy)), (2, 1))  # a new student may start with skills declared
    assert np.array_equal(policy.mastered_many(batch)[[0, 2]], untouched), \
        f"{name}: answers of one row changed another row"


def _check_bad_input(policy: TutoringPolicy) -> None:
    name, n = policy.name, policy.n_skills
    p = policy.clone()
    _, state = _rollout(p, 31, 2)
    reference = policy.clone()
    _, same = _rollout(reference, 31, 2)
    declared = np.flatnonzero(p.mastered(state))
    bad = [("skill", lambda: p.observe(state, n, 1)), ("skill", lambda: p.observe(state, -1, 1)),
           ("correct", lambda: p.observe(state, 0, 2)), ("rows", lambda: p.choose_many(state, np.array([1]))),
           ("rows", lambda: p.observe_many(state, np.array([0, 0]), np.array([0, 1]), np.array([1, 1])))]
    if declared.size:
        bad.append(("skills", lambda: p.observe(state, int(declared[0]), 1)))
    for field, call in bad:
        expect_refused(name, field, call)
        assert _same(p, state, same), f"{name}: a rejected {field} changed the state"


def check_tutoring_policy(policy: TutoringPolicy, steps: int = 40) -> None:
    """Raise ``AssertionError`` if ``policy`` breaks the tutoring contract: valid choices (a skill not declared
    mastered) and final declarations on a simulated student, the same seed giving the same choices, a batch
    agreeing with single students, a student's state written to bytes and read back behaving as before (for
    policies whose state can be stored), and a ``ValueError`` naming the field for each kind of bad input with
    no change of state. ``policy`` is checked through fresh copies of it (``TutoringPolicy.clone``).

    >>> from warmstart.policies.tutoring import RoundRobinPolicy, make_tutoring_policy, tutoring_policy_names
    >>> setup = _example_setup()     # two learner types (fast, slow) and one-type BKT, 3 skills
    >>> for name in tutoring_policy_names():                              # every built-in one passes
    ...     check_tutoring_policy(make_tutoring_policy(name, setup, seed=0))
    >>> class Forgetful(RoundRobinPolicy):        # declares a skill on one right answer, forgets the others
    ...     name = "forgetful"
    ...     def _observe(self, state, rows, skills, correct):
    ...         state.declared[rows] = False
    ...         state.declared[rows, skills] = correct
    >>> check_tutoring_policy(Forgetful(setup))
    Traceback (most recent call last):
    ...
    AssertionError: forgetful: a declared skill was undeclared (declarations are final)
    >>> check_tutoring_policy("round_robin")
    Traceback (most recent call last):
    ...
    ValueError: policy: expected a TutoringPolicy, got str
    """
    if not isinstance(policy, TutoringPolicy):
        raise ValueError(f"policy: expected a TutoringPolicy, got {type(policy).__name__}")  # noqa: TRY004
    first, _ = _rollout(policy.clone(), 1, steps)
    again, _ = _rollout(policy.clone(), 1, steps)
    assert first == again, f"{policy.name}: same seed gave different choices"
    assert first, f"{policy.name}: chose nothing for a new student"
    _check_batch(policy, steps)
    _check_bytes(policy, steps // 2)
    _check_bad_input(policy)
