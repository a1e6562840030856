"""Offline evaluation of population versions on the service's own log: what would each have earned on the
decisions that were served, estimated from the logged propensities (IPS, SNIPS, DM, DR with bootstrap CIs,
``warmstart.ope``), next to what the logging policy earned.

Each logged event holds every candidate's features and the probability the serving policy gave each one
(migration 0003; older events without candidates are left out). A version is replayed user by user in the
log's order: at each event its policy, holding the belief it would have had, gives its probability for each
candidate (``action_dist``); then the belief learns the logged action's reward. This replay makes the evaluated
policy's belief follow the logged actions, not its own choices: the usual approximation for a policy that
adapts (exact for its first decision per user). DM and DR share one reward model for every version, so that no
version grades itself: a ridge regression of the reward on the chosen action's features, cross-fitted over two
halves of the users (each event is predicted by the model fitted on the other half). Differences to a baseline
version come from a paired bootstrap on the same events.

References: Dudík, Langford, Li, "Doubly Robust Policy Evaluation and Learning", ICML 2011; Saito et al., "Open
Bandit Dataset and Pipeline", arXiv:2008.07146.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import numpy as np
from sqlalchemy import select

from warmstart._validate import DEFAULT_BOUNDS, Bounds
from warmstart.families.linear.population import Population
from warmstart.ope.diagnostics import weight_diagnostics
from warmstart.ope.estimators import bootstrap_ci, estimate_feedback, logged_feedback
from warmstart.policies.base import PolicyContext
from warmstart.policies.registry import make_policy, resolve_policy
from warmstart.store import schema as S
from warmstart.store.records import event_from_row
from warmstart.store.store import Store


class NoLogError(ValueError):
    """The log holds no rewarded event with candidates to evaluate on."""


def logged_events(store: Store, *, max_events: int = 200_000) -> list[Any]:
    """Rewarded events with their candidates, by user then time (at most ``max_events``, the earliest
    users first)."""
    ev = S.events.c
    query = (select(S.events).where(ev.reward.is_not(None), ev.candidates.is_not(None))
             .order_by(ev.user_id, ev.created_at, ev.event_id).limit(max_events))
    with store.engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    return [event_from_row(r) for r in rows]


def usable_events(events: list[Any], bounds: Bounds) -> tuple[list[Any], int]:
    """The events whose reward and candidates' features are finite and within ``bounds`` (rows stored before the
    bounds were checked, or under wider ones, are left out), and how many were left out."""
    with np.errstate(invalid="ignore"):
        keep = [e for e in events if abs(float(e.reward)) <= bounds.max_reward
                and bool((np.abs(e.candidates) <= bounds.max_feature).all())]
    return keep, len(events) - len(keep)


def reward_model(events: list[Any], n_actions: int, *, ridge: float = 1.0) -> np.ndarray:
    """``q_hat`` ``(n, n_actions, 1)``: every candidate's predicted reward from a ridge regression on the
    logged (features, reward) pairs, cross-fitted over two halves of the users."""
    users = {u: i for i, u in enumerate(dict.fromkeys(e.user_id for e in events))}
    fold = np.array([users[e.user_id] % 2 for e in events])
    X = np.stack([e.features for e in events])
    r = np.array([e.reward for e in events], dtype=float)
    q = np.zeros((len(events), n_actions, 1))
    for f in (0, 1):
        train = fold != f if (fold != f).any() else np.ones_like(fold, dtype=bool)  # one user: in-sample
        A = X[train].T @ X[train] + ridge * np.eye(X.shape[1])
        theta = np.linalg.solve(A, X[train].T @ r[train])
        for t in np.flatnonzero(fold == f):
            C = events[t].candidates
            q[t, : len(C), 0] = C @ theta
    return q


def _replay(population: Population, events: list[Any], *, policy: str, seed: int, n_actions: int) -> np.ndarray:
    """``action_dist`` ``(n, n_actions, 1)``: the version's probability of every candidate at every logged
    event (zero where an event had fewer candidates)."""
    made = make_policy(resolve_policy(policy, population), PolicyContext(population=population), seed=seed)
    dist = np.zeros((len(events), n_actions, 1))
    belief, user = made.new_user(), None
    for t, e in enumerate(events):
        if e.user_id != user or not e.personalised:
            belief, user = made.new_user(), e.user_id
        X = e.candidates
        if X.shape[1] != population.dim:
            raise ValueError(f"event {e.event_id}: candidates have {X.shape[1]} features, population version has "
                             f"dim {population.dim}")
        decision = made.act(belief, X)
        dist[t, : len(X), 0] = decision.probabilities
        if e.personalised:
            made.update(belief, X, e.action, float(e.reward))
    return dist


def evaluate_versions(store: Store, version: int, baseline: int | None = None, *, policy: str = "auto",
                      seed: int = 0, n_boot: int = 1000, max_events: int = 200_000,
                      bounds: Bounds = DEFAULT_BOUNDS) -> dict[str, Any]:
    """Estimates for ``version`` and ``baseline`` (the active version by default) on the logged events, the
    logging policy's own mean reward, and ``version - baseline`` for each estimator with a paired CI. Events
    beyond ``bounds`` are left out (``skipped_events`` counts them)."""
    baseline = store.active_version() if baseline is None else baseline
    events, skipped = usable_events(logged_events(store, max_events=max_events), bounds)
    if not events:
        raise NoLogError("log: expected rewarded events with candidate features (logged since schema 0003), "
                         "found none")
    n_actions = max(len(e.probabilities) for e in events)
    reward = np.array([e.reward for e in events], dtype=float)
    action = np.array([e.action for e in events])
    pscore = np.array([e.propensity for e in events], dtype=float)
    logged = {"estimate": float(reward.mean()), "ci95": list(bootstrap_ci(reward, n_boot=n_boot, seed=seed)),
              "n": len(events)}
    out: dict[str, Any] = {"n_events": len(events), "skipped_events": skipped,
                           "n_users": len({e.user_id for e in events}),
                           "logging_policy": logged, "policy": policy, "seed": seed, "n_boot": n_boot,
                           "versions": {}}
    per_round: dict[int, dict[str, np.ndarray]] = {}
    q = reward_model(events, n_actions)
    logged_probs = np.zeros((len(events), n_actions))
    for t, e in enumerate(events):
        logged_probs[t, : len(e.probabilities)] = e.probabilities
    for v in dict.fromkeys(x for x in (version, baseline) if x is not None):
        data, _ = store.population(v)
        pop = Population.from_bytes(data, source=f"population version {v}")
        dist = _replay(pop, events, policy=policy, seed=seed, n_actions=n_actions)
        fb = logged_feedback(reward, action, pscore, dist, estimated_rewards=q)
        results, per_round[v] = estimate_feedback(fb, n_boot=n_boot, seed=seed)
        weights = weight_diagnostics(fb.weights, pscore)
        # the share of the version's probability on candidates the log gave probability 0: decisions no logged
        # event can speak for, so the importance-weighted estimates miss them (0 under an exploration floor)
        unsupported = float((dist[:, :, 0] * (logged_probs <= 0)).sum() / len(events))
        out["versions"][str(v)] = {**{name: asdict(r) for name, r in results.items()}, "ess": weights.ess,
                                   "weights": asdict(weights), "unsupported_mass": unsupported}
    out["version"], out["baseline"] = version, baseline
    if baseline is not None and baseline != version:
        out["difference"] = {}
        for name, values in per_round[version].items():
            diff = values - per_round[baseline][name]
            lo, hi = bootstrap_ci(diff, n_boot=n_boot, seed=seed)
            out["difference"][name] = {"estimate": float(diff.mean()), "ci95": [lo, hi]}
    return out
