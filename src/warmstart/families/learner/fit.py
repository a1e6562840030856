"""Learner-type family: K kinds of learners, each a set of per-skill knowledge-tracing HMMs.

Model
-----
Type ``k`` holds, for every skill ``s``, the parameters of a two-state hidden Markov learner (Bayesian knowledge
tracing): prior knowledge ``L0[k, s]``, learn ``T[k, s]`` (unknown -> known between two responses), forget
``F[k, s]`` (known -> unknown; zero unless fitted with ``forgets=True``), guess ``G[k, s] = P(correct | unknown)``
and slip ``S[k, s] = P(wrong | known)``. Given the type, a student's skills are independent HMMs over that
student's responses on each skill, in order, so the likelihood under type ``k`` is a product over skills. Types
are mixed with weights ``w``. ``K = 1`` is plain BKT.

Fit
---
EM with Beta pseudo-count priors (a MAP fit, so a rarely practised skill stays sensible): the E-step runs an
exact forward filter and a backward smoother on every (student, skill) sequence under every type, gives each
student's type responsibilities from the summed per-sequence log likelihoods, and the M-step sets every
parameter from responsibility-weighted expected counts. Guess and slip are capped below 0.5 (so "known" is the
state that answers well) and every probability is kept in ``[min_prob, 1 - min_prob]``; clipping the
one-dimensional Beta-MAP maximiser is the exact constrained M-step, so the objective never decreases.

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

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

import numpy as np
from scipy.sparse import csr_matrix
from scipy.special import logsumexp

from warmstart._cluster import kmeans_pp
from warmstart._validate import check_k_choice
from warmstart.families.learner.population import (  # noqa: F401 - re-exported: the family's public names
    PARAMS,
    LearnerPopulation,
    LearnerPopulationFormatError,
    TypeDescription,
    _from_tables,
    odds_scale,
)

_TINY = 1e-300
Progress = Callable[[str, float], None]


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
    int8)``. Raises ``ValueError`` naming the field, what was expected and what was given."""
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
    """
    L0, T, F, G, S = (np.ascontiguousarray(np.asarray(x, dtype=float).T)[layout.seq_skill] for x in tables)
    forgets = bool(np.any(F > 0))
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
    np.log(cc, out=cc)
    loglik = layout.seq_sum @ cc
    if not smooth:
        return np.asarray(loglik)
    del cc
    # Backward: the smoothed marginal at t from the filter at t and the smoothed / predicted ratio at t + 1.
    # Smoothed marginals overwrite the filter; expected transitions t -> t+1 overwrite the prediction at t + 1.
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
    pk[:n0] = 0.0
    pu[:n0] = 0.0
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


# ---------------------------------------------------------------------------------------------- config
@dataclass(frozen=True)
class LearnerFitConfig:
    """Settings of the learner-type fit; validated once at construction.

    ``n_types`` fixes K; otherwise K in ``k_range`` is chosen by the held-out log likelihood of students
    given to the fit as ``heldout`` or, without them, of a ``heldout_fraction`` of students split off by
    ``seed`` (the chosen K is then refitted on all students). ``selection="best"`` takes the K with the highest
    held-out log likelihood; ``"one_se"`` (default) the smallest K within one standard error of it (the SE of
    the paired per-student difference), since an extra type that only duplicates one costs almost nothing on
    held-out data and would otherwise win by chance. Every K gets ``n_init`` seeded restarts that
    run ``init_iter`` iterations together; the best per K then runs to convergence (relative change of the
    objective below ``tol``) or ``max_iter``. Priors are Beta ``(a, b)`` pseudo-counts (``a, b >= 1``) on
    each parameter; guess and slip are capped at ``max_guess`` / ``max_slip`` (below 0.5) and every
    probability is kept in ``[min_prob, 1 - min_prob]``. ``forgets=False`` fixes forgetting at zero (standard
    BKT). ``memory_mb`` bounds the E-step's work arrays (mixtures are stacked up to it).
    """

    n_types: int | None = None
    k_range: tuple[int, int] = (1, 5)
    selection: Literal["one_se", "best"] = "one_se"
    heldout_fraction: float = 0.2
    n_init: int = 3
    init_iter: int = 10
    max_iter: int = 200
    tol: float = 1e-6
    forgets: bool = False
    prior_L0: tuple[float, float] = (1.5, 1.5)
    prior_learn: tuple[float, float] = (1.2, 2.0)
    prior_forget: tuple[float, float] = (1.1, 10.0)
    prior_guess: tuple[float, float] = (1.5, 3.0)
    prior_slip: tuple[float, float] = (1.2, 3.0)
    max_guess: float = 0.45
    max_slip: float = 0.45
    min_prob: float = 1e-3
    weight_prior: float = 1.0
    memory_mb: float = 1024.0
    seed: int = 0

    def __post_init__(self) -> None:
        check_k_choice(self.k_range, self.n_types)
        if self.selection not in ("one_se", "best"):
            raise ValueError(f"selection: expected 'one_se' or 'best', got {self.selection!r}")
        if not 0 < self.heldout_fraction < 1:
            raise ValueError(f"heldout_fraction: expected a value in (0, 1), got {self.heldout_fraction}")
        for name in ("n_init", "init_iter", "max_iter"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}: expected a positive integer, got {getattr(self, name)}")
        if not self.tol > 0:
            raise ValueError(f"tol: expected a positive number, got {self.tol}")
        for name in ("prior_L0", "prior_learn", "prior_forget", "prior_guess", "prior_slip"):
            a, b = getattr(self, name)
            if not (np.isfinite(a) and np.isfinite(b) and a >= 1 and b >= 1 and a + b > 2):
                raise ValueError(f"{name}: expected Beta pseudo-counts (a, b) with a, b >= 1 and a + b > 2, "
                                 f"got {getattr(self, name)}")
        if not 0 < self.min_prob <= 0.05:
            raise ValueError(f"min_prob: expected a value in (0, 0.05], got {self.min_prob}")
        for name in ("max_guess", "max_slip"):
            if not self.min_prob < getattr(self, name) < 0.5:
                raise ValueError(f"{name}: expected a value in (min_prob, 0.5), got {getattr(self, name)}")
        if not self.weight_prior >= 1:
            raise ValueError(f"weight_prior: expected a Dirichlet pseudo-count >= 1, got {self.weight_prior}")
        if not self.memory_mb > 0:
            raise ValueError(f"memory_mb: expected a positive number, got {self.memory_mb}")


# ---------------------------------------------------------------------------------------------- EM core
@dataclass
class _Mix:
    """One mixture being fitted: weights ``(K,)`` and parameter tables ``(K, n_skills)``."""

    weights: np.ndarray
    tables: _Tables
    trace: list[float] = field(default_factory=list)  # MAP objective (log likelihood + log prior)
    loglik_trace: list[float] = field(default_factory=list)
    loglik: float = -np.inf
    n_iter: int = 0
    converged: bool = False
    restart: int = 0

    @property
    def k(self) -> int:
        return int(self.weights.shape[0])

    @property
    def objective(self) -> float:
        return self.trace[-1] if self.trace else -np.inf


def _map(success: np.ndarray, trials: np.ndarray, prior: tuple[float, float], lo: float, hi: float) -> np.ndarray:
    a, b = prior
    return np.clip((success + a - 1.0) / (trials + a + b - 2.0), lo, hi)


def _m_step(layout: SequenceLayout, st: _SeqStats, resp_seq: np.ndarray, cfg: LearnerFitConfig) -> _Tables:
    """Parameters ``(C, n_skills)`` from expected counts weighted by each sequence's type responsibility."""

    def agg(x: np.ndarray) -> np.ndarray:
        return np.asarray(layout.skill_sum @ (x * resp_seq)).T

    lo, hi = cfg.min_prob, 1.0 - cfg.min_prob
    know, unk = agg(st.know), agg(st.unk)
    L0 = _map(agg(st.first), np.asarray(layout.skill_sum @ resp_seq).T, cfg.prior_L0, lo, hi)
    T = _map(agg(st.learn), unk - agg(st.unk_last), cfg.prior_learn, lo, hi)
    if cfg.forgets and st.forget is not None:
        F = _map(agg(st.forget), know - agg(st.know_last), cfg.prior_forget, lo, hi)
    else:
        F = np.zeros_like(T)
    G = _map(agg(st.unk_right), unk, cfg.prior_guess, lo, cfg.max_guess)
    S = _map(know - agg(st.know_right), know, cfg.prior_slip, lo, cfg.max_slip)
    return _Tables(L0, T, F, G, S)


def _log_prior(mix: _Mix, cfg: LearnerFitConfig) -> float:
    """Log density of the Beta and Dirichlet priors (up to a constant): the MAP objective adds it."""
    total = (cfg.weight_prior - 1.0) * float(np.log(mix.weights).sum())
    pairs = [("L0", cfg.prior_L0), ("T", cfg.prior_learn), ("G", cfg.prior_guess), ("S", cfg.prior_slip)]
    if cfg.forgets:
        pairs.append(("F", cfg.prior_forget))
    for name, (a, b) in pairs:
        p = getattr(mix.tables, name)
        total += float(((a - 1.0) * np.log(p) + (b - 1.0) * np.log1p(-p)).sum())
    return total


def _stack(mixes: Sequence[_Mix]) -> _Tables:
    return _Tables(*(np.concatenate([getattr(m.tables, name) for m in mixes]) for name in PARAMS))


def _chunks(mixes: list[_Mix], n_responses: int, cfg: LearnerFitConfig) -> list[list[_Mix]]:
    """Groups of mixtures whose stacked columns fit the E-step's memory budget (6 work arrays)."""
    max_cols = max(1, int(cfg.memory_mb * 2**20 // (n_responses * 8 * 6)))
    out: list[list[_Mix]] = [[]]
    cols = 0
    for m in mixes:
        if out[-1] and cols + m.k > max_cols:
            out.append([])
            cols = 0
        out[-1].append(m)
        cols += m.k
    return out


def _mixture_loglik(ll_student: np.ndarray, mixes: Sequence[_Mix]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per mixture: each student's log marginal likelihood ``(N,)`` and type responsibilities ``(N, K)``."""
    out = []
    lo = 0
    for m in mixes:
        joint = ll_student[:, lo : lo + m.k] + np.log(m.weights)
        norm = logsumexp(joint, axis=1)
        out.append((norm, np.exp(joint - norm[:, None])))
        lo += m.k
    return out


def _iterate(layout: SequenceLayout, mixes: list[_Mix], cfg: LearnerFitConfig, n_iter: int) -> None:
    """Run up to ``n_iter`` EM iterations of every unconverged mixture, all sharing each E-step pass."""
    for _ in range(n_iter):
        active = [m for m in mixes if not m.converged]
        if not active:
            return
        for chunk in _chunks(active, layout.n_responses, cfg):
            st = forward_backward(layout, _stack(chunk))
            assert isinstance(st, _SeqStats)
            ll_student = np.asarray(layout.student_sum @ st.loglik)
            resp = np.empty_like(ll_student)
            lo = 0
            for m, (norm, r) in zip(chunk, _mixture_loglik(ll_student, chunk)):
                resp[:, lo : lo + m.k] = r
                lo += m.k
                m.loglik = float(norm.sum())
                obj = m.loglik + _log_prior(m, cfg)
                if m.trace and obj - m.trace[-1] <= cfg.tol * abs(obj):
                    m.converged = True  # keep the parameters this objective belongs to
                m.trace.append(obj)
                m.loglik_trace.append(m.loglik)
            new = _m_step(layout, st, resp[layout.seq_student], cfg)
            lo = 0
            for m in chunk:
                sl = slice(lo, lo + m.k)
                lo += m.k
                if m.converged:
                    continue
                w = resp[:, sl].sum(0) + cfg.weight_prior - 1.0
                w = np.maximum(w / w.sum(), 1e-12)
                m.weights = w / w.sum()
                m.tables = _Tables(*(x[sl] for x in new))
                m.n_iter += 1


# ---------------------------------------------------------------------------------------------- init
_PROFILE_GRID = {"T": (0.25, 0.5, 1.0, 2.0, 4.0), "S": (0.5, 1.0, 2.0), "L0": (1 / 3, 1.0, 3.0)}


def _student_features(layout: SequenceLayout, base: _Tables, cfg: LearnerFitConfig) -> np.ndarray:
    """Per-student summaries that separate kinds of learners, for the initial clustering.

    Each student's likelihood is evaluated under variants of the K = 1 fit whose learn, slip and
    prior-knowledge odds are multiplied by a small grid of factors (stacked columns of one forward pass); the
    features are the posterior means of the log factors under a flat prior (how much faster, more careless or
    more knowing than the average a student looks), centred and divided by the typical posterior spread of
    each factor, so a factor the data cannot tell apart per student (pure noise) does not drive the clusters.
    """
    grids = [np.log(np.asarray(g)) for g in _PROFILE_GRID.values()]
    mesh = np.column_stack([m.ravel() for m in np.meshgrid(*grids, indexing="ij")])
    n = mesh.shape[0]
    variants = {name: odds_scale(getattr(base, name), np.exp(mesh[:, i])[:, None])
                for i, name in enumerate(_PROFILE_GRID)}
    tables = _Tables(variants["L0"], variants["T"], np.repeat(base.F, n, axis=0), np.repeat(base.G, n, axis=0),
                     variants["S"])
    max_cols = max(1, int(cfg.memory_mb * 2**20 // (layout.n_responses * 8 * 6)))
    ll = np.empty((layout.n_students, n))
    for lo in range(0, n, max_cols):
        part = _Tables(*(x[lo : lo + max_cols] for x in tables))
        ll_seq = forward_backward(layout, part, smooth=False)
        assert isinstance(ll_seq, np.ndarray)
        ll[:, lo : lo + max_cols] = np.asarray(layout.student_sum @ ll_seq)
    post = np.exp(ll - logsumexp(ll, axis=1, keepdims=True))
    mean = post @ mesh
    spread = np.sqrt(np.maximum((post @ mesh**2 - mean**2).mean(0), 1e-6))
    return (mean - mean.mean(0)) / spread


def _init_mix(layout: SequenceLayout, base: _SeqStats, feats: np.ndarray, k: int, restart: int,
              rng: np.random.Generator, cfg: LearnerFitConfig) -> _Mix:
    """Soft responsibilities from k-means on student features, then one M-step on the expected counts of a
    shared starting point (the K = 1 fit), so each type starts from the data of the students it was given."""
    if k == 1:
        resp = np.ones((layout.n_students, 1))
    else:
        labels = kmeans_pp(feats, k, rng, iters=25)
        resp = np.full((layout.n_students, k), 0.25 / k)
        resp[np.arange(layout.n_students), labels] += 0.75
    tables = _m_step(layout, base, resp[layout.seq_student], cfg)
    w = resp.sum(0) / resp.sum()
    return _Mix(w, tables, restart=restart)


def _default_mix(n_skills: int, cfg: LearnerFitConfig) -> _Mix:
    def full(v: float) -> np.ndarray:
        return np.full((1, n_skills), v)

    F = full(0.02) if cfg.forgets else full(0.0)
    return _Mix(np.ones(1), _Tables(full(0.4), full(0.15), F, full(0.2), full(0.1)))


# ---------------------------------------------------------------------------------------------- public
def student_log_likelihood(population: LearnerPopulation, student: object, skill: object, correct: object
                           ) -> np.ndarray:
    """Log likelihood ``(N, K)`` of every student's responses under every type; rows follow the sorted unique
    student ids."""
    st, sk, co = check_responses(student, skill, correct, population.n_skills)
    _, sidx = _student_index(st)
    n_students = int(sidx.max()) + 1 if sidx.size else 0
    layout = SequenceLayout.build(sidx, sk, co, n_students, population.n_skills)
    ll_seq = forward_backward(layout, population.tables(), smooth=False)
    assert isinstance(ll_seq, np.ndarray)
    return np.asarray(layout.student_sum @ ll_seq)


def type_responsibilities(population: LearnerPopulation, student: object, skill: object, correct: object
                          ) -> np.ndarray:
    """Posterior probability ``(N, K)`` of every type for every student given all their responses."""
    joint = student_log_likelihood(population, student, skill, correct) + population.log_weights
    return np.exp(joint - logsumexp(joint, axis=1, keepdims=True))


def _population(mix: _Mix, skill_names: Sequence[str] | None, diagnostics: dict[str, Any]) -> LearnerPopulation:
    order = np.argsort(-mix.weights, kind="stable")  # types by weight, largest first
    return _from_tables(mix.weights[order], [x[order] for x in mix.tables], skill_names, diagnostics)


def _config_dict(cfg: LearnerFitConfig) -> dict[str, Any]:
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in cfg.__dict__.items()}


def fit_learner_types(
    student: object,
    skill: object,
    correct: object,
    n_skills: int,
    config: LearnerFitConfig | None = None,
    *,
    heldout: tuple[object, object, object] | None = None,
    skill_names: Sequence[str] | None = None,
    progress: Progress | None = None,
) -> LearnerPopulation:
    """Fit K learner types by EM to a response log sorted by student, then time.

    ``student``, ``skill``, ``correct`` are equal-length 1-d arrays (``correct`` 0/1, ``skill`` in
    ``[0, n_skills)``). ``heldout`` is an optional ``(student, skill, correct)`` log of other students used to
    choose K (with ``n_types`` set it is only scored). Diagnostics: ``selected_k``, ``selection_method``,
    ``selection`` (per K: train log likelihood and MAP objective, held-out log likelihood, iterations, every
    restart's objective after ``init_iter`` iterations; with held-out data also its gap to the best K and the
    gap's standard error), ``loglik_trace`` and ``objective_trace`` (per
    iteration of the returned fit), ``n_iter``, ``converged``, ``fit_seconds``, data sizes and the config.

    Examples
    --------
    >>> from warmstart.sim.learners import simulate_learners
    >>> truth = LearnerPopulation(np.array([0.5, 0.5]), L0=np.full((2, 3), 0.2),
    ...     T=np.array([[0.3] * 3, [0.05] * 3]), F=np.zeros((2, 3)), G=np.full((2, 3), 0.2),
    ...     S=np.full((2, 3), 0.1))
    >>> log = simulate_learners(truth, 300, 30, rng=0)
    >>> pop = fit_learner_types(log.student, log.skill, log.correct, 3, LearnerFitConfig(n_types=2))
    >>> pop.n_types, bool(np.abs(np.sort(pop.T.mean(1)) - [0.05, 0.3]).max() < 0.05)
    (2, True)
    """
    cfg = config or LearnerFitConfig()
    t0 = time.perf_counter()
    report = progress or (lambda msg, frac: None)
    st, sk, co = check_responses(student, skill, correct, n_skills)
    if st.size == 0:
        raise ValueError("student, skill, correct: expected at least one response, got none")
    if skill_names is not None and len(skill_names) != n_skills:
        raise ValueError(f"skill_names: expected {n_skills} names, got {len(skill_names)}")
    _, sidx = _student_index(st)
    n_students = int(sidx.max()) + 1
    rng = np.random.default_rng(cfg.seed)
    ks = [cfg.n_types] if cfg.n_types is not None else list(range(cfg.k_range[0], cfg.k_range[1] + 1))
    select = len(ks) > 1
    full = SequenceLayout.build(sidx, sk, co, n_students, n_skills)
    hold: SequenceLayout | None = None
    train = full
    if heldout is not None:
        if not isinstance(heldout, (tuple, list)) or len(heldout) != 3:
            raise ValueError("heldout: expected a (student, skill, correct) tuple of arrays, got "
                             f"{type(heldout).__name__}")
        hs, hk, hc = check_responses(*heldout, n_skills, prefix="heldout.")
        if hs.size == 0:
            raise ValueError("heldout: expected at least one response, got none")
        _, hidx = _student_index(hs)
        hold = SequenceLayout.build(hidx, hk, hc, int(hidx.max()) + 1, n_skills)
    elif select:
        if n_students < 4:
            raise ValueError(f"student: choosing K needs at least 4 students, got {n_students}; set n_types")
        n_hold = min(max(1, round(cfg.heldout_fraction * n_students)), n_students - 1)
        is_hold = np.zeros(n_students, dtype=bool)
        is_hold[rng.permutation(n_students)[:n_hold]] = True
        rows = is_hold[sidx]
        hold = _sub_layout(sidx[rows], sk[rows], co[rows], n_skills)
        train = _sub_layout(sidx[~rows], sk[~rows], co[~rows], n_skills)
    # K = 1 first: it is a candidate and the shared starting point of every other K's initialisation
    report("EM with K = 1", 0.0)
    one = _default_mix(n_skills, cfg)
    _iterate(train, [one], cfg, cfg.max_iter)
    base = forward_backward(train, one.tables)
    assert isinstance(base, _SeqStats)
    feats = _student_features(train, one.tables, cfg)
    restarts = [one] if 1 in ks else []
    for k in ks:
        if k > 1:
            restarts += [_init_mix(train, base, feats, k, r, rng, cfg) for r in range(cfg.n_init)]
    report("restarts", 0.1)
    _iterate(train, restarts, cfg, cfg.init_iter)
    best = {k: max((m for m in restarts if m.k == k), key=lambda m: m.objective) for k in ks}
    report("EM to convergence", 0.3)
    _iterate(train, list(best.values()), cfg, cfg.max_iter)
    selection: list[dict[str, Any]] = []
    for k, m in best.items():
        selection.append({"K": k, "loglik": m.loglik, "objective": m.objective, "n_iter": m.n_iter,
                          "converged": m.converged,
                          "restart_objectives": [r.objective for r in restarts if r.k == k]})
    chosen = best[ks[0]]
    if hold is not None:
        report("held-out selection", 0.8)
        per_student = _heldout_loglik(hold, list(best.values()))  # (n_heldout, len(ks))
        scores = per_student.sum(0)
        top = int(np.argmax(scores))
        diff = per_student[:, [top]] - per_student  # paired, per held-out student
        se = np.sqrt(diff.shape[0]) * diff.std(0)
        for entry, score, gap, err in zip(selection, scores, diff.sum(0), se):
            entry.update(heldout_loglik=float(score), heldout_gap=float(gap), heldout_gap_se=float(err))
        if select:
            pick = top if cfg.selection == "best" else int(np.flatnonzero(diff.sum(0) <= se)[0])
            chosen = list(best.values())[pick]
        if heldout is None:  # refit the chosen K on every student, from where the train fit ended
            report(f"refit K = {chosen.k} on all students", 0.9)
            chosen = _Mix(chosen.weights, chosen.tables, restart=chosen.restart)
            _iterate(full, [chosen], cfg, cfg.max_iter)
    report("done", 1.0)
    diagnostics = {
        "family": "learner",
        "n_students": n_students,
        "n_responses": int(st.size),
        "n_sequences": full.n_sequences,
        "n_skills": n_skills,
        "skill_responses": np.bincount(sk, minlength=n_skills).tolist(),
        "selected_k": chosen.k,
        "selection_method": "heldout" if select else "fixed",
        "n_heldout_students": hold.n_students if hold is not None else 0,
        "selection": selection,
        "loglik": chosen.loglik,
        "loglik_trace": chosen.loglik_trace,
        "objective_trace": chosen.trace,
        "n_iter": chosen.n_iter,
        "converged": chosen.converged,
        "fit_seconds": time.perf_counter() - t0,
        "config": _config_dict(cfg),
    }
    return _population(chosen, skill_names, diagnostics)


def _sub_layout(sidx: np.ndarray, sk: np.ndarray, co: np.ndarray, n_skills: int) -> SequenceLayout:
    ids, local = np.unique(sidx, return_inverse=True)
    return SequenceLayout.build(local.astype(np.int64), sk, co, int(ids.size), n_skills)


def _heldout_loglik(layout: SequenceLayout, mixes: list[_Mix]) -> np.ndarray:
    """Every held-out student's log marginal likelihood under every mixture, ``(n_students, n_mixtures)``."""
    ll_seq = forward_backward(layout, _stack(mixes), smooth=False)
    assert isinstance(ll_seq, np.ndarray)
    ll_student = np.asarray(layout.student_sum @ ll_seq)
    return np.column_stack([norm for norm, _ in _mixture_loglik(ll_student, mixes)])


def refit_learner_types(
    population: LearnerPopulation,
    student: object,
    skill: object,
    correct: object,
    config: LearnerFitConfig | None = None,
    max_iter: int | None = None,
) -> LearnerPopulation:
    """Continue EM from ``population`` on a response log (K fixed): ``max_iter = 1`` is one EM update.

    Use it to refresh a population with new data without a cold start. ``config`` supplies the priors and
    ``forgets`` (``forgets`` defaults to whether the population forgets)."""
    cfg = config or LearnerFitConfig(forgets=population.forgets)
    st, sk, co = check_responses(student, skill, correct, population.n_skills)
    if st.size == 0:
        raise ValueError("student, skill, correct: expected at least one response, got none")
    if max_iter is not None and max_iter < 1:
        raise ValueError(f"max_iter: expected a positive integer, got {max_iter}")
    t0 = time.perf_counter()
    _, sidx = _student_index(st)
    layout = SequenceLayout.build(sidx, sk, co, int(sidx.max()) + 1, population.n_skills)
    mix = _Mix(population.weights.copy(), _Tables(*(x.copy() for x in population.tables())))
    _iterate(layout, [mix], cfg, cfg.max_iter if max_iter is None else max_iter)
    diagnostics = {
        **population.diagnostics,
        "refit": {"n_students": layout.n_students, "n_responses": int(st.size), "loglik": mix.loglik,
                  "loglik_trace": mix.loglik_trace, "objective_trace": mix.trace, "n_iter": mix.n_iter,
                  "converged": mix.converged,
                  "fit_seconds": time.perf_counter() - t0},
    }
    return _from_tables(mix.weights, mix.tables, population.skill_names, diagnostics)


# ---------------------------------------------------------------------------------------------- simulation
