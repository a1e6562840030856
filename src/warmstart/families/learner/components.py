"""The components of a learner belief, and the exact kernels of one response.

A component is a learner type ``k`` together with a personal multiplier pair ``(m_learn, m_slip)`` from a
``PersonalGrid``: the multipliers scale the *odds* of the type's learn rate and slip rate (so they stay
probabilities), under a discretised log-normal prior centred on 1. ``_Components`` lays out every component's
parameters as tables (skill-major), and the kernels work on them: the posterior over components from the log
evidence, P(correct) from P(known), one response's conditioning and learn / forget step, and an item's
difficulty (``item_adjusted``). The batched belief (``warmstart.families.learner.belief``) and the replay of
whole logs (``warmstart.families.learner.online``) share them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from warmstart.families.learner.population import LearnerPopulation, odds_scale


@dataclass(frozen=True, kw_only=True)
class PersonalGrid:
    """Personal multipliers on the odds of a type's learn rate and slip rate, with a log-normal prior.

    ``learn`` and ``slip`` are strictly increasing positive values; the prior of a multiplier ``m`` is
    proportional to ``exp(-log(m)^2 / (2 log_sd^2))`` on each axis, independently, so most mass sits on 1.

    >>> import numpy as np
    >>> grid = PersonalGrid()                                   # 3 x 3 multipliers around 1
    >>> grid.size, [m.tolist() for m in grid.multipliers()]     # learn-major
    (9, [[0.5, 0.5, 0.5, 1.0, 1.0, 1.0, 2.0, 2.0, 2.0], [0.5, 1.0, 2.0, 0.5, 1.0, 2.0, 0.5, 1.0, 2.0]])
    >>> np.exp(grid.log_prior()).round(3).tolist()              # the prior: most mass on (1, 1)
    [0.024, 0.107, 0.024, 0.107, 0.479, 0.107, 0.024, 0.107, 0.024]
    >>> PersonalGrid(learn=(1.0, 0.5))
    Traceback (most recent call last):
    ...
    ValueError: learn: expected strictly increasing positive multipliers, got [1.0, 0.5]
    """

    learn: tuple[float, ...] = (0.5, 1.0, 2.0)
    slip: tuple[float, ...] = (0.5, 1.0, 2.0)
    log_sd: float = 0.4

    def __post_init__(self) -> None:
        for name in ("learn", "slip"):
            vals = np.asarray(getattr(self, name), dtype=float)
            if vals.ndim != 1 or not 1 <= vals.size <= 255:
                raise ValueError(f"{name}: expected 1 to 255 multipliers, got {getattr(self, name)!r}")
            if not np.all(np.isfinite(vals)) or np.any(vals <= 0) or np.any(np.diff(vals) <= 0):
                raise ValueError(f"{name}: expected strictly increasing positive multipliers, got {vals.tolist()}")
            object.__setattr__(self, name, tuple(float(v) for v in vals))
        if not (np.isfinite(self.log_sd) and self.log_sd > 0):
            raise ValueError(f"log_sd: expected a positive number, got {self.log_sd}")

    @property
    def size(self) -> int:
        return len(self.learn) * len(self.slip)

    def multipliers(self) -> tuple[np.ndarray, np.ndarray]:
        """Learn and slip multiplier of every grid point ``(M,)``, learn-major."""
        lm, sm = np.meshgrid(self.learn, self.slip, indexing="ij")
        return lm.ravel(), sm.ravel()

    def log_prior(self) -> np.ndarray:
        lm, sm = self.multipliers()
        logp = -(np.log(lm) ** 2 + np.log(sm) ** 2) / (2.0 * self.log_sd**2)
        return logp - np.log(np.exp(logp - logp.max()).sum()) - logp.max()


NO_GRID = PersonalGrid(learn=(1.0,), slip=(1.0,))
DEFAULT_GRID = PersonalGrid()


@dataclass(frozen=True)
class _Components:
    """Component (type x multiplier) parameters: ``log_prior (J,)``, tables ``(n_skills, J)`` (skill-major, so
    gathering rows by skill gives ``(n, J)``), ``type_of (J,)``."""

    log_prior: np.ndarray
    L0: np.ndarray
    T: np.ndarray
    F: np.ndarray
    G: np.ndarray
    S: np.ndarray
    type_of: np.ndarray

    @staticmethod
    def build(population: LearnerPopulation, grid: PersonalGrid) -> _Components:
        lm, sm = grid.multipliers()
        M = lm.size
        type_of = np.repeat(np.arange(population.n_types), M)  # component j = k * M + m

        def per(x: np.ndarray) -> np.ndarray:
            return np.ascontiguousarray(np.repeat(x, M, axis=0).T)

        T = odds_scale(population.T[type_of], np.tile(lm, population.n_types)[:, None])
        S = odds_scale(population.S[type_of], np.tile(sm, population.n_types)[:, None])
        return _Components(
            log_prior=np.repeat(population.log_weights, M) + np.tile(grid.log_prior(), population.n_types),
            L0=per(population.L0), T=np.ascontiguousarray(T.T), F=per(population.F), G=per(population.G),
            S=np.ascontiguousarray(S.T), type_of=type_of,
        )


# ---------------------------------------------------------------------------------------------- kernels
def _posterior(log_evidence: np.ndarray, log_prior: np.ndarray) -> np.ndarray:
    joint = log_evidence + log_prior
    joint = joint - joint.max(axis=-1, keepdims=True)
    p = np.exp(joint)
    return p / p.sum(axis=-1, keepdims=True)


def _p_correct(pk: np.ndarray, G: np.ndarray, S: np.ndarray) -> np.ndarray:
    """P(correct) per component from P(known) ``pk``."""
    return G + pk * (1.0 - S - G)


def _step(pk: np.ndarray, o: np.ndarray, G: np.ndarray, S: np.ndarray, T: np.ndarray, F: np.ndarray
          ) -> tuple[np.ndarray, np.ndarray]:
    """Condition P(known) on a response ``o`` (bool, broadcast over components), then learn / forget.

    Returns the next P(known) and the log probability of the response under every component."""
    pc = _p_correct(pk, G, S)
    c = np.where(o, pc, 1.0 - pc)
    fk = pk * np.where(o, 1.0 - S, S) / c
    return fk * (1.0 - F) + (1.0 - fk) * T, np.log(c)


def item_adjusted(G: np.ndarray, S: np.ndarray, offset: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Guess and slip of a response to an item whose difficulty shifts the log odds of a correct answer by
    ``offset`` (positive: easier), in both hidden states: ``logit G' = logit G + offset`` and
    ``logit (1 - S') = logit (1 - S) + offset``. Broadcasts ``offset (n, 1)`` over components.

    >>> import numpy as np
    >>> G, S = np.array([0.2]), np.array([0.1])
    >>> [x.round(3).tolist() for x in item_adjusted(G, S, np.array([0.0]))]       # offset 0: unchanged
    [[0.2], [0.1]]
    >>> [x.round(3).tolist() for x in item_adjusted(G, S, np.array([np.log(4)]))]  # odds of right x 4
    [[0.5], [0.027]]
    """
    e = np.exp(offset)
    g = G * e / (1.0 - G + G * e)
    ok = (1.0 - S) * e / (S + (1.0 - S) * e)
    return g, 1.0 - ok
