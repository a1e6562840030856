"""The admin scope: population versions. ``GET /v1/admin/populations``, ``POST /v1/admin/fit``, ``POST
/v1/admin/populations/{version}/activate``, ``POST /v1/admin/populations/{version}/evaluate`` and ``POST
/v1/admin/rollback``."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Depends

from warmstart.service.deps import AppState, admin
from warmstart.service.errors import ApiError, log
from warmstart.service.models import ActivateRequest, EvaluateRequest, FitRequest, VersionId
from warmstart.service.refit import (
    FitFailedError,
    IncrementalRefusedError,
    NotEnoughDataError,
    fit_version,
    fit_version_incremental,
)
from warmstart.store.store import NotFoundError

router = APIRouter()


@router.get("/v1/admin/populations")
def populations(state: AppState, _: str = Depends(admin)) -> dict[str, Any]:
    store = state.store
    return {"active": store.active_version(), "shadow": store.active_version("shadow"),
            "history": store.activation_history()}


@router.post("/v1/admin/fit")
def fit(state: AppState, body: FitRequest, _: str = Depends(admin)) -> dict[str, Any]:
    """Fit a new population version on the rewarded events (erased users left out); it is stored, not
    activated. Rows with a reward or a feature that is not finite or beyond the bounds are left out and counted
    (``skipped_rows``, ``skipped_users``), never fatal."""
    store = state.store
    t0 = time.perf_counter()
    try:
        if body.incremental:
            base = store.active_version()
            if base is None:
                raise ApiError(409, "no_population", "incremental: no active population to start from")
            made = fit_version_incremental(store, base, min_users=body.min_users, bounds=state.bounds)
        else:
            made = fit_version(store, k_max=body.k_max, seed=body.seed, min_users=body.min_users,
                               bounds=state.bounds)
    except NotEnoughDataError as exc:
        raise ApiError(409, "not_enough_data", str(exc)) from exc
    except FitFailedError as exc:
        raise ApiError(409, "fit_failed", str(exc)) from exc
    except IncrementalRefusedError as exc:
        raise ApiError(409, "full_fit_needed", str(exc)) from exc
    pop = made.population
    version = store.add_population(pop.to_bytes(), fingerprint=pop.fingerprint(), meta=made.meta)
    extra = ({"base_version": made.meta["base_version"], "n_new_users": made.meta["n_new_users"]}
             if body.incremental else {})
    if made.skipped.rows:
        log.warning("admin fit: version %s left out %d unusable rows (%d users)", version, made.skipped.rows,
                    made.skipped.users)
    return {"version": version, "n_types": pop.n_types, "n_users": made.n_users, "n_events": made.n_events,
            **made.skipped.to_dict(), "incremental": body.incremental, **extra, "fit_s": time.perf_counter() - t0}


@router.post("/v1/admin/populations/{version}/activate")
def activate(state: AppState, body: ActivateRequest, version: int = VersionId,
             _: str = Depends(admin)) -> dict[str, Any]:
    try:
        state.store.activate(version, mode=body.mode, note=body.note)
        state.versions_changed()
    except NotFoundError as exc:
        raise ApiError(404, "not_found", str(exc)) from exc
    return {"version": version, "mode": body.mode}


@router.post("/v1/admin/populations/{version}/evaluate")
def evaluate(state: AppState, body: EvaluateRequest, version: int = VersionId,
             _: str = Depends(admin)) -> dict[str, Any]:
    """Off-policy estimates (IPS, SNIPS, DM, DR with bootstrap CIs) of ``version`` and of the baseline
    (the active version unless given) on the logged events, from the logged propensities; see
    ``warmstart.service.evaluate``."""
    from warmstart.service.evaluate import NoLogError, evaluate_versions

    try:
        return evaluate_versions(state.store, version, body.baseline, policy=state.policy, seed=body.seed,
                                 n_boot=body.n_boot, max_events=body.max_events, bounds=state.bounds)
    except NotFoundError as exc:
        raise ApiError(404, "not_found", str(exc)) from exc
    except NoLogError as exc:
        raise ApiError(409, "not_enough_data", str(exc)) from exc
    except ValueError as exc:  # a log the version cannot replay (candidates of another dimension, ...)
        raise ApiError(409, "evaluate_failed", f"evaluate: {exc}") from exc


@router.post("/v1/admin/rollback")
def rollback(state: AppState, _: str = Depends(admin)) -> dict[str, Any]:
    try:
        rolled = state.store.rollback()
        state.versions_changed()
        return {"version": rolled, "mode": "active"}
    except NotFoundError as exc:
        raise ApiError(409, "nothing_to_roll_back", str(exc)) from exc
