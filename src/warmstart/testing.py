"""Helpers for testing code built on warmstart: small random logs with ragged histories."""

from __future__ import annotations

import numpy as np


def random_response_log(rng: np.random.Generator, n_students: int, n_skills: int,
                        max_len: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(student, skill, correct)`` for ``n_students`` students with 1..``max_len`` responses each, on
    uniformly random skills, with uniformly random correctness; sorted by student, then time. No model is
    behind it: it exercises exact computations (brute-force references) on ragged histories."""
    student: list[int] = []
    skill: list[int] = []
    for i in range(n_students):
        n = int(rng.integers(1, max_len + 1))
        student += [i] * n
        skill += list(rng.integers(0, n_skills, n))
    return np.array(student), np.array(skill), rng.integers(0, 2, len(skill))
