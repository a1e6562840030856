"""The learner fit's M-step: responsibility-weighted expected counts (additive over students) and the MAP
parameters and type weights they give (Beta and Dirichlet pseudo-counts; guess and slip capped, every
probability kept in ``[min_prob, 1 - min_prob]``). The learner fit (``fit``) and the learner family behind the
family protocol (``family``) both run it."""

from __future__ import annotations

import numpy as np

from warmstart.families.learner.config import LearnerFitConfig
from warmstart.families.learner.model import SequenceLayout, _SeqStats, _Tables


def _map(success: np.ndarray, trials: np.ndarray, prior: tuple[float, float], lo: float, hi: float) -> np.ndarray:
    a, b = prior
    return np.clip((success + a - 1.0) / (trials + a + b - 2.0), lo, hi)


def _counts(layout: SequenceLayout, st: _SeqStats, resp_seq: np.ndarray) -> dict[str, np.ndarray]:
    """The M-step's responsibility-weighted expected counts, each ``(C, n_skills)``: additive over students, so
    the counts of two groups of students are the sums of each group's."""

    def agg(x: np.ndarray) -> np.ndarray:
        return np.asarray(layout.skill_sum @ (x * resp_seq)).T

    out = {"first": agg(st.first), "sequences": np.asarray(layout.skill_sum @ resp_seq).T, "learn": agg(st.learn),
           "know": agg(st.know), "unk": agg(st.unk), "know_last": agg(st.know_last), "unk_last": agg(st.unk_last),
           "know_right": agg(st.know_right), "unk_right": agg(st.unk_right)}
    if st.forget is not None:
        out["forget"] = agg(st.forget)
    return out


def _tables_from_counts(c: dict[str, np.ndarray], cfg: LearnerFitConfig) -> _Tables:
    """MAP parameters ``(C, n_skills)`` from the expected counts of ``_counts``."""
    lo, hi = cfg.min_prob, 1.0 - cfg.min_prob
    know, unk = c["know"], c["unk"]
    L0 = _map(c["first"], c["sequences"], cfg.prior_L0, lo, hi)
    T = _map(c["learn"], unk - c["unk_last"], cfg.prior_learn, lo, hi)
    if cfg.forgets and "forget" in c:
        F = _map(c["forget"], know - c["know_last"], cfg.prior_forget, lo, hi)
    else:
        F = np.zeros_like(T)
    G = _map(c["unk_right"], unk, cfg.prior_guess, lo, cfg.max_guess)
    S = _map(know - c["know_right"], know, cfg.prior_slip, lo, cfg.max_slip)
    return _Tables(L0, T, F, G, S)


def _m_step(layout: SequenceLayout, st: _SeqStats, resp_seq: np.ndarray, cfg: LearnerFitConfig) -> _Tables:
    """Parameters ``(C, n_skills)`` from expected counts weighted by each sequence's type responsibility."""
    return _tables_from_counts(_counts(layout, st, resp_seq), cfg)


def _new_weights(resp_sum: np.ndarray, cfg: LearnerFitConfig) -> np.ndarray:
    """Type weights from the summed responsibilities (MAP under a symmetric Dirichlet), never exactly zero."""
    w = resp_sum + cfg.weight_prior - 1.0
    w = np.maximum(w / w.sum(), 1e-12)
    return w / w.sum()
