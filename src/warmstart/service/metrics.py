"""The service's Prometheus metrics, and the ASGI middleware that counts requests and refuses large bodies."""

from __future__ import annotations

import os
import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from warmstart.service.errors import error_response

MAX_BODY_BYTES = 4 * 1024 * 1024


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


class Measure:
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
            await error_response(413, "too_large", f"body: expected at most {MAX_BODY_BYTES} bytes, got {size}")(
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
