"""Online belief over learner types for new students, and next-response prediction.

A student's belief under a ``LearnerPopulation`` is exact: the posterior over components, a component being a
type ``k`` together with a personal multiplier pair ``(m_learn, m_slip)`` from a small ``PersonalGrid``, and,
per component and skill, the filtered P(known) before the student's next response on that skill. A response
on skill ``s`` multiplies every component's evidence by its predictive probability, conditions P(known) on it
and then applies the component's learn / forget transition. The type posterior is recomputed from the full
evidence at every response, never a hard assignment.

The multipliers scale the *odds* of the type's learn rate and slip rate, so they stay probabilities. Their prior
is a discretised log-normal centred on 1: with no history the type's own rates dominate; as a student's history
grows the evidence moves the mass to the multipliers that fit them (personal fine-tuning), still exactly.
``grid=None`` turns fine-tuning off (one component per type).

``LearnerBeliefBatch`` is the batched state of N students (arrays, no loop over students);
``predict_online`` replays a whole test log, predicting every response before it is seen, with each student's
``t``-th response of all students processed together. Both use the same kernels. The grid and the kernels are
in ``warmstart.families.learner.components``, the replay of whole logs in ``warmstart.families.learner.online``;
``PersonalGrid``, ``DEFAULT_GRID``, ``item_adjusted`` and ``predict_online`` can be imported from here too.

Bytes (version 1, ``LearnerBeliefBatch.student_bytes`` / ``from_bytes``): a little-endian header
``(b"WLB", version u8, n_skills u32, n_types u16, n_learn u8, n_slip u8, log_sd f64, population fingerprint
8 bytes, n_observed u64, n_seen u32)``, then float64 learn and slip multipliers, float64 log evidence
``(J,)``, uint32 indices of the skills seen, and float64 P(known) ``(n_seen, J)`` of those skills (the others
are at the prior ``L0``). Bytes made under another population are rejected.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from warmstart._persist import ByteHeader, FormatError
from warmstart.families.learner.components import (
    DEFAULT_GRID,
    NO_GRID,
    PersonalGrid,
    _Components,
    _p_correct,
    _posterior,
    _step,
    item_adjusted,
)
from warmstart.families.learner.fit import LearnerPopulation, _student_index, check_responses
from warmstart.families.learner.online import _replay, predict_online

# the grid, the kernels and the replay of whole logs are defined in warmstart.families.learner.components and
# .online; importing them from here works too
__all__ = ["DEFAULT_GRID", "NO_GRID", "LearnerBeliefBatch", "LearnerBeliefFormatError", "PersonalGrid",
           "item_adjusted", "predict_online"]


class LearnerBeliefFormatError(FormatError):
    """Serialised learner-belief bytes that cannot be read (damaged, unknown version, other population).

    >>> import numpy as np
    >>> pop = LearnerPopulation(np.array([0.8, 0.2]), L0=np.full((2, 2), 0.1),   # 2 types, 2 skills:
    ...     T=np.array([[0.4, 0.4], [0.05, 0.05]]), F=np.zeros((2, 2)),         # fast and slow learners
    ...     G=np.full((2, 2), 0.2), S=np.full((2, 2), 0.1), skill_names=("add", "sub"))
    >>> LearnerBeliefBatch.from_bytes(b"junk", pop)
    Traceback (most recent call last):
    ...
    warmstart.families.learner.belief.LearnerBeliefFormatError: learner belief bytes: expected at least 40 ...
    """


#: magic, version, then n_skills (u32), types (u16), grid sizes (u8, u8), grid log_sd (f64), population
#: fingerprint (8 bytes), responses observed (u64), skills seen (u32)
HEADER = ByteHeader(b"WLB", 1, "IHBBd8sQI", LearnerBeliefFormatError, "learner belief bytes",
                    "warmstart learner belief")



# ---------------------------------------------------------------------------------------------- batch
def _check_students(students: object, n: int, unique: bool) -> np.ndarray:
    arr = np.asarray(students)
    if arr.ndim != 1 or arr.dtype.kind not in "iu":
        raise ValueError(f"students: expected a 1-d array of integer student indices, got {arr.dtype} of shape "
                         f"{arr.shape}")
    if arr.size and (arr.min() < 0 or arr.max() >= n):
        bad = int(arr[(arr < 0) | (arr >= n)][0])
        raise ValueError(f"students: expected indices in [0, {n - 1}], got {bad}")
    if unique and np.unique(arr).size != arr.size:
        raise ValueError("students: expected each student at most once per observe call (responses of one "
                         "student are sequential: observe them in separate calls)")
    return arr.astype(np.int64)


@dataclass
class LearnerBeliefBatch:
    """Beliefs of ``N`` students under one learner population, as arrays.

    ``known (N, n_skills, J)`` is P(known) before the next response per skill and component, ``log_evidence
    (N, J)`` the log probability of each student's responses so far under each component, ``seen (N,
    n_skills)`` which skills a student has answered, ``n_observed (N,)`` how many responses. Components are
    ``type * grid.size + multiplier``. Memory is ``8 N n_skills J`` bytes.

    >>> import numpy as np
    >>> pop = LearnerPopulation(np.array([0.8, 0.2]), L0=np.full((2, 2), 0.1),   # 2 types, 2 skills:
    ...     T=np.array([[0.4, 0.4], [0.05, 0.05]]), F=np.zeros((2, 2)),         # fast and slow learners
    ...     G=np.full((2, 2), 0.2), S=np.full((2, 2), 0.1), skill_names=("add", "sub"))
    >>> batch = LearnerBeliefBatch.fresh(pop, 3)                  # 3 new students
    >>> for right in (0, 0, 1, 1, 1):                            # students 0 and 2 answer "add" five times
    ...     batch.observe(np.array([0, 2]), np.array([0, 0]), np.array([right, 0]))
    >>> batch.n_observed.tolist(), batch.type_probs().round(3).tolist()  # 0 learnt: the fast type
    ([5, 0, 5], [[0.941, 0.059], [0.8, 0.2], [0.438, 0.562]])
    >>> batch.p_known().round(3).tolist()                        # P(known) of "add" and "sub" per student
    [[0.991, 0.1], [0.1, 0.1], [0.215, 0.1]]
    >>> batch.predict(np.array([0, 1, 2]), np.array([0, 0, 0])).round(3).tolist()  # P(right) next on "add"
    [0.89, 0.269, 0.349]
    >>> batch.observe(np.array([1, 1]), np.array([0, 1]), np.array([1, 1]))  # one student twice in one call
    Traceback (most recent call last):
    ...
    ValueError: students: expected each student at most once per observe call (responses of one ...
    """

    population: LearnerPopulation
    grid: PersonalGrid
    known: np.ndarray
    log_evidence: np.ndarray
    seen: np.ndarray
    n_observed: np.ndarray
    _comp: _Components = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._comp = _Components.build(self.population, self.grid)

    @staticmethod
    def fresh(population: LearnerPopulation, n_students: int, grid: PersonalGrid | None = DEFAULT_GRID
              ) -> LearnerBeliefBatch:
        """``n_students`` students with no history (``grid=None``: no personal multipliers).

        >>> import numpy as np
        >>> pop = LearnerPopulation(np.array([0.8, 0.2]), L0=np.full((2, 2), 0.1),   # 2 types, 2 skills:
        ...     T=np.array([[0.4, 0.4], [0.05, 0.05]]), F=np.zeros((2, 2)),         # fast and slow learners
        ...     G=np.full((2, 2), 0.2), S=np.full((2, 2), 0.1), skill_names=("add", "sub"))
        >>> batch = LearnerBeliefBatch.fresh(pop, 2)
        >>> batch.type_probs().round(3).tolist(), batch.p_known().tolist()    # the type weights, and L0
        ([[0.8, 0.2], [0.8, 0.2]], [[0.1, 0.1], [0.1, 0.1]])
        >>> batch.known.shape, LearnerBeliefBatch.fresh(pop, 2, grid=None).known.shape  # 2 x 9 or 2 columns
        ((2, 2, 18), (2, 2, 2))
        """
        if isinstance(n_students, (bool, np.bool_)) or not isinstance(n_students, (int, np.integer)) \
                or n_students < 0:
            raise ValueError(f"n_students: expected a non-negative integer, got {n_students!r}")
        g = grid or NO_GRID
        J = population.n_types * g.size
        known = np.broadcast_to(np.repeat(population.L0, g.size, axis=0).T, (n_students, population.n_skills, J))
        return LearnerBeliefBatch(population, g, known.copy(), np.zeros((n_students, J)),
                                  np.zeros((n_students, population.n_skills), dtype=bool),
                                  np.zeros(n_students, dtype=np.int64))

    @staticmethod
    def from_log(population: LearnerPopulation, student: object, skill: object, correct: object,
                 grid: PersonalGrid | None = DEFAULT_GRID) -> tuple[np.ndarray, LearnerBeliefBatch]:
        """Beliefs after whole response logs (sorted by student, then time): returns the sorted unique student
        ids and a batch whose row ``i`` is student ``ids[i]``.

        >>> import numpy as np
        >>> pop = LearnerPopulation(np.array([0.8, 0.2]), L0=np.full((2, 2), 0.1),   # 2 types, 2 skills:
        ...     T=np.array([[0.4, 0.4], [0.05, 0.05]]), F=np.zeros((2, 2)),         # fast and slow learners
        ...     G=np.full((2, 2), 0.2), S=np.full((2, 2), 0.1), skill_names=("add", "sub"))
        >>> student, skill = [4] * 5 + [9] * 5, [0] * 10
        >>> correct = [0, 0, 1, 1, 1] + [0, 0, 0, 0, 0]
        >>> ids, batch = LearnerBeliefBatch.from_log(pop, student, skill, correct)
        >>> ids.tolist(), batch.n_observed.tolist(), batch.type_probs().round(3).tolist()
        ([4, 9], [5, 5], [[0.941, 0.059], [0.438, 0.562]])
        >>> same = LearnerBeliefBatch.fresh(pop, 2)                  # the same responses one at a time
        >>> for right in (0, 0, 1, 1, 1):
        ...     same.observe(np.array([0, 1]), np.array([0, 0]), np.array([right, 0]))
        >>> bool(np.allclose(same.known, batch.known) and np.allclose(same.log_evidence, batch.log_evidence))
        True
        """
        g = grid or NO_GRID
        st, sk, co = check_responses(student, skill, correct, population.n_skills)
        ids, sidx = _student_index(st)
        batch = LearnerBeliefBatch.fresh(population, int(ids.size), g)
        if st.size:
            _, pair_students, pair_skills, state, logev = _replay(population, batch._comp, sidx, sk, co)
            batch.known[pair_students, pair_skills] = state
            batch.seen[pair_students, pair_skills] = True
            batch.log_evidence[:] = logev
            batch.n_observed[:] = np.bincount(sidx, minlength=ids.size)
        return ids, batch

    @property
    def n_students(self) -> int:
        return int(self.log_evidence.shape[0])

    def _rows(self, students: object | None) -> np.ndarray:
        if students is None:
            return np.arange(self.n_students)
        return _check_students(students, self.n_students, unique=False)

    def component_probs(self, students: object | None = None) -> np.ndarray:
        """Posterior over components ``(n, J)``.

        >>> import numpy as np
        >>> pop = LearnerPopulation(np.array([0.8, 0.2]), L0=np.full((2, 2), 0.1),   # 2 types, 2 skills:
        ...     T=np.array([[0.4, 0.4], [0.05, 0.05]]), F=np.zeros((2, 2)),         # fast and slow learners
        ...     G=np.full((2, 2), 0.2), S=np.full((2, 2), 0.1), skill_names=("add", "sub"))
        >>> batch = LearnerBeliefBatch.fresh(pop, 2, grid=None)      # no grid: a component is a type
        >>> for _ in range(3):
        ...     batch.observe(np.array([1]), np.array([0]), np.array([0]))   # student 1: wrong three times
        >>> batch.component_probs().round(3).tolist(), batch.component_probs(np.array([1])).shape
        ([[0.8, 0.2], [0.636, 0.364]], (1, 2))
        >>> LearnerBeliefBatch.fresh(pop, 2).component_probs().shape        # the default grid: 2 types x 9
        (2, 18)
        """
        return _posterior(self.log_evidence[self._rows(students)], self._comp.log_prior)

    def type_probs(self, students: object | None = None) -> np.ndarray:
        """Posterior over types ``(n, K)`` (personal multipliers summed out).

        >>> import numpy as np
        >>> pop = LearnerPopulation(np.array([0.8, 0.2]), L0=np.full((2, 2), 0.1),   # 2 types, 2 skills:
        ...     T=np.array([[0.4, 0.4], [0.05, 0.05]]), F=np.zeros((2, 2)),         # fast and slow learners
        ...     G=np.full((2, 2), 0.2), S=np.full((2, 2), 0.1), skill_names=("add", "sub"))
        >>> batch = LearnerBeliefBatch.fresh(pop, 2)
        >>> for right in (0, 0, 0, 0):                               # student 0: wrong four times on "sub"
        ...     batch.observe(np.array([0]), np.array([1]), np.array([right]))
        >>> batch.type_probs().round(3).tolist()                    # the slow type gains on student 0
        [[0.539, 0.461], [0.8, 0.2]]
        >>> batch.type_probs(np.array([1])).round(3).tolist()       # student 1 only: still the weights
        [[0.8, 0.2]]
        """
        p = self.component_probs(students)
        return p.reshape(p.shape[0], self.population.n_types, self.grid.size).sum(-1)

    def multiplier_probs(self, students: object | None = None) -> np.ndarray:
        """Posterior over personal multipliers ``(n, len(grid.learn), len(grid.slip))`` (types summed out).

        >>> import numpy as np
        >>> pop = LearnerPopulation(np.array([0.8, 0.2]), L0=np.full((2, 2), 0.1),   # 2 types, 2 skills:
        ...     T=np.array([[0.4, 0.4], [0.05, 0.05]]), F=np.zeros((2, 2)),         # fast and slow learners
        ...     G=np.full((2, 2), 0.2), S=np.full((2, 2), 0.1), skill_names=("add", "sub"))
        >>> batch = LearnerBeliefBatch.fresh(pop, 1)
        >>> batch.multiplier_probs()[0].sum(1).round(3).tolist()    # P(learn x 0.5, x 1, x 2) at first
        [0.154, 0.692, 0.154]
        >>> for right in [0] + [1] * 9:                               # wrong once, then right nine times
        ...     batch.observe(np.array([0]), np.array([0]), np.array([right]))
        >>> m = batch.multiplier_probs()[0]
        >>> m.sum(1).round(3).tolist(), m.sum(0).round(3).tolist()   # learns faster, slips less than the type
        ([0.101, 0.689, 0.211], [0.239, 0.693, 0.068])
        """
        p = self.component_probs(students)
        p = p.reshape(p.shape[0], self.population.n_types, self.grid.size).sum(1)
        return p.reshape(p.shape[0], len(self.grid.learn), len(self.grid.slip))

    def p_known(self, students: object | None = None) -> np.ndarray:
        """Posterior P(known) of every skill ``(n, n_skills)`` before the next response.

        >>> import numpy as np
        >>> pop = LearnerPopulation(np.array([0.8, 0.2]), L0=np.full((2, 2), 0.1),   # 2 types, 2 skills:
        ...     T=np.array([[0.4, 0.4], [0.05, 0.05]]), F=np.zeros((2, 2)),         # fast and slow learners
        ...     G=np.full((2, 2), 0.2), S=np.full((2, 2), 0.1), skill_names=("add", "sub"))
        >>> batch = LearnerBeliefBatch.fresh(pop, 2, grid=None)
        >>> batch.observe(np.array([0]), np.array([1]), np.array([1]))   # student 0 right once on "sub"
        >>> batch.p_known().round(3).tolist()    # 0.09 / 0.27 = 1/3, then learning: 0.8 x 0.6 + 0.2 x 0.367
        [[0.1, 0.553], [0.1, 0.1]]
        """
        rows = self._rows(students)
        return np.einsum("nsj,nj->ns", self.known[rows], self.component_probs(rows))

    def _check_skills(self, skills: object, n: int) -> np.ndarray:
        sk = np.asarray(skills)
        if sk.ndim != 1 or sk.dtype.kind not in "iu":
            raise ValueError(f"skills: expected a 1-d array of integer skill indices, got {sk.dtype} of shape "
                             f"{sk.shape}")
        if sk.size != n:
            raise ValueError(f"skills: expected one skill per student ({n}), got {sk.size}")
        S = self.population.n_skills
        if sk.size and (sk.min() < 0 or sk.max() >= S):
            bad = int(sk[(sk < 0) | (sk >= S)][0])
            raise ValueError(f"skills: expected skill indices in [0, {S - 1}], got {bad} (unknown skill)")
        return sk.astype(np.int64)

    def _emissions(self, sk: np.ndarray, item_offset: object) -> tuple[np.ndarray, np.ndarray]:
        G, S = self._comp.G[sk], self._comp.S[sk]
        if item_offset is None:
            return G, S
        off = np.asarray(item_offset, dtype=float)
        if off.shape != sk.shape or not np.isfinite(off).all():
            raise ValueError(f"item_offset: expected {sk.size} finite numbers (one per student), got shape {off.shape}")
        return item_adjusted(G, S, off[:, None])

    def predict(self, students: object, skills: object, item_offset: object = None) -> np.ndarray:
        """P(correct) of each student's next response on the given skill: ``sum_j p(j | history) P_j(correct)``;
        ``item_offset`` (optional, one per student) is the difficulty of the item asked (``item_adjusted``).

        >>> import numpy as np
        >>> pop = LearnerPopulation(np.array([0.8, 0.2]), L0=np.full((2, 2), 0.1),   # 2 types, 2 skills:
        ...     T=np.array([[0.4, 0.4], [0.05, 0.05]]), F=np.zeros((2, 2)),         # fast and slow learners
        ...     G=np.full((2, 2), 0.2), S=np.full((2, 2), 0.1), skill_names=("add", "sub"))
        >>> batch = LearnerBeliefBatch.fresh(pop, 2, grid=None)
        >>> batch.predict(np.array([0, 1]), np.array([0, 0])).round(3).tolist()   # 0.2 + 0.1 * (0.9 - 0.2)
        [0.27, 0.27]
        >>> easier = np.array([0.0, 1.0])                               # student 1 gets an easier item
        >>> batch.predict(np.array([0, 1]), np.array([0, 0]), item_offset=easier).round(3).tolist()
        [0.27, 0.46]
        >>> batch.predict(np.array([0]), np.array([2]))                 # the population has skills 0 and 1
        Traceback (most recent call last):
        ...
        ValueError: skills: expected skill indices in [0, 1], got 2 (unknown skill)
        """
        rows = _check_students(students, self.n_students, unique=False)
        sk = self._check_skills(skills, rows.size)
        G, S = self._emissions(sk, item_offset)
        pc = _p_correct(self.known[rows, sk], G, S)
        return np.einsum("nj,nj->n", self.component_probs(rows), pc)

    def observe(self, students: object, skills: object, correct: object, item_offset: object = None) -> None:
        """Add one response to each of ``students`` (distinct indices), on an item of difficulty ``item_offset``
        when given. Bad input raises and changes nothing.

        >>> import numpy as np
        >>> pop = LearnerPopulation(np.array([0.8, 0.2]), L0=np.full((2, 2), 0.1),   # 2 types, 2 skills:
        ...     T=np.array([[0.4, 0.4], [0.05, 0.05]]), F=np.zeros((2, 2)),         # fast and slow learners
        ...     G=np.full((2, 2), 0.2), S=np.full((2, 2), 0.1), skill_names=("add", "sub"))
        >>> batch = LearnerBeliefBatch.fresh(pop, 2)
        >>> students, skills, correct = np.array([0, 1]), np.array([0, 1]), np.array([1, 0])
        >>> batch.observe(students, skills, correct)              # 0: right on "add"; 1: wrong on "sub"
        >>> batch.n_observed.tolist(), batch.seen.tolist()
        ([1, 1], [[True, False], [False, True]])
        >>> batch.observe(np.array([0]), np.array([0]), np.array([0.5]))
        Traceback (most recent call last):
        ...
        ValueError: correct: expected 1 values, each 0 or 1, got array([0.5])
        >>> batch.n_observed.tolist()                                  # unchanged
        [1, 1]
        """
        rows = _check_students(students, self.n_students, unique=True)
        sk = self._check_skills(skills, rows.size)
        co = np.asarray(correct)
        if co.shape != (rows.size,) or co.dtype.kind not in "biuf" or not np.all((co == 0) | (co == 1)):
            raise ValueError(f"correct: expected {rows.size} values, each 0 or 1, got {np.asarray(correct)!r}")
        G, S = self._emissions(sk, item_offset)
        c = self._comp
        pk, logc = _step(self.known[rows, sk], co.astype(bool)[:, None], G, S, c.T[sk], c.F[sk])
        self.known[rows, sk] = pk
        self.log_evidence[rows] += logc
        self.seen[rows, sk] = True
        self.n_observed[rows] += 1

    # ------------------------------------------------------------------ bytes
    def student_bytes(self, i: int) -> bytes:
        """Versioned bytes of student ``i``'s belief (see the module docstring for the layout).

        >>> import numpy as np
        >>> pop = LearnerPopulation(np.array([0.8, 0.2]), L0=np.full((2, 2), 0.1),   # 2 types, 2 skills:
        ...     T=np.array([[0.4, 0.4], [0.05, 0.05]]), F=np.zeros((2, 2)),         # fast and slow learners
        ...     G=np.full((2, 2), 0.2), S=np.full((2, 2), 0.1), skill_names=("add", "sub"))
        >>> batch = LearnerBeliefBatch.fresh(pop, 2)
        >>> batch.observe(np.array([1]), np.array([0]), np.array([1]))
        >>> blob = batch.student_bytes(1)                              # what a store keeps for student 1
        >>> blob[:3], len(blob)                        # header, 6 multipliers, 18 log evidences, 1 skill seen
        (b'WLB', 380)
        >>> batch.student_bytes(2)
        Traceback (most recent call last):
        ...
        ValueError: students: expected indices in [0, 1], got 2
        """
        (row,) = _check_students(np.array([i]), self.n_students, unique=True)
        seen = np.flatnonzero(self.seen[row])
        head = HEADER.pack(self.population.n_skills, self.population.n_types, len(self.grid.learn),
                           len(self.grid.slip), self.grid.log_sd, bytes.fromhex(self.population.fingerprint()),
                           int(self.n_observed[row]), seen.size)
        body = [np.asarray(self.grid.learn + self.grid.slip, dtype="<f8"),
                self.log_evidence[row].astype("<f8"), seen.astype("<u4"), self.known[row, seen].astype("<f8")]
        return head + b"".join(a.tobytes() for a in body)

    @staticmethod
    def from_bytes(data: bytes, population: LearnerPopulation) -> LearnerBeliefBatch:
        """A batch of one student from ``student_bytes`` output, under the population it was made with.

        >>> import numpy as np
        >>> pop = LearnerPopulation(np.array([0.8, 0.2]), L0=np.full((2, 2), 0.1),   # 2 types, 2 skills:
        ...     T=np.array([[0.4, 0.4], [0.05, 0.05]]), F=np.zeros((2, 2)),         # fast and slow learners
        ...     G=np.full((2, 2), 0.2), S=np.full((2, 2), 0.1), skill_names=("add", "sub"))
        >>> batch = LearnerBeliefBatch.fresh(pop, 2)
        >>> for right in (0, 1, 1):
        ...     batch.observe(np.array([1]), np.array([0]), np.array([right]))
        >>> one = LearnerBeliefBatch.from_bytes(batch.student_bytes(1), pop)
        >>> one.n_students, bool(np.array_equal(one.type_probs(), batch.type_probs(np.array([1]))))
        (1, True)
        >>> other = LearnerPopulation(np.array([0.5, 0.5]), *pop.tables())   # other weights
        >>> LearnerBeliefBatch.from_bytes(batch.student_bytes(1), other)
        Traceback (most recent call last):
        ...
        warmstart.families.learner.belief.LearnerBeliefFormatError: learner belief bytes: made under ...
        """
        n_skills, k, nl, ns, log_sd, fp, n_obs, n_seen = HEADER.unpack(data)
        if n_skills != population.n_skills or k != population.n_types or fp.hex() != population.fingerprint():
            raise HEADER.fail(
                f"made under another population ({k} types, {n_skills} skills, fingerprint "
                f"{fp.hex()}; this one has {population.n_types}, {population.n_skills}, {population.fingerprint()})"
            )
        J = k * nl * ns
        body, _ = HEADER.body(data, [("multipliers", "<f8", nl + ns), ("log evidence", "<f8", J),
                                     ("seen skills", "<u4", n_seen), ("P(known)", "<f8", n_seen * J)],
                              detail=f" for {k} types, a {nl} x {ns} grid and {n_seen} skills seen")
        mult, logev = body["multipliers"], body["log evidence"]
        seen = body["seen skills"].astype(np.int64)
        known = body["P(known)"].reshape(n_seen, J)
        try:
            grid = PersonalGrid(learn=tuple(mult[:nl]), slip=tuple(mult[nl:]), log_sd=log_sd)
        except ValueError as exc:
            raise HEADER.fail(f"bad personal grid ({exc})") from exc
        if not np.all(np.isfinite(logev)) or np.any(logev > 0):
            raise HEADER.fail("log evidence must be finite and <= 0")
        if not np.all(np.isfinite(known)) or np.any(known < 0) or np.any(known > 1):
            raise HEADER.fail("P(known) values outside [0, 1] (expected finite probabilities)")
        if np.any(seen >= n_skills) or np.unique(seen).size != seen.size:
            raise HEADER.fail(f"bad seen-skill indices (expected distinct indices below {n_skills}, got "
                              f"{seen.tolist()})")
        batch = LearnerBeliefBatch.fresh(population, 1, grid)
        batch.known[0, seen] = known
        batch.seen[0, seen] = True
        batch.log_evidence[0] = logev
        batch.n_observed[0] = n_obs
        return batch
