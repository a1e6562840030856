"""Helpers for testing code built on warmstart: small random logs with ragged histories."""

from __future__ import annotations

import numpy as np


def random_response_log(rng: np.random.Generator, n_students: int, n_skills: int,
                        max_len: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(student, skill, correct)`` for ``n_students`` students with 1..``max_len`` responses each, on
    uniformly random skills, with uniformly random correctness; sorted by student, then time. No model is
    behind it: it exercises exact computations (brute-force references) on ragged histories.

    >>> rng = np.random.default_rng(1)
    >>> student, skill, correct = random_response_log(rng, n_students=3, n_skills=2, max_len=4)
    >>> student.tolist(), skill.tolist(), correct.tolist()              # 2, 4 and 1 responses
    ([0, 0, 1, 1, 1, 1, 2], [1, 1, 0, 0, 1, 1, 0], [1, 0, 0, 1, 0, 0, 1])
    """
    student: list[int] = []
    skill: list[int] = []
    for i in range(n_students):
        n = int(rng.integers(1, max_len + 1))
        student += [i] * n
        skill += list(rng.integers(0, n_skills, n))
    return np.array(student), np.array(skill), rng.integers(0, 2, len(skill))
