"""The API's errors: ``ApiError`` (raised by routes and dependencies) and the one error body, ``{"error":
{"code", "message"}}``, that every error answer has, malformed input, unknown routes and unexpected failures
included (``CatchAll``: a 500 with the error body, the connection kept open)."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from prometheus_client import Counter
from starlette.exceptions import HTTPException as StarletteHTTPException

from warmstart.service.json_errors import json_error_message


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def error_response(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": {"code": code, "message": message}})


def add_error_handlers(app: FastAPI, errors: Counter) -> None:
    """Answer ``ApiError``, invalid input (422) and Starlette's HTTP errors (404, 405) with the error body;
    the first two are counted in ``errors`` (``Metrics.errors``) by code."""

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        errors.labels(exc.code).inc()
        return error_response(exc.status, exc.code, exc.message)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        errors.labels("invalid_request").inc()
        if first.get("type") == "json_invalid":  # where the body breaks and how to fix it, not a bare offset
            return error_response(422, "invalid_request", json_error_message(exc.body, first))
        return error_response(422, "invalid_request", f"{where or 'body'}: {first.get('msg', 'invalid input')}")

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error_response(exc.status_code, "http_error", str(exc.detail))


log = logging.getLogger("warmstart.service")


class CatchAll:
    """ASGI middleware: an exception no handler answered becomes a 500 with the error body (code ``internal``
    and an id to find the traceback in the log by), counted in ``errors``, and is not raised further.

    Starlette's own last resort answers a plain-text 500 and re-raises, and uvicorn then closes the connection;
    here the exception stops, so the client gets JSON and keeps its connection. An exception after the answer
    has started cannot change the answer; it is logged and the answer is left as it is."""

    def __init__(self, app: Any, errors: Counter) -> None:
        self.app, self.errors = app, errors

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = [False]

        async def sending(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                started[0] = True
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception:
            ref = uuid.uuid4().hex[:12]
            log.exception("unexpected error %s on %s %s", ref, scope.get("method"), scope.get("path"))
            self.errors.labels("internal").inc()
            if not started[0]:
                await error_response(500, "internal", f"unexpected error {ref} (logged on the server); the "
                                                      "request may be retried")(scope, receive, send)
