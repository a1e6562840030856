"""``POST /v1/rank`` (a decision among candidate actions for a user) and ``POST /v1/events/{event_id}/reward``
(its reward, folded into the user's belief)."""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np
from fastapi import APIRouter, Depends

from warmstart._validate import Bounds
from warmstart.service.deps import AppState, client
from warmstart.service.engine import record_reward
from warmstart.service.errors import ApiError
from warmstart.service.models import EventId, RankRequest, RewardRequest
from warmstart.store.store import ConflictError, EventRecord, NotFoundError

router = APIRouter()


# response_model=None: FastAPI would otherwise validate a sync endpoint's answer on a worker thread (one more
# thread hop per request); the contract is in warmstart.service.app's docstring and in the client
@router.post("/v1/rank", response_model=None)
def rank(state: AppState, body: RankRequest, _: str = Depends(client)) -> dict[str, Any]:
    lengths = sorted({len(a.features) for a in body.actions})
    if len(lengths) != 1:
        raise ApiError(422, "invalid_request", f"actions.features: expected the same number of features for every "
                                               f"action, got {lengths}")
    eng = state.engine(dim=lengths[0])
    if lengths != [eng.population.dim]:
        raise ApiError(422, "invalid_request", f"actions.features: expected {eng.population.dim} numbers per "
                                               f"action, got {lengths}")
    X = np.array([a.features for a in body.actions], dtype=float)
    check_features(state.bounds, X, body.user_id)
    store = state.store
    opted_out, stored = store.user_state(body.user_id)
    personalised = not opted_out
    belief = eng.decode(body.user_id, stored) if personalised else eng.policy.new_user()
    try:
        decision = eng.policy.act(belief, X)
    except ValueError as exc:  # candidates the family cannot read (a dynamics family's time before the latest)
        raise ApiError(422, "invalid_request", str(exc)) from exc
    names = eng.population.type_names()
    state.metrics.decisions.labels(
        _most_probable(names, eng.summary(belief).type_probs) if personalised else "unpersonalised").inc()
    if decision.probabilities is None:  # every policy the service offers reports them; guard the contract
        raise ApiError(500, "policy_contract", f"policy {state.policy!r} did not report action probabilities")
    probs = [float(p) for p in np.asarray(decision.probabilities, dtype=float)]
    event_id = uuid.uuid4().hex
    store.append_event(EventRecord(event_id, body.user_id, int(decision.action), tuple(probs),
                                   X[decision.action], personalised, population_version=eng.version,
                                   candidates=X))
    if personalised:
        state.shadow(event_id, body.user_id, X, eng.version)
    return {"event_id": event_id, "action": int(decision.action), "action_id": body.actions[decision.action].id,
            "probabilities": probs, "personalised": personalised}


@router.post("/v1/events/{event_id}/reward", response_model=None)
def reward(state: AppState, body: RewardRequest, event_id: str = EventId,
           _: str = Depends(client)) -> dict[str, Any]:
    eng = state.engine()
    try:
        state.bounds.check_rewards(body.reward, name="reward", setting="max_reward, WARMSTART_MAX_REWARD")
    except ValueError as exc:
        raise ApiError(422, "out_of_bounds", f"{exc} (POST /v1/events/{event_id}/reward)") from exc
    try:
        eng.policy.check_reward(body.reward)  # before the transaction: a reward the policy cannot learn is a 422
    except ValueError as exc:
        raise ApiError(422, "invalid_request", str(exc)) from exc
    try:
        new = record_reward(eng, event_id, body.reward)
    except NotFoundError as exc:
        raise ApiError(404, "not_found", str(exc)) from exc
    except ConflictError as exc:
        raise ApiError(409, "conflict", str(exc)) from exc
    if new:
        state.metrics.rewards.labels("reported").inc()
    return {"event_id": event_id, "status": "recorded" if new else "duplicate"}


def _most_probable(names: list[str], probs: np.ndarray | None) -> str:
    return names[int(np.argmax(probs))] if probs is not None and probs.size else "unknown"


def check_features(bounds: Bounds, X: np.ndarray, user_id: str) -> None:
    """Every candidate's features within the magnitude bound; a 422 ``out_of_bounds`` naming the first one
    beyond it (``actions[i].features[j]``), the bound and the request otherwise."""
    with np.errstate(invalid="ignore"):
        bad = ~(np.abs(X) <= bounds.max_feature)
    if bad.any():
        i, j = (int(v) for v in np.argwhere(bad)[0])
        raise ApiError(422, "out_of_bounds", f"actions[{i}].features[{j}]: expected a finite number with |value| <= "
                                             f"{bounds.max_feature:g} (max_feature, WARMSTART_MAX_FEATURE), got "
                                             f"{X[i, j]:g} (POST /v1/rank for user {user_id!r})")
