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
   same users and the same candidate draws (seeded per user and step), and a policy's random stream restarts
   for each user from that user's seed: a user's first steps are the same whatever ``steps`` is and whoever
   was replayed before.

Reported per policy: the mean reward over steps ``1..w`` for the windows ``1-5``, ``1-10``, ``1-20`` (a user
counts in a window over the steps they have, so a user with 3 items counts in ``1-10`` with the mean of their
3 steps), averaged over new users, with 95% bootstrap CIs over users (the same resamples for every policy);
``complete`` gives the same windows over only the users who have all ``w`` steps (a user with one item earns
the same under every policy, so on logs of short histories the main numbers are diluted towards each other).
Windows longer than ``steps`` are dropped (``--steps 10`` reports ``1-5`` and ``1-10``).

``paired`` compares ours (``ours``, by default ``mixture_ids``) with each other policy on the same users: per
window the mean of the per-user differences with its 95% bootstrap CI over users and a verdict (``better``
when the CI is above 0, ``worse`` when below, else ``not significant``), and per step the mean difference
with its band. ``captured_of_oracle_user`` is the share of the distance from the best other policy to
``oracle_user`` that ours covers.

``reference`` gives the scale on the same users: ``random_expected`` (the mean of each user's item rewards:
what a uniform choice earns in expectation at every step), ``hindsight_best`` (each user's best items in
order, ignoring the candidate draws) and ``oracle_user`` (the fitted model after each new user's *whole*
history, their future included, greedy on the same candidates: the personalisation ceiling of the model, never
a policy). A small ``oracle_user`` - ``pooled_ts`` gap says the model cannot tell these users apart even
knowing everything about them: the item space, not the identification, is what holds the types back.

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

import functools
import time
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import numpy as np

from warmstart._version import __version__
from warmstart.bench.machine import machine_info
from warmstart.bench.replay_als import ImplicitALSPeer
from warmstart.bench.replay_decision import PolicyAgent, choose_linear_decision, linear_pooled_policy
from warmstart.bench.replay_logistic import (
    LOGISTIC,
    FamilyChoice,
    LogisticAgent,
    LogisticPooledAgent,
    choose_family,
    is_binary,
    logistic_oracle_scores,
    other_family_policy,
)
from warmstart.bench.replay_popularity import POPULARITY_SHRINKAGE, PopularityBaseline  # noqa: F401
from warmstart.bench.replay_stats import (  # noqa: F401  (OWN_VARIANTS: re-exported)
    OWN_VARIANTS,
    _captured,
    _complete,
    _describe,
    _paired,
    _window_means,
)
from warmstart.data.events import EventData, split_by_first_event
from warmstart.families.linear.belief import BeliefBatch
from warmstart.families.linear.events import (
    EventFitConfig,
    event_summary,
    fit_from_events,
    training_log_from_events,
)
from warmstart.families.linear.population import Population
from warmstart.families.linear.space import (
    Space,
    SpaceChoice,
    SpaceConfig,
    SpaceFeatures,
    choose_space,
    fit_in_space,
    with_choice,
)
from warmstart.policies.base import Decision, PolicyContext
from warmstart.policies.registry import make_policy, policy_class

Progress = Callable[[str, float], None]
DEFAULT_POLICIES = ("mixture_ids", "pooled_ts", "from_scratch_ts", "popularity", "random")
WINDOWS = (5, 10, 20)
#: with the choice on, the policies served in a one-prior peer's own chosen space (every other policy, the
#: replay baselines included, is given ours' space)
ONE_PRIOR_PEERS = {"pooled_ts": "pooled", "from_scratch_ts": "from_scratch", "linear_pooled": "pooled"}


# ---------------------------------------------------------------------------------------------- agents
class ReplayAgent(Protocol):
    """What the replay drives: a registered ``Policy`` (through ``replay_decision.PolicyAgent``) or a replay-only baseline."""

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
    #: each training event's own features (leave-user-out: what populations are fitted on), when learned
    rows: np.ndarray | None = None
    #: the family chosen for ours on a 0/1 log (``replay_logistic.choose_family``), None when none was chosen
    family: FamilyChoice | None = None
    #: how ours acts in the linear family and each rule's validation reward (``replay_decision``)
    decision: tuple[str, dict[str, float]] = ("mixture_ids", {})


REPLAY_BASELINES: dict[str, Callable[..., ReplayAgent]] = {
    "popularity": PopularityBaseline,
    "als": ImplicitALSPeer,
    "logistic_ts": LogisticAgent,
    "logistic_pooled": LogisticPooledAgent,
    "linear_ids": lambda c, seed: PolicyAgent(make_policy("mixture_ids", c.policy_context, seed=seed)),
    # one prior (K = 1 in the one-prior peers' own chosen space) acting by ours' chosen rule: "types add" minus
    # it is the types' share alone, as minus logistic_pooled is in the logistic family
    "linear_pooled": lambda c, seed: PolicyAgent(make_policy(c.decision[0], c.policy_context, seed=seed)),
}
#: ours (``mixture_ids``) served in the family the choice picked (``replay_logistic``), by that family
FAMILY_AGENTS = {"logistic_bernoulli": "logistic_ts"}


def make_agent(name: str, context: ReplayContext, *, seed: int) -> ReplayAgent:
    """A replay-only baseline by name, else a registered policy (one that needs no ground truth); ours in the
    family chosen for it."""
    if name == "mixture_ids":
        name = FAMILY_AGENTS.get(context.family.chosen, name) if context.family is not None else context.decision[0]
    if name in REPLAY_BASELINES:
        return REPLAY_BASELINES[name](context, seed=seed)
    if policy_class(name).needs_truth:
        raise ValueError(f"policies: {name!r} needs the simulator's ground truth, which a logged replay does not "
                         "have; drop it")
    return PolicyAgent(make_policy(name, context.policy_context, seed=seed))


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
    #: the policy the paired differences are of (ours minus each other policy); none when it is not replayed
    ours: str = "mixture_ids"
    #: choose the item space and K on validation users' early events (``warmstart.families.linear.space``)
    choose: bool = False
    space: SpaceConfig = field(default_factory=SpaceConfig)

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
        # a window longer than the replay would repeat the last one under a wrong name: windows stop at steps
        kept = tuple(sorted({w for w in self.windows if w <= self.steps})) or (self.steps,)
        object.__setattr__(self, "windows", kept)
        if self.n_boot < 1:
            raise ValueError(f"n_boot: expected a positive integer, got {self.n_boot}")

    def to_dict(self) -> dict[str, Any]:
        return {"train_fraction": self.train_fraction, "steps": self.steps, "n_candidates": self.n_candidates,
                "policies": list(self.policies), "windows": list(self.windows), "seed": self.seed,
                "n_boot": self.n_boot, "fit": self.fit.to_dict(), "ours": self.ours, "choose": self.choose,
                "space": self.space.to_dict() if self.choose else None}


@dataclass(frozen=True)
class _User:
    items: np.ndarray  # distinct items of the user
    reward: np.ndarray  # the user's mean logged reward for each
    n_steps: int  # replayed steps: min(steps, number of items)
    key_seed: tuple[int, ...]  # step t's candidate draw and order: random keys from [*key_seed, t]


def _new_users(events: EventData, steps: int, seed: int) -> list[_User]:
    users = []
    for u in range(events.n_users):
        rows = slice(events.starts[u], events.starts[u + 1])
        items, inverse = np.unique(events.item[rows], return_inverse=True)
        reward = np.bincount(inverse, weights=events.reward[rows]) / np.bincount(inverse)
        users.append(_User(items, reward, min(steps, items.shape[0]), (seed, 5, u)))
    return users


def _play(user: _User, n_candidates: int | None, steps: int, choose: Callable[[np.ndarray], int]) -> np.ndarray:
    """One user's rewards ``(steps,)`` (NaN after their items ran out): at each step ``choose`` gets the
    candidates (indices into ``user.items``) and returns the position of the one shown. A step's draw depends
    on the user and the step only, so the first steps are the same whatever ``steps`` is."""
    out = np.full(steps, np.nan)
    shown = np.zeros(user.items.shape[0], dtype=bool)
    for t in range(user.n_steps):
        keys = np.random.default_rng([*user.key_seed, t]).random(user.items.shape[0])
        # the candidate draw: the unshown items in the order of this step's keys, the first n_candidates
        order = np.argsort(np.where(shown, np.inf, keys), kind="stable")[: int((~shown).sum())]
        cand = order if n_candidates is None else order[:n_candidates]
        a = choose(cand)
        shown[cand[a]] = True
        out[t] = user.reward[cand[a]]
    return out


def _serve(agent: ReplayAgent, users: list[_User], features: np.ndarray, n_candidates: int | None,
           steps: int) -> np.ndarray:
    """Rewards ``(n_users, steps)`` earned by ``agent``; NaN after a user's items ran out. An agent with a
    ``reseed`` method restarts its random stream for each user from the user's seed, so a user's decisions do
    not depend on whom the agent served before (nor on ``steps``)."""
    out = np.full((len(users), steps), np.nan)
    reseed = getattr(agent, "reseed", None)
    for u, user in enumerate(users):
        if callable(reseed):
            reseed(int(np.random.SeedSequence([*user.key_seed, 6]).generate_state(1)[0]))
        state = agent.new_user()

        def choose(cand: np.ndarray, user: _User = user, state: Any = state) -> int:
            items = user.items[cand]
            X = features[items]
            a = agent.act(state, X, items).action
            agent.update(state, X, items, a, float(user.reward[cand[a]]))
            return a

        out[u] = _play(user, n_candidates, steps, choose)
        close = getattr(state, "close", None)
        if callable(close):
            close()
    return out


def _greedy(score: np.ndarray, cand: np.ndarray) -> int:
    return int(np.argmax(score[cand]))


def _oracle_user(users: list[_User], test: EventData, features: np.ndarray, population: Population,
                 n_candidates: int | None, steps: int, family: FamilyChoice | None = None) -> np.ndarray:
    """The ``oracle_user`` reference: each new user's belief under the fitted population of ours' family after
    *all* of their events (their future included), acting greedily on its predicted reward (the posterior
    mixture's mean) on the same candidates. The personalisation ceiling of the model family; never a policy."""
    if family is not None and family.chosen == LOGISTIC:
        scores = logistic_oracle_scores(family, test, features, [one.items for one in users])
    else:
        batch = BeliefBatch.from_summary(population, event_summary(test, features))
        theta = np.einsum("nk,nkd->nd", batch.type_probs(), batch.mean)
        scores = [features[one.items] @ theta[u] for u, one in enumerate(users)]
    out = np.full((len(users), steps), np.nan)
    for u, one in enumerate(users):
        out[u] = _play(one, n_candidates, steps, functools.partial(_greedy, scores[u]))
    return out


def _references(users: list[_User], steps: int, windows: Sequence[int],
                oracle: np.ndarray | None = None) -> dict[str, Any]:
    best = np.full((len(users), steps), np.nan)
    rand = np.full((len(users), steps), np.nan)
    for u, user in enumerate(users):
        m = user.n_steps
        best[u, :m] = np.sort(user.reward)[::-1][:m]
        rand[u, :m] = user.reward.mean()
    arrays = [("random_expected", rand), ("hindsight_best", best)]
    if oracle is not None:
        arrays.append(("oracle_user", oracle))
    out: dict[str, Any] = {}
    for name, arr in arrays:
        have = ~np.isnan(arr)
        out[name] = {"mean_reward": {k: float(v.mean()) for k, v in _window_means(arr, windows).items()},
                     "complete": {k: v["mean_reward"] for k, v in _complete(arr, windows, 0, 1).items()},
                     "mean_reward_by_step": [float(arr[have[:, t], t].mean()) for t in range(arr.shape[1])
                                             if have[:, t].any()]}
    return out


def _context(train: EventData, features: np.ndarray, population: Population, names: Sequence[str],
             rows: np.ndarray | None = None) -> ReplayContext:
    """The context of the policies ``names``: a training log in these features (each event's own ``rows``
    when given) when one of them reads it."""
    needs_log = any(name not in REPLAY_BASELINES and policy_class(name).needs_train_log for name in names)
    train_log = training_log_from_events(train, features, rows) if needs_log else None
    policy_context = PolicyContext(dim=features.shape[1], population=population, train_log=train_log)
    return ReplayContext(train=train, features=features, population=population, policy_context=policy_context,
                         rows=rows)


def _chooser(name: str) -> str:
    """Whose chosen space a policy is served in: a one-prior peer's own, else ours'."""
    return ONE_PRIOR_PEERS.get(name, "ours")


def _fit_chosen(train: EventData, cfg: ReplayConfig, report: Progress
                ) -> tuple[dict[str, tuple[Population, SpaceFeatures]], SpaceChoice]:
    """The choice on the training users, then each chosen configuration refitted on all of them (once per
    distinct space and K): ``({who: (population, features)}, choice)`` for ``who`` in ours and the one-prior
    peers replayed. A peer is given its space's K = 1 population (``from_scratch_ts`` builds ``N(0, v I)``
    from it, ``pooled_ts`` fits its own K = 1 prior on the training log in its space, whose events carry their
    leave-user-out features as the population's fit does)."""
    choice = choose_space(train, cfg.space, cfg.seed, lambda msg, frac: report(f"choice: {msg}", 0.25 * frac))
    wanted = {"ours", *(_chooser(name) for name in cfg.policies)}
    fits: dict[tuple[Space, int], tuple[Population, SpaceFeatures]] = {}
    out: dict[str, tuple[Population, SpaceFeatures]] = {}
    for who in ("ours", "pooled", "from_scratch"):
        if who not in wanted:
            continue
        key = (choice.space_of(who), choice.n_types if who == "ours" else 1)
        if key not in fits:
            report(f"refit: {key[0].name}, K = {key[1]}", 0.25 + 0.05 * len(fits) / 3)
            fits[key] = fit_in_space(train, *key, config=choice.config, seed=cfg.seed)
        out[who] = fits[key]
    out["ours"] = (with_choice(out["ours"][0], choice), out["ours"][1])
    return out, choice


def run_replay(events: EventData, *, train_fraction: float = 0.7, steps: int = 20, n_candidates: int | None = None,
               policies: Sequence[str] = DEFAULT_POLICIES, seed: int = 0, n_boot: int = 1000,
               progress: Progress | None = None, fit_config: EventFitConfig | None = None,
               windows: Sequence[int] = WINDOWS, ours: str = "mixture_ids", choose: bool = False,
               space_config: SpaceConfig | None = None, rewards_out: dict[str, np.ndarray] | None = None
               ) -> dict[str, Any]:
    """Split, fit on the training users, replay every new user with every policy; return the JSON document.

    ``fit_config`` defaults to ``EventFitConfig()``; its seeds are replaced by ``seed``. With ``choose``, the
    item space and K are chosen on the training users' validation users (``choose_space``, grid
    ``space_config``, by default ``SpaceConfig`` with ``fit_config``'s factorisation and EM settings as its
    base): ours is fitted in its chosen space with its chosen K, ``pooled_ts`` and ``from_scratch_ts`` each in
    their own chosen space (``ONE_PRIOR_PEERS``), every other policy and ``oracle_user`` in ours'; without it,
    every policy shares the one ``fit_from_events`` fit. The document:
    ``{benchmark, config, version, machine, data, n_train_users, n_test_users, fit, policies: {NAME:
    {mean_reward: {"1-5", "1-10", "1-20"}, ci95: {same keys: [lo, hi]}, n_users, complete: {same keys:
    {mean_reward, ci95, n_users}}, mean_reward_by_step, ci95_by_step, users_by_step, settings}}, paired: {ours,
    vs: {NAME: {windows: {KEY: {mean_diff, ci95, verdict}}, mean_diff_by_step, ci95_by_step}},
    captured_of_oracle_user: {KEY: {best_peer, share}}} (None without ``ours`` among the policies),
    reference: {random_expected, hindsight_best, oracle_user}, timing}``; with ``choose``, ``fit.space`` is
    the choice (``SpaceChoice.to_dict``: who got which space and K, and every space's scores) and
    ``fit.policies`` says which space each policy was served in; on a 0/1 log ``fit.family`` is the choice of ours'
    family (``replay_logistic.choose_family``), and the family not chosen is replayed too (``logistic_ts`` or
    ``linear_ids``); ``fit.decision`` is how ours acts in the linear family (``replay_decision``). Same seed, same document (``timing`` and ``machine`` aside).
    ``rewards_out``: an empty dict, filled with each policy's rewards ``(new users, steps)`` (NaN past a
    user's items), for comparisons paired over the same users across runs (``bench refine``).
    """
    fit = (fit_config or EventFitConfig()).with_seed(seed)
    cfg = ReplayConfig(train_fraction=train_fraction, steps=steps, n_candidates=n_candidates,
                       policies=tuple(policies), windows=tuple(windows), seed=seed, n_boot=n_boot,
                       fit=fit, ours=ours, choose=choose,
                       space=space_config or SpaceConfig(item_features=fit.item_features,
                                                         population=fit.population))
    for name in cfg.policies:  # unknown names and truth-reading policies fail before the fit
        if name not in REPLAY_BASELINES and policy_class(name).needs_truth:
            raise ValueError(f"policies: {name!r} needs the simulator's ground truth, which a logged replay does "
                             "not have; drop it")
    report = progress or (lambda msg, frac: None)
    train_idx, test_idx = split_by_first_event(events, cfg.train_fraction)
    train, test = events.subset(train_idx), events.subset(test_idx)
    t0 = time.perf_counter()
    contexts, choice = _contexts(train, cfg, report)
    fit_s = time.perf_counter() - t0
    ours_ctx = contexts["ours"]
    population, features = ours_ctx.population, ours_ctx.features
    users = _new_users(test, cfg.steps, cfg.seed)
    results: dict[str, Any] = {}
    rewards: dict[str, np.ndarray] = {} if rewards_out is None else rewards_out
    serve_s: dict[str, float] = {}
    names = (*cfg.policies, *other_family_policy(ours_ctx.family, cfg.policies),
             *linear_pooled_policy(cfg.choose, ours_ctx.family, cfg.policies))
    for i, name in enumerate(names):
        report(f"replaying new users with {name}", 0.35 + 0.6 * i / len(names))
        t1 = time.perf_counter()
        context = contexts[_chooser(name)]
        agent = make_agent(name, context, seed=_seed_for(cfg.seed, name))
        rewards[name] = _serve(agent, users, context.features, cfg.n_candidates, cfg.steps)
        serve_s[name] = time.perf_counter() - t1
        results[name] = {**_describe(rewards[name], cfg.windows, cfg.seed, cfg.n_boot),
                         "settings": agent.settings()}
    report("oracle_user: each new user's whole history", 0.95)
    oracle = _oracle_user(users, test, features, population, cfg.n_candidates, cfg.steps, ours_ctx.family)
    references = _references(users, cfg.steps, cfg.windows, oracle)
    compared = cfg.ours in rewards and len(rewards) > 1
    report("done", 1.0)
    return {
        "benchmark": "replay", "config": cfg.to_dict(), "version": __version__, "machine": machine_info(),
        "data": events.describe(), "n_train_users": int(train.n_users), "n_test_users": int(test.n_users),
        "fit": _fit_doc(contexts, choice, names),
        "policies": results,
        "paired": ({"ours": cfg.ours, "vs": _paired(cfg.ours, rewards, cfg.windows, cfg.seed, cfg.n_boot),
                    "captured_of_oracle_user": _captured(cfg.ours, results,
                                                         references["oracle_user"]["mean_reward"], rewards,
                                                         oracle, seed=cfg.seed, n_boot=cfg.n_boot)}
                   if compared else None),
        "reference": references,
        "timing": {"fit_s": fit_s, "serve_s": serve_s, **_choice_timing(choice)},
    }


def _contexts(train: EventData, cfg: ReplayConfig, report: Progress
              ) -> tuple[dict[str, ReplayContext], SpaceChoice | None]:
    """Each chooser's context (``ours``, ``pooled``, ``from_scratch``): with ``cfg.choose`` each in its chosen
    space (and on a 0/1 log ours' family chosen too), else one shared fit; and the space choice, if any."""
    if not cfg.choose:
        population, features, _ = fit_from_events(
            train, cfg.fit, progress=lambda msg, frac: report(f"fit: {msg}", 0.3 * frac))
        shared = _context(train, features, population, cfg.policies)
        return {who: shared for who in ("ours", "pooled", "from_scratch")}, None
    fitted, choice = _fit_chosen(train, cfg, report)
    contexts = {who: _context(train, learned.features, population,
                              [n for n in cfg.policies if _chooser(n) == who], learned.rows)
                for who, (population, learned) in fitted.items()}
    if is_binary(train.reward):  # 0/1 rewards: ours' family chosen on the validation users too
        contexts["ours"] = replace(contexts["ours"], family=choose_family(
            train, choice, fitted["ours"][1].rows, cfg.seed, lambda m, f: report(m, 0.3 + 0.05 * f)))
    family = contexts["ours"].family
    if "mixture_ids" in cfg.policies and (family is None or family.chosen != LOGISTIC):
        # how ours acts in the linear family: mixture_ids or greedy, chosen on the validation users too
        contexts["ours"] = replace(contexts["ours"], decision=choose_linear_decision(train, choice, cfg.seed))
        if "pooled" in contexts:  # linear_pooled: the one prior acting by ours' rule
            contexts["pooled"] = replace(contexts["pooled"], decision=contexts["ours"].decision)
    return contexts, choice


def _fit_doc(contexts: Mapping[str, ReplayContext], choice: SpaceChoice | None, names: Sequence[str]
             ) -> dict[str, Any]:
    """The document's ``fit`` section: ours' population, and with a choice the space table, ours' family and
    the space each policy was served in."""
    ours_ctx = contexts["ours"]
    population = ours_ctx.population
    diag = population.diagnostics
    doc: dict[str, Any] = {"n_types": population.n_types, "weights": population.weights.tolist(),
                           "dim": population.dim, "selection": diag.selection, "bic": diag.bic,
                           "item_features": diag.item_features}
    if choice is not None:
        doc["space"] = choice.to_dict()
        doc["family"] = None if ours_ctx.family is None else ours_ctx.family.to_dict()
        logistic = ours_ctx.family is not None and ours_ctx.family.chosen == "logistic_bernoulli"
        doc["decision"] = None if logistic else {"chosen": ours_ctx.decision[0], "scores": ours_ctx.decision[1]}
        doc["policies"] = {name: {"chosen_for": (who := _chooser(name)), "space": choice.space_of(who).name,
                                  "dim": int(contexts[who].features.shape[1])} for name in names}
    return doc


def _choice_timing(choice: SpaceChoice | None) -> dict[str, Any]:
    """How long the space choice took, in all and per space (the timing, not the document's fit section: same
    seed, same document)."""
    if choice is None:
        return {}
    return {"choose_s": choice.seconds, "choose_by_space_s": {r.space.name: r.seconds for r in choice.table}}
