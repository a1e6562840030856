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
"""

from __future__ import annotations

import math
import os
import threading
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal

import numpy as np
from fastapi import Depends, FastAPI, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection
from starlette.exceptions import HTTPException as StarletteHTTPException

from warmstart.policies.base import PolicyContext, make_policy
from warmstart.policies.mixture import BeliefPolicy
from warmstart.population.population import Population
from warmstart.service.cache import BeliefCache, KeyCache, State
from warmstart.service.refit import (
    IncrementalRefusedError,
    NotEnoughDataError,
    fit_version,
    fit_version_incremental,
)
from warmstart.store.store import ConflictError, EventRecord, NotFoundError, StaleBeliefError, Store

MAX_ACTIONS = 1000
VERSION_TTL = 1.0  # seconds a worker may keep serving a version after another worker activated a new one
MAX_BODY_BYTES = 4 * 1024 * 1024
MAX_DIM = 1000
_CAS_RETRIES = 8
KEY_TTL = 5.0  # seconds a worker may keep accepting a key after it was revoked
BELIEF_CACHE = 50_000  # decoded beliefs kept per worker (about 1 KB each with a few types)


UserId = PathParam(min_length=1, max_length=128)
EventId = PathParam(min_length=1, max_length=64)


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


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


class Metrics:
    """Prometheus metrics of one app (its own registry, so that several apps in one process do not clash)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("warmstart_requests_total", "HTTP requests", ["method", "path", "status"],
                                registry=self.registry)
        self.latency = Histogram("warmstart_request_seconds", "HTTP request latency", ["path"],
                                 registry=self.registry)
        self.decisions = Counter("warmstart_decisions_total", "Decisions, by the user's most probable type",
                                 ["type"], registry=self.registry)
        self.rewards = Counter("warmstart_rewards_total", "Rewards recorded, reported or default", ["kind"],
                               registry=self.registry)
        self.errors = Counter("warmstart_errors_total", "Error answers by code", ["code"], registry=self.registry)
        # which worker process answered a scrape: with `serve --workers N` each keeps its own counters
        Gauge("warmstart_worker_info", "The worker process serving this scrape", ["pid"],
              registry=self.registry).labels(pid=str(os.getpid())).set(1)


def _offline_docs(app: FastAPI) -> None:
    """Interactive API docs at ``/docs`` from Swagger UI files installed with the package (no CDN)."""
    import swagger_ui_bundle
    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.staticfiles import StaticFiles

    app.mount("/docs/static", StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="docs-static")

    @app.get("/docs", include_in_schema=False)
    def docs() -> Response:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="warmstart API",
                                   swagger_js_url="/docs/static/swagger-ui-bundle.js",
                                   swagger_css_url="/docs/static/swagger-ui.css",
                                   swagger_favicon_url="/docs/static/favicon-32x32.png")


def _default_loop(stop: threading.Event, every: float, apply: Any) -> None:
    while not stop.wait(every):
        apply()


class Engine:
    """A population version (the active one by default), the policy acting on it, and the store."""

    def __init__(self, store: Store, *, policy: str = "mixture_ids", seed: int = 0, mode: str = "active",
                 cache_size: int = BELIEF_CACHE) -> None:
        self.store = store
        self.cache = BeliefCache(cache_size)
        version = store.active_version(mode)
        if version is None:
            raise ApiError(503, "no_population", f"no {mode} population: fit one and activate it")
        data, _ = store.population(version)
        self.version = version
        self.population = Population.from_bytes(data, source=f"population version {version}")
        made = make_policy(policy, PolicyContext(self.population.dim, self.population), seed=seed)
        if not isinstance(made, BeliefPolicy):
            raise ValueError(f"policy: expected one that keeps a belief (mixture_ids, mixture_ids_cp, mixture_ts), got {policy!r}")  # noqa: TRY004 - a bad setting, not a type error
        self.policy = made
        self.prior = made.prior(None)  # the population beliefs are made under (tempered for ours)

    def belief_from_log(self, user_id: str) -> State:
        """The user's belief under this population, recomputed from their rewarded events in order (a shadow
        population keeps no stored beliefs)."""
        rewarded = [e for e in self.store.user_events(user_id) if e.reward is not None]
        if not rewarded:
            return self.policy.new_user()
        return self.policy.replay(np.stack([e.features for e in rewarded]),
                                  np.array([e.reward for e in rewarded], dtype=float))

    def belief(self, user_id: str, conn: Connection | None = None) -> tuple[State, int | None]:
        stored = self.store.get_belief(user_id, conn)
        return self.decode(user_id, stored), (None if stored is None else stored[1])

    def decode(self, user_id: str, stored: tuple[bytes, int, int] | None) -> State:
        """The belief in a stored row (a fresh one if none, or if it was made under another population), from
        the cache when the row is the one the cached belief came from."""
        if stored is None or stored[2] != self.version:
            return self.policy.new_user()
        cached = self.cache.get(user_id, stored)
        if cached is not None:
            return cached
        belief = self.policy.state_from_bytes(stored[0])
        self.cache.put(user_id, stored, belief)  # a committed row: safe to remember
        return belief


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": {"code": code, "message": message}})


def create_app(store: Store, *, policy: str = "mixture_ids", seed: int = 0, reward_window_s: float | None = None,
               default_reward: float = 0.0) -> FastAPI:
    """The API on ``store``. With ``reward_window_s``, a decision whose reward has not arrived within the window
    gets ``default_reward`` (applied by a background loop, and by ``app.state.apply_default_rewards(now)``)."""
    if reward_window_s is not None and not reward_window_s > 0:
        raise ValueError(f"reward_window_s: expected a positive number of seconds or None, got {reward_window_s}")
    metrics = Metrics()
    stop = threading.Event()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        worker = None
        if reward_window_s is not None:
            worker = threading.Thread(target=_default_loop, daemon=True,
                                      args=(stop, min(reward_window_s / 4, 5.0), apply_default_rewards))
            worker.start()
        yield
        stop.set()
        if worker is not None:
            worker.join(timeout=10)

    app = FastAPI(title="warmstart", version="1", docs_url=None, redoc_url=None, lifespan=lifespan)
    state: dict[str, Engine] = {}  # by mode: the active engine and the shadow one

    app.add_middleware(_Measure, metrics=metrics)

    def apply_default_rewards(now: float | None = None) -> int:
        """Give the default reward to every decision older than the window that has none; return how many."""
        if reward_window_s is None:
            return 0
        due = store.pending_rewards(older_than=(time.time() if now is None else now) - reward_window_s)
        applied = 0
        for event_id in due:
            try:
                if _record_reward(engine(), event_id, default_reward, default=True):
                    applied += 1
                    metrics.rewards.labels("default").inc()
            except (ConflictError, NotFoundError):
                continue  # the real reward or an erasure got there first
        return applied

    app.state.apply_default_rewards = apply_default_rewards

    versions: dict[str, Any] = {"at": -math.inf}

    def active(mode: str = "active") -> int | None:
        """The active (or shadow) version, re-read at most every ``VERSION_TTL`` seconds (and at once after an
        activation through this app): one query less per request."""
        now = time.monotonic()
        if now - versions["at"] > VERSION_TTL:
            versions.update(at=now, active=store.active_version(), shadow=store.active_version("shadow"))
        return versions[mode]  # type: ignore[no-any-return]

    def engine(mode: str = "active") -> Engine:
        version = active(mode)
        current = state.get(mode)
        if current is None or current.version != version:
            state[mode] = current = Engine(store, policy=policy, seed=seed, mode=mode)
        return current

    def shadow(event_id: str, user_id: str, X: np.ndarray, active_version: int) -> None:
        """Log what the shadow population would have chosen (not served)."""
        version = active("shadow")
        if version is None or version == active_version:
            return
        eng = engine("shadow")
        decision = eng.policy.act(eng.belief_from_log(user_id), X)
        if decision.probabilities is not None:
            store.add_shadow_decision(event_id, eng.version, int(decision.action),
                                      [float(p) for p in decision.probabilities])

    keys = KeyCache(store.key_scope, ttl=KEY_TTL)

    async def client(request: Request) -> str:
        header = request.headers.get("authorization", "")
        key = header[7:] if header.lower().startswith("bearer ") else request.headers.get("x-api-key", "")
        scope = keys.scope(key) if key else None
        if scope is None:
            raise ApiError(401, "unauthorized", "expected a valid API key (Authorization: Bearer ws_...)")
        return scope

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        metrics.errors.labels(exc.code).inc()
        return _error(exc.status, exc.code, exc.message)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        metrics.errors.labels("invalid_request").inc()
        return _error(422, "invalid_request", f"{where or 'body'}: {first.get('msg', 'invalid input')}")

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(exc.status_code, "http_error", str(exc.detail))

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {"status": "ok", "active_population": store.active_version(), "schema": store.revision()}

    _offline_docs(app)
    from warmstart.service.dashboard import mount_dashboard  # it imports this module: here, not at the top

    mount_dashboard(app, store, engine)

    @app.get("/metrics")
    def prometheus() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    # response_model=None: FastAPI would otherwise validate a sync endpoint's answer on a worker thread (one more
    # thread hop per request); the contract is in the module docstring and in the client
    @app.post("/v1/rank", response_model=None)
    def rank(body: RankRequest, _: str = Depends(client)) -> dict[str, Any]:
        eng = engine()
        lengths = sorted({len(a.features) for a in body.actions})
        if lengths != [eng.population.dim]:
            raise ApiError(422, "invalid_request", f"actions.features: expected {eng.population.dim} numbers per "
                                                   f"action, got {lengths}")
        X = np.array([a.features for a in body.actions], dtype=float)
        opted_out, stored = store.user_state(body.user_id)
        personalised = not opted_out
        belief = eng.decode(body.user_id, stored) if personalised else eng.policy.new_user()
        decision = eng.policy.act(belief, X)
        names = eng.population.type_names()
        metrics.decisions.labels(names[int(np.argmax(belief.type_probs()))] if personalised else "unpersonalised").inc()
        if decision.probabilities is None:  # every policy the service offers reports them; guard the contract
            raise ApiError(500, "policy_contract", f"policy {policy!r} did not report action probabilities")
        probs = [float(p) for p in np.asarray(decision.probabilities, dtype=float)]
        event_id = uuid.uuid4().hex
        store.append_event(EventRecord(event_id, body.user_id, int(decision.action), tuple(probs),
                                       X[decision.action], personalised, population_version=eng.version,
                                       candidates=X))
        if personalised:
            shadow(event_id, body.user_id, X, eng.version)
        return {"event_id": event_id, "action": int(decision.action), "action_id": body.actions[decision.action].id,
                "probabilities": probs, "personalised": personalised}

    @app.post("/v1/events/{event_id}/reward", response_model=None)
    def reward(body: RewardRequest, event_id: str = EventId, _: str = Depends(client)) -> dict[str, Any]:
        try:
            new = _record_reward(engine(), event_id, body.reward)
        except NotFoundError as exc:
            raise ApiError(404, "not_found", str(exc)) from exc
        except ConflictError as exc:
            raise ApiError(409, "conflict", str(exc)) from exc
        if new:
            metrics.rewards.labels("reported").inc()
        return {"event_id": event_id, "status": "recorded" if new else "duplicate"}

    @app.get("/v1/users/{user_id}/profile")
    def profile(user_id: str = UserId, _: str = Depends(client)) -> dict[str, Any]:
        return user_profile(engine(), user_id)

    def uncache(user_id: str) -> None:
        for eng in state.values():
            eng.cache.drop(user_id)

    @app.delete("/v1/users/{user_id}")
    def forget(user_id: str = UserId, _: str = Depends(client)) -> dict[str, Any]:
        deleted = store.forget_user(user_id)
        uncache(user_id)
        return {"user_id": user_id, "events_deleted": deleted, "status": "forgotten"}

    @app.post("/v1/users/{user_id}/reset")
    def reset(user_id: str = UserId, _: str = Depends(client)) -> dict[str, Any]:
        store.reset_user(user_id)
        uncache(user_id)
        return {"user_id": user_id, "status": "reset"}

    @app.put("/v1/users/{user_id}/consent")
    def consent(body: ConsentRequest, user_id: str = UserId, _: str = Depends(client)) -> dict[str, Any]:
        store.set_consent(user_id, opted_out=body.opted_out)
        uncache(user_id)
        return {"user_id": user_id, "opted_out": body.opted_out}

    async def admin(request: Request) -> str:
        scope = await client(request)
        if scope != "admin":
            raise ApiError(403, "forbidden", "expected an API key with the admin scope")
        return scope

    @app.get("/v1/admin/populations")
    def populations(_: str = Depends(admin)) -> dict[str, Any]:
        return {"active": store.active_version(), "shadow": store.active_version("shadow"),
                "history": store.activation_history()}

    @app.post("/v1/admin/fit")
    def fit(body: FitRequest, _: str = Depends(admin)) -> dict[str, Any]:
        """Fit a new population version on the rewarded events (erased users left out); it is stored, not
        activated."""
        t0 = time.perf_counter()
        try:
            if body.incremental:
                base = store.active_version()
                if base is None:
                    raise ApiError(409, "no_population", "incremental: no active population to start from")
                made = fit_version_incremental(store, base, min_users=body.min_users)
            else:
                made = fit_version(store, k_max=body.k_max, seed=body.seed, min_users=body.min_users)
        except NotEnoughDataError as exc:
            raise ApiError(409, "not_enough_data", str(exc)) from exc
        except IncrementalRefusedError as exc:
            raise ApiError(409, "full_fit_needed", str(exc)) from exc
        pop = made.population
        version = store.add_population(pop.to_bytes(), fingerprint=pop.fingerprint(), meta=made.meta)
        extra = ({"base_version": made.meta["base_version"], "n_new_users": made.meta["n_new_users"]}
                 if body.incremental else {})
        return {"version": version, "n_types": pop.n_types, "n_users": made.n_users, "n_events": made.n_events,
                "incremental": body.incremental, **extra, "fit_s": time.perf_counter() - t0}

    @app.post("/v1/admin/populations/{version}/activate")
    def activate(body: ActivateRequest, version: int = PathParam(ge=1, le=2**31 - 1),
                 _: str = Depends(admin)) -> dict[str, Any]:
        try:
            store.activate(version, mode=body.mode, note=body.note)
            versions["at"] = -math.inf
        except NotFoundError as exc:
            raise ApiError(404, "not_found", str(exc)) from exc
        return {"version": version, "mode": body.mode}

    @app.post("/v1/admin/populations/{version}/evaluate")
    def evaluate(body: EvaluateRequest, version: int = PathParam(ge=1, le=2**31 - 1),
                 _: str = Depends(admin)) -> dict[str, Any]:
        """Off-policy estimates (IPS, SNIPS, DM, DR with bootstrap CIs) of ``version`` and of the baseline
        (the active version unless given) on the logged events, from the logged propensities; see
        ``warmstart.service.evaluate``."""
        from warmstart.service.evaluate import NoLogError, evaluate_versions

        try:
            return evaluate_versions(store, version, body.baseline, policy=policy, seed=body.seed,
                                     n_boot=body.n_boot, max_events=body.max_events)
        except NotFoundError as exc:
            raise ApiError(404, "not_found", str(exc)) from exc
        except NoLogError as exc:
            raise ApiError(409, "not_enough_data", str(exc)) from exc

    @app.post("/v1/admin/rollback")
    def rollback(_: str = Depends(admin)) -> dict[str, Any]:
        try:
            rolled = store.rollback()
            versions["at"] = -math.inf
            return {"version": rolled, "mode": "active"}
        except NotFoundError as exc:
            raise ApiError(409, "nothing_to_roll_back", str(exc)) from exc

    return app


def _record_reward(eng: Engine, event_id: str, reward: float, *, default: bool = False) -> bool:
    """Record a reward and fold it into the user's stored belief in one transaction (compare-and-set on the
    belief; on a concurrent update both are rolled back and tried again on the fresh belief)."""

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
        belief.observe(record.features, reward)
        state = belief.to_bytes()
        new_version = eng.store.put_belief(record.user_id, state, population_version=eng.version,
                                           n_events=round(belief.n), expected_version=version,
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
    belief = eng.belief(user_id)[0]
    names = eng.population.type_names()
    probs = belief.type_probs()
    order = np.argsort(-probs)
    return {
        "user_id": user_id, "opted_out": consent["opted_out"], "erased": consent["erased_at"] is not None,
        "events_held": len(store.user_events(user_id)), "events_learned_from": round(belief.n),
        "belief_stored": stored is not None,
        "types": [{"type": names[k], "probability": float(probs[k])} for k in order],
        "summary": _summary(names, probs, round(belief.n)),
    }


def _summary(names: list[str], probs: np.ndarray, n: int) -> str:
    k = int(np.argmax(probs))
    if n == 0:
        return "Nothing learned yet: every type is still possible."
    if names[k] == "novel":
        return f"After {n} events this user fits none of the known types well; they are served as themselves."
    return f"After {n} events this user most resembles {names[k]} ({probs[k]:.0%} probable)."


def app_from_env() -> FastAPI:
    """The app of one worker process of ``warmstart serve --workers N`` (a uvicorn factory): its own store and
    settings from the environment ``serve`` sets: ``WARMSTART_DB`` (required), ``WARMSTART_POLICY``,
    ``WARMSTART_SEED``, ``WARMSTART_REWARD_WINDOW`` (seconds, empty for none), ``WARMSTART_DEFAULT_REWARD``."""
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
    return create_app(Store.open(db), policy=env.get("WARMSTART_POLICY", "") or "mixture_ids",
                      seed=number("WARMSTART_SEED", int, "0"),
                      reward_window_s=number("WARMSTART_REWARD_WINDOW", float, "0") if window else None,
                      default_reward=number("WARMSTART_DEFAULT_REWARD", float, "0"))


class _Measure:
    """ASGI middleware: refuse bodies over ``MAX_BODY_BYTES`` (413) and count requests and latencies by route
    (a plain ASGI wrapper: cheaper per request than Starlette's ``BaseHTTPMiddleware``)."""

    def __init__(self, app: Any, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        size = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"content-length"), "0")
        if not size.isdigit() or int(size) > MAX_BODY_BYTES:
            self.metrics.errors.labels("too_large").inc()
            await _error(413, "too_large", f"body: expected at most {MAX_BODY_BYTES} bytes, got {size}")(
                scope, receive, send)
            return
        status = [500]

        async def sending(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            path = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.requests.labels(scope["method"], path, str(status[0])).inc()
            self.metrics.latency.labels(path).observe(time.perf_counter() - t0)
