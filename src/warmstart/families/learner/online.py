"""Replaying whole response logs: ``predict_online`` predicts every response of a test log before it is seen.

Students are independent new students; each student's ``t``-th response of all students is processed together
(arrays over students, no loop over them), with the same kernels as the batched belief
(``warmstart.families.learner.components``). ``LearnerBeliefBatch.from_log`` builds its state with the same
replay.
"""

from __future__ import annotations

import numpy as np

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
from warmstart.families.learner.fit import _student_index, check_responses
from warmstart.families.learner.population import LearnerPopulation


def _replay(population: LearnerPopulation, comp: _Components, sidx: np.ndarray, skill: np.ndarray,
            correct: np.ndarray, want_types: bool = False, offset: np.ndarray | None = None,
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Replay logs of many students, each student's ``t``-th response of all students together.
    ``offset`` (per response, optional) is the item difficulty on the log-odds scale (``item_adjusted``).

    Returns (per response: P(correct) predicted before it, or the type posterior before it ``(n, K)`` with
    ``want_types``), and the final state: student and skill of each (student, skill) pair, its P(known)
    ``(n_pairs, J)``, and the log evidence ``(N, J)`` of every student.
    """
    n = skill.size
    n_students = int(sidx.max()) + 1
    counts = np.bincount(sidx, minlength=n_students)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank = np.empty(n_students, dtype=np.int64)
    by_count = np.argsort(-counts, kind="stable")  # students still answering at step t are a prefix
    rank[by_count] = np.arange(n_students)
    t_of_row = np.arange(n) - starts[sidx]
    steps = int(counts.max())
    alive = n_students - np.cumsum(np.bincount(counts, minlength=steps + 1))[:steps]
    bounds = np.concatenate([[0], np.cumsum(alive)])
    rows_tm = np.empty(n, dtype=np.int64)
    rows_tm[bounds[t_of_row] + rank[sidx]] = np.arange(n)
    keys, pair = np.unique(sidx * population.n_skills + skill, return_inverse=True)
    pair_students, pair_skills = keys // population.n_skills, keys % population.n_skills
    state = comp.L0[pair_skills].copy()
    logev = np.zeros((n_students, comp.log_prior.size))
    out = np.empty((n, population.n_types) if want_types else n)
    onehot = np.eye(population.n_types)[comp.type_of]
    obs = correct.astype(bool)
    for t in range(steps):
        rows = rows_tm[bounds[t] : bounds[t + 1]]
        m = rows.size
        pr, sk = pair[rows], skill[rows]
        pk = state[pr]
        post = _posterior(logev[:m], comp.log_prior)
        G, S = comp.G[sk], comp.S[sk]
        if offset is not None:
            G, S = item_adjusted(G, S, offset[rows][:, None])
        if want_types:
            out[rows] = post @ onehot
        else:
            out[rows] = np.einsum("nj,nj->n", post, _p_correct(pk, G, S))
        state[pr], logc = _step(pk, obs[rows][:, None], G, S, comp.T[sk], comp.F[sk])
        logev[:m] += logc
    return out, pair_students, pair_skills, state, logev[rank]


def predict_online(
    population: LearnerPopulation,
    student: object,
    skill: object,
    correct: object,
    *,
    grid: PersonalGrid | None = DEFAULT_GRID,
    return_type_probs: bool = False,
    item_offset: object = None,
) -> np.ndarray:
    """P(correct) of every response of a test log, predicted before seeing it (from the student's earlier
    responses only). The log is sorted by student, then time; students are independent new students.
    ``item_offset`` (one per response, optional) is the answered item's difficulty on the log-odds scale
    (``warmstart.families.learner.items``): it shifts guess and slip, so an easy item answered right is weaker evidence.

    With ``return_type_probs`` returns instead the type posterior ``(n_responses, K)`` before each response.
    ``grid=None`` predicts without personal multipliers; with ``K = 1`` and no grid this is plain BKT.

    Examples
    --------
    >>> from warmstart.sim.learners import simulate_learners
    >>> pop = LearnerPopulation(np.ones(1), L0=np.full((1, 2), 0.3), T=np.full((1, 2), 0.2),
    ...                         F=np.zeros((1, 2)), G=np.full((1, 2), 0.2), S=np.full((1, 2), 0.1))
    >>> log = simulate_learners(pop, 3, 4, rng=0)
    >>> p = predict_online(pop, log.student, log.skill, log.correct, grid=None)
    >>> p.shape, float(p[0]) == 0.2 + 0.3 * (1 - 0.1 - 0.2)
    ((12,), True)
    """
    g = grid or NO_GRID
    st, sk, co = check_responses(student, skill, correct, population.n_skills)
    if st.size == 0:
        return np.zeros((0, population.n_types) if return_type_probs else 0)
    off = None
    if item_offset is not None:
        off = np.asarray(item_offset, dtype=float)
        if off.shape != st.shape or not np.isfinite(off).all():
            raise ValueError(f"item_offset: expected {st.size} finite numbers (one per response), got shape "
                             f"{off.shape}")
    _, sidx = _student_index(st)
    out, *_ = _replay(population, _Components.build(population, g), sidx, sk, co, want_types=return_type_probs,
                      offset=off)
    return out
