"""``LearnerFitDiagnostics``: the typed record of how a learner population was fitted, stored as the
``diagnostics`` object of the learner population file's metadata (``docs/formats.md``). Fields are ``None`` when
the fit that made the population does not report them; unknown keys and the keys' order are kept
(``warmstart._record.OrderedRecord``).

>>> d = LearnerFitDiagnostics.from_dict({"selected_k": 2, "skill_responses": [10, 4]})
>>> d.selected_k, d.refit
(2, None)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from warmstart._record import OrderedRecord


@dataclass(frozen=True, kw_only=True)
class LearnerFitDiagnostics(OrderedRecord):
    """How a learner population was fitted (``fit.fit_learner_types`` documents each field).

    >>> import numpy as np
    >>> from warmstart.families.learner.fit import LearnerFitConfig, LearnerPopulation, fit_learner_types
    >>> from warmstart.sim.learners import simulate_learners
    >>> truth = LearnerPopulation(np.ones(1), L0=np.full((1, 2), 0.2), T=np.full((1, 2), 0.3),  # one type
    ...                           F=np.zeros((1, 2)), G=np.full((1, 2), 0.2), S=np.full((1, 2), 0.1))
    >>> log = simulate_learners(truth, 20, 10, rng=0)                # 20 students, 10 responses each
    >>> fitted = fit_learner_types(log.student, log.skill, log.correct, 2, LearnerFitConfig(n_types=1))
    >>> d = fitted.diagnostics
    >>> d.family, d.n_students, d.n_responses, d.selected_k, d.selection_method, d.converged
    ('learner', 20, 200, 1, 'fixed', True)
    >>> d.refit is None, LearnerFitDiagnostics.from_dict(d.to_dict()) == d  # not refitted; read back the same
    (True, True)
    """

    family: str | None = None  # "learner"
    n_students: int | None = None
    n_responses: int | None = None
    n_sequences: int | None = None
    n_skills: int | None = None
    skill_responses: list[int] | None = None  # responses per skill in the training log
    selected_k: int | None = None
    selection_method: str | None = None  # "heldout" or "fixed"
    n_heldout_students: int | None = None
    selection: list[dict[str, Any]] | None = None  # per K: log likelihoods, iterations, restarts, held-out gap
    loglik: float | None = None
    loglik_trace: list[float] | None = None
    objective_trace: list[float] | None = None
    n_iter: int | None = None
    converged: bool | None = None
    fit_seconds: float | None = None
    config: dict[str, Any] | None = None  # the LearnerFitConfig the fit ran with
    refit: dict[str, Any] | None = None  # EM continued on new responses (``fit.refit_learner_types``)
    slow_minority: dict[str, Any] | None = None  # a type the tutoring simulator added (``sim.tutoring``)
