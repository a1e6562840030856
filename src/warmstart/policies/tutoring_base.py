"""The tutoring contract: what a tutoring policy is built from, the states it keeps, and the base class.

``TutoringSetup`` is what every tutoring policy may use (the learner types, the single-type BKT fit, the
mastery threshold, the "N in a row" streak, the personal grid); ``TutoringState`` and its two kinds
(``BeliefState``, ``StreakState``) are many students' states as arrays; ``TutoringPolicy`` checks every input at
the edges, then calls the policy's ``_new`` / ``_choose`` / ``_observe`` on trusted arrays, and writes and reads
one student's state as versioned bytes (``STATE_HEADER``). The policies register by name with
``register_tutoring_policy``; they, ``make_tutoring_policy`` and ``tutoring_policy_names`` are in
``warmstart.policies.tutoring``, which exports these names too.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from warmstart._persist import ByteHeader, FormatError
from warmstart._registry import Registry
from warmstart.families.learner.belief import DEFAULT_GRID, LearnerBeliefBatch, PersonalGrid
from warmstart.families.learner.population import LearnerPopulation


class TutoringStateFormatError(FormatError):
    """A tutoring state's bytes that cannot be read (damaged, unknown version, another policy or population).

    >>> import numpy as np
    >>> from warmstart.families.learner.population import LearnerPopulation
    >>> from warmstart.policies.tutoring import make_tutoring_policy
    >>> setup = _example_setup()     # two learner types (fast, slow) and one-type BKT, 3 skills
    >>> ours, round_robin = make_tutoring_policy("ours", setup), make_tutoring_policy("round_robin", setup)
    >>> round_robin.state_from_bytes(ours.state_to_bytes(ours.new_student()))
    Traceback (most recent call last):
    ...
    warmstart.policies.tutoring_base.TutoringStateFormatError: tutoring state bytes: made by another policy ...
    >>> ours.state_from_bytes(b"junk")
    Traceback (most recent call last):
    ...
    warmstart.policies.tutoring_base.TutoringStateFormatError: tutoring state bytes: expected at least 32 bytes ...
    """


#: magic, version, then the policy's name (16 bytes), n_skills (u32), the student's steps (u64); then the declared
#: skills (u8 each) and the policy's own part (a learner belief's bytes, or the streaks and the last skill)
STATE_HEADER = ByteHeader(b"WTS", 1, "16sIQ", TutoringStateFormatError, "tutoring state bytes",
                          "warmstart tutoring state")


@dataclass(frozen=True, kw_only=True)
class TutoringSetup:
    """What tutoring policies may use: ``population`` (learner types, for ``ours`` and ``oracle_type``),
    ``single_type`` (a K = 1 fit on the same data, for ``bkt_mastery``), the P(known) ``threshold`` for
    declaring mastery, the ``streak`` of the N-in-a-row rule and ``ours``' personal ``grid`` (None: off).

    >>> setup = _example_setup()     # two learner types (fast, slow) and one-type BKT, 3 skills
    >>> setup.n_skills, setup.threshold, setup.streak
    (3, 0.95, 3)
    >>> TutoringSetup(population=setup.population, single_type=setup.single_type, threshold=1.2)
    Traceback (most recent call last):
    ...
    ValueError: threshold: expected a P(known) in (0.5, 1), got 1.2
    >>> TutoringSetup(population=setup.population, single_type=setup.population)
    Traceback (most recent call last):
    ...
    ValueError: single_type: expected a population of one type (K = 1), got 2 types
    """

    population: LearnerPopulation
    single_type: LearnerPopulation
    threshold: float = 0.95
    streak: int = 3
    grid: PersonalGrid | None = DEFAULT_GRID

    def __post_init__(self) -> None:
        for name in ("population", "single_type"):
            if not isinstance(getattr(self, name), LearnerPopulation):
                got = type(getattr(self, name)).__name__
                raise ValueError(f"{name}: expected a LearnerPopulation, got {got}")  # noqa: TRY004
        if self.single_type.n_types != 1:
            raise ValueError(f"single_type: expected a population of one type (K = 1), got "
                             f"{self.single_type.n_types} types")
        if self.single_type.n_skills != self.population.n_skills:
            raise ValueError(f"single_type: expected {self.population.n_skills} skills like population, got "
                             f"{self.single_type.n_skills}")
        if not 0.5 < self.threshold < 1:
            raise ValueError(f"threshold: expected a P(known) in (0.5, 1), got {self.threshold}")
        if isinstance(self.streak, bool) or not isinstance(self.streak, (int, np.integer)) or self.streak < 1:
            raise ValueError(f"streak: expected a positive integer, got {self.streak!r}")
        if self.grid is not None and not isinstance(self.grid, PersonalGrid):
            raise ValueError(f"grid: expected a PersonalGrid or None, got {type(self.grid).__name__}")

    @property
    def n_skills(self) -> int:
        return self.population.n_skills


# ---------------------------------------------------------------------------------------------- states
@dataclass
class TutoringState:
    """Students served by one policy: ``declared (n, n_skills)`` skills declared mastered, ``n_steps (n,)``.

    >>> import numpy as np
    >>> from warmstart.families.learner.population import LearnerPopulation
    >>> from warmstart.policies.tutoring import make_tutoring_policy
    >>> setup = _example_setup()     # two learner types (fast, slow) and one-type BKT, 3 skills
    >>> policy = make_tutoring_policy("round_robin", setup)
    >>> state = policy.new_batch(2)
    >>> policy.observe_many(state, np.array([1]), np.array([0]), np.array([1]))   # student 1 answers skill 0
    >>> state.n_students, state.n_steps.tolist(), state.declared.tolist()
    (2, [0, 1], [[False, False, False], [False, False, False]])
    """

    declared: np.ndarray
    n_steps: np.ndarray

    @property
    def n_students(self) -> int:
        return int(self.declared.shape[0])


@dataclass
class BeliefState(TutoringState):
    """Plus a learner belief per student (``ours``, ``bkt_mastery``, ``oracle_type``).

    >>> import numpy as np
    >>> from warmstart.families.learner.population import LearnerPopulation
    >>> from warmstart.policies.tutoring import make_tutoring_policy
    >>> setup = _example_setup()     # two learner types (fast, slow) and one-type BKT, 3 skills
    >>> policy = make_tutoring_policy("bkt_mastery", setup)
    >>> state = policy.new_student()
    >>> policy.observe(state, 0, 1)
    >>> type(state).__name__, state.belief.p_known().round(3).tolist()   # P(known) per skill
    ('BeliefState', [[0.727, 0.3, 0.3]])
    """

    belief: LearnerBeliefBatch


@dataclass
class StreakState(TutoringState):
    """Plus the current run of correct answers per skill and the last skill practised (N-in-a-row policies).

    >>> import numpy as np
    >>> from warmstart.families.learner.population import LearnerPopulation
    >>> from warmstart.policies.tutoring import make_tutoring_policy
    >>> setup = _example_setup()     # two learner types (fast, slow) and one-type BKT, 3 skills
    >>> policy = make_tutoring_policy("round_robin", setup)
    >>> state = policy.new_student()
    >>> for skill, correct in [(0, 1), (1, 1), (2, 0), (0, 1)]:
    ...     policy.observe(state, skill, correct)
    >>> state.streak.tolist(), state.last.tolist()        # skill 0: two right in a row; skill 2's run broken
    ([[2, 1, 0]], [0])
    """

    streak: np.ndarray
    last: np.ndarray


# ---------------------------------------------------------------------------------------------- base
class TutoringPolicy(ABC):
    """Base class: validates at the edges, then calls ``_new`` / ``_choose`` / ``_observe`` on trusted arrays.

    A tour on ``ours`` (every tutoring policy has these methods), with two learner types, fast and slow:

    >>> import numpy as np
    >>> from warmstart.families.learner.population import LearnerPopulation
    >>> from warmstart.policies.tutoring import make_tutoring_policy
    >>> setup = _example_setup()     # two learner types (fast, slow) and one-type BKT, 3 skills
    >>> policy = make_tutoring_policy("ours", setup, seed=0)

    One student: choose a skill, observe the answer; skills are declared mastered on the way.

    >>> state = policy.new_student()
    >>> for _ in range(4):
    ...     skill = policy.choose(state)
    ...     policy.observe(state, skill, 1)                     # every answer right
    >>> policy.mastered(state).tolist(), policy.choose(state)   # skill 0 declared; never practised again
    ([True, False, False], 1)
    >>> policy.observe(state, 0, 1)
    Traceback (most recent call last):
    ...
    ValueError: skills: expected skills not yet declared mastered, got skill 0 for student 0, which is ...
    >>> back = policy.state_from_bytes(policy.state_to_bytes(state))   # what a store keeps
    >>> policy.mastered(back).tolist(), back.n_steps.tolist()
    ([True, False, False], [4])

    Many students at once: the batched verbs are the real implementation.

    >>> batch = policy.new_batch(3)
    >>> policy.choose_many(batch).tolist()
    [0, 0, 0]
    >>> policy.observe_many(batch, np.array([0, 2]), np.array([0, 0]), np.array([1, 0]))  # students 0 and 2
    >>> batch.n_steps.tolist(), policy.mastered_many(batch).any(axis=1).tolist()
    ([1, 0, 1], [False, False, False])
    >>> policy.choose_many(batch, np.array([0, 2])).tolist()   # the right answer moved student 0 on
    [1, 0]
    >>> policy.choose(batch)
    Traceback (most recent call last):
    ...
    ValueError: state: expected the state of one student (from new_student), got 3 students
    >>> policy.clone(seed=5).seed, policy.clone().name
    (5, 'ours')
    """

    name: ClassVar[str] = ""
    needs_truth: ClassVar[bool] = False

    def __init__(self, setup: TutoringSetup, *, seed: int = 0) -> None:
        if not isinstance(setup, TutoringSetup):
            raise ValueError(f"setup: expected a TutoringSetup, got {type(setup).__name__}")  # noqa: TRY004
        self.setup = setup
        self.seed = seed
        self.rng = np.random.default_rng(seed)

    @property
    def n_skills(self) -> int:
        return self.setup.n_skills

    def clone(self, *, seed: int | None = None) -> TutoringPolicy:
        """A new policy with the same setup and ``seed`` (or the same seed), its random stream from the start."""
        return type(self)(self.setup, seed=self.seed if seed is None else int(seed))

    # ------------------------------------------------------------------ to implement
    @abstractmethod
    def _new(self, n: int, true_types: np.ndarray | None) -> TutoringState: ...

    @abstractmethod
    def _choose(self, state: TutoringState, rows: np.ndarray) -> np.ndarray: ...

    @abstractmethod
    def _observe(self, state: TutoringState, rows: np.ndarray, skills: np.ndarray, correct: np.ndarray) -> None:
        """Learn from the answers and set ``state.declared`` for ``rows``."""

    # ------------------------------------------------------------------ batched
    def new_batch(self, n: int, *, true_types: object | None = None) -> TutoringState:
        """``n`` new students. ``true_types`` (their true type indices) is read by oracles only."""
        if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"n: expected a positive integer number of students, got {n!r}")
        types = None
        if self.needs_truth:
            if true_types is None:
                raise ValueError(f"true_types: policy {self.name!r} reads the students' true types (ground "
                                 "truth); expected one type index per student, got none")
            types = np.asarray(true_types)
            K = self.setup.population.n_types
            if types.shape != (n,) or types.dtype.kind not in "iu" or types.min() < 0 or types.max() >= K:
                raise ValueError(f"true_types: expected {n} type indices in [0, {K - 1}], got {true_types!r}")
            types = types.astype(np.int64)
        return self._new(int(n), types)

    def _rows(self, state: TutoringState, rows: object | None) -> np.ndarray:
        if not isinstance(state, TutoringState):
            raise ValueError("state: expected a state made by this policy's new_batch / new_student, "  # noqa: TRY004
                             f"got {type(state).__name__}")
        if rows is None:
            return np.arange(state.n_students)
        r = np.asarray(rows)
        if r.ndim != 1 or r.dtype.kind not in "iu":
            raise ValueError(f"rows: expected a 1-d array of integer student indices, got {r.dtype} of shape "
                             f"{r.shape}")
        if r.size and (r.min() < 0 or r.max() >= state.n_students):
            bad = int(r[(r < 0) | (r >= state.n_students)][0])
            raise ValueError(f"rows: expected indices in [0, {state.n_students - 1}], got {bad}")
        if np.unique(r).size != r.size:
            raise ValueError("rows: expected distinct students, got repeated indices")
        return r.astype(np.int64)

    def choose_many(self, state: TutoringState, rows: object | None = None) -> np.ndarray:
        """The skill each of ``rows`` (default: all) practises next; never a declared skill."""
        r = self._rows(state, rows)
        done = state.declared[r].all(axis=1)
        if np.any(done):
            raise ValueError(f"rows: student {int(r[done][0])} has every skill declared mastered (the episode is "
                             "over); expected students with a skill left")
        return self._choose(state, r)

    def observe_many(self, state: TutoringState, rows: object, skills: object, correct: object) -> None:
        """Learn from one answer of each of ``rows`` on ``skills`` (``correct`` 0/1), then update declarations."""
        r = self._rows(state, rows)
        sk = np.asarray(skills)
        if sk.shape != r.shape or sk.dtype.kind not in "iu":
            raise ValueError(f"skills: expected {r.size} integer skill indices, got {np.asarray(skills)!r}")
        if sk.size and (sk.min() < 0 or sk.max() >= self.n_skills):
            bad = int(sk[(sk < 0) | (sk >= self.n_skills)][0])
            raise ValueError(f"skills: expected skill indices in [0, {self.n_skills - 1}], got {bad} (unknown skill)")
        sk = sk.astype(np.int64)
        if np.any(state.declared[r, sk]):
            i = int(np.flatnonzero(state.declared[r, sk])[0])
            raise ValueError(f"skills: expected skills not yet declared mastered, got skill {int(sk[i])} for "
                             f"student {int(r[i])}, which is declared (declared skills are not practised)")
        co = np.asarray(correct)
        if co.shape != r.shape or co.dtype.kind not in "biuf" or not np.all((co == 0) | (co == 1)):
            raise ValueError(f"correct: expected {r.size} values, each 0 or 1, got {np.asarray(correct)!r}")
        self._observe(state, r, sk, co.astype(bool))
        state.n_steps[r] += 1

    @staticmethod
    def mastered_many(state: TutoringState) -> np.ndarray:
        """Skills declared mastered, ``(n, n_skills)`` (a copy)."""
        return state.declared.copy()

    # ------------------------------------------------------------------ one student
    def new_student(self, *, true_type: int | None = None) -> TutoringState:
        """A new student (a batch of one); ``true_type`` is read by oracles only."""
        return self.new_batch(1, true_types=None if true_type is None else np.array([true_type]))

    @staticmethod
    def _one(state: TutoringState) -> None:
        if not isinstance(state, TutoringState) or state.n_students != 1:
            raise ValueError("state: expected the state of one student (from new_student), got "
                             f"{getattr(state, 'n_students', type(state).__name__)} students")

    def choose(self, state: TutoringState) -> int:
        self._one(state)
        return int(self.choose_many(state, np.zeros(1, dtype=np.int64))[0])

    def observe(self, state: TutoringState, skill: int, correct: int | bool) -> None:
        self._one(state)
        if isinstance(skill, (bool, np.bool_)) or not isinstance(skill, (int, np.integer)):
            raise ValueError(f"skill: expected an integer skill index, got {skill!r}")  # noqa: TRY004
        if isinstance(correct, (bool, np.bool_)):
            correct = int(correct)
        if not isinstance(correct, (int, np.integer)):
            raise ValueError(f"correct: expected 0 or 1, got {correct!r}")  # noqa: TRY004
        self.observe_many(state, np.zeros(1, dtype=np.int64), np.array([skill]), np.array([correct]))

    def mastered(self, state: TutoringState) -> np.ndarray:
        self._one(state)
        return state.declared[0].copy()

    # ------------------------------------------------------------------ bytes
    def state_to_bytes(self, state: TutoringState) -> bytes:
        """One student's state as versioned bytes (what a store keeps); read back with ``state_from_bytes`` on a
        policy of the same name built with the same setup. Policies that read ground truth raise
        ``NotImplementedError``."""
        self._one(state)
        head = STATE_HEADER.pack(self.name.encode()[:16], self.n_skills, int(state.n_steps[0]))
        return head + state.declared[0].astype("<u1").tobytes() + self._own_bytes(state)

    def state_from_bytes(self, data: bytes) -> TutoringState:
        """The state ``state_to_bytes`` wrote; a ``TutoringStateFormatError`` for bytes of another format,
        version, policy or population."""
        name, n_skills, n_steps = STATE_HEADER.unpack(data)
        made_by = name.rstrip(b"\0").decode(errors="replace")
        if made_by != self.name or n_skills != self.n_skills:
            raise STATE_HEADER.fail(f"made by another policy (expected {self.name!r} with {self.n_skills} skills, "
                                    f"got {made_by!r} with {n_skills})")
        at = STATE_HEADER.size + n_skills
        if len(data) < at:
            raise STATE_HEADER.fail(f"expected at least {at} bytes for {n_skills} skills, got {len(data)}")
        declared = np.frombuffer(data, dtype="<u1", count=n_skills, offset=STATE_HEADER.size)
        if np.any(declared > 1):
            raise STATE_HEADER.fail("declared skills: expected 0 or 1 per skill")
        state = self._from_own_bytes(data[at:], declared.astype(bool)[None, :].copy())
        state.n_steps[0] = n_steps
        return state

    def _own_bytes(self, state: TutoringState) -> bytes:
        raise NotImplementedError(f"tutoring policy {self.name!r}: its students' state cannot be stored as bytes")

    def _from_own_bytes(self, data: bytes, declared: np.ndarray) -> TutoringState:
        raise NotImplementedError(f"tutoring policy {self.name!r}: its students' state cannot be stored as bytes")


#: the tutoring policies by name (``make_tutoring_policy``, in warmstart.policies.tutoring)
_TUTORS: Registry[TutoringPolicy] = Registry("tutoring policy")
register_tutoring_policy = _TUTORS.register


def _example_setup() -> TutoringSetup:
    """The examples' setup: two learner types over 3 skills (fast: P(learn) 0.4, slow: 0.05) and the one-type
    (standard BKT) population."""
    def per_type(*v: float) -> np.ndarray:  # type x 3 skills
        return np.repeat(np.array(v, dtype=float)[:, None], 3, axis=1)

    types = LearnerPopulation(np.array([0.5, 0.5]), L0=per_type(0.5, 0.1), T=per_type(0.4, 0.05),
                              F=per_type(0, 0), G=per_type(0.2, 0.2), S=per_type(0.1, 0.1))
    single = LearnerPopulation(np.ones(1), L0=per_type(0.3), T=per_type(0.2), F=per_type(0),
                               G=per_type(0.2), S=per_type(0.1))
    return TutoringSetup(population=types, single_type=single)
