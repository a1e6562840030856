"""Probes of the service with bad input: a fixed list of malformed requests sent over HTTP to a running server,
and schemathesis' generated requests (valid and malformed) on every operation of the OpenAPI schema. Each
returns counts by status class; the contract is that no request gets a 5xx.
"""

from __future__ import annotations

import http.client
import json
from collections import Counter
from typing import Any

from warmstart.service.app import MAX_ACTIONS, MAX_BODY_BYTES


def _probes(dim: int, event_id: str) -> list[tuple[str, str, str, Any, int]]:
    """``(what, method, path, body bytes or a JSON-able value, expected status)`` for each probe."""
    good = [{"features": [0.1] * dim} for _ in range(3)]
    return [
        ("rank: body not JSON", "POST", "/v1/rank", b"{", 422),
        ("rank: empty body", "POST", "/v1/rank", b"", 422),
        ("rank: a JSON array", "POST", "/v1/rank", [1, 2], 422),
        ("rank: user_id a number", "POST", "/v1/rank", {"user_id": 7, "actions": good}, 422),
        ("rank: user_id empty", "POST", "/v1/rank", {"user_id": "", "actions": good}, 422),
        ("rank: user_id too long", "POST", "/v1/rank", {"user_id": "u" * 129, "actions": good}, 422),
        ("rank: no actions", "POST", "/v1/rank", {"user_id": "u", "actions": []}, 422),
        ("rank: too many actions", "POST", "/v1/rank",
         {"user_id": "u", "actions": [{"features": [0.1] * dim}] * (MAX_ACTIONS + 1)}, 422),
        ("rank: empty features", "POST", "/v1/rank", {"user_id": "u", "actions": [{"features": []}]}, 422),
        ("rank: wrong dimension", "POST", "/v1/rank", {"user_id": "u", "actions": [{"features": [0.1] * (dim + 1)}]},
         422),
        ("rank: mixed dimensions", "POST", "/v1/rank",
         {"user_id": "u", "actions": [{"features": [0.1] * dim}, {"features": [0.1] * (dim - 1 or 2)}]}, 422),
        ("rank: feature a string", "POST", "/v1/rank", {"user_id": "u", "actions": [{"features": ["a"] * dim}]},
         422),
        ("rank: NaN feature", "POST", "/v1/rank",
         ('{"user_id": "u", "actions": [{"features": [NaN' + ", 0.1" * (dim - 1) + "]}]}").encode(), 422),
        ("rank: infinite feature", "POST", "/v1/rank",
         ('{"user_id": "u", "actions": [{"features": [1e999' + ", 0.1" * (dim - 1) + "]}]}").encode(), 422),
        ("rank: unknown field", "POST", "/v1/rank", {"user_id": "u", "actions": good, "extra": 1}, 422),
        ("rank: context not an object", "POST", "/v1/rank", {"user_id": "u", "actions": good, "context": 3}, 422),
        ("rank: action id too long", "POST", "/v1/rank",
         {"user_id": "u", "actions": [{"id": "i" * 129, "features": [0.1] * dim}]}, 422),
        ("rank: not UTF-8", "POST", "/v1/rank", b'{"user_id": "\xff\xfe", "actions": []}', 400),
        ("rank: deeply nested", "POST", "/v1/rank", b"[" * 5000 + b"]" * 5000, 400),
        ("rank: body over the limit", "POST", "/v1/rank", b" " * (MAX_BODY_BYTES + 1), 413),
        ("reward: unknown event", "POST", "/v1/events/nope/reward", {"reward": 1.0}, 404),
        ("reward: a string", "POST", f"/v1/events/{event_id}/reward", {"reward": "high"}, 422),
        ("reward: NaN", "POST", f"/v1/events/{event_id}/reward", b'{"reward": NaN}', 422),
        ("reward: infinite", "POST", f"/v1/events/{event_id}/reward", b'{"reward": 1e999}', 422),
        ("reward: missing", "POST", f"/v1/events/{event_id}/reward", {}, 422),
        ("reward: body an array", "POST", f"/v1/events/{event_id}/reward", [1.0], 422),
        ("reward: event id 5,000 characters", "POST", f"/v1/events/{'e' * 5000}/reward", {"reward": 1.0}, 422),
        ("consent: not a boolean", "PUT", "/v1/users/u/consent", {"opted_out": "maybe"}, 422),
        ("consent: missing", "PUT", "/v1/users/u/consent", {}, 422),
        ("profile: user id 5,000 characters", "GET", f"/v1/users/{'u' * 5000}/profile", None, 422),
        ("forget: user id 5,000 characters", "DELETE", f"/v1/users/{'u' * 5000}", None, 422),
        ("admin route with a client key", "POST", "/v1/admin/fit", {}, 403),
        ("activate: version not a number", "POST", "/v1/admin/populations/abc/activate", {}, 403),
        ("unknown route", "GET", "/v1/nothing-here", None, 404),
        ("wrong method", "GET", "/v1/rank", None, 405),
    ]


def malformed_probe(port: int, key: str, *, dim: int, event_id: str) -> dict[str, Any]:
    """Send each malformed request to the server on 127.0.0.1:``port``; return counts by status class and
    every answer that was not the expected status (with what was expected)."""
    results = []
    for what, method, path, body, expected in _probes(dim, event_id):
        data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            conn.request(method, path, body=data,
                         headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
            response = conn.getresponse()
            status, text = response.status, response.read(65536)
        finally:
            conn.close()
        results.append({"what": what, "status": status, "expected": expected,
                        "error_body": _is_error_body(text)})
    return _summary(results, "probes")


def unauthenticated_probe(port: int) -> dict[str, Any]:
    """Requests with no key, a malformed key and an unknown key: each must be a 401."""
    results = []
    for what, header in [("no key", None), ("bearer without a key", "Bearer"), ("not a warmstart key", "Bearer x"),
                         ("unknown key", "Bearer ws_0000_secret"), ("key of 10,000 characters", "Bearer " + "k" * 10_000)]:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            conn.request("POST", "/v1/rank", body=b"{}", headers={} if header is None else {"Authorization": header})
            response = conn.getresponse()
            status, text = response.status, response.read(65536)
        finally:
            conn.close()
        results.append({"what": what, "status": status, "expected": 401, "error_body": _is_error_body(text)})
    return _summary(results, "probes")


def _is_error_body(text: bytes) -> bool:
    try:
        doc = json.loads(text)
    except ValueError:
        return False
    return isinstance(doc, dict) and isinstance(doc.get("error"), dict) and {"code", "message"} <= set(doc["error"])


def _summary(results: list[dict[str, Any]], noun: str) -> dict[str, Any]:
    classes = Counter(f"{r['status'] // 100}xx" for r in results)
    return {noun: len(results), "by_class": dict(sorted(classes.items())),
            "server_errors": classes.get("5xx", 0),
            "unexpected": [r for r in results if r["status"] != r["expected"] or not r["error_body"]]}


def schemathesis_probe(app: Any, key: str, *, max_examples: int = 20) -> dict[str, Any]:
    """Schemathesis' generated requests (``max_examples`` per operation, derandomised) against ``app`` in
    process; counts by status class and the first few 5xx answers."""
    import schemathesis
    from hypothesis import HealthCheck, given, settings

    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    statuses: list[int] = []
    failures: list[str] = []
    for op in operations:

        @given(case=op.as_strategy())
        @settings(max_examples=max_examples, deadline=None, suppress_health_check=list(HealthCheck), database=None,
                  derandomize=True)
        def check(case: Any) -> None:
            response = case.call(headers={"Authorization": f"Bearer {key}"})
            statuses.append(response.status_code)
            if response.status_code >= 500 and len(failures) < 10:
                failures.append(f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:200]}")

        check()
    classes = Counter(f"{s // 100}xx" for s in statuses)
    return {"operations": len(operations), "requests": len(statuses), "by_class": dict(sorted(classes.items())),
            "server_errors": classes.get("5xx", 0), "first_server_errors": failures}
