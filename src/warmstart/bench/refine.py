"""``bench refine``: items refined by the types (``families.linear.type_refine``) where types exist by
construction and the items' features must be learned.

On the MovieLens and ASSISTments logs the validation users keep no round of the alternation for ours (the
README's results), so this benchmark asks where it should help: a log of ``LinearTypes-v0``'s default types
(its 8 type means, within-type spread and reward noise) over a fixed set of items whose features are hidden
(the log has no ``f_*`` columns), each earlier user rating a random subset of them, few or many, and each
later (new) user ``later_events`` of them.
For each events count it records

- the choice on the training users (``choose_space`` with up to ``rounds`` rounds): every round's score on the
  validation users' early events for ours and for one prior, and the rounds kept;
- the new users' replay (``bench replay``'s, ``choose`` on) twice, once with the rounds the choice keeps and
  once with none (``type_rounds = 0``), so the gain on users never seen is measured beside the criterion's.

Nothing here is tuned on the new users; the grid is small (4 and 8 factors, penalty 10, K in 1, 4, 8) to keep
the run short.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from warmstart._version import __version__
from warmstart.bench.machine import machine_info
from warmstart.bench.replay import WINDOWS, run_replay
from warmstart.bench.replay_stats import _paired
from warmstart.data.events import EventData
from warmstart.families.linear.space import SpaceConfig
from warmstart.sim import LinearTypesConfig, LinearTypesPopulation

Progress = Callable[[str, float], None]
POLICIES = ("mixture_ids", "pooled_ts", "popularity")


@dataclass(frozen=True)
class RefineBenchConfig:
    """The logs (``n_users`` users, ``n_items`` items, each events count of ``events``), the rounds tried and
    the seed; ``make(quick=True)`` is a smoke run."""

    n_users: int = 3000
    n_items: int = 300
    events: tuple[int, ...] = (10, 30)
    later_events: int = 40
    rounds: int = 4
    seed: int = 0
    n_boot: int = 1000

    @classmethod
    def make(cls, quick: bool = False, seed: int = 0) -> RefineBenchConfig:
        if quick:
            return cls(n_users=400, n_items=60, events=(10,), later_events=30, rounds=2, seed=seed, n_boot=200)
        return cls(seed=seed)

    def space(self, rounds: int) -> SpaceConfig:
        return SpaceConfig(n_factors=(4, 8), factor_reg=(10.0,), n_types=(1, 4, 8), type_rounds=rounds)

    def to_dict(self) -> dict[str, Any]:
        return {"n_users": self.n_users, "n_items": self.n_items, "events": list(self.events),
                "later_events": self.later_events,
                "rounds": self.rounds, "seed": self.seed, "n_boot": self.n_boot,
                "space": self.space(self.rounds).to_dict(), "policies": list(POLICIES)}


def repeated_items_log(n_users: int, n_items: int, n_events: int, seed: int, later_events: int | None = None,
                       later_share: float = 0.3) -> EventData:
    """``n_users`` users of ``LinearTypes-v0``'s default types, each rating ``n_events`` distinct items drawn
    from ``n_items`` whose features (standard normal over sqrt(d)) are not in the log; reward = features . the
    user's weights + noise, with the preset's within-type spread and noise. Users arrive in index order; the
    latest ``later_share`` of them (the new users a replay scores) rate ``later_events`` items (default
    ``n_events``), so that a replay has candidates to choose among however few the earlier users rated."""
    later_events = n_events if later_events is None else later_events
    if max(n_events, later_events) > n_items:
        raise ValueError(f"n_events: expected at most n_items ({n_items}) per user, got {n_events} and "
                         f"{later_events}")
    cfg = LinearTypesConfig()
    means = LinearTypesPopulation(cfg).type_means
    rng = np.random.default_rng(seed)
    n_types, dim = means.shape
    theta = means[rng.integers(n_types, size=n_users)] + cfg.within_sd * rng.standard_normal((n_users, dim))
    features = rng.standard_normal((n_items, dim)) / np.sqrt(dim)
    counts = np.where(np.arange(n_users) >= round((1.0 - later_share) * n_users), later_events, n_events)
    items = np.concatenate([rng.choice(n_items, size=c, replace=False) for c in counts])
    user = np.repeat(np.arange(n_users), counts)
    reward = np.einsum("ed,ed->e", features[items], theta[user]) + cfg.noise_sd * rng.standard_normal(user.size)
    return EventData.from_rows([f"u{u:06d}" for u in user], list(range(user.size)), [f"i{i:05d}" for i in items],
                               reward.tolist())


def _replay_summary(doc: dict[str, Any]) -> dict[str, Any]:
    space = doc["fit"]["space"]
    return {"mean_reward": {name: p["mean_reward"] for name, p in doc["policies"].items()},
            "ci95": {name: p["ci95"] for name, p in doc["policies"].items()},
            "ours_space": space["chosen"]["ours"]["space"]["name"], "n_types": space["chosen"]["ours"]["n_types"],
            "pooled_space": space["chosen"]["pooled"]["space"]["name"],
            "refinement": space.get("refinement", {}), "fit_s": doc["timing"]["fit_s"]}


def run_refine(cfg: RefineBenchConfig, progress: Progress | None = None) -> dict[str, Any]:
    """Every events count's log, its choice and its two replays (see the module): the JSON document ``{benchmark,
    config, version, machine, logs: {EVENTS: {n_train_users, n_test_users, refined: REPLAY, none: REPLAY,
    gain: {WINDOW: {mean_diff, ci95, verdict}}}}}``: ``REPLAY`` is ``mean_reward`` and ``ci95`` per policy,
    ours' and pooled's spaces, ours' K, the refinement records and the fit's seconds; ``gain`` is ours with the
    rounds kept minus ours with none, paired over the new users (95% bootstrap CI)."""
    report = progress or (lambda msg, frac: None)
    logs: dict[str, Any] = {}
    t0 = time.perf_counter()
    for j, n_events in enumerate(cfg.events):
        events = repeated_items_log(cfg.n_users, cfg.n_items, n_events, cfg.seed, later_events=cfg.later_events)
        runs, rewards = {}, {}
        for k, (label, rounds) in enumerate((("refined", cfg.rounds), ("none", 0))):
            report(f"{n_events} events per user: replay, {label}", (2 * j + k) / (2 * len(cfg.events)))
            per_policy: dict[str, np.ndarray] = {}
            doc = run_replay(events, train_fraction=0.7, steps=20, policies=POLICIES, seed=cfg.seed,
                             n_boot=cfg.n_boot, choose=True, space_config=cfg.space(rounds), rewards_out=per_policy)
            runs[label], rewards[label] = (doc, _replay_summary(doc)), per_policy["mixture_ids"]
        # the same new users, items and steps in both runs: ours' rewards compared user by user
        paired = _paired("refined", rewards, WINDOWS, cfg.seed, cfg.n_boot)["none"]["windows"]
        logs[str(n_events)] = {
            "n_train_users": runs["refined"][0]["n_train_users"], "n_test_users": runs["refined"][0]["n_test_users"],
            "refined": runs["refined"][1], "none": runs["none"][1], "gain": paired}
    report("done", 1.0)
    return {"benchmark": "refine", "config": cfg.to_dict(), "version": __version__, "machine": machine_info(),
            "logs": logs, "run_s": time.perf_counter() - t0}
