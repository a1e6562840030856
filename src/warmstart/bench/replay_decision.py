"""How ours acts in the replay, chosen on the training users' validation users: information-directed sampling
(``mixture_ids``, the default) or greedy on the mixture's posterior mean (``mixture_greedy``).

A logged replay offers each new user only the items they chose to rate, and rewards what they logged; the
items that would tell the types apart may not be among them, and the exploration that pays on a simulator
(where every action is on offer) can cost more here than it finds. Which rule serves better is therefore a
setting, chosen as the logistic agent's rule is (``replay_logistic.choose_decision``) and as ``popularity`` and
``als`` choose theirs: the population is fitted in ours' chosen space with ours' chosen K on the space choice's
fitting users, the validation users (the training users' latest, never the new users) are replayed as new
users are (their own items as candidates, 20 steps), and the rule with the larger mean reward over steps 1-10
is ours (a tie: ``mixture_ids``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from warmstart.data.events import EventData, split_by_first_event
from warmstart.families.linear.space import SpaceChoice, fit_in_space
from warmstart.policies.base import Decision, Policy, PolicyContext
from warmstart.policies.registry import make_policy

#: the rules ours may act by, the default first
LINEAR_DECISIONS = ("mixture_ids", "mixture_greedy")


class PolicyAgent:
    """A registered ``Policy`` as a replay agent (the replay's candidates' item ids are not passed on)."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy

    def reseed(self, seed: int) -> None:
        self.policy.reseed(int(np.random.SeedSequence([self.policy.seed, seed]).generate_state(1)[0]))

    def settings(self) -> dict[str, Any]:
        return {"policy": self.policy.name, **self.policy.settings()}

    def new_user(self) -> Any:
        return self.policy.new_user()

    def act(self, state: Any, X: np.ndarray, items: np.ndarray) -> Decision:
        return self.policy.act(state, X)

    def update(self, state: Any, X: np.ndarray, items: np.ndarray, action: int, reward: float) -> None:
        self.policy.update(state, X, action, reward)


def choose_linear_decision(train: EventData, choice: SpaceChoice, seed: int, steps: int = 20, window: int = 10
                           ) -> tuple[str, dict[str, float]]:
    """Ours' rule (one of ``LINEAR_DECISIONS``) and each rule's mean reward over steps ``1..window`` of the
    validation users of ``choice`` (made on ``train``), replayed for ``steps`` steps by ours fitted on the
    other training users (see the module docstring).

    >>> from warmstart.families.linear.space import SMALL_ITEMS, SpaceConfig, choose_space
    >>> from warmstart.families.linear.space_features import _two_tastes
    >>> events = _two_tastes(n_users=60, n_items=10, seed=0)
    >>> choice = choose_space(events, SpaceConfig(n_factors=(0,), n_types=(1, 2), item_features=SMALL_ITEMS))
    >>> rule, scores = choose_linear_decision(events, choice, seed=0, steps=5, window=5)
    >>> rule in LINEAR_DECISIONS, sorted(scores) == sorted(LINEAR_DECISIONS)
    (True, True)
    >>> rule == max(LINEAR_DECISIONS, key=lambda d: (round(scores[d], 12), d == "mixture_ids"))
    True
    """
    from warmstart.bench.replay import _new_users, _serve

    cfg = choice.config
    fit_idx, val_idx = split_by_first_event(train, 1.0 - cfg.validation_fraction)
    fit_part, val_part = train.subset(fit_idx), train.subset(val_idx)
    if choice.ours_fit is not None and cfg.population.seed == seed:  # the choice fitted it already
        population, features = choice.ours_fit[0], choice.ours_fit[1].features
    else:
        population, learned = fit_in_space(fit_part, choice.ours, choice.n_types, cfg, seed)
        features = learned.features
    users = _new_users(val_part, steps, seed)
    scores: dict[str, float] = {}
    for rule in LINEAR_DECISIONS:
        agent = PolicyAgent(make_policy(rule, PolicyContext(population=population), seed=seed))
        rewards = _serve(agent, users, features, None, steps)
        scores[rule] = float(np.nanmean(rewards[:, :window], axis=1).mean())
    best = max(LINEAR_DECISIONS, key=lambda d: (round(scores[d], 12), d == "mixture_ids"))
    return best, scores


def linear_pooled_policy(choose: bool, family: Any, policies: Sequence[str]) -> tuple[str, ...]:
    """The replay's ``linear_pooled`` (ours' family with one type, in the one-prior peers' chosen space, acting
    by ours' chosen rule: "types add" minus it is the types' share alone) when it applies: ours is the linear
    family (``family`` None or its ``chosen`` linear) with its space and rule chosen (``choose``), and
    ``pooled_ts`` is replayed too.

    >>> linear_pooled_policy(True, None, ["mixture_ids", "pooled_ts"]), linear_pooled_policy(False, None, [])
    (('linear_pooled',), ())
    """
    linear = family is None or family.chosen != "logistic_bernoulli"
    wanted = choose and linear and "mixture_ids" in policies and "pooled_ts" in policies
    return ("linear_pooled",) if wanted and "linear_pooled" not in policies else ()


DECISION_CRITERION = ("validation users (the training users' latest) replayed as new users on their own items: "
                      "the mean reward over steps 1-10 (a tie: the first rule)")


def decision_record(policy: str, scores: dict[str, float]) -> dict[str, Any]:
    """What a population's metadata keeps of the choice (``served_policy`` reads ``policy``): the registered
    policy to serve with, the criterion, and each policy's validation score.

    >>> decision_record("mixture_greedy", {"mixture_ids": 4.07, "mixture_greedy": 4.09})["policy"]
    'mixture_greedy'
    """
    return {"policy": policy, "criterion": DECISION_CRITERION, "scores": dict(scores)}
