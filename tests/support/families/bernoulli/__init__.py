"""A tiny third user-model family, written only against the family protocol: per-type Bernoulli rewards over a
fixed set of ``A`` actions. The candidates are one-hot rows (``x`` of the chosen action names it), type ``k``
answers action ``a`` with 1 with probability ``p[k, a]``. It proves that a family is one folder plus a registry
line: importing this module registers it, and the engine fits, infers and serves it with nothing else changed.

The statistics of a user are the counts ``(A, 2)`` of ones and zeros per action; the evidence is closed form;
the M-step is exact (MAP with a Beta(1, 1) prior per probability), so EM never lowers the objective.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from warmstart.data.bandit_log import TrainingLog
from warmstart.families.protocol import Family, Params, State, register_family


@register_family
class Bernoulli(Family):
    name = "test_bernoulli"

    def summarise(self, log: TrainingLog) -> np.ndarray:
        mask = log.action >= 0
        chosen = log.chosen.argmax(-1)  # (N, T) the action each event's one-hot row names
        counts = np.zeros((log.action.shape[0], log.candidates.shape[-1], 2))
        users = np.broadcast_to(np.arange(log.action.shape[0])[:, None], mask.shape)
        ones = np.where(mask, log.reward, 0.0)
        np.add.at(counts, (users[mask], chosen[mask], 0), ones[mask])
        np.add.at(counts, (users[mask], chosen[mask], 1), 1.0 - ones[mask])
        return counts

    def n_users(self, stats: np.ndarray) -> int:
        return int(stats.shape[0])

    def take(self, stats: np.ndarray, index: Any) -> np.ndarray:
        return stats[index]

    def initial(self, stats: np.ndarray, k: int, rng: np.random.Generator) -> tuple[Params, np.ndarray]:
        resp = rng.dirichlet(np.ones(k), size=stats.shape[0])
        params, weights = self.m_step(self._sums(stats, resp), {}, stats.shape[0])
        return params, weights

    @staticmethod
    def _sums(stats: np.ndarray, resp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return resp.sum(0), np.einsum("nk,nac->kac", resp, stats)

    def log_evidence(self, stats: np.ndarray, params: Params) -> np.ndarray:
        logp, log1p = np.log(params["p"]), np.log1p(-params["p"])
        return stats[..., 0] @ logp.T + stats[..., 1] @ log1p.T

    def e_step(self, stats: np.ndarray, params: Params, weights: np.ndarray) -> tuple[float, Any]:
        joint = self.log_evidence(stats, params) + np.log(weights)
        top = joint.max(1, keepdims=True)
        norm = top[:, 0] + np.log(np.exp(joint - top).sum(1))
        return float(norm.sum()), self._sums(stats, np.exp(joint - norm[:, None]))

    def m_step(self, sums: Any, params: Params, n_users: int) -> tuple[Params, np.ndarray]:
        w, counts = sums
        p = (counts[..., 0] + 1.0) / (counts.sum(-1) + 2.0)
        return {"p": p}, np.maximum(w / n_users, 1e-12)

    def n_free(self, params: Params) -> int:
        return int(params["p"].size)

    def dim(self, params: Params) -> int:
        return int(params["p"].shape[1])

    def new_state(self, params: Params) -> State:
        return {"counts": np.zeros((params["p"].shape[1], 2))}

    def observe(self, state: State, params: Params, x: np.ndarray, reward: float) -> np.ndarray:
        a = int(np.argmax(x))
        state["counts"][a, 0 if reward == 1.0 else 1] += 1.0
        p = params["p"][:, a]
        return np.log(p) if reward == 1.0 else np.log1p(-p)

    def draw_values(self, state: State, params: Params, k: int, X: np.ndarray,
                    rng: np.random.Generator) -> np.ndarray:
        return X @ params["p"][k]

    def expected_values(self, state: State, params: Params, X: np.ndarray) -> np.ndarray:
        return np.asarray(params["p"] @ X.T)

    def check_reward(self, reward: float) -> float:
        if reward not in (0.0, 1.0):
            raise ValueError(f"reward: expected 0 or 1 for the family {self.name!r}, got {reward}")
        return reward

    def reward_for(self, value: float) -> float:
        return float(value > 0)


def simulate(p: np.ndarray, shares: np.ndarray, n_users: int, n_events: int, seed: int) -> tuple[TrainingLog, np.ndarray]:
    """A uniform-random log of users of the types ``p (K, A)`` drawn with ``shares``: one-hot candidates (every
    action offered at every step), and each user's true type."""
    rng = np.random.default_rng(seed)
    k, a = p.shape
    types = rng.choice(k, size=n_users, p=shares)
    action = rng.integers(a, size=(n_users, n_events))
    reward = (rng.random((n_users, n_events)) < p[types[:, None], action]).astype(float)
    candidates = np.broadcast_to(np.eye(a), (n_users, n_events, a, a)).copy()
    return TrainingLog(candidates, action, np.full((n_users, n_events), 1.0 / a), reward), types
