"""Learner-type family, the model: K kinds of learners, each a set of per-skill knowledge-tracing HMMs, and the
exact forward filter / backward smoother every fit and score of the family runs on.

Model
-----
Type ``k`` holds, for every skill ``s``, the parameters of a two-state hidden Markov learner (Bayesian knowledge
tracing): prior knowledge ``L0[k, s]``, learn ``T[k, s]`` (unknown -> known between two responses), forget
``F[k, s]`` (known -> unknown; zero unless fitted with ``forgets=True``), guess ``G[k, s] = P(correct | unknown)``
and slip ``S[k, s] = P(wrong | known)``. Given the type, a student's skills are independent HMMs over that
student's responses on each skill, in order, so the likelihood under type ``k`` is a product over skills. Types
are mixed with weights ``w``. ``K = 1`` is plain BKT. The fit (EM, choice of K) is ``fit``.

Layout (why the E-step has no per-sequence loop)
-----------------------------------------------
A (student, skill) pair's responses form a sequence. Sequences are sorted longest first and their responses
stored *time-major*: block ``t`` holds the ``t``-th response of every sequence longer than ``t``, and those
sequences are exactly a prefix of the sorted order. A pass loops over ``t`` only and works on slices of
``(sequences alive, columns)`` arrays, so its cost is proportional to responses x types with no padding, and
many mixtures (every K and every restart) share one pass by stacking their types as columns. The filter keeps
P(known) and P(unknown) as separate numbers, so long runs of correct answers (P(unknown) ~ 1e-300) lose no
precision and the smoother never divides 0 by 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from scipy.sparse import csr_matrix
from scipy.special import logsumexp

from warmstart.families.learner.population import LearnerPopulation

_TINY = 1e-300


def _int_array(name: str, values: object) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected a 1-d array, got shape {arr.shape}")
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64)
    if arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
        return arr.astype(np.int64)
    raise ValueError(f"{name}: expected integers, got an array of dtype {arr.dtype}")


def check_responses(
    student: object, skill: object, correct: object, n_skills: int, prefix: str = ""
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate a response log: equal-length 1-d arrays, ``student`` grouped (non-decreasing, in the order of
    the log), ``skill`` in ``[0, n_skills)``, ``correct`` 0/1. Returns ``(student int64, skill int64, correct
    int8)``. Raises ``ValueError`` naming the field, what was expected and what was given.

    >>> student, skill, correct = check_responses([0, 0, 1], [0, 1, 1], [True, False, True], n_skills=2)
    >>> student.dtype.name, skill.tolist(), correct.dtype.name, correct.tolist()
    ('int64', [0, 1, 1], 'int8', [1, 0, 1])
    >>> check_responses([0, 1, 0], [0, 1, 1], [1, 0, 1], n_skills=2)    # student 0 again after student 1
    Traceback (most recent call last):
    ...
    ValueError: student: expected responses grouped by student in non-decreasing student order (sorted by ...
    >>> check_responses([0, 0], [0, 2], [1, 0], n_skills=2)
    Traceback (most recent call last):
    ...
    ValueError: skill: expected skill indices in [0, 1], got 2 (unknown skill)
    """
    if isinstance(n_skills, (bool, np.bool_)) or not isinstance(n_skills, (int, np.integer)) or n_skills < 1:
        raise ValueError(f"n_skills: expected a positive integer, got {n_skills!r}")
    st = _int_array(prefix + "student", student)
    sk = _int_array(prefix + "skill", skill)
    co = np.asarray(correct)
    if co.ndim != 1:
        raise ValueError(f"{prefix}correct: expected a 1-d array of 0/1, got shape {co.shape}")
    if co.dtype.kind not in "biuf" or (co.size and not np.all((co == 0) | (co == 1))):
        bad = co[~((co == 0) | (co == 1))][0].item() if co.dtype.kind in "biuf" else f"dtype {co.dtype}"
        raise ValueError(f"{prefix}correct: expected 0 or 1 for every response, got {bad}")
    if not st.size == sk.size == co.size:
        raise ValueError(f"{prefix}student, {prefix}skill, {prefix}correct: expected equal lengths, got "
                         f"{st.size}, {sk.size}, {co.size}")
    if sk.size and (sk.min() < 0 or sk.max() >= n_skills):
        bad = int(sk[(sk < 0) | (sk >= n_skills)][0])
        raise ValueError(f"{prefix}skill: expected skill indices in [0, {n_skills - 1}], got {bad} (unknown skill)")
    if st.size > 1 and np.any(np.diff(st) < 0):
        i = int(np.flatnonzero(np.diff(st) < 0)[0])
        raise ValueError(f"{prefix}student: expected responses grouped by student in non-decreasing student order "
                         f"(sorted by student, then time), got student {st[i + 1]} after {st[i]} at row {i + 1}; "
                         "sort with a stable sort on student")
    return st, sk, co.astype(np.int8)


def _student_index(student: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unique student ids (ascending) and each response's row in them (input is grouped and sorted)."""
    ids, idx = np.unique(student, return_inverse=True)
    return ids, idx.astype(np.int64)


# ---------------------------------------------------------------------------------------------- layout
@dataclass(frozen=True)
class SequenceLayout:
    """Responses of many (student, skill) sequences in time-major order (see the module docstring).

    ``bounds[t]:bounds[t + 1]`` is block ``t``; ``position`` maps every time-major entry back to its input row
    and ``entry_seq`` to its sequence;
    ``seq_student``, ``seq_skill``, ``seq_len`` describe the sequences (longest first); ``last`` is the time-major
    index of each sequence's last response. The sparse matrices sum entries per sequence (all, or correct
    ones only) and sequences per student and per skill.

    >>> import numpy as np
    >>> student, skill = np.array([0, 0, 0, 1, 1]), np.array([0, 1, 0, 1, 1])   # 2 students, 2 skills
    >>> correct = np.array([0, 1, 1, 1, 0])
    >>> layout = SequenceLayout.build(student, skill, correct, n_students=2, n_skills=2)
    >>> layout.n_sequences, layout.n_responses
    (3, 5)
    >>> layout.seq_student.tolist(), layout.seq_skill.tolist(), layout.seq_len.tolist()  # longest first
    ([0, 1, 0], [0, 1, 1], [2, 2, 1])
    >>> layout.bounds.tolist(), layout.position.tolist()    # block 0: rows 0, 3, 1; block 1: rows 2, 4
    ([0, 3, 5], [0, 3, 1, 2, 4])
    >>> layout.obs.ravel().tolist() == correct[layout.position].astype(bool).tolist()
    True
    >>> SequenceLayout.build(student[:0], skill[:0], correct[:0], n_students=0, n_skills=2)
    Traceback (most recent call last):
    ...
    ValueError: responses: expected at least one response, got none
    """

    n_students: int
    n_skills: int
    seq_student: np.ndarray
    seq_skill: np.ndarray
    seq_len: np.ndarray
    bounds: np.ndarray
    obs: np.ndarray
    position: np.ndarray
    entry_seq: np.ndarray
    last: np.ndarray
    seq_sum: Any
    seq_sum_correct: Any
    student_sum: Any
    skill_sum: Any

    @property
    def n_responses(self) -> int:
        return int(self.position.shape[0])

    @property
    def n_sequences(self) -> int:
        return int(self.seq_len.shape[0])

    @staticmethod
    def build(student_index: np.ndarray, skill: np.ndarray, correct: np.ndarray, n_students: int,
              n_skills: int) -> SequenceLayout:
        """``student_index`` in ``[0, n_students)``, grouped by student and in time order within a student."""
        n = int(skill.shape[0])
        if n == 0:
            raise ValueError("responses: expected at least one response, got none")
        key = student_index * n_skills + skill
        order = np.argsort(key, kind="stable")  # stable: time order is kept within a sequence
        ks = key[order]
        new = np.ones(n, dtype=bool)
        new[1:] = ks[1:] != ks[:-1]
        starts = np.flatnonzero(new)
        lens = np.diff(np.append(starts, n))
        n_seq = int(starts.size)
        rank = np.argsort(-lens, kind="stable")
        col_of_seq = np.empty(n_seq, dtype=np.int64)
        col_of_seq[rank] = np.arange(n_seq)
        seq_of_row = np.repeat(np.arange(n_seq), lens)
        t_of_row = np.arange(n) - np.repeat(starts, lens)
        n_steps = int(lens.max())
        alive = n_seq - np.cumsum(np.bincount(lens))[:n_steps]  # sequences longer than t
        bounds = np.zeros(n_steps + 1, dtype=np.int64)
        bounds[1:] = np.cumsum(alive)
        col = col_of_seq[seq_of_row]
        tm = bounds[t_of_row] + col
        position = np.empty(n, dtype=np.int64)
        position[tm] = order
        tm_col = np.empty(n, dtype=np.int64)
        tm_col[tm] = col
        obs = correct[position].astype(bool)
        seq_key = ks[starts][rank]
        seq_len = lens[rank]
        ones = np.ones(n)
        right = np.flatnonzero(obs)
        seq_ids = np.arange(n_seq)
        seq_student = seq_key // n_skills
        seq_skill = seq_key % n_skills
        return SequenceLayout(
            n_students=n_students,
            n_skills=n_skills,
            seq_student=seq_student,
            seq_skill=seq_skill,
            seq_len=seq_len,
            bounds=bounds,
            obs=obs[:, None],
            position=position,
            entry_seq=tm_col,
            last=bounds[seq_len - 1] + seq_ids,
            seq_sum=csr_matrix((ones, (tm_col, np.arange(n))), shape=(n_seq, n)),
            seq_sum_correct=csr_matrix((ones[right], (tm_col[right], right)), shape=(n_seq, n)),
            student_sum=csr_matrix((np.ones(n_seq), (seq_student, seq_ids)), shape=(n_students, n_seq)),
            skill_sum=csr_matrix((np.ones(n_seq), (seq_skill, seq_ids)), shape=(n_skills, n_seq)),
        )


def _sub_layout(sidx: np.ndarray, sk: np.ndarray, co: np.ndarray, n_skills: int) -> SequenceLayout:
    """The layout of some students' responses (``sidx`` their rows in a larger log), renumbered ``0 .. n - 1``."""
    ids, local = np.unique(sidx, return_inverse=True)
    return SequenceLayout.build(local.astype(np.int64), sk, co, int(ids.size), n_skills)


# ---------------------------------------------------------------------------------------------- E-step
class _Tables(NamedTuple):
    """Parameters of C stacked columns (types of one or more mixtures), each ``(C, n_skills)``."""

    L0: np.ndarray
    T: np.ndarray
    F: np.ndarray
    G: np.ndarray
    S: np.ndarray


@dataclass
class _SeqStats:
    """Per-sequence expected counts under every column, each ``(n_seq, C)``."""

    loglik: np.ndarray
    first: np.ndarray  # P(known at the first response)
    know: np.ndarray  # expected responses given while known
    unk: np.ndarray
    know_right: np.ndarray  # ... and answered correctly
    unk_right: np.ndarray
    know_last: np.ndarray  # P(known) at the last response (it has no transition after it)
    unk_last: np.ndarray
    learn: np.ndarray  # expected unknown -> known transitions
    forget: np.ndarray | None  # expected known -> unknown transitions (None without forgetting)


def forward_backward(layout: SequenceLayout, tables: Sequence[np.ndarray], smooth: bool = True
                     ) -> _SeqStats | np.ndarray:
    """Exact scaled forward filter (and backward smoother) on every sequence under every column.

    ``tables`` is ``(L0, T, F, G, S)``, each ``(C, n_skills)``. Without ``smooth`` returns the per-sequence
    log likelihoods ``(n_seq, C)``; with it, the expected counts of the M-step as ``_SeqStats``.

    >>> import numpy as np
    >>> pop = LearnerPopulation(np.array([0.8, 0.2]), L0=np.full((2, 2), 0.1),   # 2 types, 2 skills:
    ...     T=np.array([[0.4, 0.4], [0.05, 0.05]]), F=np.zeros((2, 2)),         # fast and slow learners
    ...     G=np.full((2, 2), 0.2), S=np.full((2, 2), 0.1), skill_names=("add", "sub"))
    >>> layout = SequenceLayout.build(np.array([0, 0]), np.array([0, 0]), np.array([0, 1]), 1, 2)
    >>> ll = forward_backward(layout, pop.tables(), smooth=False)      # log likelihood (sequences, types)
    >>> np.exp(ll).round(4).tolist()                                   # P(wrong, then right) per type
    [[0.3546, 0.1782]]
    >>> p_wrong = 0.1 * 0.1 + 0.9 * (1 - 0.2)          # the fast type by hand: known and slips, or no guess
    >>> known = 0.1 * 0.1 / p_wrong                    # P(known | wrong) ...
    >>> known += (1 - known) * 0.4                     # ... then it may learn (T = 0.4)
    >>> round(p_wrong * (known * 0.9 + (1 - known) * 0.2), 4)
    0.3546
    >>> stats = forward_backward(layout, pop.tables())
    >>> stats.learn.round(3).tolist()                # expected unknown -> known transitions, per type
    [[0.731, 0.182]]
    """
    L0, T, F, G, S = (np.ascontiguousarray(np.asarray(x, dtype=float).T)[layout.seq_skill] for x in tables)
    forgets = bool(np.any(F > 0))
    pk, pu, fk, fu, cc = _forward(layout, L0, T, F, G, S, forgets)
    np.log(cc, out=cc)
    loglik = layout.seq_sum @ cc
    if not smooth:
        return np.asarray(loglik)
    del cc
    _backward(layout, pk, pu, fk, fu, T, F, forgets)
    n0 = int(layout.bounds[1])
    ss, sc = layout.seq_sum, layout.seq_sum_correct
    return _SeqStats(
        loglik=np.asarray(loglik),
        first=fk[:n0].copy(),
        know=np.asarray(ss @ fk),
        unk=np.asarray(ss @ fu),
        know_right=np.asarray(sc @ fk),
        unk_right=np.asarray(sc @ fu),
        know_last=fk[layout.last],
        unk_last=fu[layout.last],
        learn=np.asarray(ss @ pk),
        forget=np.asarray(ss @ pu) if forgets else None,
    )


def _forward(layout: SequenceLayout, L0: np.ndarray, T: np.ndarray, F: np.ndarray, G: np.ndarray, S: np.ndarray,
             forgets: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The scaled forward filter, the ``t``-th response of every sequence at once. Returns, per response and
    column, the predictive P(known) and P(unknown) before it (``pk``, ``pu``), the filtered ones after it
    (``fk``, ``fu``) and its probability given the earlier responses of its sequence (``cc``)."""
    n, C = layout.n_responses, L0.shape[1]
    b = layout.bounds
    steps = b.shape[0] - 1
    pk, pu = np.empty((n, C)), np.empty((n, C))  # predictive P(known), P(unknown) before each response
    fk, fu = np.empty((n, C)), np.empty((n, C))  # filtered, after it; later the smoothed marginals
    cc = np.empty((n, C))  # P(response | earlier responses of the sequence)
    n0 = int(b[1])
    pk[:n0] = L0
    pu[:n0] = 1.0 - L0
    S1, G1, T1, F1 = 1.0 - S, 1.0 - G, 1.0 - T, 1.0 - F
    obs = layout.obs
    for t in range(steps):
        lo, hi = int(b[t]), int(b[t + 1])
        m = hi - lo
        o = obs[lo:hi]
        A, B, c = fk[lo:hi], fu[lo:hi], cc[lo:hi]
        np.multiply(pk[lo:hi], np.where(o, S1[:m], S[:m]), out=A)
        np.multiply(pu[lo:hi], np.where(o, G[:m], G1[:m]), out=B)
        np.add(A, B, out=c)
        A /= c
        B /= c
        if t + 1 < steps:
            m1 = int(b[t + 2]) - hi
            nk, nu = pk[hi : hi + m1], pu[hi : hi + m1]
            np.multiply(B[:m1], T[:m1], out=nk)
            np.multiply(B[:m1], T1[:m1], out=nu)
            if forgets:
                nk += A[:m1] * F1[:m1]
                nu += A[:m1] * F[:m1]
            else:
                nk += A[:m1]
    return pk, pu, fk, fu, cc


def _backward(layout: SequenceLayout, pk: np.ndarray, pu: np.ndarray, fk: np.ndarray, fu: np.ndarray,
              T: np.ndarray, F: np.ndarray, forgets: bool) -> None:
    """The backward smoother, in place on ``_forward``'s arrays: the smoothed marginal at t from the filter at t
    and the smoothed / predicted ratio at t + 1. Smoothed marginals overwrite the filter (``fk``, ``fu``);
    expected transitions t -> t+1 overwrite the prediction at t + 1 (``pk``: unknown -> known, ``pu``: known ->
    unknown, with forgetting), and the first responses, which no transition enters, get zero."""
    b = layout.bounds
    steps = b.shape[0] - 1
    T1, F1 = 1.0 - T, 1.0 - F
    for t in range(steps - 2, -1, -1):
        lo, hi = int(b[t]), int(b[t + 1])
        m1 = int(b[t + 2]) - hi
        nxt = slice(hi, hi + m1)
        rk = fk[nxt] / pk[nxt]
        ru = fu[nxt] / np.maximum(pu[nxt], _TINY)  # pu underflows only after P(unknown) did too
        Ak, Bu = fk[lo : lo + m1], fu[lo : lo + m1]
        xi_uk = Bu * T[:m1] * rk
        xi_uu = Bu * T1[:m1] * ru
        if forgets:
            xi_ku = Ak * F[:m1] * ru
            Ak *= F1[:m1] * rk
            Ak += xi_ku
            pu[nxt] = xi_ku
        else:
            Ak *= rk
        np.add(xi_uk, xi_uu, out=Bu)
        pk[nxt] = xi_uk
    n0 = int(b[1])
    pk[:n0] = 0.0
    pu[:n0] = 0.0



# ---------------------------------------------------------------------------------------------- likelihood
def student_log_likelihood(population: LearnerPopulation, student: object, skill: object, correct: object
                           ) -> np.ndarray:
    """Log likelihood ``(N, K)`` of every student's responses under every type; rows follow the sorted unique
    student ids.

    >>> import numpy as np
    >>> pop = LearnerPopulation(np.array([0.8, 0.2]), L0=np.full((2, 2), 0.1),   # 2 types, 2 skills:
    ...     T=np.array([[0.4, 0.4], [0.05, 0.05]]), F=np.zeros((2, 2)),         # fast and slow learners
    ...     G=np.full((2, 2), 0.2), S=np.full((2, 2), 0.1), skill_names=("add", "sub"))
    >>> ll = student_log_likelihood(pop, [3, 3, 7, 7], [0, 0, 1, 1], [0, 1, 1, 1])  # students 3 and 7
    >>> np.exp(ll).round(4).tolist()          # 3: wrong, then right on "add"; 7: right twice on "sub"
    [[0.3546, 0.1782], [0.1674, 0.1233]]
    """
    st, sk, co = check_responses(student, skill, correct, population.n_skills)
    _, sidx = _student_index(st)
    n_students = int(sidx.max()) + 1 if sidx.size else 0
    layout = SequenceLayout.build(sidx, sk, co, n_students, population.n_skills)
    ll_seq = forward_backward(layout, population.tables(), smooth=False)
    assert isinstance(ll_seq, np.ndarray)
    return np.asarray(layout.student_sum @ ll_seq)


def type_responsibilities(population: LearnerPopulation, student: object, skill: object, correct: object
                          ) -> np.ndarray:
    """Posterior probability ``(N, K)`` of every type for every student given all their responses.

    >>> import numpy as np
    >>> pop = LearnerPopulation(np.array([0.8, 0.2]), L0=np.full((2, 2), 0.1),   # 2 types, 2 skills:
    ...     T=np.array([[0.4, 0.4], [0.05, 0.05]]), F=np.zeros((2, 2)),         # fast and slow learners
    ...     G=np.full((2, 2), 0.2), S=np.full((2, 2), 0.1), skill_names=("add", "sub"))
    >>> student, skill = np.repeat([0, 1], 4), np.zeros(8, dtype=int)
    >>> correct = [0, 0, 1, 1] + [0, 0, 0, 0]                 # student 0 learns, student 1 does not (yet)
    >>> type_responsibilities(pop, student, skill, correct).round(3).tolist()
    [[0.925, 0.075], [0.525, 0.475]]
    """
    joint = student_log_likelihood(population, student, skill, correct) + population.log_weights
    return np.exp(joint - logsumexp(joint, axis=1, keepdims=True))
