"""Settings of the learner-type fit (``LearnerFitConfig``), validated once at construction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from warmstart._validate import check_k_choice


@dataclass(frozen=True, kw_only=True)
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

    >>> cfg = LearnerFitConfig()                                 # K in 1..5, chosen on held-out students
    >>> cfg.n_types, cfg.k_range, cfg.selection, cfg.forgets
    (None, (1, 5), 'one_se', False)
    >>> LearnerFitConfig(n_types=2, forgets=True).n_types         # K fixed, forgetting fitted
    2
    >>> LearnerFitConfig(prior_learn=(0.5, 2.0))                  # a < 1: not a pseudo-count
    Traceback (most recent call last):
    ...
    ValueError: prior_learn: expected Beta pseudo-counts (a, b) with a, b >= 1 and a + b > 2, got (0.5, 2.0)
    >>> LearnerFitConfig(max_guess=0.6)                           # guessing right more often than not
    Traceback (most recent call last):
    ...
    ValueError: max_guess: expected a value in (min_prob, 0.5), got 0.6
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
