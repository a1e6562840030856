"""A small response file in the generic knowledge-tracing format, written by the tests that need one."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from warmstart.families.learner.population import LearnerPopulation
from warmstart.sim.learners import simulate_learners

SKILLS = ("add", "sub", "mul")


def write_kt_csv(path: Path, *, n_students: int = 160, items: bool = True, seed: int = 0,
                 first_student: int = 0) -> Path:
    """Simulated students of two learner types (fast and slow learners) on three skills, 25 responses each,
    as CSV rows in shuffled order: ``student`` (``s0001``...), ``order`` (an ISO timestamp), ``skill`` (a name),
    ``item`` (only with ``items``: one of 8 items per skill, whose difficulty shifts the answers), ``correct``."""
    pop = LearnerPopulation(np.array([0.5, 0.5]), L0=np.full((2, 3), 0.2), T=np.array([[0.3] * 3, [0.04] * 3]),
                            F=np.zeros((2, 3)), G=np.full((2, 3), 0.2), S=np.full((2, 3), 0.1))
    rng = np.random.default_rng(seed)
    log = simulate_learners(pop, n_students, 25, rng)
    item = log.skill * 8 + rng.integers(8, size=log.n_responses)
    correct = log.correct.copy()
    hard = (item % 8) < 3  # a few hard items: a right answer turns wrong half the time
    correct[hard & (rng.random(log.n_responses) < 0.5)] = 0
    rows = [[f"s{first_student + int(s):04d}", f"2024-01-01T00:{pos // 60:02d}:{pos % 60:02d}", SKILLS[int(k)],
             f"{SKILLS[int(k)]}-q{int(i) % 8}", int(c)]
            for s, pos, k, i, c in zip(log.student, log.positions(), log.skill, item, correct)]
    rows = [rows[j] for j in rng.permutation(len(rows))]
    header = ["student", "order", "skill", "item", "correct"]
    if not items:
        header.remove("item")
        rows = [r[:3] + r[4:] for r in rows]
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path
