"""The HTTP API (FastAPI): rank candidates for a user, take rewards, and let users see, reset and erase what was
inferred about them. ``create_app(store)`` builds it on a ``Store``; ``warmstart serve`` will run it under
uvicorn.

Contract (v1):

- ``POST /v1/rank`` ``{"user_id", "actions": [{"id"?, "features": [...]}, ...]}`` -> ``{"event_id", "action",
  "action_id", "probabilities", "personalised"}``. A new user starts from the active population; an opted-out
  user gets the population-level (non-personalised) decision and nothing about them is stored but the event.
- ``POST /v1/events/{event_id}/reward`` ``{"reward"}``: idempotent (the same reward twice is one update);
  a different second reward is a 409.
- ``GET /v1/users/{user_id}/profile``, ``DELETE /v1/users/{user_id}``, ``POST /v1/users/{user_id}/reset``,
  ``PUT /v1/users/{user_id}/consent`` ``{"opted_out"}``.
- Admin scope: ``POST /v1/admin/fit`` (a new population version from the rewarded events, not activated),
  ``POST /v1/admin/populations/{version}/evaluate`` (``{"baseline"?, "n_boot"?, "seed"?}``: off-policy
  estimates of the version and of the active one on the logged events, from the logged propensities),
  ``POST /v1/admin/populations/{version}/activate`` (``{"mode": "active" | "shadow"}``; a shadow population's
  choice for every personalised decision is logged, not served), ``POST
  /v1/admin/rollback``, ``GET /v1/admin/populations``.
- ``GET /docs`` (Swagger UI served from the installed package, nothing from the internet), ``GET
  /openapi.json``, ``GET /health``, ``GET /metrics`` (Prometheus: requests and latencies by route, decisions by the user's most
  probable type, rewards reported and defaulted, errors by code).

Every request but ``/health`` and ``/metrics`` needs an API key (``Authorization: Bearer ws_...``): none or an
unknown key is 401; a client key on an admin route is 403. Errors are ``{"error": {"code", "message"}}``; malformed
input is a 4xx, never a 5xx.

Numerical safety: a reward or a feature that is not finite or beyond the magnitude bounds (``create_app(bounds=
Bounds(...))``, ``serve --max-reward / --max-feature``, ``WARMSTART_MAX_REWARD`` / ``WARMSTART_MAX_FEATURE``;
``1e6`` each by default) is a 422 ``out_of_bounds`` naming the field (``actions[2].features[3]``), the bound and
the request. A reward whose update would make the user's belief non-finite is a 422 ``unusable_event``, with
nothing stored (no reward, the belief as it was); a stored belief that cannot be read (written before beliefs
were guarded) is a 409 ``belief_unreadable`` until the user is reset. ``/v1/admin/fit`` leaves out and counts the
stored rows it cannot use (``skipped_rows``, ``skipped_users``) and answers 409 ``fit_failed`` if the rest
cannot be fitted. Anything unexpected is a 500 ``internal`` with the same body (the traceback in the server's
log under the id the message gives), and the connection stays open.

Layout: ``create_app`` (here) builds one ``ServiceState`` (``state``: the store, settings, population versions
and their engines, key cache, metrics) at ``app.state.service``, the error handlers (``errors``), the metrics
middleware (``metrics``) and includes the routers: ``routes_rank``, ``routes_users``, ``routes_admin``,
``routes_ops`` and the dashboard (``dashboard``). The routes take the state and check API keys through the
dependencies in ``deps``; the request bodies are in ``models``; ``Engine``, ``record_reward`` and
``user_profile`` in ``engine``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from warmstart._validate import MAX_BOUND, Bounds
from warmstart.policies.floor import DEFAULT_EPSILON
from warmstart.service import routes_admin, routes_ops, routes_rank, routes_users
from warmstart.service.bootstrap import DEFAULT_BOOTSTRAP, BootstrapPrior
from warmstart.service.dashboard import mount_dashboard
from warmstart.service.engine import Engine, user_profile
from warmstart.service.errors import ApiError, CatchAll, add_error_handlers
from warmstart.service.metrics import MAX_BODY_BYTES, Measure
from warmstart.service.models import MAX_ACTIONS
from warmstart.service.state import ServiceState
from warmstart.store.store import Store

# what other modules have imported from here: the API's limits, its error and its engine
__all__ = ["MAX_ACTIONS", "MAX_BODY_BYTES", "ApiError", "Engine", "app_from_env", "create_app", "user_profile"]


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """While the app runs: the loop giving overdue decisions the default reward (with a reward window)."""
    state: ServiceState = app.state.service
    worker = state.start_default_rewards()
    yield
    state.stop_default_rewards(worker)


def create_app(store: Store, *, policy: str = "auto", seed: int = 0, reward_window_s: float | None = None,
               default_reward: float = 0.0, explore: float = DEFAULT_EPSILON,
               bootstrap: BootstrapPrior | None = DEFAULT_BOOTSTRAP, bounds: Bounds | None = None) -> FastAPI:
    """The API on ``store``. With ``reward_window_s``, a decision whose reward has not arrived within the window
    gets ``default_reward`` (applied by a background loop, and by ``app.state.apply_default_rewards(now)``).
    ``explore`` is the exploration floor (``ServiceState``; default 0.01, 0 turns it off); ``bootstrap`` the
    broad prior served while no population is active (``warmstart.service.bootstrap``; None: 503 until one is).
    ``bounds`` (``warmstart._validate.Bounds``, default ``|reward|, |feature| <= 1e6``) are the magnitudes a
    request's rewards and features may have (a 422 ``out_of_bounds`` beyond them)."""
    state = ServiceState(store, policy=policy, seed=seed, reward_window_s=reward_window_s,
                         default_reward=default_reward, explore=explore, bootstrap=bootstrap, bounds=bounds)
    app = FastAPI(title="warmstart", version="1", docs_url=None, redoc_url=None, lifespan=_lifespan)
    app.state.service = state
    app.state.apply_default_rewards = state.apply_default_rewards
    app.add_middleware(CatchAll, errors=state.metrics.errors)  # inside Measure: an unexpected 500 is counted
    app.add_middleware(Measure, metrics=state.metrics)
    add_error_handlers(app, state.metrics.errors)
    routes_ops.mount_docs_assets(app)
    app.include_router(routes_ops.router)
    mount_dashboard(app)
    for routes in (routes_rank, routes_users, routes_admin):
        app.include_router(routes.router)
    return app


def app_from_env() -> FastAPI:
    """The app of one worker process of ``warmstart serve --workers N`` (a uvicorn factory): its own store and
    settings from the environment ``serve`` sets: ``WARMSTART_DB`` (required), ``WARMSTART_POLICY``,
    ``WARMSTART_SEED``, ``WARMSTART_REWARD_WINDOW`` (seconds, empty for none), ``WARMSTART_DEFAULT_REWARD``,
    ``WARMSTART_EXPLORE``, ``WARMSTART_BOOTSTRAP_PRIOR_VAR``, ``WARMSTART_BOOTSTRAP_NOISE_VAR``."""
    import os

    env = os.environ
    db = env.get("WARMSTART_DB", "")
    if not db:
        raise ValueError("WARMSTART_DB: expected a SQLite file or database URL, got nothing")

    def number(name: str, kind: type, default: str) -> Any:
        text = env.get(name, "") or default
        try:
            return kind(text)
        except ValueError:
            raise ValueError(f"{name}: expected {kind.__name__}, got {text!r}") from None

    window = env.get("WARMSTART_REWARD_WINDOW", "")
    return create_app(Store.open(db), policy=env.get("WARMSTART_POLICY", "") or "auto",
                      seed=number("WARMSTART_SEED", int, "0"),
                      reward_window_s=number("WARMSTART_REWARD_WINDOW", float, "0") if window else None,
                      default_reward=number("WARMSTART_DEFAULT_REWARD", float, "0"),
                      explore=number("WARMSTART_EXPLORE", float, repr(DEFAULT_EPSILON)),
                      bootstrap=BootstrapPrior(prior_var=number("WARMSTART_BOOTSTRAP_PRIOR_VAR", float, "1"),
                                               noise_var=number("WARMSTART_BOOTSTRAP_NOISE_VAR", float, "1")),
                      bounds=bounds_from_env(env))


def bounds_from_env(env: Mapping[str, str]) -> Bounds:
    """The magnitude bounds set by ``WARMSTART_MAX_REWARD`` and ``WARMSTART_MAX_FEATURE`` (each ``1e6`` when
    unset or empty); a ``ValueError`` naming the variable for a value that is not a number in ``(0, 1e12]``."""
    values = {}
    for field, name in (("max_reward", "WARMSTART_MAX_REWARD"), ("max_feature", "WARMSTART_MAX_FEATURE")):
        text = env.get(name, "")
        if not text:
            continue
        try:
            values[field] = float(text)
            Bounds(**{field: values[field]})
        except ValueError as exc:
            raise ValueError(f"{name}: expected a positive number at most {MAX_BOUND:g}, got {text!r}") from exc
    return Bounds(**values)
