"""Small objects of every stored format, built from fixed values, and the files warmstart writes for them.

``objects()`` builds them (no fitting, no random numbers: every value is set here, so the same objects come out
of every version); ``write(folder)`` saves each with warmstart's own writer. The files in this folder were
written by the code of the commit named in README.md; ``tests/test_formats.py`` reads them with the current code
(same values) and writes the same objects again (same bytes).

    PYTHONPATH=src python tests/data/formats/make_fixtures.py tests/data/formats
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from warmstart.data.bandit_log import TrainingLog, save_log
from warmstart.families.learner.belief import LearnerBeliefBatch, PersonalGrid
from warmstart.families.learner.population import LearnerPopulation
from warmstart.families.linear.belief import BeliefBatch
from warmstart.families.linear.changepoint import ChangePointBelief
from warmstart.families.linear.incremental import EMSums
from warmstart.families.linear.item_features import save_item_features
from warmstart.families.linear.model import GaussianTypes, Summary
from warmstart.families.linear.population import Population

#: the fixture file of each format (the shards are a folder)
FILES = {
    "population": "population.npz",
    "learner_population": "learner_population.npz",
    "item_features": "item_features.npz",
    "em_sums": "em_sums.npz",
    "bandit_log": "bandit_log.npz",
    "belief": "belief.bin",
    "changepoint_belief": "changepoint_belief.bin",
    "learner_belief": "learner_belief.bin",
    "summary_shards": "summary_shards",
}


@dataclass(frozen=True)
class LogWithTruth(TrainingLog):
    """A training log with ground truth, as ``save_log`` writes a simulated one."""

    theta: Any = None
    type_id: Any = None

    def truth_arrays(self) -> dict[str, np.ndarray]:
        return {"theta": self.theta, "type": self.type_id}


def population() -> Population:
    mu = np.array([[1.0, -0.5, 0.25], [-1.0, 0.5, 2.0], [0.0, 0.0, 0.0]])
    cov = np.stack([np.diag([0.5, 0.25, 0.125]), np.array([[1.0, 0.5, 0.0], [0.5, 1.0, 0.25], [0.0, 0.25, 1.0]]),
                    4.0 * np.eye(3)])
    return Population(GaussianTypes(mu, cov, np.array([0.25, 0.5, 1.0])), np.array([0.5, 0.375, 0.125]),
                      diagnostics={"selected_k": 2, "n_iter": 7, "converged": True,
                                   "k_path": [{"k": 2, "bic": 123.5, "loglik": -55.25}]})


def learner_population() -> LearnerPopulation:
    return LearnerPopulation(
        np.array([0.625, 0.375]),
        L0=np.array([[0.25, 0.5, 0.125], [0.75, 0.5, 0.0625]]),
        T=np.array([[0.125, 0.25, 0.0625], [0.5, 0.25, 0.375]]),
        F=np.array([[0.0, 0.03125, 0.0], [0.0625, 0.0, 0.0]]),
        G=np.array([[0.25, 0.125, 0.2], [0.1875, 0.25, 0.125]]),
        S=np.array([[0.125, 0.0625, 0.1], [0.0625, 0.125, 0.25]]),
        skill_names=("add", "sub", "mul"),
        diagnostics={"skill_responses": [40, 25, 10], "selected_k": 2},
    )


def item_features() -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    ids = np.array(["apple", "b", "item-3", "4"])
    X = np.array([[1.0, 0.5, -0.25], [1.0, -2.0, 0.125], [1.0, 0.0, 3.5], [1.0, 1.25, -1.0]])
    return ids, X, {"source": "learned", "rmse": 0.75, "n_factors": 1}


def em_sums() -> EMSums:
    return EMSums(W=np.array([10.5, 4.25, 0.25]), Sm=np.arange(9, dtype=float).reshape(3, 3) / 4,
                  Smm=np.stack([np.eye(3) * (k + 1) for k in range(3)]), Sres=np.array([2.5, 1.0, 0.125]),
                  Sn=np.array([105.0, 42.5, 2.5]), n_users=15, fingerprint=population().fingerprint())


def bandit_log() -> LogWithTruth:
    n, t, a, d = 2, 3, 2, 3
    candidates = (np.arange(n * t * a * d, dtype=float).reshape(n, t, a, d) - 17.0) / 8
    action = np.array([[0, 1, 1], [1, 0, -1]])  # the second user's last event is padding
    propensity = np.array([[0.5, 0.25, 0.75], [0.5, 1.0, 1.0]])
    reward = np.array([[1.0, 0.0, 0.5], [-0.25, 2.0, 0.0]])
    return LogWithTruth(candidates, action, propensity, reward,
                        theta=np.array([[0.5, -1.0, 0.25], [2.0, 0.0, -0.5]]), type_id=np.array([1, -1]))


def _summary(scale: float) -> Summary:
    x = np.array([[1.0, 0.5, -0.5], [0.25, 1.0, 0.0], [0.5, -0.25, 1.0]]) * scale
    r = np.array([1.0, -0.5, 0.25])
    return Summary((x.T @ x)[None], (x.T @ r)[None], np.array([float(r @ r)]), np.array([3.0]))


def belief():
    return BeliefBatch.from_summary(population(), _summary(1.0), discount=0.75).user(0)


def changepoint_belief() -> ChangePointBelief:
    pop = population()
    runs = [BeliefBatch.from_summary(pop, _summary(s)).user(0) for s in (1.0, 0.5)]
    return ChangePointBelief(pop, hazard=0.01, max_runs=4, min_prob=1e-3, alarm_prob=0.625, runs=runs,
                             starts=[0, 2], log_w=np.array([-0.25, -1.5]), t=5, anchor=2, alarms=[4])


def learner_belief() -> LearnerBeliefBatch:
    pop = learner_population()
    batch = LearnerBeliefBatch.fresh(pop, 1, PersonalGrid(learn=(0.5, 1.0, 2.0), slip=(0.5, 2.0), log_sd=0.5))
    J = batch.log_evidence.shape[1]
    batch.log_evidence[0] = -np.arange(1, J + 1) / 4
    batch.known[0, [0, 2]] = np.linspace(0.125, 0.875, 2 * J).reshape(2, J)
    batch.seen[0, [0, 2]] = True
    batch.n_observed[0] = 6
    return batch


def shards_summary() -> tuple[Summary, np.ndarray]:
    parts = [_summary(s) for s in (1.0, 0.5, 2.0)]
    summary = Summary(*(np.concatenate([getattr(p, k) for p in parts]) for k in ("A", "b", "c", "n")))
    return summary, np.array([101, 102, 205])


def objects() -> dict[str, Any]:
    return {"population": population(), "learner_population": learner_population(),
            "item_features": item_features(), "em_sums": em_sums(), "bandit_log": bandit_log(),
            "belief": belief(), "changepoint_belief": changepoint_belief(), "learner_belief": learner_belief(),
            "summary_shards": shards_summary()}


def write(folder: Path) -> dict[str, Path]:
    """Write every format's fixture into ``folder`` with warmstart's writers; returns the paths."""
    from warmstart.families.linear.shards import write_summary_shards

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    obj = objects()
    out = {name: folder / file for name, file in FILES.items()}
    obj["population"].save(out["population"])
    obj["learner_population"].save(out["learner_population"])
    save_item_features(out["item_features"], *obj["item_features"])
    obj["em_sums"].save(out["em_sums"])
    save_log(out["bandit_log"], obj["bandit_log"])
    out["belief"].write_bytes(obj["belief"].to_bytes())
    out["changepoint_belief"].write_bytes(obj["changepoint_belief"].to_bytes())
    out["learner_belief"].write_bytes(obj["learner_belief"].student_bytes(0))
    summary, ids = obj["summary_shards"]
    write_summary_shards(out["summary_shards"], summary, user_ids=ids, shard_users=2)
    return out


if __name__ == "__main__":
    for name, path in write(Path(sys.argv[1])).items():
        size = sum(p.stat().st_size for p in path.iterdir()) if path.is_dir() else path.stat().st_size
        print(f"{name}: {path} ({size} bytes)")
