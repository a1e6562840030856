"""The Bernoulli-logistic family in the replay, and the choice of family for 0/1 logs.

**The agent** (``logistic_ts``): the family ``logistic_bernoulli`` (``warmstart.families.logistic``) served by
``type_ts`` (draw a type from the user's posterior, draw ``w`` from the user's Gaussian belief under it, play
the candidate with the largest ``x . w``: type-conditioned Thompson sampling, Chapelle and Li, NIPS 2011), in
ours' item space (the replay's ``ReplayContext.features``), fitted on the training users only: on each event's
leave-user-out features (``ReplayContext.rows``, as the linear populations are; see
``warmstart.families.linear.space``), with at most ``MAX_EVENTS`` of each user's first events (a cap on the
EM's cost; the first events are what cold start is about).

**The choice of family** (``choose_family``, on a 0/1 log with the space choice on). The linear family's
criterion (the Gaussian log marginal likelihood) does not compare across families and is degenerate on 0/1
rewards (the noise variance collapses, log densities turn positive). Both families are therefore scored by
the same proper scoring rules of their one-step-ahead predictions ``P(r_t = 1 | r_<t)`` over the validation
users' first ``n_early`` events (the space choice's split: the training users' latest
``validation_fraction`` by first event, everything fitted on the others; the same item features from the
fitting users' factorisation): the **Bernoulli log loss** ``-log P(r_t)`` (the choice) and the Brier score
``(P(r_t = 1) - r_t)^2`` (reported), each a mean over a user's events then over users. A prediction is the
type posterior's mixture of the types' predictions: for the linear family the predictive mean ``x . m_k``,
for the logistic family the filter's ``P(r = 1)``; both clipped to ``[1e-3, 1 - 1e-3]``. The linear family
is scored in its chosen space with its chosen K; the logistic family in the same space with K in the grid's
``n_types`` chosen by the same log loss. On 0/1 rewards the logistic family is the default, since its
likelihood is the data's; the linear family is ours (``mixture_ids`` in the replay) only when its log loss is
lower by more than ``LINEAR_LEAD_SE`` standard errors of the per-user difference. The two scores are often
within noise of each other (on MovieLens rated >= 3.5, 0.6019 against 0.6025 with a standard error of 0.0034),
and a coin flip between two families of different fits is not a choice.

**How the logistic agent acts** is chosen on the same validation users, replayed as the replay replays new
users (their own items as candidates, 20 steps) by the agent fitted on the fitting users with the chosen K:
Thompson sampling (the default, kept on a tie) or greedy on the type mixture's predicted ``P(r = 1)``; the
mean reward over steps 1-10 decides (``choose_decision``; the same kind of choice ``popularity`` and ``als``
make their settings by). Nothing here sees the new users.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from types import SimpleNamespace
from typing import Any

import numpy as np

from warmstart.data.events import EventData, split_by_first_event
from warmstart.families.generic import TypeBelief, TypePopulation, fit_types
from warmstart.families.linear.fit import fit_population
from warmstart.families.linear.population import Population
from warmstart.families.linear.space import SpaceChoice, space_features
from warmstart.families.linear.space_features import _mean_se
from warmstart.families.logistic.family import LogisticBernoulli
from warmstart.families.logistic.model import Events, adf_pass, predict_proba, soft_step
from warmstart.families.protocol import Family, Params
from warmstart.families.registry import family as family_named
from warmstart.policies.base import Decision, Policy, PolicyContext
from warmstart.policies.registry import make_policy
from warmstart.stats import normalised_exp

Progress = Callable[[str, float], None]
LINEAR, LOGISTIC = "linear_gaussian", "logistic_bernoulli"
#: predictions are clipped to [CLIP, 1 - CLIP] before they are scored
CLIP = 1e-3
#: how many standard errors of the per-user difference the linear family's lower log loss must lead by to be
#: chosen over the logistic family on a 0/1 log (the logistic family is the default there)
LINEAR_LEAD_SE = 2.0
#: each training user's first events the logistic fit reads at most
MAX_EVENTS = 200
#: the logistic EM's settings in the replay: starts per K (K > 1), passes, relative tolerance
N_INIT, MAX_ITER, TOL = 2, 100, 1e-5


def is_binary(rewards: np.ndarray) -> bool:
    """Whether every reward is 0 or 1 (the logs the family choice is for).

    >>> is_binary(np.array([0.0, 1.0, 1.0])), is_binary(np.array([0.0, 4.0]))
    (True, False)
    """
    r = np.asarray(rewards)
    return bool(r.size and np.all((r == 0.0) | (r == 1.0)))


def _per_type_p1(name: str, fam: Family, state: dict[str, np.ndarray], params: Params, x: np.ndarray
                 ) -> np.ndarray:
    """Each type's prediction of ``P(r = 1)`` for the item ``x`` given the user's events so far."""
    if name == LOGISTIC:
        assert isinstance(fam, LogisticBernoulli)
        return fam.predict(state, params, x)
    return np.asarray(state["mean"] @ x)  # the linear family: the predictive mean of the reward


def one_step_ahead(name: str, params: Params, log_weights: np.ndarray, events: Events) -> np.ndarray:
    """``(N, T)``: each event's predicted ``P(r_t = 1 | r_<t)`` under the type mixture of the family ``name``
    (NaN on padding), unclipped. The user's belief is the family's own filter (``Family.observe``).

    >>> params = {"mu": np.array([[2.0], [-2.0]]), "cov": np.stack([0.01 * np.eye(1)] * 2)}
    >>> ev = Events.from_arrays(np.ones((1, 3, 1)), np.array([[1.0, 1.0, 1.0]]))
    >>> one_step_ahead("logistic_bernoulli", params, np.log([0.5, 0.5]), ev).round(2).tolist()
    [[0.5, 0.81, 0.88]]
    """
    fam = family_named(name)
    out = np.full(events.r.shape, np.nan)
    for u in range(events.n_users):
        state = fam.new_state(params)
        log_post = np.array(log_weights, dtype=np.float64)
        for t in range(int(events.length[u])):
            x = events.x[u, t]
            out[u, t] = float(normalised_exp(log_post) @ _per_type_p1(name, fam, state, params, x))
            log_post = log_post + fam.observe(state, params, x, float(events.r[u, t]))
    return out


@dataclass(frozen=True, kw_only=True)
class Scores:
    """A prior's scores on the validation users' early events: the mean over users of their mean log loss and
    Brier score, with standard errors over users.

    >>> s = score(np.array([[0.9, 0.2, np.nan], [0.6, np.nan, np.nan]]), np.array([[1.0, 0.0, 0.0], [0.0, 0, 0]]))
    >>> round(s.log_loss, 3), round(s.brier, 3), s.n_users
    (0.54, 0.193, 2)
    """

    log_loss: float
    log_loss_se: float
    brier: float
    brier_se: float
    n_users: int

    def to_dict(self) -> dict[str, Any]:
        return {"log_loss": self.log_loss, "log_loss_se": self.log_loss_se, "brier": self.brier,
                "brier_se": self.brier_se, "n_users": self.n_users}


def per_user_log_loss(p1: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Each user's mean log loss over their predicted events (``p1`` NaN elsewhere), predictions clipped.

    >>> per_user_log_loss(np.array([[0.5, np.nan]]), np.array([[1.0, 0.0]])).round(3).tolist()
    [0.693]
    """
    have = ~np.isnan(p1)
    p = np.clip(np.where(have, p1, 0.5), CLIP, 1.0 - CLIP)
    loss = np.where(have, -(r * np.log(p) + (1.0 - r) * np.log1p(-p)), 0.0)
    return np.asarray(loss.sum(1) / np.maximum(have.sum(1), 1))[have.any(1)]


def score(p1: np.ndarray, r: np.ndarray) -> Scores:
    """The ``Scores`` of the predictions ``p1 (N, T)`` (NaN where no event) of the 0/1 rewards ``r``."""
    have = ~np.isnan(p1)
    users = have.any(1)
    p = np.clip(np.where(have, p1, 0.5), CLIP, 1.0 - CLIP)
    brier = (np.where(have, (p - r) ** 2, 0.0).sum(1) / np.maximum(have.sum(1), 1))[users]
    ll, ll_se = _mean_se(per_user_log_loss(p1, r))
    b, b_se = _mean_se(brier)
    return Scores(log_loss=ll, log_loss_se=ll_se, brier=b, brier_se=b_se, n_users=int(users.sum()))


def logistic_events(events: EventData, rows: np.ndarray, max_events: int | None = MAX_EVENTS) -> Events:
    """``events`` as the logistic family's statistics over each event's features ``rows (n_events, d)``, with
    at most ``max_events`` first events per user.

    >>> ev = EventData.from_rows(["a", "a", "b"], [0, 1, 0], ["x", "y", "x"], [1.0, 0.0, 1.0])
    >>> logistic_events(ev, np.ones((3, 2)), max_events=1).length.tolist()
    [1, 1]
    """
    out = Events.from_rows(events.user, rows, events.reward, events.n_users)
    return out if max_events is None else out.first(max_events)


def fit_logistic(events: EventData, rows: np.ndarray, n_types: int, seed: int) -> TypePopulation:
    """The logistic population with K = ``n_types`` on ``events`` (features ``rows``, ``EM`` settings).

    >>> ev = _example_log()        # 30 users x 8 events over 5 items, P(r = 1) = 0.6
    >>> fit_logistic(ev, np.ones((240, 1)), 1, seed=0).params["mu"].round(1).tolist()
    [[0.3]]
    """
    return fit_types(LogisticBernoulli(), logistic_events(events, rows), n_types=n_types, seed=seed,
                     n_init=N_INIT, max_iter=MAX_ITER, tol=TOL)


@dataclass(frozen=True, kw_only=True)
class FamilyChoice:
    """What ``choose_family`` chose and why: each family's scores (the logistic family per K), the chosen
    family, the logistic K, and the logistic population refitted on every training user with that K.

    >>> row = Scores(log_loss=0.6, log_loss_se=0.01, brier=0.2, brier_se=0.01, n_users=10)
    >>> choice = FamilyChoice(linear=row, linear_n_types=2, logistic={1: replace(row, log_loss=0.55)},
    ...                       logistic_n_types=1, chosen="logistic_bernoulli", space="bias")
    >>> choice.to_dict()["chosen"], choice.margin()
    ('logistic_bernoulli', 0.05)
    """

    linear: Scores
    linear_n_types: int
    logistic: dict[int, Scores]
    logistic_n_types: int
    chosen: str
    space: str
    population: TypePopulation | None = None
    #: how the logistic agent acts: ``thompson`` (type_ts) or ``greedy`` (the mixture's largest P(r = 1)),
    #: chosen by replaying the validation users (``choose_decision``)
    decision: str = "thompson"
    decision_validation: dict[str, float] = field(default_factory=dict)
    n_early: int = 10
    per_user_margin_se: float | None = None
    settings: dict[str, Any] = field(default_factory=dict)

    def margin(self) -> float:
        """The linear family's log loss minus the logistic family's (positive: the logistic predicts better)."""
        return round(self.linear.log_loss - self.logistic[self.logistic_n_types].log_loss, 12)

    def to_dict(self) -> dict[str, Any]:
        return {"criterion": f"mean over validation users of the Bernoulli log loss of the one-step-ahead "
                             f"P(r_t = 1 | r_<t) over their first {self.n_early} events (clipped to "
                             f"[{CLIP}, {1 - CLIP}]); the logistic family unless the linear one's is lower by "
                             f"more than {LINEAR_LEAD_SE:g} standard errors of the per-user difference; Brier "
                             "score reported",
                "chosen": self.chosen, "space": self.space,
                "linear_gaussian": {"n_types": self.linear_n_types, **self.linear.to_dict()},
                "logistic_bernoulli": {"n_types": self.logistic_n_types,
                                       "by_n_types": {str(k): v.to_dict() for k, v in self.logistic.items()}},
                "margin_log_loss": self.margin(), "margin_se": self.per_user_margin_se,
                "logistic_decision": {"chosen": self.decision, "criterion": "validation users replayed as new "
                                      "users: mean reward over steps 1-10", "scores": self.decision_validation},
                "settings": self.settings}


def choose_family(train: EventData, choice: SpaceChoice, rows: np.ndarray, seed: int,
                  progress: Progress | None = None, n_types: Sequence[int] | None = None) -> FamilyChoice:
    """Score both families on the training users' validation users in ours' chosen space (see the module
    docstring) and refit the logistic family on every training user (``rows``: their events' leave-user-out
    features in that space) with its chosen K. ``n_types``: the logistic K tried (default: the space
    choice's grid)."""
    report = progress or (lambda msg, frac: None)
    cfg = choice.config
    fit_idx, val_idx = split_by_first_event(train, 1.0 - cfg.validation_fraction)
    fit_part, val_part = train.subset(fit_idx), train.subset(val_idx)
    report(f"families: item features ({choice.ours.name})", 0.0)
    # the choice factorised the fitting users in ours' space with this config already: the same features
    learned = choice.ours_fit[1] if choice.ours_fit is not None else space_features(fit_part, choice.ours,
                                                                                     cfg.item_features)
    val = Events.from_rows(val_part.user, learned.features[val_part.item], val_part.reward,
                           val_part.n_users).first(cfg.n_early)
    linear = fit_population(learned.summary(fit_part),
                            replace(cfg.population, n_types=choice.n_types, split_merge=False))
    linear_p = one_step_ahead(LINEAR, _linear_params(linear), linear.log_weights, val)
    ks = sorted(n_types or cfg.n_types)
    logistic: dict[int, Scores] = {}
    logistic_p: dict[int, np.ndarray] = {}
    pops: dict[int, TypePopulation] = {}
    for i, k in enumerate(ks):
        report(f"families: logistic K = {k}", 0.1 + 0.7 * i / len(ks))
        pops[k] = fit_logistic(fit_part, learned.rows, k, seed)
        logistic_p[k] = one_step_ahead(LOGISTIC, pops[k].params, pops[k].log_weights, val)
        logistic[k] = score(logistic_p[k], val.r)
    best_k = min(ks, key=lambda k: (logistic[k].log_loss, k))
    decision, decision_scores = choose_decision(pops[best_k], val_part, learned.features, seed)
    linear_scores = score(linear_p, val.r)
    diff = per_user_log_loss(linear_p, val.r) - per_user_log_loss(logistic_p[best_k], val.r)
    margin, margin_se = _mean_se(diff)
    chosen = family_by_margin(margin, margin_se)
    report(f"families: logistic refit, K = {best_k}", 0.85)
    population = fit_logistic(train, rows, best_k, seed)
    return FamilyChoice(linear=linear_scores, linear_n_types=choice.n_types, logistic=logistic,
                        logistic_n_types=best_k, chosen=chosen, space=choice.ours.name, population=population,
                        decision=decision, decision_validation=decision_scores,
                        n_early=cfg.n_early, per_user_margin_se=margin_se,
                        settings={"max_events": MAX_EVENTS, "n_init": N_INIT, "max_iter": MAX_ITER, "tol": TOL,
                                  "n_types_tried": ks,
                                  "n_fit_users": fit_part.n_users, "n_validation_users": val_part.n_users})


def family_by_margin(margin: float, se: float) -> str:
    """The family chosen from the linear family's mean log loss minus the logistic family's over validation
    users (``margin``; positive: the logistic predicts better) and its standard error: the logistic family
    unless the linear one leads by more than ``LINEAR_LEAD_SE`` standard errors.

    >>> family_by_margin(0.0006, 0.0034), family_by_margin(-0.0006, 0.0034), family_by_margin(-0.01, 0.0034)
    ('logistic_bernoulli', 'logistic_bernoulli', 'linear_gaussian')
    """
    return LINEAR if margin < -LINEAR_LEAD_SE * se else LOGISTIC


def _linear_params(population: Population) -> Params:
    comps = population.components
    return {"mu": comps.mu, "cov": comps.cov, "noise_var": comps.noise_var}


def logistic_policy(context: PolicyContext, train: EventData, features: np.ndarray, rows: np.ndarray | None,
                    family: FamilyChoice | None, *, seed: int) -> Policy:
    """``type_ts`` on the logistic population: the family choice's refit when there is one, else one fitted
    here on the training users (K = 2 fixed; ``rows`` or the items' ``features``). One draw per decision (the
    replay reads no propensities).

    >>> ev = _example_log()        # 30 users x 8 events over 5 items, P(r = 1) = 0.6
    >>> policy = logistic_policy(PolicyContext(dim=2), ev, np.ones((5, 2)), None, None, seed=0)
    >>> policy.settings()["family"], policy.act(policy.new_user(), np.eye(2)).action in (0, 1)
    ('logistic_bernoulli', True)
    """
    population = family.population if family is not None else None
    if population is None:
        population = fit_logistic(train, features[train.item] if rows is None else rows, 2, seed)
    return make_policy("type_ts", replace(context, dim=population.dim, population=population), seed=seed,
                       n_samples=1)


def other_family_policy(family: FamilyChoice | None, names: Sequence[str]) -> tuple[str, ...]:
    """The replay's extra policy when a family was chosen: the family not chosen, served as it would be
    (``linear_ids`` the linear mixture's ``mixture_ids``, ``logistic_ts``), when ours (``mixture_ids``) is
    replayed and the other is not already.

    >>> row = Scores(log_loss=0.6, log_loss_se=0.01, brier=0.2, brier_se=0.01, n_users=10)
    >>> choice = FamilyChoice(linear=row, linear_n_types=2, logistic={1: row}, logistic_n_types=1,
    ...                       chosen="linear_gaussian", space="bias")
    >>> other_family_policy(choice, ["mixture_ids"]), other_family_policy(choice, ["pooled_ts"])
    (('logistic_ts',), ())
    >>> other_family_policy(replace(choice, chosen="logistic_bernoulli"), ["mixture_ids"])
    ('linear_ids', 'logistic_pooled')
    """
    if family is None or "mixture_ids" not in names:
        return ()
    # with the logistic family chosen, its own one-prior peer too: "types add" is ours minus it (same family,
    # same decision rule), not minus pooled_ts, which differs from ours in the family and the decision too
    extra = ("linear_ids", "logistic_pooled") if family.chosen == LOGISTIC else ("logistic_ts",)
    return tuple(e for e in extra if e not in names)


def logistic_oracle_scores(family: FamilyChoice, test: EventData, features: np.ndarray,
                           items: Sequence[np.ndarray]) -> list[np.ndarray]:
    """The ``oracle_user`` reference of the logistic family: per new user, the predicted ``P(r = 1)`` of the
    items ``items[u]`` after *all* of the user's events in ``test`` (their future included): the type
    posterior's mixture of the types' filtered predictions.

    >>> row = Scores(log_loss=0.6, log_loss_se=0.01, brier=0.2, brier_se=0.01, n_users=1)
    >>> population = TypePopulation(family=LOGISTIC, weights=np.array([0.5, 0.5]),
    ...                             params={"mu": np.array([[2.0], [-2.0]]), "cov": np.stack([np.eye(1)] * 2)})
    >>> choice = FamilyChoice(linear=row, linear_n_types=1, logistic={2: row}, logistic_n_types=2,
    ...                       chosen=LOGISTIC, space="bias", population=population)
    >>> test = EventData.from_rows(["a", "a"], [0, 1], ["x", "y"], [1.0, 0.0])   # likes x, not y
    >>> [s.round(2).tolist() for s in logistic_oracle_scores(choice, test, np.array([[1.0], [-1.0]]),
    ...                                                       [np.array([0, 1])])]
    [[0.86, 0.14]]
    """
    population = family.population
    if population is None:
        raise ValueError("family: expected the logistic family's refitted population, got none")
    events = Events.from_rows(test.user, features[test.item], test.reward, test.n_users)
    out = adf_pass(events, population.params["mu"], population.params["cov"])
    post = normalised_exp(out.log_evidence + population.log_weights)
    scores = []
    for u, its in enumerate(items):
        p_k = predict_proba(out.mean[u][:, None, :], out.cov[u][:, None, :, :], features[its][None, :, :])
        scores.append(post[u] @ p_k)
    return scores


#: how the logistic agent may act
DECISIONS = ("thompson", "greedy")
#: the registered policy behind each decision rule (what ``warmstart serve`` runs for it)
DECISION_POLICIES = {"thompson": "type_ts", "greedy": "type_greedy"}


def choose_decision(population: TypePopulation, val_part: EventData, features: np.ndarray, seed: int,
                    steps: int = 20, window: int = 10) -> tuple[str, dict[str, float]]:
    """Replay the validation users (``val_part``, none of them in ``population``'s fit) as the replay replays
    new users, with the logistic agent acting by Thompson sampling and greedily on ``population``; the mean
    reward over steps ``1..window`` chooses (a tie: Thompson sampling).

    >>> population = TypePopulation(family=LOGISTIC, weights=np.array([0.5, 0.5]),
    ...                             params={"mu": np.array([[2.0], [-2.0]]), "cov": np.stack([np.eye(1)] * 2)})
    >>> val = EventData.from_rows(["a", "a", "b", "b"], [0, 1, 2, 3], ["x", "y", "x", "y"], [1.0, 0.0, 0.0, 1.0])
    >>> choose_decision(population, val, np.array([[1.0], [-1.0]]), seed=0, steps=2, window=1)[0]
    'thompson'
    """
    from warmstart.bench.replay import _new_users, _serve

    users = _new_users(val_part, steps, seed)
    scores: dict[str, float] = {}
    for decision in DECISIONS:
        context = SimpleNamespace(policy_context=PolicyContext(dim=population.dim), train=val_part,
                                  features=features, rows=None,
                                  family=SimpleNamespace(population=population, decision=decision))
        rewards = _serve(LogisticAgent(context, seed=seed), users, features, None, steps)
        scores[decision] = float(np.nanmean(rewards[:, :window], axis=1).mean())
    best = max(DECISIONS, key=lambda d: (round(scores[d], 12), d == "thompson"))
    return best, scores


class LogisticAgent:
    """The replay agent ``logistic_ts``: ``logistic_policy`` (``type_ts``) for decisions and 0/1 rewards; a
    fractional reward (the replay gives an item's mean reward when the user answered it several times, as
    ASSISTments students do a skill) updates each type's belief by the soft online-Laplace step
    (``warmstart.families.logistic.model.soft_step``) and adds its pseudo log likelihood to the type's log
    evidence. ``context`` is the replay's ``ReplayContext`` (its ``policy_context``, ``train``, ``features``,
    ``rows`` and ``family`` are read).

    >>> from types import SimpleNamespace
    >>> ev = _example_log()        # 30 users x 8 events over 5 items, P(r = 1) = 0.6
    >>> context = SimpleNamespace(policy_context=PolicyContext(dim=2), train=ev, features=np.ones((5, 2)),
    ...                           rows=None, family=None)
    >>> agent = LogisticAgent(context, seed=0)
    >>> agent.reseed(1)
    >>> state = agent.new_user()
    >>> agent.act(state, np.eye(2), np.arange(2)).action in (0, 1), agent.settings()["family"]
    (True, 'logistic_bernoulli')
    >>> agent.update(state, np.eye(2), np.arange(2), 0, 0.5)      # a mean of two answers, one right
    >>> agent.update(state, np.eye(2), np.arange(2), 1, 1.0)
    >>> state.n
    2.0
    """

    def __init__(self, context: Any, *, seed: int, decision: str | None = None) -> None:
        self.policy = logistic_policy(context.policy_context, context.train, context.features, context.rows,
                                      context.family, seed=seed)
        chosen = context.family.decision if context.family is not None else "thompson"
        self.decision = decision or chosen
        if self.decision not in DECISIONS:
            raise ValueError(f"decision: expected one of {list(DECISIONS)}, got {self.decision!r}")
        # the service's greedy policy on the same population, so that the replay measures what is served
        self.greedy = make_policy(DECISION_POLICIES["greedy"], PolicyContext(population=self.policy.context.population))

    def reseed(self, seed: int) -> None:
        self.policy.reseed(int(np.random.SeedSequence([self.policy.seed, seed]).generate_state(1)[0]))

    def settings(self) -> dict[str, Any]:
        return {**self.policy.settings(), "decision": self.decision,
                "fractional_rewards": "soft online-Laplace step"}

    def new_user(self) -> TypeBelief:
        state = self.policy.new_user()
        assert isinstance(state, TypeBelief)
        return state

    def act(self, state: TypeBelief, X: np.ndarray, items: np.ndarray) -> Decision:
        return (self.policy if self.decision == "thompson" else self.greedy).act(state, X)

    def update(self, state: TypeBelief, X: np.ndarray, items: np.ndarray, action: int, reward: float) -> None:
        if reward in (0.0, 1.0):
            self.policy.update(state, X, action, reward)
            return
        if not 0.0 < reward < 1.0:
            raise ValueError(f"reward: expected a value in [0, 1] (a mean of 0/1 answers), got {reward}")
        x = np.asarray(X[action], dtype=np.float64)
        state.log_evidence = state.log_evidence + soft_step(state.state["mean"], state.state["cov"], x, reward)
        state.n += 1.0


class LogisticPooledAgent(LogisticAgent):
    """The replay agent ``logistic_pooled``: the logistic family's one-prior peer, what ``pooled_ts`` is to the
    linear mixture. One logistic type (K = 1) fitted on the training users in ours' space, acting by the
    decision rule chosen for ours (``FamilyChoice.decision``), so that ours minus it is what the types add.
    ``context`` as ``LogisticAgent``'s.

    >>> from types import SimpleNamespace
    >>> ev = _example_log()        # 30 users x 8 events over 5 items, P(r = 1) = 0.6
    >>> context = SimpleNamespace(policy_context=PolicyContext(dim=2), train=ev, features=np.ones((5, 2)),
    ...                           rows=None, family=None)
    >>> agent = LogisticPooledAgent(context, seed=0)
    >>> agent.policy.population.n_types, agent.decision
    (1, 'thompson')
    """

    def __init__(self, context: Any, *, seed: int) -> None:
        rows = context.features[context.train.item] if context.rows is None else context.rows
        decision = context.family.decision if context.family is not None else "thompson"
        pooled = SimpleNamespace(population=fit_logistic(context.train, rows, 1, seed), decision=decision)
        super().__init__(SimpleNamespace(policy_context=context.policy_context, train=context.train,
                                         features=context.features, rows=context.rows, family=pooled),
                         seed=seed)


def _example_log() -> EventData:
    """The examples' log: 30 users with 8 events each over 5 items, rewards 1 with probability 0.6."""
    rng = np.random.default_rng(0)
    user = np.repeat(np.arange(30), 8)
    return EventData.from_rows(user, np.arange(240), rng.integers(5, size=240).astype(str),
                               (rng.random(240) < 0.6).astype(float))
