"""The API's errors: ``ApiError`` (raised by routes and dependencies) and the one error body, ``{"error":
{"code", "message"}}``, that every error answer has, malformed input and unknown routes included."""

from __future__ import annotations

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
