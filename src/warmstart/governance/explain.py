"""What was inferred about one user, and why, in plain language (``warmstart explain``).

The user's belief is recomputed from their logged events under a population, one event at a time, so that the
explanation can say how the evidence moved: the per-event log-likelihood of every component (a type, or the
novel component) is the increment of its log evidence when the event is added, their sum is the closed-form log
evidence (``warmstart.families.linear.model``), and the posterior after ``t`` events is
``softmax(log w + log evidence after t events)``.

What a type *means* is read off its mean parameters ``mu_k``: the expected reward of an item with features
``x`` is ``x . mu_k``, so the features with the largest positive (negative) coefficients are what the type
favours (avoids), and the log's items ranked by ``x . mu_k`` show it in terms of actions. The novel
component's mean is the population's average user, against which a type's coefficients are compared.

>>> from warmstart.data.events import events_from_log
>>> from warmstart.families.linear.fit import FitConfig, fit_population
>>> from warmstart.sim.linear_types import LinearTypesPopulation
>>> truth = LinearTypesPopulation()
>>> pop = fit_population(truth.logged(300, 20, seed=0).summary(), FitConfig(n_types=3, split_merge=False))
>>> e = explain_user(pop, events_from_log(truth.logged(2, 40, seed=1)), "1")
>>> e.n_events, round(float(e.probs.sum()), 6)
(40, 1.0)
>>> "40 events" in format_explanation(e)
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from warmstart.data.events import EventData
from warmstart.families.linear.belief import Belief
from warmstart.families.linear.population import Population
from warmstart.governance.audit import ItemFeatureSource, check_dimension, item_features_for

CHECKPOINTS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)


@dataclass(frozen=True)
class EventEvidence:
    """One event and how much it favoured the top component over the runner-up (``log_ratio``, in nats: the
    log of how many times more likely the reward was under the top component).

    >>> import warmstart as ws
    >>> from warmstart.data.events import events_from_log
    >>> cfg = ws.sim.LinearTypesConfig(dim=3, n_types=3, minority_share=0.3, outlier_share=0.0)
    >>> log = ws.sim.LinearTypesPopulation(cfg).logged(90, 20, seed=0)          # 90 users of 3 types
    >>> population = ws.fit_population(log, ws.FitConfig(n_types=3, split_merge=False))
    >>> e = explain_user(population, events_from_log(log), user=0)
    >>> first = e.favouring[0]                             # the event that favoured type 0 the most
    >>> first.position, first.item, round(first.reward, 2), round(first.log_ratio, 2)
    (1, 'u00-t00-a08', -1.87, 2.15)
    """

    position: int  # 1-based, in time order
    item: str
    reward: float
    log_ratio: float


@dataclass(frozen=True)
class FeatureEffect:
    """A feature's coefficient under the top type, under the population's average user, and their difference.

    >>> import warmstart as ws
    >>> from warmstart.data.events import events_from_log
    >>> cfg = ws.sim.LinearTypesConfig(dim=3, n_types=3, minority_share=0.3, outlier_share=0.0)
    >>> log = ws.sim.LinearTypesPopulation(cfg).logged(90, 20, seed=0)          # 90 users of 3 types
    >>> population = ws.fit_population(log, ws.FitConfig(n_types=3, split_merge=False))
    >>> e = explain_user(population, events_from_log(log), user=0)
    >>> f = e.effects[0]                                   # the largest coefficient of type 0
    >>> f.name, round(f.coefficient, 2), round(f.average, 2), round(f.difference, 2)
    ('f_2', 2.89, 0.73, 2.16)
    """

    name: str
    coefficient: float
    average: float

    @property
    def difference(self) -> float:
        return self.coefficient - self.average


@dataclass(frozen=True)
class Explanation:
    """What was inferred about ``user`` from ``n_events`` events, and the evidence for it.

    >>> import warmstart as ws
    >>> from warmstart.data.events import events_from_log
    >>> cfg = ws.sim.LinearTypesConfig(dim=3, n_types=3, minority_share=0.3, outlier_share=0.0)
    >>> log = ws.sim.LinearTypesPopulation(cfg).logged(90, 20, seed=0)          # 90 users of 3 types
    >>> population = ws.fit_population(log, ws.FitConfig(n_types=3, split_merge=False))
    >>> e = explain_user(population, events_from_log(log), user=0)
    >>> e.user, e.n_events, e.type_names[e.top], e.type_names[e.runner_up], e.probs.round(3).tolist()
    ('0', 20, 'type 0', 'novel', [0.999, 0.0, 0.0, 0.001])
    >>> d = e.to_dict()                                     # what `warmstart explain --json` prints
    >>> d["top"], d["leading_since"], [round(t["probability"], 3) for t in d["trajectory"]]
    ('type 0', 0, [0.997, 0.998, 0.997, 0.999, 0.999])
    """

    user: str
    n_events: int
    type_names: list[str]
    probs: np.ndarray  # (K + 1,), novel last
    top: int
    runner_up: int
    novel_index: int
    log_evidence_ratio: float  # top vs runner-up, from the events
    log_prior_ratio: float  # top vs runner-up, from the mixture weights
    trajectory: list[tuple[int, float]]  # (events seen, probability of the top component then)
    leading_since: int | None  # events after which the top component has been the most probable ever since
    favouring: list[EventEvidence]
    opposing: list[EventEvidence]
    effects: list[FeatureEffect]  # the described type's features, largest |coefficient| first
    described: int  # the type whose meaning is described: the top one, or the likeliest type when novel leads
    top_items: list[tuple[str, float]]  # log items with the highest expected reward under the described type
    bottom_items: list[tuple[str, float]]
    feature_source: str

    def to_dict(self) -> dict[str, Any]:
        return {"user": self.user, "n_events": self.n_events,
                "types": [{"type": n, "probability": float(p)} for n, p in zip(self.type_names, self.probs)],
                "top": self.type_names[self.top], "runner_up": self.type_names[self.runner_up],
                "log_evidence_ratio": self.log_evidence_ratio, "log_prior_ratio": self.log_prior_ratio,
                "trajectory": [{"events": t, "probability": p} for t, p in self.trajectory],
                "leading_since": self.leading_since,
                "favouring_events": [e.__dict__ for e in self.favouring],
                "opposing_events": [e.__dict__ for e in self.opposing],
                "described_type": self.type_names[self.described],
                "features": [{"name": f.name, "coefficient": f.coefficient, "average": f.average}
                             for f in self.effects],
                "top_items": [{"item": i, "expected_reward": r} for i, r in self.top_items],
                "bottom_items": [{"item": i, "expected_reward": r} for i, r in self.bottom_items],
                "feature_source": self.feature_source, "text": format_explanation(self)}


def find_user(events: EventData, user: str | int) -> int:
    """Index of the user whose id reads ``user``; a ``ValueError`` naming it and a few known ids otherwise.

    >>> events = EventData.from_rows(["bo", "al", "bo"], [0, 0, 1], ["x", "y", "y"], [1.0, 0.0, 0.5])
    >>> find_user(events, "bo")
    1
    >>> find_user(events, "cy")
    Traceback (most recent call last):
    ...
    ValueError: user: expected a user id of the log (2 users, e.g. al, bo), got 'cy'
    """
    key = str(user)
    ids = events.user_ids.astype(str)
    hits = np.flatnonzero(ids == key)
    if hits.size == 0:
        few = ", ".join(ids[:5].tolist()) + (", ..." if ids.shape[0] > 5 else "")
        raise ValueError(f"user: expected a user id of the log ({events.n_users} users, e.g. {few}), got {key!r}")
    return int(hits[0])


def explain_user(population: Population, events: EventData, user: str | int, *,
                 features: np.ndarray | ItemFeatureSource | None = None, n_events_shown: int = 3,
                 n_items_shown: int = 3) -> Explanation:
    """Recompute ``user``'s belief from their events in ``events`` and explain it (see the module docstring).

    ``features`` are the item features, aligned with ``events.item_ids``: the log's own by default, or an
    ``ItemFeatureSource`` from ``item_features_for(events, items_path)``.

    >>> import warmstart as ws
    >>> from warmstart.data.events import events_from_log
    >>> cfg = ws.sim.LinearTypesConfig(dim=3, n_types=3, minority_share=0.3, outlier_share=0.0)
    >>> log = ws.sim.LinearTypesPopulation(cfg).logged(90, 20, seed=0)          # 90 users of 3 types
    >>> population = ws.fit_population(log, ws.FitConfig(n_types=3, split_merge=False))
    >>> e = explain_user(population, events_from_log(log), user=0)
    >>> e.type_names[e.top], round(e.log_evidence_ratio, 2), round(e.log_prior_ratio, 2)   # vs the runner-up
    ('type 0', 3.25, 3.62)
    >>> e.top_items[0][0], round(e.top_items[0][1], 2)      # the log's item type 0 would like most
    ('u58-t19-a16', 6.24)
    """
    src = features if isinstance(features, ItemFeatureSource) else (
        item_features_for(events) if features is None else
        ItemFeatureSource(np.asarray(features, dtype=float), "given",
                          [f"f_{j}" for j in range(np.shape(features)[1])]))
    check_dimension(population, src.features)
    u = find_user(events, user)
    rows = np.arange(events.starts[u], events.starts[u + 1])
    X = src.features[events.item[rows]]
    r = events.reward[rows]
    belief = Belief.fresh(population)
    T, K1 = rows.shape[0], population.n_components
    inc = np.zeros((T, K1))
    for t in range(T):
        before = belief.log_evidence.copy()
        belief.observe(X[t], float(r[t]))
        inc[t] = belief.log_evidence - before
    logw = population.log_weights
    cum = np.vstack([np.zeros(K1), np.cumsum(inc, axis=0)]) + logw  # (T + 1, K1): joint after t events
    post = np.exp(cum - cum.max(axis=1, keepdims=True))
    post /= post.sum(axis=1, keepdims=True)
    probs = post[-1]
    order = np.argsort(-probs, kind="stable")
    top, runner = int(order[0]), int(order[1])
    lead = np.argmax(post, axis=1) == top
    leading_since = None
    if lead[-1] and T > 0:
        not_lead = np.flatnonzero(~lead)
        leading_since = int(not_lead[-1] + 1) if not_lead.size else 0
    delta = inc[:, top] - inc[:, runner]
    by = np.argsort(-delta, kind="stable")
    ids = events.item_ids[events.item[rows]]

    def evidence(i: int) -> EventEvidence:
        return EventEvidence(int(i) + 1, str(ids[i]), float(r[i]), float(delta[i]))

    favouring = [evidence(i) for i in by[:n_events_shown] if delta[i] > 0]
    opposing = [evidence(i) for i in by[::-1][:n_events_shown] if delta[i] < 0]
    novel = population.novel_index
    described = top if top != novel else int(np.argmax(probs[:novel])) if novel > 0 else top
    mu = population.components.mu
    effects = sorted((FeatureEffect(name, float(mu[described, j]), float(mu[novel, j]))
                      for j, name in enumerate(src.names)), key=lambda f: -abs(f.coefficient))
    expected = src.features @ mu[described]
    used = np.unique(events.item)
    ranked = used[np.argsort(-expected[used], kind="stable")]
    n_show = min(n_items_shown, ranked.shape[0] // 2 if ranked.shape[0] > 1 else 1)
    top_items = [(str(events.item_ids[i]), float(expected[i])) for i in ranked[:n_show]]
    bottom_items = [(str(events.item_ids[i]), float(expected[i])) for i in ranked[::-1][:n_show]]
    checkpoints = [t for t in CHECKPOINTS if t < T] + ([T] if T else [])
    return Explanation(
        user=str(events.user_ids[u]), n_events=T, type_names=population.type_names(), probs=probs, top=top,
        runner_up=runner, novel_index=novel, log_evidence_ratio=float(inc[:, top].sum() - inc[:, runner].sum()),
        log_prior_ratio=float(logw[top] - logw[runner]),
        trajectory=[(t, float(post[t, top])) for t in checkpoints], leading_since=leading_since,
        favouring=favouring, opposing=opposing, effects=effects, described=described, top_items=top_items,
        bottom_items=bottom_items, feature_source=src.source)


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _pct(p: float) -> str:
    if p >= 0.995:
        return ">99%"
    if p < 0.005:
        return "<1%"
    return f"{p:.0%}"


def _times(log_ratio: float) -> str:
    if log_ratio > 50:
        return "astronomically"
    return f"about {np.exp(log_ratio):,.0f} times" if log_ratio >= np.log(10) else f"{np.exp(log_ratio):.1f} times"


def format_explanation(e: Explanation, max_types: int = 4) -> str:
    """The explanation as plain English, a few short paragraphs.

    >>> import warmstart as ws
    >>> from warmstart.data.events import events_from_log
    >>> cfg = ws.sim.LinearTypesConfig(dim=3, n_types=3, minority_share=0.3, outlier_share=0.0)
    >>> log = ws.sim.LinearTypesPopulation(cfg).logged(90, 20, seed=0)          # 90 users of 3 types
    >>> population = ws.fit_population(log, ws.FitConfig(n_types=3, split_merge=False))
    >>> e = explain_user(population, events_from_log(log), user=0)
    >>> print(format_explanation(e))
    What was inferred about user 0, and why
    <BLANKLINE>
    Based on 20 events (every logged reward of this user, in time order).
    Type probabilities: type 0 >99%, type 1 <1%, type 2 <1%; novel (fits no type) <1%.
    <BLANKLINE>
    Most likely: type 0 (>99%).
    What type 0 means: a user of this type favours items high in f_2 (+2.89), f_1 (+0.78), f_0 (+0.06) ...
    ...
    Confidence: very confident.
    ...
    """
    lines = [f"What was inferred about user {e.user}, and why", ""]
    if e.n_events == 0:
        lines.append("No events: nothing has been learned yet, so every type is as likely as it is in the "
                     "population and this user is served as the average user.")
        return "\n".join(lines)
    lines += [*_evidence_lines(e, max_types), "", *_type_lines(e), "", *_why_lines(e), ""]
    lines.append("This is not a fixed label: it is recomputed from all of this user's events every time, so later "
                 "events can change it. The user can reset it (start again from the population average) or ask "
                 "to be forgotten (their events and their influence on the next fit are deleted).")
    return "\n".join(lines)


def _evidence_lines(e: Explanation, max_types: int) -> list[str]:
    """What the explanation rests on, and the type probabilities (the ``max_types`` likeliest, and novel)."""
    names = e.type_names
    lines = []
    lines.append(f"Based on {e.n_events} event{'s' if e.n_events != 1 else ''} (every logged reward of this "
                 "user, in time order).")
    order = np.argsort(-e.probs, kind="stable")
    shown = [f"{names[k]} {_pct(e.probs[k])}" for k in order[:max_types] if k != e.novel_index]
    lines.append("Type probabilities: " + ", ".join(shown) + f"; novel (fits no type) {_pct(e.probs[e.novel_index])}.")
    return lines


def _type_lines(e: Explanation) -> list[str]:
    """The likeliest type (or novel) and what the type described means: the features it favours and avoids,
    how it differs from the average user, the items it would like most and least."""
    names = e.type_names
    lines = []
    if e.top == e.novel_index:
        lines.append(f"Most likely: this user fits none of the known types ({_pct(e.probs[e.top])} novel). They "
                     "are served from a broad prior centred on the average user and, increasingly, from their "
                     "own data, not forced into a type.")
    else:
        lines.append(f"Most likely: {names[e.top]} ({_pct(e.probs[e.top])}).")
    d = names[e.described]
    lead = f"What {d} means" if e.described == e.top else f"The closest known type, {d}, means"
    fav = [f for f in e.effects if f.coefficient > 0][:3]
    avoid = [f for f in e.effects if f.coefficient < 0][:3]
    parts = []
    if fav:
        parts.append("favours items high in " + ", ".join(f"{f.name} ({f.coefficient:+.2f})" for f in fav))
    if avoid:
        parts.append("avoids items high in " + ", ".join(f"{f.name} ({f.coefficient:+.2f})" for f in avoid))
    lines.append(f"{lead}: a user of this type " + (" and ".join(parts) or "has no strong preference") +
                 " (expected reward = item features x these coefficients).")
    diff = sorted(e.effects, key=lambda f: -abs(f.difference))[:2]
    if diff:
        lines.append("Compared with the average user it cares " + " and ".join(
            f"{'more' if f.difference > 0 else 'less'} about {f.name} ({f.difference:+.2f})" for f in diff) + ".")
    if e.top_items:
        lines.append("Among the items in the log, it would most like " + ", ".join(
            f"{i} ({v:+.2f})" for i, v in e.top_items) + " and least like " + ", ".join(
            f"{i} ({v:+.2f})" for i, v in e.bottom_items) + " (expected reward).")
    return lines


def _why_lines(e: Explanation) -> list[str]:
    """Why the likeliest type leads: the evidence against the runner-up and the prior, the confidence, how the
    probability moved, and the events that most favoured and opposed it."""
    names = e.type_names
    top, runner = names[e.top], names[e.runner_up]
    odds = e.log_evidence_ratio + e.log_prior_ratio
    if e.log_evidence_ratio >= 0:
        why = (f"the events are {_times(e.log_evidence_ratio)} as likely under {top} as under the runner-up, "
               f"{runner} ({_pct(e.probs[e.runner_up])}): log-likelihood ratio {e.log_evidence_ratio:+.2f}")
    else:
        why = (f"the events alone slightly favour the runner-up, {runner} ({_pct(e.probs[e.runner_up])}): "
               f"log-likelihood ratio {e.log_evidence_ratio:+.2f}, but {top} is more common in the population")
    lines = []
    lines.append(f"Why: {why}; the population's type shares add {e.log_prior_ratio:+.2f}, for posterior log-odds "
                 f"of {odds:+.2f}.")
    conf = ("very confident" if e.probs[e.top] >= 0.95 else "fairly confident" if e.probs[e.top] >= 0.7
            else "not confident: more events will tell")
    lines.append(f"Confidence: {conf}.")
    traj = ", ".join(f"{_pct(p)} after {t}" for t, p in e.trajectory)
    lines.append(f"How the evidence moved: the probability of {top} was {traj} events.")
    if e.leading_since is not None:
        lines.append(f"{_cap(top)} has been the most likely since event {e.leading_since}."
                     if e.leading_since > 0 else f"{_cap(top)} was the most likely from the start.")
    if e.favouring:
        lines.append(f"Events that most favoured {top} over {runner} (item, reward, log-likelihood ratio): " + "; ".join(
            f"#{v.position} item {v.item} reward {v.reward:.2f} ({v.log_ratio:+.2f})" for v in e.favouring) + ".")
    if e.opposing:
        lines.append("Events that pointed the other way: " + "; ".join(
            f"#{v.position} item {v.item} reward {v.reward:.2f} ({v.log_ratio:+.2f})" for v in e.opposing) + ".")
    return lines
