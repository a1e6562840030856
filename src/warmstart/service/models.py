"""The API's request bodies (pydantic) and path parameters, with the limits they enforce."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field

MAX_ACTIONS = 1000
MAX_DIM = 1000

UserId = PathParam(min_length=1, max_length=128)
EventId = PathParam(min_length=1, max_length=64)
VersionId = PathParam(ge=1, le=2**31 - 1)


class Action(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str | None = Field(default=None, max_length=128)
    features: list[Annotated[float, Field(allow_inf_nan=False)]] = Field(min_length=1, max_length=MAX_DIM)


class RankRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user_id: str = Field(min_length=1, max_length=128)
    actions: list[Action] = Field(min_length=1, max_length=MAX_ACTIONS)
    context: dict[str, Any] | None = None


class RewardRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reward: float = Field(allow_inf_nan=False)


class ConsentRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    opted_out: bool


class FitRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    k_max: int = Field(default=12, ge=1, le=50)
    seed: int = Field(default=0, ge=0, le=2**32 - 1)
    min_users: int = Field(default=20, ge=1, le=10**9)
    incremental: bool = False  # extend the active version with new users only (warmstart.service.refit)


class EvaluateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    baseline: int | None = Field(default=None, ge=1, le=2**31 - 1)
    n_boot: int = Field(default=1000, ge=10, le=100_000)
    seed: int = Field(default=0, ge=0, le=2**32 - 1)
    max_events: int = Field(default=200_000, ge=1, le=10_000_000)


class ActivateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mode: Literal["active", "shadow"] = "active"
    note: str = Field(default="", max_length=500)
