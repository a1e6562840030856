"""New-user replay on a real event log.

Most users bring a log, not a simulator. The replay asks of a log what the cold-start benchmark asks of the
simulator: fitted on earlier users, how well does each policy serve a user it has never seen, over the first
few interactions?

1. **Split by arrival.** Users are ordered by the time of their first event (ties by user index); the earliest
   ``train_fraction`` are the training users, the rest are the new users. Nothing about a new user is used
   before they are replayed.
2. **Fit** (``fit_from_events``) on the training users only: item features are the log's own when it has
   them, else learned from the training users' rewards (``warmstart.families.linear.item_features``); each training
   user is summarised by the additive statistics of ``(x_item, reward)`` over their events; then
   ``fit_population``.
3. **Replay each new user.** At each step the policy chooses among the items this user actually has in the
   log and has not been shown yet (all of them, or ``n_candidates`` of them drawn at random each step), is
   given the user's logged reward for that item (the mean over the user's rows for it, when the log repeats
   an item), and updates. The user stops when their items run out or at ``steps``. Every policy meets the
   same users and the same candidate draws (seeded per user and step).

Reported per policy: the mean reward over steps ``1..w`` for the windows ``1-5``, ``1-10``, ``1-20`` (a user
counts in a window over the steps they have, so a user with 3 items counts in ``1-10`` with the mean of their
3 steps), averaged over new users, with 95% bootstrap CIs over users (the same resamples for every policy);
``complete`` gives the same windows over only the users who have all ``w`` steps (a user with one item earns
the same under every policy, so on logs of short histories the main numbers are diluted towards each other).
``reference`` gives the two ends of the scale on the same users: ``random_expected`` (the mean of each user's
item rewards: what a uniform choice earns in expectation at every step) and ``hindsight_best`` (each user's
best items in order, ignoring the candidate draws).

``popularity`` is a replay-only baseline: it plays the candidate with the highest mean reward among the
training users (the training mean for items they never had). It needs item ids, which the ``Policy``
contract does not pass, so it lives in this module's own small registry (``REPLAY_BASELINES``) beside the
policy registry.

What a replay can and cannot say: the user's reward for an item they were never shown is unknown, so the
choice is restricted to items they were shown; when the logging policy was not uniform, items a user was
shown are not a random sample of the catalogue and the comparison holds for that restricted choice only.
ASSISTments 2009 has no timestamps: through ``warmstart.data.events.from_kt`` the student order stands in for
time (see there).
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from warmstart._version import __version__
from warmstart.bench.machine import machine_info
from warmstart.bench.replay_als import ImplicitALSPeer
from warmstart.data.events import EventData
from warmstart.families.linear.events import EventFitConfig, fit_from_events, training_log_from_events
from warmstart.families.linear.population import Population
from warmstart.policies.base import Decision, Policy, PolicyContext
from warmstart.policies.registry import make_policy, policy_class
from warmstart.stats import bootstrap_ci

Progress = Callable[[str, float], None]
DEFAULT_POLICIES = ("mixture_ids", "pooled_ts", "from_scratch_ts", "popularity", "random")
WINDOWS = (5, 10, 20)


def split_by_first_event(events: EventData, train_fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """Indices of training and new users: the earliest ``train_fraction`` by first event (ties by index),
    at least one on each side."""
    if events.n_users < 2:
        raise ValueError(f"events: expected at least 2 users to split, got {events.n_users}")
    order = np.argsort(events.first_times(), kind="stable")
    n_train = min(max(round(train_fraction * events.n_users), 1), events.n_users - 1)
    return order[:n_train], order[n_train:]


# ---------------------------------------------------------------------------------------------- agents
class ReplayAgent(Protocol):
    """What the replay drives: a registered ``Policy`` (through ``_PolicyAgent``) or a replay-only baseline."""

    def settings(self) -> dict[str, Any]: ...

    def new_user(self) -> Any: ...

    def act(self, state: Any, X: np.ndarray, items: np.ndarray) -> Decision: ...

    def update(self, state: Any, X: np.ndarray, items: np.ndarray, action: int, reward: float) -> None: ...


@dataclass(frozen=True, kw_only=True)
class ReplayContext:
    """What an agent may learn from: the training users' events, the item features, the fitted population."""

    train: EventData
    features: np.ndarray
    population: Population
    policy_context: PolicyContext


class _PolicyAgent:
    def __init__(self, policy: Policy) -> None:
        self.policy = policy

    def settings(self) -> dict[str, Any]:
        return self.policy.settings()

    def new_user(self) -> Any:
        return self.policy.new_user()

    def act(self, state: Any, X: np.ndarray, items: np.ndarray) -> Decision:
        return self.policy.act(state, X)

    def update(self, state: Any, X: np.ndarray, items: np.ndarray, action: int, reward: float) -> None:
        self.policy.update(state, X, action, reward)


class PopularityBaseline:
    """Play the candidate with the highest mean reward among the training users (items they never had: the
    training mean). Deterministic; ties go to the first candidate (candidates come in a random order)."""

    def __init__(self, context: ReplayContext, *, seed: int = 0) -> None:
        train = context.train
        counts = np.bincount(train.item, minlength=train.n_items)
        sums = np.bincount(train.item, weights=train.reward, minlength=train.n_items)
        overall = float(train.reward.mean())
        self.item_mean = np.where(counts > 0, sums / np.maximum(counts, 1), overall)

    def settings(self) -> dict[str, Any]:
        return {"score": "mean training reward of the item (training mean for unseen items)"}

    def new_user(self) -> None:
        return None

    def act(self, state: None, X: np.ndarray, items: np.ndarray) -> Decision:
        a = int(np.argmax(self.item_mean[items]))
        probs = np.zeros(items.shape[0])
        probs[a] = 1.0
        return Decision(a, 1.0, probs)

    def update(self, state: None, X: np.ndarray, items: np.ndarray, action: int, reward: float) -> None:
        pass


REPLAY_BASELINES: dict[str, Callable[..., ReplayAgent]] = {"popularity": PopularityBaseline, "als": ImplicitALSPeer}


def make_agent(name: str, context: ReplayContext, *, seed: int) -> ReplayAgent:
    """A replay-only baseline by name, else a registered policy (one that needs no ground truth)."""
    if name in REPLAY_BASELINES:
        return REPLAY_BASELINES[name](context, seed=seed)
    if policy_class(name).needs_truth:
        raise ValueError(f"policies: {name!r} needs the simulator's ground truth, which a logged replay does not "
                         "have; drop it")
    return _PolicyAgent(make_policy(name, context.policy_context, seed=seed))


def _seed_for(seed: int, name: str) -> int:
    return int(np.random.SeedSequence([seed, zlib.crc32(name.encode())]).generate_state(1)[0])


# ---------------------------------------------------------------------------------------------- replay
@dataclass(frozen=True, kw_only=True)
class ReplayConfig:
    """Settings of ``run_replay``; validated at construction."""

    train_fraction: float = 0.7
    steps: int = 20
    n_candidates: int | None = None
    policies: tuple[str, ...] = DEFAULT_POLICIES
    windows: tuple[int, ...] = WINDOWS
    seed: int = 0
    n_boot: int = 1000
    fit: EventFitConfig = field(default_factory=EventFitConfig)

    def __post_init__(self) -> None:
        if not 0 < self.train_fraction < 1:
            raise ValueError(f"train_fraction: expected a value in (0, 1), got {self.train_fraction}")
        if self.steps < 1:
            raise ValueError(f"steps: expected a positive integer, got {self.steps}")
        if self.n_candidates is not None and self.n_candidates < 1:
            raise ValueError(f"n_candidates: expected None (all of a user's items) or >= 1, got {self.n_candidates}")
        if not self.policies or len(set(self.policies)) != len(self.policies):
            raise ValueError(f"policies: expected distinct policy names, got {list(self.policies)}")
        if not self.windows or min(self.windows) < 1:
            raise ValueError(f"windows: expected positive window lengths, got {list(self.windows)}")
        if self.n_boot < 1:
            raise ValueError(f"n_boot: expected a positive integer, got {self.n_boot}")

    def to_dict(self) -> dict[str, Any]:
        return {"train_fraction": self.train_fraction, "steps": self.steps, "n_candidates": self.n_candidates,
                "policies": list(self.policies), "windows": list(self.windows), "seed": self.seed,
                "n_boot": self.n_boot, "fit": self.fit.to_dict()}


@dataclass(frozen=True)
class _User:
    items: np.ndarray  # distinct items of the user
    reward: np.ndarray  # the user's mean logged reward for each
    keys: np.ndarray  # (steps, n_items) random keys: the candidate draw and order at each step


def _new_users(events: EventData, steps: int, seed: int) -> list[_User]:
    users = []
    for u in range(events.n_users):
        rows = slice(events.starts[u], events.starts[u + 1])
        items, inverse = np.unique(events.item[rows], return_inverse=True)
        reward = np.bincount(inverse, weights=events.reward[rows]) / np.bincount(inverse)
        rng = np.random.default_rng([seed, 5, u])
        users.append(_User(items, reward, rng.random((min(steps, items.shape[0]), items.shape[0]))))
    return users


def _serve(agent: ReplayAgent, users: list[_User], features: np.ndarray, n_candidates: int | None,
           steps: int) -> np.ndarray:
    """Rewards ``(n_users, steps)`` earned by ``agent``; NaN after a user's items ran out."""
    out = np.full((len(users), steps), np.nan)
    for u, user in enumerate(users):
        state = agent.new_user()
        shown = np.zeros(user.items.shape[0], dtype=bool)
        for t in range(user.keys.shape[0]):
            # the candidate draw: the unshown items in the order of this step's keys, the first n_candidates
            order = np.argsort(np.where(shown, np.inf, user.keys[t]), kind="stable")[: int((~shown).sum())]
            cand = order if n_candidates is None else order[:n_candidates]
            items = user.items[cand]
            X = features[items]
            a = agent.act(state, X, items).action
            r = float(user.reward[cand[a]])
            agent.update(state, X, items, a, r)
            shown[cand[a]] = True
            out[u, t] = r
        close = getattr(state, "close", None)
        if callable(close):
            close()
    return out


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
        "users_by_step": [int(n) for n in have.sum(0) if n > 0],
    }


def _references(users: list[_User], steps: int, windows: Sequence[int]) -> dict[str, Any]:
    best = np.full((len(users), steps), np.nan)
    rand = np.full((len(users), steps), np.nan)
    for u, user in enumerate(users):
        m = user.keys.shape[0]
        best[u, :m] = np.sort(user.reward)[::-1][:m]
        rand[u, :m] = user.reward.mean()
    return {name: {"mean_reward": {k: float(v.mean()) for k, v in _window_means(arr, windows).items()},
                   "complete": {k: v["mean_reward"] for k, v in _complete(arr, windows, 0, 1).items()}}
            for name, arr in (("random_expected", rand), ("hindsight_best", best))}


def run_replay(events: EventData, *, train_fraction: float = 0.7, steps: int = 20, n_candidates: int | None = None,
               policies: Sequence[str] = DEFAULT_POLICIES, seed: int = 0, n_boot: int = 1000,
               progress: Progress | None = None, fit_config: EventFitConfig | None = None,
               windows: Sequence[int] = WINDOWS) -> dict[str, Any]:
    """Split, fit on the training users, replay every new user with every policy; return the JSON document.

    ``fit_config`` defaults to ``EventFitConfig()``; its seeds are replaced by ``seed``. The document:
    ``{benchmark, config, version, machine, data, n_train_users, n_test_users, fit, policies: {NAME:
    {mean_reward: {"1-5", "1-10", "1-20"}, ci95: {same keys: [lo, hi]}, n_users, complete: {same keys:
    {mean_reward, ci95, n_users}}, mean_reward_by_step, users_by_step, settings}}, reference, timing}``. Same seed, same document (``timing`` and ``machine``
    aside).
    """
    cfg = ReplayConfig(train_fraction=train_fraction, steps=steps, n_candidates=n_candidates,
                       policies=tuple(policies), windows=tuple(windows), seed=seed, n_boot=n_boot,
                       fit=(fit_config or EventFitConfig()).with_seed(seed))
    for name in cfg.policies:  # unknown names and truth-reading policies fail before the fit
        if name not in REPLAY_BASELINES and policy_class(name).needs_truth:
            raise ValueError(f"policies: {name!r} needs the simulator's ground truth, which a logged replay does "
                             "not have; drop it")
    report = progress or (lambda msg, frac: None)
    train_idx, test_idx = split_by_first_event(events, cfg.train_fraction)
    train, test = events.subset(train_idx), events.subset(test_idx)
    t0 = time.perf_counter()
    population, features, _ = fit_from_events(
        train, cfg.fit, progress=lambda msg, frac: report(f"fit: {msg}", 0.3 * frac))
    fit_s = time.perf_counter() - t0
    needs_log = any(name not in REPLAY_BASELINES and policy_class(name).needs_train_log for name in cfg.policies)
    train_log = training_log_from_events(train, features) if needs_log else None
    policy_context = PolicyContext(dim=features.shape[1], population=population, train_log=train_log)
    context = ReplayContext(train=train, features=features, population=population, policy_context=policy_context)
    users = _new_users(test, cfg.steps, cfg.seed)
    results: dict[str, Any] = {}
    serve_s: dict[str, float] = {}
    for i, name in enumerate(cfg.policies):
        report(f"replaying new users with {name}", 0.3 + 0.7 * i / len(cfg.policies))
        t1 = time.perf_counter()
        agent = make_agent(name, context, seed=_seed_for(cfg.seed, name))
        rewards = _serve(agent, users, features, cfg.n_candidates, cfg.steps)
        serve_s[name] = time.perf_counter() - t1
        results[name] = {**_describe(rewards, cfg.windows, cfg.seed, cfg.n_boot), "settings": agent.settings()}
    report("done", 1.0)
    diag = population.diagnostics
    return {
        "benchmark": "replay",
        "config": cfg.to_dict(),
        "version": __version__,
        "machine": machine_info(),
        "data": events.describe(),
        "n_train_users": int(train.n_users),
        "n_test_users": int(test.n_users),
        "fit": {"n_types": population.n_types, "weights": population.weights.tolist(), "dim": population.dim,
                "selection": diag.selection, "bic": diag.bic, "item_features": diag.item_features},
        "policies": results,
        "reference": _references(users, cfg.steps, cfg.windows),
        "timing": {"fit_s": fit_s, "serve_s": serve_s},
    }
