"""Tutoring policies: which skill a student practises next, and when a skill is declared mastered.

A policy is built once from a ``TutoringSetup`` (the learner types, the single-type BKT fit, the mastery
threshold and the "N in a row" streak) and serves many students. ``state = policy.new_student()`` starts one;
``policy.choose(state)`` returns the skill to practise (never one already declared mastered),
``policy.observe(state, skill, correct)`` learns from the answer, and ``policy.mastered(state)`` is the boolean
array of skills declared mastered (declarations are final; a declared skill is not practised again). Only
``oracle_type`` reads ground truth: ``new_student(true_type=k)``.

The batched verbs are the real implementation: ``new_batch(n)``, ``choose_many(state, rows)``,
``observe_many(state, rows, skills, correct)`` and ``mastered_many(state)`` work on many students at once; the
one-student verbs are a batch of one. Bad input raises ``ValueError`` before any state changes.

Every bad input is a ``ValueError`` (not ``TypeError``): the library's one error type for bad input.

Policies (registry of their own, ``make_tutoring_policy(name, setup, seed=...)``):

- ``ours``: the learner-type belief (``LearnerBeliefBatch`` over the types, with the personal grid). Practises
  the undeclared skill of largest expected learning gain, ``sum_j p(j | answers) P_j(unknown) T_j`` over
  components ``j`` (type x personal multiplier), and declares every skill whose posterior P(known) reaches the
  threshold (0.95), including skills it has not practised once the type posterior makes them likely known.
- ``bkt_mastery``: standard BKT mastery learning with the single-type fit: skills in order, each practised until
  its P(known) reaches the threshold.
- ``round_robin``: cycles through the undeclared skills; declares a skill after ``streak`` (3) consecutive
  correct answers on it (the common "N in a row" rule).
- ``random``: a uniformly random undeclared skill, the same streak rule.
- ``oracle_type``: knows the true type's parameters: exact BKT with them, the gain rule and threshold of ours.

The contract (``TutoringSetup``, the states, the ``TutoringPolicy`` base class and the registry) is in
``warmstart.policies.tutoring_base``; importing it from here works too.
"""

from __future__ import annotations

import numpy as np

from warmstart._persist import FormatError
from warmstart.families.learner.belief import LearnerBeliefBatch, PersonalGrid
from warmstart.families.learner.population import LearnerPopulation, odds_scale
from warmstart.policies.tutoring_base import (
    _TUTORS,
    STATE_HEADER,
    BeliefState,
    StreakState,
    TutoringPolicy,
    TutoringSetup,
    TutoringState,
    TutoringStateFormatError,
    _example_setup,  # noqa: F401  (the examples below use it)
    register_tutoring_policy,
)

__all__ = ["BKTMasteryPolicy", "BeliefState", "OracleTypePolicy", "OursPolicy", "RandomPolicy", "RoundRobinPolicy",
           "StreakState", "TutoringPolicy", "TutoringSetup", "TutoringState", "TutoringStateFormatError",
           "make_tutoring_policy", "register_tutoring_policy", "tutoring_policy_names"]


def tutoring_policy_names() -> tuple[str, ...]:
    """The registered tutoring policies' names, in the order they registered.

    >>> tutoring_policy_names()
    ('ours', 'oracle_type', 'bkt_mastery', 'round_robin', 'random')
    """
    return _TUTORS.names()


def make_tutoring_policy(name: str, setup: TutoringSetup, *, seed: int = 0) -> TutoringPolicy:
    """Build the tutoring policy registered as ``name``.

    Examples
    --------
    >>> full = lambda v: np.full((1, 2), v)
    >>> bkt = LearnerPopulation(np.ones(1), L0=full(0.3), T=full(0.2), F=full(0.0), G=full(0.2), S=full(0.1))
    >>> policy = make_tutoring_policy("bkt_mastery", TutoringSetup(population=bkt, single_type=bkt))
    >>> state = policy.new_student()
    >>> policy.choose(state)
    0
    >>> for _ in range(3):
    ...     policy.observe(state, 0, 1)
    >>> policy.mastered(state).tolist(), policy.choose(state)
    ([True, False], 1)
    """
    return _TUTORS.get(name)(setup, seed=seed)


# ---------------------------------------------------------------------------------------------- belief policies
def _component_learn(population: LearnerPopulation, grid: PersonalGrid | None) -> np.ndarray:
    """Learn rate of every belief component ``(n_skills, J)``, in ``LearnerBeliefBatch``'s component order."""
    if grid is None:
        return np.ascontiguousarray(population.T.T)
    lm, _ = grid.multipliers()
    T = odds_scale(np.repeat(population.T, lm.size, axis=0), np.tile(lm, population.n_types)[:, None])
    return np.ascontiguousarray(T.T)


class _BeliefPolicy(TutoringPolicy):
    """Shared by the belief policies: declare every skill whose posterior P(known) reaches the threshold."""

    def _belief(self, n: int, true_types: np.ndarray | None) -> LearnerBeliefBatch:
        raise NotImplementedError

    def _new(self, n: int, true_types: np.ndarray | None) -> BeliefState:
        belief = self._belief(n, true_types)
        declared = belief.p_known() >= self.setup.threshold
        return BeliefState(declared, np.zeros(n, dtype=np.int64), belief)

    def _observe(self, state: TutoringState, rows: np.ndarray, skills: np.ndarray, correct: np.ndarray) -> None:
        assert isinstance(state, BeliefState)
        state.belief.observe(rows, skills, correct)
        state.declared[rows] |= state.belief.p_known(rows) >= self.setup.threshold

    def _own_bytes(self, state: TutoringState) -> bytes:
        assert isinstance(state, BeliefState)
        if self.needs_truth:
            raise NotImplementedError(f"tutoring policy {self.name!r} reads ground truth: its state is not stored")
        return state.belief.student_bytes(0)

    def _from_own_bytes(self, data: bytes, declared: np.ndarray) -> TutoringState:
        if self.needs_truth:
            raise NotImplementedError(f"tutoring policy {self.name!r} reads ground truth: its state is not stored")
        template = self._belief(1, None)
        try:
            belief = LearnerBeliefBatch.from_bytes(data, template.population)
        except FormatError as exc:
            raise STATE_HEADER.fail(str(exc)) from exc
        if belief.grid != template.grid:
            raise STATE_HEADER.fail(f"made with another personal grid (expected {template.grid}, got {belief.grid})")
        return BeliefState(declared, np.zeros(1, dtype=np.int64), belief)


class _GainPolicy(_BeliefPolicy):
    """Practise the undeclared skill with the largest expected learning gain under the belief."""

    def _learn(self) -> np.ndarray:
        raise NotImplementedError

    def _choose(self, state: TutoringState, rows: np.ndarray) -> np.ndarray:
        assert isinstance(state, BeliefState)
        b = state.belief
        post = b.component_probs(rows)  # (n, J)
        gain = np.einsum("nj,nsj,sj->ns", post, 1.0 - b.known[rows], self._learn())
        gain[state.declared[rows]] = -np.inf
        return np.argmax(gain, axis=1)


@register_tutoring_policy("ours")
class OursPolicy(_GainPolicy):
    """Learner-type belief (types x personal grid); expected-learning-gain choice; P(known) threshold.

    >>> setup = _example_setup()     # two learner types (fast, slow) and one-type BKT, 3 skills
    >>> policy = make_tutoring_policy("ours", setup, seed=0)
    >>> state = policy.new_student()
    >>> for _ in range(6):
    ...     skill = policy.choose(state)
    ...     policy.observe(state, skill, 1)
    ...     declared = policy.mastered(state).astype(int).tolist()
    ...     print(skill, declared, state.belief.p_known().round(2).tolist())
    0 [0, 0, 0] [[0.72, 0.37, 0.37]]
    1 [0, 0, 0] [[0.79, 0.79, 0.42]]
    2 [0, 0, 0] [[0.84, 0.84, 0.84]]
    0 [1, 0, 0] [[0.97, 0.86, 0.86]]
    1 [1, 1, 0] [[0.98, 0.98, 0.87]]
    2 [1, 1, 1] [[0.98, 0.98, 0.98]]

    Right answers on one skill raise P(known) on the others too: they make the fast type more likely.
    """

    def __init__(self, setup: TutoringSetup, *, seed: int = 0) -> None:
        super().__init__(setup, seed=seed)
        self._T = _component_learn(setup.population, setup.grid)

    def _learn(self) -> np.ndarray:
        return self._T

    def _belief(self, n: int, true_types: np.ndarray | None) -> LearnerBeliefBatch:
        return LearnerBeliefBatch.fresh(self.setup.population, n, self.setup.grid)


@register_tutoring_policy("oracle_type")
class OracleTypePolicy(_GainPolicy):
    """Exact BKT with the student's true type's parameters; the gain rule and threshold of ``ours``.

    >>> setup = _example_setup()     # two learner types (fast, slow) and one-type BKT, 3 skills
    >>> policy = make_tutoring_policy("oracle_type", setup)
    >>> fast, slow = policy.new_student(true_type=0), policy.new_student(true_type=1)
    >>> fast.belief.p_known().tolist(), slow.belief.p_known().tolist()   # each type's own L0
    ([[0.5, 0.5, 0.5]], [[0.1, 0.1, 0.1]])
    >>> policy.new_student()
    Traceback (most recent call last):
    ...
    ValueError: true_types: policy 'oracle_type' reads the students' true types (ground truth); expected ...
    """

    needs_truth = True

    def __init__(self, setup: TutoringSetup, *, seed: int = 0) -> None:
        super().__init__(setup, seed=seed)
        self._T = _component_learn(setup.population, None)

    def _learn(self) -> np.ndarray:
        return self._T

    def _belief(self, n: int, true_types: np.ndarray | None) -> LearnerBeliefBatch:
        assert true_types is not None
        belief = LearnerBeliefBatch.fresh(self.setup.population, n, None)
        # certain of the type: the other types start with zero probability, so every update is plain BKT
        # with the true type's parameters
        belief.log_evidence[:] = np.where(np.arange(self.setup.population.n_types) == true_types[:, None],
                                          0.0, -np.inf)
        return belief


@register_tutoring_policy("bkt_mastery")
class BKTMasteryPolicy(_BeliefPolicy):
    """Standard BKT mastery learning (one type): skills in order, each until P(known) >= threshold.

    >>> setup = _example_setup()     # two learner types (fast, slow) and one-type BKT, 3 skills
    >>> policy = make_tutoring_policy("bkt_mastery", setup)
    >>> state = policy.new_student()
    >>> for _ in range(3):
    ...     policy.observe(state, policy.choose(state), 1)
    >>> policy.mastered(state).tolist(), policy.choose(state)    # skill 0 reached 0.95: on to skill 1
    ([True, False, False], 1)
    """

    def _belief(self, n: int, true_types: np.ndarray | None) -> LearnerBeliefBatch:
        return LearnerBeliefBatch.fresh(self.setup.single_type, n, None)

    def _choose(self, state: TutoringState, rows: np.ndarray) -> np.ndarray:
        return np.argmax(~state.declared[rows], axis=1)  # first skill not yet declared


# ---------------------------------------------------------------------------------------------- N in a row
class _StreakPolicy(TutoringPolicy):
    """Declare a skill after ``setup.streak`` consecutive correct answers on it."""

    def _new(self, n: int, true_types: np.ndarray | None) -> StreakState:
        S = self.n_skills
        return StreakState(np.zeros((n, S), dtype=bool), np.zeros(n, dtype=np.int64),
                           np.zeros((n, S), dtype=np.int64), np.full(n, -1, dtype=np.int64))

    def _observe(self, state: TutoringState, rows: np.ndarray, skills: np.ndarray, correct: np.ndarray) -> None:
        assert isinstance(state, StreakState)
        run = np.where(correct, state.streak[rows, skills] + 1, 0)
        state.streak[rows, skills] = run
        state.declared[rows, skills] = run >= self.setup.streak
        state.last[rows] = skills

    def _own_bytes(self, state: TutoringState) -> bytes:
        assert isinstance(state, StreakState)
        return state.streak[0].astype("<i8").tobytes() + state.last[:1].astype("<i8").tobytes()

    def _from_own_bytes(self, data: bytes, declared: np.ndarray) -> TutoringState:
        S = self.n_skills
        if len(data) != 8 * (S + 1):
            raise STATE_HEADER.fail(f"expected {8 * (S + 1)} bytes of streaks and last skill, got {len(data)}")
        values = np.frombuffer(data, dtype="<i8").astype(np.int64)
        streak, last = values[:S], int(values[S])
        if np.any(streak < 0) or not -1 <= last < S:
            raise STATE_HEADER.fail(f"expected non-negative streaks and a last skill in [-1, {S - 1}], got "
                                    f"{streak.tolist()} and {last}")
        return StreakState(declared, np.zeros(1, dtype=np.int64), streak[None, :].copy(), np.array([last]))


@register_tutoring_policy("round_robin")
class RoundRobinPolicy(_StreakPolicy):
    """The next undeclared skill after the last one practised, cyclically.

    >>> setup = _example_setup()     # two learner types (fast, slow) and one-type BKT, 3 skills
    >>> policy = make_tutoring_policy("round_robin", setup)
    >>> state = policy.new_student()
    >>> for _ in range(3):
    ...     policy.observe(state, 0, 1)                      # three right in a row on skill 0
    >>> policy.mastered(state).tolist(), policy.choose(state)
    ([True, False, False], 1)
    """

    def _choose(self, state: TutoringState, rows: np.ndarray) -> np.ndarray:
        assert isinstance(state, StreakState)
        S = self.n_skills
        # distance of each skill after the last one (1 .. S); declared skills pushed past every other
        dist = (np.arange(S) - state.last[rows, None] - 1) % S
        dist = np.where(state.declared[rows], S, dist)
        return np.argmin(dist, axis=1)


@register_tutoring_policy("random")
class RandomPolicy(_StreakPolicy):
    """A uniformly random undeclared skill (from the policy's own generator).

    >>> setup = _example_setup()     # two learner types (fast, slow) and one-type BKT, 3 skills
    >>> policy = make_tutoring_policy("random", setup, seed=0)
    >>> state = policy.new_student()
    >>> [policy.choose(state) for _ in range(6)]
    [0, 2, 1, 0, 0, 1]
    """

    def _choose(self, state: TutoringState, rows: np.ndarray) -> np.ndarray:
        u = self.rng.random((rows.size, self.n_skills))
        u[state.declared[rows]] = -1.0
        return np.argmax(u, axis=1)
