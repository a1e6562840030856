"""What a user can see and control: ``GET /v1/users/{user_id}/profile``, ``DELETE /v1/users/{user_id}``
(forget), ``POST /v1/users/{user_id}/reset`` and ``PUT /v1/users/{user_id}/consent``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from warmstart.service.deps import AppState, client
from warmstart.service.engine import user_profile
from warmstart.service.errors import ApiError
from warmstart.service.models import ConsentRequest, UserId

router = APIRouter()


@router.get("/v1/users/{user_id}/profile")
def profile(state: AppState, user_id: str = UserId, _: str = Depends(client)) -> dict[str, Any]:
    return user_profile(state.engine(), user_id)


@router.delete("/v1/users/{user_id}", responses={404: {"description": "A user of whom nothing is stored."}})
def forget(state: AppState, user_id: str = UserId, _: str = Depends(client)) -> dict[str, Any]:
    if not state.store.knows_user(user_id):  # nothing to forget, and no erasure record for a user never seen
        raise ApiError(404, "not_found", f"user_id: expected a user the service has seen (events, a belief or a "
                                         f"consent record), got {user_id!r}, of whom nothing is stored")
    deleted = state.store.forget_user(user_id)
    state.uncache(user_id)
    return {"user_id": user_id, "events_deleted": deleted, "status": "forgotten"}


@router.post("/v1/users/{user_id}/reset")
def reset(state: AppState, user_id: str = UserId, _: str = Depends(client)) -> dict[str, Any]:
    state.store.reset_user(user_id)
    state.uncache(user_id)
    return {"user_id": user_id, "status": "reset"}


@router.put("/v1/users/{user_id}/consent")
def consent(state: AppState, body: ConsentRequest, user_id: str = UserId,
            _: str = Depends(client)) -> dict[str, Any]:
    state.store.set_consent(user_id, opted_out=body.opted_out)
    state.uncache(user_id)
    return {"user_id": user_id, "opted_out": body.opted_out}
