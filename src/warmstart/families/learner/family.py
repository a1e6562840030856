"""The learner family through the family protocol (``warmstart.families.protocol``), name ``"learner_bkt"``.

A tutoring log is a logged-feedback record like any other: the candidate actions are the skills a student could
practise next (one-hot rows over the skills, the largest entry names the skill), the reward is whether the
answer was right (0 or 1). ``summarise`` also reads a response record (``student``, ``skill``, ``correct`` and
``n_skills``: ``warmstart.data.kt.KTData``, which the learner simulator produces too).

Parameters are the per-type, per-skill tables ``L0, T, F, G, S`` (``(K, n_skills)`` each, see ``model``); the
E-step is the exact forward-backward pass of ``model`` and the M-step the MAP update of ``mstep`` (the same code the
learner fit runs); a student's state is each type's P(known) of every skill before their next response, so the
type posterior after every response is exact. ``draw_values`` scores a candidate skill by the type's expected
learning gain, ``P(unknown) * T`` (what the ``ours`` tutor maximises). ``fit`` is the learner fit itself (K chosen
by held-out log likelihood, ``fit.fit_learner_types``) returned as a ``TypePopulation``; ``as_learner_population``
turns one back into the ``LearnerPopulation`` the tutoring policies and the knowledge-tracing tools read.

>>> import numpy as np
>>> import warmstart.families.learner.family as learner
>>> from warmstart.families.generic import TypeBelief
>>> from warmstart.families.registry import family, fit
>>> from warmstart.sim.learners import simulate_learners
>>> truth = learner.LearnerPopulation(np.array([0.5, 0.5]), L0=np.full((2, 3), 0.2),
...     T=np.array([[0.4] * 3, [0.03] * 3]), F=np.zeros((2, 3)), G=np.full((2, 3), 0.2), S=np.full((2, 3), 0.1))
>>> log = simulate_learners(truth, 300, 30, rng=0)
>>> pop = fit("learner_bkt", family("learner_bkt").summarise(log), n_types=2)
>>> pop.family, pop.n_types, pop.dim
('learner_bkt', 2, 3)
>>> belief = TypeBelief.fresh(pop)  # a new student: wrong twice on each skill, then right four times
>>> for skill in range(3):
...     for right in (0, 0, 1, 1, 1, 1):
...         belief.observe(np.eye(3)[skill], float(right))
>>> fast = int(np.argmax(pop.params["T"].mean(1)))  # the type that learns fast
>>> bool(belief.type_probs()[fast] > 0.95)
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.special import logsumexp

from warmstart.families.generic import TypePopulation, TypesFit
from warmstart.families.learner.config import LearnerFitConfig
from warmstart.families.learner.fit import (
    _default_mix,
    _init_mix,
    _iterate,
    _student_features,
    fit_learner_types,
)
from warmstart.families.learner.model import (
    SequenceLayout,
    _SeqStats,
    _student_index,
    _Tables,
    check_responses,
    forward_backward,
)
from warmstart.families.learner.mstep import _counts, _new_weights, _tables_from_counts
from warmstart.families.learner.population import PARAMS, LearnerPopulation
from warmstart.families.protocol import Family, Params, State, register_family


@dataclass(frozen=True, eq=False)
class Responses:
    """Students' responses, the statistics of the learner family: ``student`` (row ``0 .. n_students - 1`` of
    each response, in time order within a student), ``skill``, ``correct`` (0/1).

    >>> import numpy as np
    >>> stats = Responses(np.array([0, 0, 1]), np.array([0, 1, 1]), np.array([1, 0, 1], dtype=np.int8),
    ...                   n_students=2, n_skills=2)
    >>> stats.layout.n_sequences, stats.layout.seq_len.tolist()     # (student, skill) sequences, built once
    (3, [1, 1, 1])
    >>> Responses(stats.student[:0], stats.skill[:0], stats.correct[:0], n_students=0, n_skills=2).layout
    Traceback (most recent call last):
    ...
    ValueError: responses: expected at least one response, got none
    """

    student: np.ndarray
    skill: np.ndarray
    correct: np.ndarray
    n_students: int
    n_skills: int
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def layout(self) -> SequenceLayout:
        if "layout" not in self._cache:
            if self.student.size == 0:
                raise ValueError("responses: expected at least one response, got none")
            self._cache["layout"] = SequenceLayout.build(self.student, self.skill, self.correct, self.n_students,
                                                         self.n_skills)
        return self._cache["layout"]


def _from_bandit_log(log: Any) -> Responses:
    mask = np.asarray(log.action) >= 0
    n_users, _ = mask.shape
    n_skills = int(log.candidates.shape[-1])
    skill = np.asarray(log.chosen).argmax(-1)
    reward = np.asarray(log.reward, dtype=float)
    if np.any((reward[mask] != 0) & (reward[mask] != 1)):
        bad = reward[mask][(reward[mask] != 0) & (reward[mask] != 1)][0]
        raise ValueError(f"reward: expected 0 or 1 (whether the answer was right) for every event, got {bad}")
    student = np.broadcast_to(np.arange(n_users)[:, None], mask.shape)[mask]
    return Responses(student.astype(np.int64), skill[mask].astype(np.int64), reward[mask].astype(np.int8),
                     n_users, n_skills)


def _from_responses(log: Any) -> Responses:
    n_skills = int(log.n_skills)
    st, sk, co = check_responses(log.student, log.skill, log.correct, n_skills, prefix="log.")
    _, sidx = _student_index(st)
    return Responses(sidx, sk, co, int(sidx.max()) + 1 if sidx.size else 0, n_skills)


def _tables(params: Params) -> _Tables:
    return _Tables(*(params[name] for name in PARAMS))


def as_type_population(population: LearnerPopulation, fit: TypesFit | None = None) -> TypePopulation:
    """A ``LearnerPopulation`` as a population of the ``learner_bkt`` family (types in the same order).

    >>> import numpy as np
    >>> pop = LearnerPopulation(np.array([0.8, 0.2]), L0=np.full((2, 2), 0.1),   # 2 types, 2 skills:
    ...     T=np.array([[0.4, 0.4], [0.05, 0.05]]), F=np.zeros((2, 2)),         # fast and slow learners
    ...     G=np.full((2, 2), 0.2), S=np.full((2, 2), 0.1), skill_names=("add", "sub"))
    >>> types = as_type_population(pop)
    >>> types.family, types.n_types, types.dim, sorted(types.params), types.fit is None   # no fit record
    ('learner_bkt', 2, 2, ['F', 'G', 'L0', 'S', 'T'], True)
    """
    return TypePopulation(family=LearnerBKT.name, weights=population.weights,
                          params={name: getattr(population, name) for name in PARAMS}, fit=fit)


def as_learner_population(population: TypePopulation, skill_names: tuple[str, ...] = ()) -> LearnerPopulation:
    """A ``learner_bkt`` population as the ``LearnerPopulation`` the tutoring policies read.

    >>> import numpy as np
    >>> pop = LearnerPopulation(np.array([0.8, 0.2]), L0=np.full((2, 2), 0.1),   # 2 types, 2 skills:
    ...     T=np.array([[0.4, 0.4], [0.05, 0.05]]), F=np.zeros((2, 2)),         # fast and slow learners
    ...     G=np.full((2, 2), 0.2), S=np.full((2, 2), 0.1), skill_names=("add", "sub"))
    >>> back = as_learner_population(as_type_population(pop), skill_names=("add", "sub"))
    >>> back.fingerprint() == pop.fingerprint()                       # the same types, weights and names
    True
    >>> from warmstart.families.generic import TypePopulation
    >>> as_learner_population(TypePopulation(family="linear_gaussian", weights=np.ones(1), params={}))
    Traceback (most recent call last):
    ...
    ValueError: population: expected a population of the 'learner_bkt' family, got 'linear_gaussian'
    """
    if population.family != LearnerBKT.name:
        raise ValueError(f"population: expected a population of the {LearnerBKT.name!r} family, got "
                         f"{population.family!r}")
    L0, T, F, G, S = (population.params[name] for name in PARAMS)
    return LearnerPopulation(population.weights, L0, T, F, G, S, skill_names=skill_names)


@register_family
class LearnerBKT(Family):
    """Per type and skill a two-state learner (Bayesian knowledge tracing); types mixed with weights.

    >>> import numpy as np
    >>> from warmstart.sim.learners import simulate_learners
    >>> truth = LearnerPopulation(np.array([0.5, 0.5]), L0=np.full((2, 2), 0.1),  # 2 types, 2 skills:
    ...     T=np.array([[0.4, 0.4], [0.05, 0.05]]), F=np.zeros((2, 2)),         # fast and slow learners
    ...     G=np.full((2, 2), 0.2), S=np.full((2, 2), 0.1))
    >>> log = simulate_learners(truth, 100, 20, rng=0)                  # 100 students, 20 responses each
    >>> fam = LearnerBKT()                                            # as family("learner_bkt") makes it
    >>> stats = fam.summarise(log)                                   # the log as Responses
    >>> fam.n_users(stats), stats.n_skills, fam.take(stats, np.array([0, 3])).n_students
    (100, 2, 2)
    >>> pop = fam.fit(stats, n_types=2)                              # the learner fit, K fixed
    >>> pop.family, pop.n_types, np.sort(pop.params["T"].mean(1)).round(2).tolist()   # true: 0.05, 0.4
    ('learner_bkt', 2, [0.06, 0.55])
    >>> fam.check_reward(0.5)                                        # a reward is right (1) or wrong (0)
    Traceback (most recent call last):
    ...
    ValueError: reward: expected 0 or 1 (whether the answer was right), got 0.5
    """

    name = "learner_bkt"

    def __init__(self, config: LearnerFitConfig | None = None) -> None:
        self.config = config or LearnerFitConfig()

    # ------------------------------------------------------------------------------------------ statistics
    def summarise(self, log: Any) -> Responses:
        return _from_bandit_log(log) if hasattr(log, "candidates") else _from_responses(log)

    def n_users(self, stats: Responses) -> int:
        return stats.n_students

    def take(self, stats: Responses, index: np.ndarray | slice) -> Responses:
        idx = np.arange(stats.n_students)[index]
        if np.unique(idx).size != idx.size:
            raise ValueError("index: expected distinct users, got repeated indices")
        new_row = np.full(stats.n_students, -1, dtype=np.int64)
        new_row[idx] = np.arange(idx.size)
        keep = new_row[stats.student] >= 0
        return Responses(new_row[stats.student[keep]], stats.skill[keep], stats.correct[keep], int(idx.size),
                         stats.n_skills)

    # ------------------------------------------------------------------------------------------ EM
    def initial(self, stats: Responses, k: int, rng: np.random.Generator) -> tuple[Params, np.ndarray]:
        """The learner fit's start: the K = 1 fit, then soft responsibilities from k-means on per-student
        summaries and one M-step (``fit._init_mix``)."""
        layout, cfg = stats.layout, self.config
        if "base" not in stats._cache:
            one = _default_mix(stats.n_skills, cfg)
            _iterate(layout, [one], cfg, cfg.max_iter)
            base = forward_backward(layout, one.tables)
            stats._cache["base"] = (one, base, _student_features(layout, one.tables, cfg))
        one, base, feats = stats._cache["base"]
        mix = one if k == 1 else _init_mix(layout, base, feats, k, 0, rng, cfg)
        return {name: np.array(getattr(mix.tables, name)) for name in PARAMS}, mix.weights.copy()

    def _student_loglik(self, stats: Responses, params: Params, smooth: bool) -> tuple[np.ndarray, Any]:
        out = forward_backward(stats.layout, _tables(params), smooth=smooth)
        per_seq = out.loglik if isinstance(out, _SeqStats) else out
        return np.asarray(stats.layout.student_sum @ per_seq), out

    def e_step(self, stats: Responses, params: Params, weights: np.ndarray) -> tuple[float, Any]:
        ll, seq_stats = self._student_loglik(stats, params, smooth=True)
        joint = ll + np.log(weights)
        norm = logsumexp(joint, axis=1)
        resp = np.exp(joint - norm[:, None])
        sums = _counts(stats.layout, seq_stats, resp[stats.layout.seq_student])
        sums["responsibility"] = resp.sum(0)
        return float(norm.sum()), sums

    def m_step(self, sums: Any, params: Params, n_users: int) -> tuple[Params, np.ndarray]:
        tables = _tables_from_counts(sums, self.config)
        return {name: getattr(tables, name) for name in PARAMS}, _new_weights(sums["responsibility"], self.config)

    def log_evidence(self, stats: Responses, params: Params) -> np.ndarray:
        return self._student_loglik(stats, params, smooth=False)[0]

    def n_free(self, params: Params) -> int:
        k, s = params["T"].shape
        return k * s * (5 if np.any(params["F"] > 0) else 4)

    def dim(self, params: Params) -> int:
        return int(params["T"].shape[1])

    # ------------------------------------------------------------------------------------------ belief
    def new_state(self, params: Params) -> State:
        return {"known": np.array(params["L0"], dtype=float)}

    def observe(self, state: State, params: Params, x: np.ndarray, reward: float) -> np.ndarray:
        s = int(np.argmax(x))
        pk = state["known"][:, s]
        G, S, T, F = (params[name][:, s] for name in ("G", "S", "T", "F"))
        right, wrong = pk * (1.0 - S), pk * S
        p_right = right + (1.0 - pk) * G
        if reward == 1.0:
            post, logp = right / p_right, np.log(p_right)
        else:
            post, logp = wrong / (1.0 - p_right), np.log1p(-p_right)
        state["known"][:, s] = post * (1.0 - F) + (1.0 - post) * T
        return logp

    def draw_values(self, state: State, params: Params, k: int, X: np.ndarray,
                    rng: np.random.Generator) -> np.ndarray:
        return X @ ((1.0 - state["known"][k]) * params["T"][k])

    def expected_values(self, state: State, params: Params, X: np.ndarray) -> np.ndarray:
        return np.asarray(((1.0 - state["known"]) * params["T"]) @ X.T)

    def check_reward(self, reward: float) -> float:
        if reward not in (0.0, 1.0):
            raise ValueError(f"reward: expected 0 or 1 (whether the answer was right), got {reward}")
        return reward

    def reward_for(self, value: float) -> float:
        return 1.0 if value > 0 else 0.0

    # ------------------------------------------------------------------------------------------ fit
    def fit(self, stats: Responses, **config: Any) -> TypePopulation:
        """The learner fit (``fit.fit_learner_types``: K by held-out log likelihood, MAP priors) on ``stats``;
        ``config`` are ``LearnerFitConfig`` fields. The record of the fit gives each K tried with its training
        log likelihood and BIC (on the students it was fitted on: without the held-out ones when K is chosen),
        and the chosen K's on every student; the K was chosen as the learner fit chooses it.

        >>> import numpy as np
        >>> from warmstart.sim.learners import simulate_learners
        >>> truth = LearnerPopulation(np.array([0.5, 0.5]), L0=np.full((2, 2), 0.1),  # 2 types, 2 skills:
        ...     T=np.array([[0.4, 0.4], [0.05, 0.05]]), F=np.zeros((2, 2)),         # fast and slow learners
        ...     G=np.full((2, 2), 0.2), S=np.full((2, 2), 0.1))
        >>> log = simulate_learners(truth, 100, 20, rng=0)                  # 100 students, 20 responses each
        >>> fam = LearnerBKT()
        >>> pop = fam.fit(fam.summarise(log), k_range=(1, 3))             # K chosen on held-out students
        >>> pop.n_types, [k for k, loglik, bic in pop.fit.tried], pop.fit.n_users, pop.fit.converged
        (2, [1, 2, 3], 100, True)
        >>> fam.fit(fam.summarise(log), selection="bic")
        Traceback (most recent call last):
        ...
        ValueError: selection: expected 'one_se' or 'best', got 'bic'
        """
        cfg = LearnerFitConfig(**config)
        pop = fit_learner_types(stats.student, stats.skill, stats.correct, stats.n_skills, cfg)
        d = pop.diagnostics
        if d.loglik is None or d.n_iter is None:
            raise RuntimeError("learner fit: expected the fit to record its log likelihood and iterations")
        n, k = stats.n_students, pop.n_types
        n_fitted = n - int(d.n_heldout_students or 0)  # each K tried was fitted without the held-out students
        per_k = 5 if cfg.forgets else 4

        def bic(kk: int, ll: float, users: int) -> float:
            return -2.0 * ll + (kk * stats.n_skills * per_k + kk - 1) * math.log(users)

        tried = tuple((int(e["K"]), float(e["loglik"]), bic(int(e["K"]), float(e["loglik"]), n_fitted))
                      for e in d.selection or ())
        record = TypesFit(n_users=n, n_types=k, loglik=float(d.loglik), bic=bic(k, float(d.loglik), n),
                          n_iter=int(d.n_iter), converged=bool(d.converged), tried=tried, seed=cfg.seed)
        return as_type_population(pop, record)
