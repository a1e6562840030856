"""Cold-start benchmark: fit on a training log, then serve new users for T steps with every policy.

All policies meet the same users, the same candidate sets and the same reward noise (common random numbers,
seeded per user), so differences between them are not luck of the draw. Regret is *expected* regret against
the oracle that knows theta: ``max_a x_a.theta - x_chosen.theta``, averaged over users, with bootstrap CIs
over users. Policies run in parallel worker processes (fork), one policy per task.

With a drift schedule (``ColdStartConfig.drift``, ``warmstart.sim.drift.DriftSpec``) every new user meets it:
another type's user answers after ``switch_at`` steps, or the first ``misleading_start`` steps. Regret at a step
is then against whoever answered it; the oracle policies are told the user who answers first, and type accuracy
and the per-type figures are about the user's own type.
"""

from __future__ import annotations

import multiprocessing as mp
import time
import zlib
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from warmstart._version import __version__
from warmstart.bench.machine import machine_info
from warmstart.bench.metrics import TYPE_CHECKPOINTS, summarise_policy
from warmstart.data.bandit_log import training_log
from warmstart.families.linear.belief import Belief
from warmstart.families.linear.fit import FitConfig, fit_population, responsibilities
from warmstart.families.linear.model import Summary
from warmstart.families.linear.population import Population
from warmstart.policies.base import PolicyContext, UserTruth
from warmstart.policies.registry import make_policy, policy_class
from warmstart.sim.drift import DriftSpec
from warmstart.sim.linear_types import EventLog, LinearTypesConfig, LinearTypesPopulation
from warmstart.sim.users import OUTLIER, UserBatch

ALL_POLICIES = (
    "mixture_ids", "mixture_ts", "from_scratch_ts", "pooled_ts", "club", "vw_pooled", "oracle_type", "oracle",
    "random", "floored",  # floored: mixture_ids with the service's exploration floor (policies.floor)
)
N_EXAMPLE_STEPS = 30
Progress = Callable[[str, float], None]


@dataclass(frozen=True, kw_only=True)
class ColdStartConfig:
    sim: LinearTypesConfig = field(default_factory=LinearTypesConfig)
    n_train_users: int = 5000
    n_train_events: int = 50
    n_test_users: int = 1000
    n_minority_users: int = 200
    n_outlier_users: int = 200
    steps: int = 200
    seed: int = 0
    policies: tuple[str, ...] = ALL_POLICIES
    ours: str = "mixture_ids"
    n_bootstrap: int = 1000
    workers: int = 2
    fit: FitConfig = field(default_factory=FitConfig)
    quick: bool = False
    policy_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    drift: DriftSpec | None = None

    def __post_init__(self) -> None:
        for name in ("n_train_users", "n_train_events", "n_test_users", "steps", "n_bootstrap", "workers"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}: expected a positive integer, got {getattr(self, name)}")
        if self.n_minority_users < 0 or self.n_outlier_users < 0:
            raise ValueError("n_minority_users, n_outlier_users: expected non-negative integers")
        if self.ours not in self.policies:
            raise ValueError(f"ours: expected one of the policies run {list(self.policies)}, got {self.ours!r}")
        if self.drift is not None:
            if self.sim.n_types < 2:
                raise ValueError(f"drift: expected a population of at least 2 types (the user who answers "
                                 f"instead is of another type), got n_types = {self.sim.n_types}")
            name = next(iter(self.drift.options()))
            if self.drift.step >= self.steps:
                raise ValueError(f"drift.{name}: expected a step below steps = {self.steps} (else nothing "
                                 f"drifts), got {self.drift.step}")

    @staticmethod
    def make(preset: str = "default", quick: bool = False, seed: int = 0, **overrides: Any) -> ColdStartConfig:
        cfg = ColdStartConfig(sim=LinearTypesConfig.preset_named(preset), seed=seed, quick=quick)
        if quick:
            cfg = replace(cfg, n_train_users=2000, n_test_users=200, n_minority_users=50, n_outlier_users=50)
        return replace(cfg, **overrides)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["preset"] = self.sim.preset
        d["policies"] = list(self.policies)
        d["fit"]["k_range"] = list(self.fit.k_range)
        return d


@dataclass(frozen=True)
class TestUsers:
    users: UserBatch
    group: np.ndarray  # "population", "minority" or "outlier"
    #: with a drift schedule, the user of another type who answers some steps of each test user (else None)
    other: UserBatch | None = None

    def answering(self, cfg: ColdStartConfig, u: int) -> np.ndarray | None:
        """``(steps, d)``: who answers each step of test user ``u`` under the drift schedule; ``None`` without
        one (the user answers every step)."""
        if cfg.drift is None or self.other is None:
            return None
        return cfg.drift.answering(self.users.theta[u : u + 1], self.other.theta[u : u + 1], cfg.steps)[0]

    def first_answering(self, cfg: ColdStartConfig, u: int) -> tuple[np.ndarray, int]:
        """``(theta, type)`` of the user who answers test user ``u``'s first step."""
        if cfg.drift is not None and cfg.drift.misleading_start is not None and self.other is not None:
            return self.other.theta[u], int(self.other.type_id[u])
        return self.users.theta[u], int(self.users.type_id[u])


def test_users(cfg: ColdStartConfig, truth: LinearTypesPopulation) -> TestUsers:
    rng = np.random.default_rng([cfg.seed, 1])
    parts = [
        ("population", truth.sample_users(cfg.n_test_users, rng)),
        ("minority", truth.sample_users(cfg.n_minority_users, rng, kind="minority")),
        ("outlier", truth.sample_users(cfg.n_outlier_users, rng, kind="outlier")),
    ]
    users = UserBatch(
        np.concatenate([p.theta for _, p in parts]), np.concatenate([p.type_id for _, p in parts])
    )
    group = np.concatenate([np.full(len(p), g) for g, p in parts])
    other = None
    if cfg.drift is not None:  # drawn from their own stream: the users themselves are the same as without drift
        other = truth.other_type_users(users, np.random.default_rng([cfg.seed, 4]))
    return TestUsers(users, group, other)


def user_stream(cfg: ColdStartConfig, truth: LinearTypesPopulation, u: int) -> tuple[np.ndarray, np.ndarray]:
    """Candidate sets ``(T, A, d)`` and reward noise ``(T,)`` of test user ``u``: the same for every policy."""
    rng = np.random.default_rng([cfg.seed, 2, u])
    X = truth.candidates(rng, (cfg.steps,))
    eps = cfg.sim.noise_sd * rng.standard_normal(cfg.steps)
    return X, eps


def expected_rewards(X: np.ndarray, theta: np.ndarray, answering: np.ndarray | None) -> np.ndarray:
    """``(T, A)``: each candidate's expected reward for the user answering each step (``theta`` throughout
    when ``answering`` is ``None``)."""
    return X @ theta if answering is None else np.einsum("tad,td->ta", X, answering)


def type_mapping(population: Population, log_summary, true_types: np.ndarray) -> np.ndarray:
    """Fitted component -> true type (majority vote of the training users it claims; novel -> outlier)."""
    resp = responsibilities(log_summary, population)
    lab = resp.argmax(1)
    mapping = np.full(population.n_components, OUTLIER)
    for k in range(population.n_types):
        members = true_types[lab == k]
        if members.size:
            vals, counts = np.unique(members, return_counts=True)
            mapping[k] = vals[np.argmax(counts)]
    return mapping


# ---------------------------------------------------------------------------------------------- workers
_SHARED: dict[str, Any] = {}


def _policy_seed(seed: int, name: str) -> int:
    return seed * 7919 + zlib.crc32(name.encode()) % 100_000


def _run_policy(name: str) -> dict[str, Any]:
    cfg: ColdStartConfig = _SHARED["cfg"]
    truth: LinearTypesPopulation = _SHARED["truth"]
    tu: TestUsers = _SHARED["test_users"]
    ctx: PolicyContext = _SHARED["context"]
    example_users: list[int] = _SHARED["example_users"]
    t0 = time.perf_counter()
    policy = make_policy(name, ctx, seed=_policy_seed(cfg.seed, name), **cfg.policy_params.get(name, {}))
    build_s = time.perf_counter() - t0
    n_users, T = len(tu.users), cfg.steps
    reward = np.empty((n_users, T))
    regret = np.empty((n_users, T))
    type_pred = np.full((n_users, len(TYPE_CHECKPOINTS)), -2, dtype=int)
    examples: dict[int, list[list[float]]] = {}
    t1 = time.perf_counter()
    for u in range(n_users):
        theta, tid = tu.first_answering(cfg, u)
        mean, cov, nv = truth.type_prior(tid)
        state = policy.new_user(UserTruth(theta, tid, mean, cov, nv))
        X, eps = user_stream(cfg, truth, u)
        means = expected_rewards(X, theta, tu.answering(cfg, u))  # (T, A)
        for t in range(T):
            a = policy.act(state, X[t]).action
            policy.update(state, X[t], a, means[t, a] + eps[t])
            reward[u, t] = means[t, a]
            if isinstance(state, Belief) and state.population.n_types >= 1:
                s = t + 1
                if s in TYPE_CHECKPOINTS:
                    type_pred[u, TYPE_CHECKPOINTS.index(s)] = int(np.argmax(state.type_probs()))
                if u in example_users and t < N_EXAMPLE_STEPS:
                    examples.setdefault(u, []).append(state.type_probs().tolist())
        regret[u] = means.max(axis=1) - reward[u]
        close = getattr(state, "close", None)
        if callable(close):
            close()
    return {
        "name": name,
        "reward": reward,
        "regret": regret,
        "type_pred": type_pred if (type_pred >= 0).any() else None,
        "examples": examples,
        "settings": policy.settings(),
        "build_s": build_s,
        "serve_s": time.perf_counter() - t1,
    }


def run_coldstart(
    cfg: ColdStartConfig,
    progress: Progress | None = None,
    population: Population | None = None,
    log: EventLog | None = None,
    fit_s: float | None = None,
    *,
    summary: Summary | None = None,
    true_types: np.ndarray | None = None,
    keep_regret: bool = False,
) -> dict[str, Any]:
    """Run the benchmark and return the ``coldstart.json`` document.

    ``population`` and ``log`` may be given (as ``warmstart demo`` does after its own fit); they must come
    from this configuration's simulator and training-log settings. Instead of ``log``, the training users'
    ``summary`` and their ``true_types`` may be given (for logs too large to hold, e.g. from
    ``sim.linear_types.logged_summary``) when no policy run needs the training log itself. With
    ``keep_regret`` the document also holds ``regret_per_user``: each policy's per-step regret of every
    population new user, ``(users, steps)`` arrays for harnesses that compare policies user by user (paired);
    not JSON, so such a harness takes it out before writing.
    """
    report = progress or (lambda msg, frac: None)
    truth = LinearTypesPopulation(cfg.sim)
    if summary is not None and log is None:
        if true_types is None or np.shape(true_types) != (summary.n_users,):
            raise ValueError(f"true_types: expected one true type per summarised user ({summary.n_users}), got "
                             f"{None if true_types is None else np.shape(true_types)}")
        if summary.n_users != cfg.n_train_users:
            raise ValueError(f"summary: expected {cfg.n_train_users} users, got {summary.n_users}")
        needs_log = [n for n in cfg.policies if policy_class(n).needs_train_log]
        if needs_log:
            raise ValueError(f"summary: policies {needs_log} need the training log itself; pass log= instead")
        train_log = None
    else:
        if log is None:
            report("simulating the training log", 0.0)
            log = truth.logged(cfg.n_train_users, cfg.n_train_events, seed=cfg.seed)
        elif log.reward.shape != (cfg.n_train_users, cfg.n_train_events):
            raise ValueError(f"log: expected {cfg.n_train_users} users x {cfg.n_train_events} events, "
                             f"got {log.reward.shape[0]} x {log.reward.shape[1]}")
        summary, true_types, train_log = log.summary(), log.users.type_id, training_log(log)
    if population is None:
        report("fitting the population", 0.05)
        t0 = time.perf_counter()
        population = fit_population(summary, replace(cfg.fit, seed=cfg.seed))
        fit_s = time.perf_counter() - t0
    mapping = type_mapping(population, summary, true_types)
    tu = test_users(cfg, truth)
    example_users = [int(np.argmax(tu.group == g)) for g in ("population", "minority", "outlier") if (tu.group == g).any()]
    _SHARED.update(cfg=cfg, truth=truth, test_users=tu, example_users=example_users,
                   context=PolicyContext(dim=cfg.sim.dim, population=population, train_log=train_log))
    results: dict[str, dict[str, Any]] = {}
    names = list(cfg.policies)
    # slowest first so that two workers finish together
    order = sorted(names, key=lambda n: n not in ("vw_pooled", "club", "mixture_ids"))
    if cfg.workers > 1:
        with ProcessPoolExecutor(max_workers=cfg.workers, mp_context=mp.get_context("fork")) as pool:
            for i, res in enumerate(pool.map(_run_policy, order)):
                results[res["name"]] = res
                report(f"served new users with {res['name']}", 0.1 + 0.85 * (i + 1) / len(order))
    else:
        for i, name in enumerate(order):
            results[name] = _run_policy(name)
            report(f"served new users with {name}", 0.1 + 0.85 * (i + 1) / len(order))
    _SHARED.clear()
    report("summarising", 0.97)
    # exact per-step expectations of the uniform-random and oracle policies, for steps_to_90
    random_mean = np.empty((len(tu.users), cfg.steps))
    oracle_mean = np.empty((len(tu.users), cfg.steps))
    for u in range(len(tu.users)):
        means = expected_rewards(user_stream(cfg, truth, u)[0], tu.users.theta[u], tu.answering(cfg, u))
        random_mean[u], oracle_mean[u] = means.mean(1), means.max(1)
    doc = _document(cfg, population, fit_s, mapping, tu, results, example_users, random_mean, oracle_mean)
    if keep_regret:
        doc["regret_per_user"] = {name: results[name]["regret"][tu.group == "population"] for name in names}
    return doc


def _document(cfg, population, fit_s, mapping, tu, results, example_users, base, oracle_reward) -> dict[str, Any]:
    doc_policies = {}
    for name in cfg.policies:
        res = results[name]
        doc_policies[name] = summarise_policy(
            res, tu, mapping, base, oracle_reward, cfg, minority_type=cfg.sim.minority_type
        )
    diag = population.diagnostics
    minority_fitted = [k for k in range(population.n_types) if mapping[k] == cfg.sim.minority_type]
    doc: dict[str, Any] = {
        "config": cfg.to_dict(),
        "seed": cfg.seed,
        "version": __version__,
        "machine": machine_info(),
        "ours": cfg.ours,
        "fit": {
            "selected_k": population.n_types,
            "k_path": diag.k_path or [],
            "moves": diag.moves or [],
            "fit_s": fit_s,
            "weights": population.weights.tolist(),
            "noise_var": population.components.noise_var.tolist(),
            "type_to_true": mapping.tolist(),
            "minority_recovered": len(minority_fitted) == 1
            and int(np.sum(mapping[: population.n_types] == cfg.sim.minority_type)) == 1,
        },
        "policies": doc_policies,
    }
    doc["gain_captured"] = gain_curve(doc_policies, cfg.ours)
    if "floored" in doc_policies:  # the cold-start cost of the service's exploration floor
        doc["gain_captured_floored"] = gain_curve(doc_policies, "floored")
    res = results[cfg.ours]
    doc["type_posterior_examples"] = [
        {
            "user": u,
            "group": str(tu.group[u]),
            "true_type": int(tu.users.type_id[u]),
            "type_names": population.type_names(),
            "fitted_to_true": mapping.tolist(),
            "probs": res["examples"].get(u, []),
        }
        for u in example_users
    ]
    return doc


def gain_curve(policies: dict[str, Any], ours: str) -> dict[str, Any]:
    """``G(t) = (R_scratch - R_ours) / (R_scratch - R_oracle_type)`` at every step."""
    if not {"from_scratch_ts", "oracle_type", ours} <= set(policies):
        return {"t": [], "G": []}
    rs = np.array(policies["from_scratch_ts"]["curve"]["cum_regret"])
    ro = np.array(policies[ours]["curve"]["cum_regret"])
    rt = np.array(policies["oracle_type"]["curve"]["cum_regret"])
    denom = rs - rt
    G = np.where(np.abs(denom) > 1e-12, (rs - ro) / np.where(denom == 0, 1, denom), np.nan)
    return {"t": list(range(1, len(G) + 1)), "G": [None if not np.isfinite(g) else float(g) for g in G]}
