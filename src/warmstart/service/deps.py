"""FastAPI dependencies of the routes: the app's ``ServiceState`` and the API key checks.

Every request but ``/health``, ``/metrics`` and the docs needs an API key (``Authorization: Bearer ws_...``, or
``X-API-Key``): none or an unknown key is 401; a client key on an admin route is 403."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request

from warmstart.service.errors import ApiError
from warmstart.service.state import ServiceState


async def get_state(request: Request) -> ServiceState:
    """The state of the app serving the request (``app.state.service``, set by ``create_app``)."""
    return cast(ServiceState, request.app.state.service)


# a route's parameter ``state: AppState`` is the app's ServiceState
AppState = Annotated[ServiceState, Depends(get_state)]


async def client(request: Request) -> str:
    """The scope of the request's API key (``client`` or ``admin``); ``ApiError`` 401 without a valid one."""
    header = request.headers.get("authorization", "")
    key = header[7:] if header.lower().startswith("bearer ") else request.headers.get("x-api-key", "")
    scope = request.app.state.service.keys.scope(key) if key else None
    if scope is None:
        raise ApiError(401, "unauthorized", "expected a valid API key (Authorization: Bearer ws_...)")
    return cast(str, scope)


async def admin(request: Request) -> str:
    """``client``, and ``ApiError`` 403 unless the key has the admin scope."""
    scope = await client(request)
    if scope != "admin":
        raise ApiError(403, "forbidden", "expected an API key with the admin scope")
    return scope
