"""Metrics of the cold-start benchmark: regret at checkpoints with bootstrap CIs, steps to 90%, per group."""

from __future__ import annotations

from typing import Any

import numpy as np

from warmstart.stats import bootstrap_ci, moving_average

CHECKPOINTS = (10, 20, 50, 200)
#: steps at which the cold-start benchmark records each user's most probable type
TYPE_CHECKPOINTS = (5, 10, 20)


def adjusted_rand_index(a: np.ndarray, b: np.ndarray) -> float:
    """Agreement of two labelings of the same items, corrected for chance (Hubert and Arabie, 1985): 1 for
    the same partition up to renaming, about 0 for independent ones. Used to check type recovery."""
    _, ai = np.unique(a, return_inverse=True)
    _, bi = np.unique(b, return_inverse=True)
    table = np.zeros((ai.max() + 1, bi.max() + 1))
    np.add.at(table, (ai, bi), 1)

    def pairs(x: np.ndarray) -> float:
        return float((x * (x - 1) / 2).sum())

    index, rows, cols = pairs(table), pairs(table.sum(1)), pairs(table.sum(0))
    expected = rows * cols / pairs(np.array([len(a)]))
    return (index - expected) / (0.5 * (rows + cols) - expected)


def checkpoints(T: int) -> list[int]:
    return [t for t in CHECKPOINTS if t <= T] or [T]


def steps_to_90(reward: np.ndarray, random_mean: np.ndarray, oracle_mean: np.ndarray) -> int | None:
    """First step (1-based) at which the policy's mean expected reward, as a 5-step moving average, is 90% of
    the way from the random policy's to the oracle's (both averaged the same way)."""
    if reward.shape[0] == 0:
        return None
    p, r, o = (moving_average(a.mean(0)) for a in (reward, random_mean, oracle_mean))
    frac = (p - r) / np.maximum(o - r, 1e-12)
    hit = np.nonzero(frac >= 0.9)[0]
    return int(hit[0] + 1) if hit.size else None


def _group(regret, reward, rand, orc, mask) -> dict[str, Any]:
    cum = regret[mask].cumsum(1)
    T = regret.shape[1]
    return {
        "n_users": int(mask.sum()),
        "regret_at": {str(t): float(cum[:, t - 1].mean()) if cum.size else None for t in checkpoints(T)},
        "steps_to_90": steps_to_90(reward[mask], rand[mask], orc[mask]),
    }


def summarise_policy(res, tu, mapping, random_mean, oracle_mean, cfg, minority_type: int) -> dict[str, Any]:
    """Everything ``coldstart.json`` says about one policy."""
    regret, reward = res["regret"], res["reward"]
    T = regret.shape[1]
    pop = tu.group == "population"
    rng = np.random.default_rng([cfg.seed, 3])
    cum = regret[pop].cumsum(1)
    n = cum.shape[0]
    head = _group(regret, reward, random_mean, oracle_mean, pop)
    late_from = 150 if T >= 200 else (3 * T) // 4
    sd = cum.std(0, ddof=1) / np.sqrt(max(n, 1)) if n > 1 else np.zeros(T)
    out: dict[str, Any] = {
        "settings": res["settings"],
        "regret_at": head["regret_at"],
        "regret_ci95": {str(t): bootstrap_ci(cum[:, t - 1], rng, cfg.n_bootstrap) for t in checkpoints(T)},
        "steps_to_90": head["steps_to_90"],
        "late_regret_per_step": float(regret[pop][:, late_from:200].mean()),
        "late_window": [late_from + 1, min(T, 200)],
        "type_accuracy_at": None,
        "per_type": {},
        "minority": _group(regret, reward, random_mean, oracle_mean, tu.group == "minority"),
        "outliers": _group(regret, reward, random_mean, oracle_mean, tu.group == "outlier"),
        "curve": {
            "cum_regret": cum.mean(0).tolist(),
            "cum_regret_lo": (cum.mean(0) - 1.96 * sd).tolist(),
            "cum_regret_hi": (cum.mean(0) + 1.96 * sd).tolist(),
            "reward": reward[pop].mean(0).tolist(),
        },
        "build_s": res["build_s"],
        "serve_s": res["serve_s"],
        "decisions_per_s": float(regret.size / max(res["serve_s"], 1e-9)),
    }
    for k in sorted(set(tu.users.type_id[pop].tolist()) - {-1}):
        out["per_type"][str(k)] = _group(regret, reward, random_mean, oracle_mean, pop & (tu.users.type_id == k))
    if res.get("type_pred") is not None:
        known = pop & (tu.users.type_id >= 0)
        acc = {}
        for j, s in enumerate(TYPE_CHECKPOINTS):
            if s <= T:
                pred = mapping[res["type_pred"][known, j]]
                acc[str(s)] = float(np.mean(pred == tu.users.type_id[known]))
        out["type_accuracy_at"] = acc
    return out
