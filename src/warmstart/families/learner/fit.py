"""Learner-type family, the fit: EM for K learner types (the model and its forward-backward pass are ``model``).

Fit
---
EM with Beta pseudo-count priors (a MAP fit, so a rarely practised skill stays sensible): the E-step runs an
exact forward filter and a backward smoother on every (student, skill) sequence under every type
(``model.forward_backward``), gives each student's type responsibilities from the summed per-sequence log
likelihoods, and the M-step sets every parameter from responsibility-weighted expected counts. Guess and slip are
capped below 0.5 (so "known" is the state that answers well) and every probability is kept in
``[min_prob, 1 - min_prob]``; clipping the one-dimensional Beta-MAP maximiser is the exact constrained M-step, so
the objective never decreases. Many mixtures (every K and every restart) share one E-step pass by stacking their
types as columns; K is chosen by held-out log likelihood.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.special import logsumexp

from warmstart._cluster import kmeans_pp
from warmstart.families.learner.config import LearnerFitConfig
from warmstart.families.learner.model import (
    SequenceLayout,
    _SeqStats,
    _student_index,
    _sub_layout,
    _Tables,
    check_responses,
    forward_backward,
)
from warmstart.families.learner.mstep import _m_step, _new_weights
from warmstart.families.learner.population import (  # noqa: F401 - re-exported: the family's public names
    PARAMS,
    LearnerPopulation,
    LearnerPopulationFormatError,
    TypeDescription,
    _from_tables,
    odds_scale,
)

Progress = Callable[[str, float], None]


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
                m.weights = _new_weights(resp[:, sl].sum(0), cfg)
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
    full, train, hold = _layouts(sidx, sk, co, n_students, n_skills, heldout, select, cfg, rng)
    best, restarts = _fit_each_k(train, ks, n_skills, cfg, rng, report)
    chosen, selection = _choose_k(best, restarts, hold, full, select, heldout is None, cfg, report)
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


def _layouts(sidx: np.ndarray, sk: np.ndarray, co: np.ndarray, n_students: int, n_skills: int,
             heldout: tuple[object, object, object] | None, select: bool, cfg: LearnerFitConfig,
             rng: np.random.Generator) -> tuple[SequenceLayout, SequenceLayout, SequenceLayout | None]:
    """The layouts of every student (``full``), of the students EM runs on (``train``) and of the held-out
    students that choose K (``hold``: the given ``heldout`` log, or a ``heldout_fraction`` of the students
    split off by ``rng`` when K is chosen without one; ``None`` when K is fixed and nothing is held out)."""
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
    return full, train, hold


def _fit_each_k(train: SequenceLayout, ks: list[int], n_skills: int, cfg: LearnerFitConfig, rng: np.random.Generator,
                report: Progress) -> tuple[dict[int, _Mix], list[_Mix]]:
    """EM for every K in ``ks`` on ``train``: ``n_init`` restarts per K run ``init_iter`` iterations together,
    then the best of each K runs to convergence. Returns the best mixture per K and every restart."""
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
    return best, restarts


def _choose_k(best: dict[int, _Mix], restarts: list[_Mix], hold: SequenceLayout | None, full: SequenceLayout,
              select: bool, refit: bool, cfg: LearnerFitConfig, report: Progress
              ) -> tuple[_Mix, list[dict[str, Any]]]:
    """The mixture returned (the first K's when K is fixed; else chosen by held-out log likelihood and, with
    ``refit``, refitted on ``full`` from where the train fit ended) and the per-K ``selection`` diagnostics."""
    selection: list[dict[str, Any]] = []
    for k, m in best.items():
        selection.append({"K": k, "loglik": m.loglik, "objective": m.objective, "n_iter": m.n_iter,
                          "converged": m.converged,
                          "restart_objectives": [r.objective for r in restarts if r.k == k]})
    chosen = next(iter(best.values()))
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
        if refit:  # refit the chosen K on every student, from where the train fit ended
            report(f"refit K = {chosen.k} on all students", 0.9)
            chosen = _Mix(chosen.weights, chosen.tables, restart=chosen.restart)
            _iterate(full, [chosen], cfg, cfg.max_iter)
    return chosen, selection


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
    ``forgets`` (``forgets`` defaults to whether the population forgets).

    Examples
    --------
    >>> from warmstart.sim.learners import simulate_learners
    >>> import numpy as np
    >>> pop = LearnerPopulation(np.array([0.8, 0.2]), L0=np.full((2, 2), 0.1),   # 2 types, 2 skills:
    ...     T=np.array([[0.4, 0.4], [0.05, 0.05]]), F=np.zeros((2, 2)),         # fast and slow learners
    ...     G=np.full((2, 2), 0.2), S=np.full((2, 2), 0.1), skill_names=("add", "sub"))
    >>> log = simulate_learners(pop, 100, 10, rng=0)                    # new responses: 100 students
    >>> once = refit_learner_types(pop, log.student, log.skill, log.correct, max_iter=1)  # one EM update
    >>> once.T.round(2).tolist(), once.skill_names                     # K and the names stay
    ([[0.42, 0.42], [0.06, 0.05]], ('add', 'sub'))
    >>> once.diagnostics.refit["n_students"], once.diagnostics.refit["n_iter"]
    (100, 1)
    >>> more = refit_learner_types(pop, log.student, log.skill, log.correct, max_iter=5)
    >>> [round(x, 2) for x in more.diagnostics.refit["objective_trace"]]   # EM never goes down
    [-611.7, -607.31, -606.46, -606.09, -605.87]
    >>> refit_learner_types(pop, log.student, log.skill, log.correct, max_iter=0)
    Traceback (most recent call last):
    ...
    ValueError: max_iter: expected a positive integer, got 0
    """
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
    diagnostics = population.diagnostics.replace(
        refit={"n_students": layout.n_students, "n_responses": int(st.size), "loglik": mix.loglik,
               "loglik_trace": mix.loglik_trace, "objective_trace": mix.trace, "n_iter": mix.n_iter,
               "converged": mix.converged, "fit_seconds": time.perf_counter() - t0})
    return _from_tables(mix.weights, mix.tables, population.skill_names, diagnostics)
