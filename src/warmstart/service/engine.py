"""What a request computes with: a population version and the policy acting on it (``Engine``), a reward folded
into the user's stored belief (``record_reward``) and a user's profile in plain words (``user_profile``). The
routes and the dashboard share these; none of them knows about HTTP routing."""

from __future__ import annotations

from typing import Any

import numpy as np
from sqlalchemy import Connection

from warmstart._validate import NonFiniteUpdateError, all_finite
from warmstart.families.registry import population_from_bytes
from warmstart.policies.base import PolicyContext, StateSummary
from warmstart.policies.floor import DEFAULT_EPSILON
from warmstart.policies.registry import make_policy, resolve_policy
from warmstart.service.cache import BeliefCache, State
from warmstart.service.errors import ApiError
from warmstart.store.store import EventRecord, StaleBeliefError, Store

BELIEF_CACHE = 50_000  # decoded beliefs kept per worker (about 1 KB each with a few types)
_CAS_RETRIES = 8


class Engine:
    """A population version (the active one by default), the policy acting on it, and the store."""

    def __init__(self, store: Store, *, policy: str = "auto", seed: int = 0, mode: str = "active",
                 cache_size: int = BELIEF_CACHE, explore: float = DEFAULT_EPSILON) -> None:
        self.store = store
        version = store.active_version(mode)
        if version is None:
            raise ApiError(503, "no_population", f"no {mode} population: fit one and activate it")
        data, _ = store.population(version)
        self.version = version
        self.population = population_from_bytes(data, source=f"population version {version}")
        # the service uses the policy contract only: act, update, and a user's state to and from bytes
        context = PolicyContext(population=self.population)
        policy = resolve_policy(policy, self.population)  # "auto": the rule this version's fit chose
        self.policy_name = policy
        # with an exploration floor every candidate keeps a logged probability >= explore / n_candidates, so the
        # log supports evaluating another population version offline (warmstart.policies.floor)
        self.policy = made = (make_policy("floored", context, seed=seed, inner=policy, epsilon=explore) if explore > 0
                              else make_policy(policy, context, seed=seed))
        try:
            made.summarise_state(made.state_from_bytes(made.state_to_bytes(made.new_user())))
        except NotImplementedError as exc:
            raise ValueError(f"policy: expected one whose users' state can be stored and summarised (mixture_ids, "
                             f"mixture_ids_cp, mixture_ts, type_ts, ...), got {policy!r} ({exc})") from exc
        self.cache = BeliefCache(cache_size, copy=self.policy.copy_state)

    def learn(self, state: State, record: EventRecord, reward: float) -> None:
        """Fold an event's reward into a user's state through the policy's ``update``: the candidates the
        decision was made among (the chosen one alone for events logged before candidates were kept)."""
        if record.candidates is not None:
            self.policy.update(state, record.candidates, record.action, reward)
        else:
            self.policy.update(state, record.features[None], 0, reward)

    def summary(self, state: State) -> StateSummary:
        return self.policy.summarise_state(state)

    def belief_from_log(self, user_id: str) -> State:
        """The user's belief under this population, recomputed from their rewarded personalised events in order (a
        shadow population keeps no stored beliefs; a stored belief of another version is replaced by this); an
        event the belief cannot absorb is passed over."""
        state = self.policy.new_user()
        for e in self.store.user_events(user_id):
            if e.reward is not None and e.personalised:
                try:
                    self.learn(state, e, float(e.reward))
                except ValueError:  # an event this belief refuses (stored before the bounds were checked)
                    continue
        return state

    def belief(self, user_id: str, conn: Connection | None = None) -> tuple[State, int | None]:
        stored = self.store.get_belief(user_id, conn)
        return self.decode(user_id, stored), (None if stored is None else stored[1])

    def decode(self, user_id: str, stored: tuple[bytes, int, int] | None) -> State:
        """The belief in a stored row (a fresh one if none; replayed from the user's logged events if it was made
        under another population version), from the cache when the row is the one the cached belief came from."""
        if stored is None:
            return self.policy.new_user()
        if stored[2] != self.version:  # made under another version: the user's logged events, replayed under this one
            return self.belief_from_log(user_id)
        cached = self.cache.get(user_id, stored)
        if cached is not None:
            return cached
        try:
            belief = self.policy.state_from_bytes(stored[0])
        except ValueError as exc:  # a row written before beliefs were guarded (a NaN), or damaged
            raise ApiError(409, "belief_unreadable", f"user {user_id!r}: the stored belief cannot be read ({exc}); "
                                                     f"POST /v1/users/{user_id}/reset starts the user afresh") from exc
        self.cache.put(user_id, stored, belief)  # a committed row: safe to remember
        return belief


def record_reward(eng: Engine, event_id: str, reward: float, *, default: bool = False) -> bool:
    """Record a reward and fold it into the user's stored belief in one transaction (compare-and-set on the
    belief; on a concurrent update both are rolled back and tried again on the fresh belief). A reward the
    belief cannot absorb (its update would not be finite, or the family refuses the event: a dynamics family's
    event earlier than the user's latest) is refused, ``ApiError`` 422 ``unusable_event``: the
    transaction is rolled back, so neither the reward nor a non-finite belief is stored."""

    written: list[tuple[str, tuple[bytes, int, int], State]] = []

    def learn(record: EventRecord, conn: Connection) -> None:
        written.clear()  # a group commit may run this twice (batched, then alone): keep the last run's
        if not record.personalised:
            return
        latest = eng.cache.latest(record.user_id, eng.version) if trust_cache else None
        if latest is None:
            belief, version = eng.belief(record.user_id, conn)
            expected_state = None  # read in this transaction: the version is enough
        else:  # no read: the write names the cached row's version and bytes, and fails if either moved on
            (expected_state, version, _), belief = latest
        eng.learn(belief, record, reward)  # NonFiniteUpdateError (the belief unchanged) rolls the reward back
        held = eng.summary(belief)
        if not all_finite(held.n_events, *(() if held.type_probs is None else (held.type_probs,))):
            # the store's guard, for any policy: a belief that is not finite is never written
            raise NonFiniteUpdateError(f"reward: the updated belief of user {record.user_id!r} is not finite")
        state = eng.policy.state_to_bytes(belief)
        new_version = eng.store.put_belief(record.user_id, state, population_version=eng.version,
                                           n_events=round(held.n_events), expected_version=version,
                                           expected_state=expected_state, conn=conn)
        written.append((record.user_id, (state, new_version, eng.version), belief))

    trust_cache = True
    for _ in range(_CAS_RETRIES):
        written.clear()
        try:
            new = eng.store.set_reward(event_id, reward, default=default, learn=learn)
        except StaleBeliefError:
            trust_cache = False  # read the row on the next try
            continue
        except ValueError as exc:  # NonFiniteUpdateError, or an event the family cannot take (a dynamics
            # family's event earlier than the user's latest): rolled back, no reward recorded, the belief as it was
            raise ApiError(422, "unusable_event", f"event {event_id!r}: {exc}") from exc
        for user_id, stored, belief in written:  # committed: now the cache may know it
            eng.cache.put(user_id, stored, belief)
        return new
    raise ApiError(503, "busy", f"event {event_id!r}: too many concurrent updates of the user's belief, retry")


def user_profile(eng: Engine, user_id: str) -> dict[str, Any]:
    """What is held and inferred about a user under ``eng``'s population, in plain words: the answer of ``GET
    /v1/users/{id}/profile`` and what the dashboard shows."""
    store = eng.store
    consent = store.consent(user_id)
    stored = store.get_belief(user_id)
    held = eng.summary(eng.belief(user_id)[0])
    names = eng.population.type_names()
    probs = held.type_probs if held.type_probs is not None else np.zeros(0)
    order = np.argsort(-probs)
    return {
        "user_id": user_id, "opted_out": consent["opted_out"], "erased": consent["erased_at"] is not None,
        "events_held": len(store.user_events(user_id)), "events_learned_from": round(held.n_events),
        "belief_stored": stored is not None,
        "types": [{"type": names[k], "probability": float(probs[k])} for k in order],
        "summary": _summary(names, probs, round(held.n_events)),
    }


def _summary(names: list[str], probs: np.ndarray, n: int) -> str:
    if names == ["novel"]:  # the bootstrap population of a service with no fitted types yet
        return (f"No types of users are fitted yet: this user is served as themselves from a broad prior "
                f"({n} events learned from).")
    k = int(np.argmax(probs))
    if n == 0:
        return "Nothing learned yet: every type is still possible."
    if names[k] == "novel":
        return f"After {n} events this user fits none of the known types well; they are served as themselves."
    return f"After {n} events this user most resembles {names[k]} ({probs[k]:.0%} probable)."
