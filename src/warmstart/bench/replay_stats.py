"""What the replay reports of the rewards it collected: each policy's mean per window with bootstrap CIs over
users and per-step bands, the paired differences of ours minus each policy on the same users, and the share
of the distance to ``oracle_user`` that ours captures (used by ``warmstart.bench.replay``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from warmstart.stats import bootstrap_ci, paired_ratio_ci

#: ours' own other fits replayed beside it (on a 0/1 log the family not chosen; ours' family with one type acting
#: by ours' rule): comparisons, not peers (``captured_of_oracle_user`` and the targets' "best" are against the
#: peers)
OWN_VARIANTS = frozenset({"linear_ids", "logistic_ts", "logistic_pooled", "linear_pooled"})


def _window_means(rewards: np.ndarray, windows: Sequence[int]) -> dict[str, np.ndarray]:
    """Per user, the mean reward over steps ``1..w`` they have."""
    return {f"1-{w}": np.nanmean(rewards[:, :w], axis=1) for w in windows}


def _complete(rewards: np.ndarray, windows: Sequence[int], seed: int, n_boot: int) -> dict[str, Any]:
    """The windows over only the users who have every step of them."""
    out: dict[str, Any] = {}
    for i, w in enumerate(windows):
        full = ~np.isnan(rewards[:, w - 1]) if w <= rewards.shape[1] else np.zeros(rewards.shape[0], dtype=bool)
        vals = rewards[full, :w].mean(axis=1)
        out[f"1-{w}"] = {"mean_reward": float(vals.mean()) if vals.size else None,
                         "ci95": bootstrap_ci(vals, np.random.default_rng([seed, 13, i]), n_boot) if vals.size
                         else None, "n_users": int(full.sum())}
    return out


def _step_bands(rewards: np.ndarray, seed: int, n_boot: int) -> list[list[float]]:
    """Per step, the 95% bootstrap CI of the mean over the users who have that step (seeded per step)."""
    have = ~np.isnan(rewards)
    return [bootstrap_ci(rewards[have[:, t], t], np.random.default_rng([seed, 17, t]), n_boot)
            for t in range(rewards.shape[1]) if have[:, t].any()]


def _describe(rewards: np.ndarray, windows: Sequence[int], seed: int, n_boot: int) -> dict[str, Any]:
    means = _window_means(rewards, windows)
    have = ~np.isnan(rewards)
    return {
        "mean_reward": {k: float(v.mean()) for k, v in means.items()},
        "ci95": {k: bootstrap_ci(v, np.random.default_rng([seed, 11, i]), n_boot)
                 for i, (k, v) in enumerate(means.items())},
        "n_users": int(rewards.shape[0]),
        "complete": _complete(rewards, windows, seed, n_boot),
        "mean_reward_by_step": [float(rewards[have[:, t], t].mean()) for t in range(rewards.shape[1])
                                if have[:, t].any()],
        "ci95_by_step": _step_bands(rewards, seed, n_boot),
        "users_by_step": [int(n) for n in have.sum(0) if n > 0],
    }


def _paired(ours: str, rewards: Mapping[str, np.ndarray], windows: Sequence[int], seed: int,
            n_boot: int) -> dict[str, Any]:
    """Ours minus each other policy on the same users: per window the mean of the per-user differences of the
    window means with its 95% bootstrap CI over users (every comparison draws the same resamples: the seed
    depends on the window only), and per step the mean difference with its band. Both policies meet the same
    users with the same number of items, so a user's steps are present under both or neither."""
    out: dict[str, Any] = {}
    mine = rewards[ours]
    mine_w = _window_means(mine, windows)
    for name, theirs in rewards.items():
        if name == ours:
            continue
        theirs_w = _window_means(theirs, windows)
        windows_doc = {}
        for i, key in enumerate(mine_w):
            diff = mine_w[key] - theirs_w[key]
            lo, hi = bootstrap_ci(diff, np.random.default_rng([seed, 19, i]), n_boot)
            windows_doc[key] = {"mean_diff": float(diff.mean()), "ci95": [lo, hi],
                                "verdict": "better" if lo > 0 else ("worse" if hi < 0 else "not significant")}
        step_diff = mine - theirs
        have = ~np.isnan(step_diff)
        out[name] = {"windows": windows_doc,
                     "mean_diff_by_step": [float(step_diff[have[:, t], t].mean())
                                           for t in range(step_diff.shape[1]) if have[:, t].any()],
                     "ci95_by_step": _step_bands(step_diff, seed, n_boot)}
    return out


def _captured(ours: str, results: Mapping[str, Any], oracle: Mapping[str, float],
              rewards: Mapping[str, np.ndarray] | None = None, oracle_rewards: np.ndarray | None = None, *,
              seed: int = 0, n_boot: int = 1000) -> dict[str, Any]:
    """Per window, the share of the distance from the best peer (``OWN_VARIANTS``, ours' own other fits, are
    not peers) to ``oracle_user`` that ours covers:
    ``(ours - best) / (oracle_user - best)`` (None when the best policy is not below the oracle: e.g. a window
    every user runs out of items in, where every policy earns each user's mean). Given every policy's
    per-user ``rewards`` and ``oracle_rewards``, ``ci95`` is its percentile bootstrap CI over users, the best
    peer held fixed and each resample's two distances taken on the same users (a ratio of two small
    differences on a few hundred users is wide: the CI says how wide). When the distance's own CI reaches 0,
    the ratio is unbounded and ``ci95`` is None.

    >>> rng = np.random.default_rng(0)
    >>> best, oracle = rng.normal(0.0, 1.0, (300, 5)), rng.normal(1.0, 1.0, (300, 5))
    >>> mine = rng.normal(0.5, 1.0, (300, 5))
    >>> rewards = {"ours": mine, "peer": best}
    >>> results = {n: {"mean_reward": {"1-5": float(r.mean())}} for n, r in rewards.items()}
    >>> doc = _captured("ours", results, {"1-5": float(oracle.mean())}, rewards, oracle, n_boot=200)["1-5"]
    >>> doc["best_peer"], doc["ci95"][0] < doc["share"] < doc["ci95"][1], 0.3 < doc["share"] < 0.7
    ('peer', True, True)
    >>> near = best + 0.02 + rng.normal(0.0, 1.0, (300, 5))          # an oracle_user within noise of the peer
    >>> _captured("ours", results, {"1-5": float(near.mean())}, rewards, near, n_boot=200)["1-5"]["ci95"] is None
    True
    """
    out: dict[str, Any] = {}
    for i, (key, ceiling) in enumerate(oracle.items()):
        peers = {n: r["mean_reward"][key] for n, r in results.items() if n != ours and n not in OWN_VARIANTS}
        best = max(peers, key=lambda n: peers[n])
        gap = ceiling - peers[best]
        share = (results[ours]["mean_reward"][key] - peers[best]) / gap if gap > 1e-9 * max(1.0, abs(ceiling)) \
            else None
        out[key] = {"best_peer": best, "share": share}
        if share is not None and rewards is not None and oracle_rewards is not None:
            w = int(key.split("-")[1])
            mine, theirs = (_window_means(rewards[n], (w,))[key] for n in (ours, best))
            top = _window_means(oracle_rewards, (w,))[key]
            # a distance whose own CI reaches 0 makes the ratio unbounded: no CI then
            lo = bootstrap_ci(top - theirs, np.random.default_rng([seed, 29, i]), n_boot)[0]
            out[key]["ci95"] = paired_ratio_ci(mine - theirs, top - theirs, np.random.default_rng([seed, 23, i]),
                                               n_boot) if lo > 0 else None
    return out
