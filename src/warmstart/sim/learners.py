"""Simulated students from a population of learner types: who practises which skill, whether they answer
right, and the hidden knowledge behind it (for tests, benchmarks and the tutoring simulator)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from warmstart.data.kt import KTData
from warmstart.families.learner.model import SequenceLayout, check_responses
from warmstart.families.learner.population import LearnerPopulation, odds_scale


@dataclass(frozen=True, eq=False)
class LearnerLog(KTData):
    """A simulated response log: a ``KTData`` record (the engine reads it as it reads a loaded one; students
    ``0 .. n - 1``, their ids the same numbers, items unknown) with its ground truth for evaluation only:
    ``types (n_students,)`` and ``known (n_responses,)``, the hidden state at each response.

    >>> import numpy as np
    >>> pop = LearnerPopulation(np.array([0.8, 0.2]), L0=np.full((2, 2), 0.1),         # 2 types, 2 skills:
    ...                         T=np.array([[0.4, 0.4], [0.05, 0.05]]), F=np.zeros((2, 2)),  # fast and slow
    ...                         G=np.full((2, 2), 0.2), S=np.full((2, 2), 0.1), skill_names=("add", "sub"))
    >>> log = simulate_learners(pop, n_students=4, lengths=5, rng=0)
    >>> log.n_students, log.student.shape, log.types.tolist(), int(log.known.sum())  # 6 responses known
    (4, (20,), [0, 0, 0, 0], 6)
    """

    types: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    known: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "types", np.asarray(self.types, dtype=np.int64))
        object.__setattr__(self, "known", np.asarray(self.known, dtype=bool))
        if self.types.shape != (self.n_students,):
            raise ValueError(f"types: expected one type per student, shape ({self.n_students},), got shape "
                             f"{self.types.shape}")
        if self.known.shape != (self.n_responses,):
            raise ValueError(f"known: expected one hidden state per response, shape ({self.n_responses},), got "
                             f"shape {self.known.shape}")


def simulate_responses(
    population: LearnerPopulation,
    types: np.ndarray,
    student: np.ndarray,
    skill: np.ndarray,
    rng: np.random.Generator | int | None = None,
    *,
    learn_scale: np.ndarray | None = None,
    slip_scale: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Simulate correctness for a given schedule (``student`` in ``[0, len(types))``, sorted, ``skill`` per row).

    Student ``i`` follows type ``types[i]``; optional per-student ``learn_scale`` / ``slip_scale`` multiply the
    odds of their learn and slip rates (personal deviations from the type). Returns ``(correct int8, known
    bool)``, ``known`` being the hidden state at each response.

    >>> import numpy as np
    >>> pop = LearnerPopulation(np.array([0.8, 0.2]), L0=np.full((2, 2), 0.1),         # 2 types, 2 skills:
    ...                         T=np.array([[0.4, 0.4], [0.05, 0.05]]), F=np.zeros((2, 2)),  # fast and slow
    ...                         G=np.full((2, 2), 0.2), S=np.full((2, 2), 0.1), skill_names=("add", "sub"))
    >>> student, skill = np.array([0, 0, 0, 1, 1, 1]), np.array([0, 0, 0, 1, 1, 1])
    >>> correct, known = simulate_responses(pop, np.array([0, 1]), student, skill, rng=0)
    >>> correct.tolist(), known.tolist()                      # right by guessing (G = 0.2): nothing known yet
    ([1, 0, 0, 1, 0, 1], [False, False, False, False, False, False])
    """
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    types = np.asarray(types, dtype=np.int64)
    st, sk, _ = check_responses(student, skill, np.zeros(np.shape(skill), dtype=np.int8), population.n_skills)
    n_students = int(types.shape[0])
    if st.size and (st.min() < 0 or st.max() >= n_students):
        raise ValueError(f"student: expected indices in [0, {n_students - 1}] (one per entry of types), "
                         f"got {st.min()}..{st.max()}")
    if types.size and (types.min() < 0 or types.max() >= population.n_types):
        raise ValueError(f"types: expected type indices in [0, {population.n_types - 1}], got "
                         f"{types.min()}..{types.max()}")
    if st.size == 0:
        return np.zeros(0, dtype=np.int8), np.zeros(0, dtype=bool)
    layout = SequenceLayout.build(st, sk, np.zeros(st.size, dtype=np.int8), n_students, population.n_skills)
    ty, s = types[layout.seq_student], layout.seq_skill
    L0, T, F, G, S = (x[ty, s] for x in population.tables())
    if learn_scale is not None:
        T = odds_scale(T, np.asarray(learn_scale, dtype=float)[layout.seq_student])
    if slip_scale is not None:
        S = odds_scale(S, np.asarray(slip_scale, dtype=float)[layout.seq_student])
    known = gen.random(layout.n_sequences) < L0
    b = layout.bounds
    correct_tm = np.empty(layout.n_responses, dtype=np.int8)
    known_tm = np.empty(layout.n_responses, dtype=bool)
    for t in range(b.shape[0] - 1):
        lo, hi = int(b[t]), int(b[t + 1])
        m = hi - lo
        state = known[:m]
        known_tm[lo:hi] = state
        p = np.where(state, 1.0 - S[:m], G[:m])
        correct_tm[lo:hi] = gen.random(m) < p
        u = gen.random(m)
        known[:m] = np.where(state, u >= F[:m], u < T[:m])
    correct = np.empty_like(correct_tm)
    correct[layout.position] = correct_tm
    known_out = np.empty_like(known_tm)
    known_out[layout.position] = known_tm
    return correct, known_out


def simulate_learners(
    population: LearnerPopulation,
    n_students: int,
    lengths: int | np.ndarray,
    rng: np.random.Generator | int | None = None,
    *,
    skills_per_student: int | None = None,
    types: np.ndarray | None = None,
    learn_scale: np.ndarray | None = None,
    slip_scale: np.ndarray | None = None,
) -> LearnerLog:
    """Simulate ``n_students`` students drawn from the population's types (or given ``types``).

    ``lengths`` is the number of responses of every student (an int) or of each (an array). Each student
    practises ``skills_per_student`` skills (default: up to 5) chosen at random; each response is on one of
    them, uniformly. Same generator state, same log.

    >>> import numpy as np
    >>> pop = LearnerPopulation(np.array([0.8, 0.2]), L0=np.full((2, 2), 0.1),         # 2 types, 2 skills:
    ...                         T=np.array([[0.4, 0.4], [0.05, 0.05]]), F=np.zeros((2, 2)),  # fast and slow
    ...                         G=np.full((2, 2), 0.2), S=np.full((2, 2), 0.1), skill_names=("add", "sub"))
    >>> log = simulate_learners(pop, n_students=4, lengths=5, rng=0)
    >>> log.student[:6].tolist(), log.skill[:6].tolist(), log.correct[:6].tolist()
    ([0, 0, 0, 0, 0, 1], [0, 1, 1, 0, 1, 1], [0, 0, 0, 0, 1, 1])
    >>> simulate_learners(pop, n_students=4, lengths=5, rng=0).correct.tolist() == log.correct.tolist()
    True
    """
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    if isinstance(n_students, (bool, np.bool_)) or not isinstance(n_students, (int, np.integer)) or n_students < 1:
        raise ValueError(f"n_students: expected a positive integer, got {n_students!r}")
    lens = np.broadcast_to(np.asarray(lengths), (n_students,)).astype(np.int64)
    if np.any(lens < 1):
        raise ValueError(f"lengths: expected at least one response per student, got {int(lens.min())}")
    n_skills = population.n_skills
    m = min(n_skills, 5) if skills_per_student is None else int(skills_per_student)
    if not 1 <= m <= n_skills:
        raise ValueError(f"skills_per_student: expected a value in [1, {n_skills}], got {skills_per_student}")
    if types is None:
        types = gen.choice(population.n_types, size=n_students, p=population.weights)
    types = np.asarray(types, dtype=np.int64)
    if types.shape != (n_students,):
        raise ValueError(f"types: expected shape ({n_students},), got {types.shape}")
    # each student's skill subset: the first m of a random permutation (argsort of uniforms, vectorised)
    subsets = np.argsort(gen.random((n_students, n_skills)), axis=1)[:, :m]
    student = np.repeat(np.arange(n_students), lens)
    skill = subsets[student, gen.integers(0, m, size=student.size)]
    correct, known = simulate_responses(population, types, student, skill, gen,
                                        learn_scale=learn_scale, slip_scale=slip_scale)
    starts = np.concatenate([[0], np.cumsum(lens)])
    return LearnerLog(student=student, skill=skill, item=np.full(student.size, -1), correct=correct,
                      student_ids=np.arange(n_students), skill_names=list(population.skill_names), starts=starts,
                      types=types, known=known)
