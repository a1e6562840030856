"""A small Python client of the warmstart service (httpx), one method per endpoint.

>>> client = WarmstartClient("http://127.0.0.1:8000", api_key="ws_...")        # doctest: +SKIP
>>> decision = client.rank("user-42", [[0.1, 0.3], [0.2, -0.1]])              # doctest: +SKIP
>>> client.reward(decision.event_id, 1.0)                                     # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Self

import httpx


class ServiceError(Exception):
    """An error answer of the service: its HTTP status, error code and message.

    >>> import httpx, json
    >>> def service(request):              # a stand-in for the service: echoes each request's route and body
    ...     if request.headers["Authorization"] != "Bearer ws_test":
    ...         error = {"code": "unauthorized", "message": "unknown API key"}
    ...         return httpx.Response(401, json={"error": error})
    ...     body = json.loads(request.content) if request.content else None
    ...     answer = {"route": f"{request.method} {request.url.path}", "body": body, "status": "recorded"}
    ...     if request.url.path == "/v1/rank":
    ...         n = len(body["actions"])
    ...         answer.update(event_id="e1", action=0, action_id=body["actions"][0].get("id"),
    ...                       probabilities=[1 / n] * n, personalised=True)
    ...     return httpx.Response(200, json=answer)
    >>> with WarmstartClient("http://service", "ws_wrong", transport=httpx.MockTransport(service)) as client:
    ...     try:
    ...         client.health()
    ...     except ServiceError as exc:
    ...         print(exc.status, exc.code, "|", exc)
    401 unauthorized | 401 unauthorized: unknown API key
    """

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message


@dataclass(frozen=True)
class RankResult:
    """The service's decision: the event to report the reward of, the action chosen, its probabilities.

    >>> decision = RankResult("e1", action=1, action_id="b", probabilities=(0.25, 0.75), personalised=True)
    >>> decision.propensity                                  # the probability of the chosen action
    0.75
    """

    event_id: str
    action: int
    action_id: str | None
    probabilities: tuple[float, ...]
    personalised: bool

    @property
    def propensity(self) -> float:
        return self.probabilities[self.action]


class WarmstartClient:
    """``WarmstartClient(base_url, api_key)``; pass ``transport=`` (an httpx transport) to test in-process.

    Each method against a stand-in service that echoes what it was sent:

    >>> import httpx, json
    >>> def service(request):              # a stand-in for the service: echoes each request's route and body
    ...     if request.headers["Authorization"] != "Bearer ws_test":
    ...         error = {"code": "unauthorized", "message": "unknown API key"}
    ...         return httpx.Response(401, json={"error": error})
    ...     body = json.loads(request.content) if request.content else None
    ...     answer = {"route": f"{request.method} {request.url.path}", "body": body, "status": "recorded"}
    ...     if request.url.path == "/v1/rank":
    ...         n = len(body["actions"])
    ...         answer.update(event_id="e1", action=0, action_id=body["actions"][0].get("id"),
    ...                       probabilities=[1 / n] * n, personalised=True)
    ...     return httpx.Response(200, json=answer)
    >>> client = WarmstartClient("http://service", "ws_test", transport=httpx.MockTransport(service))
    >>> decision = client.rank("ann", [[0.1, 0.3], [0.2, -0.1]], ids=["a", "b"])
    >>> decision.event_id, decision.action_id, decision.propensity, client.reward(decision.event_id, 1.0)
    ('e1', 'a', 0.5, 'recorded')
    >>> for answer in (client.health(), client.profile("ann"), client.reset("ann"), client.forget("ann"),
    ...                client.set_consent("ann", opted_out=True)):
    ...     print(answer["route"], answer["body"])
    GET /health None
    GET /v1/users/ann/profile None
    POST /v1/users/ann/reset None
    DELETE /v1/users/ann None
    PUT /v1/users/ann/consent {'opted_out': True}
    >>> for answer in (client.populations(), client.fit(k_max=4), client.evaluate(2, n_boot=200),
    ...                client.activate(2, mode="shadow"), client.rollback()):         # admin scope
    ...     print(answer["route"], answer["body"])
    GET /v1/admin/populations None
    POST /v1/admin/fit {'k_max': 4, 'seed': 0, 'min_users': 20}
    POST /v1/admin/populations/2/evaluate {'baseline': None, 'n_boot': 200, 'seed': 0}
    POST /v1/admin/populations/2/activate {'mode': 'shadow', 'note': ''}
    POST /v1/admin/rollback None
    >>> client.close()
    """

    def __init__(self, base_url: str, api_key: str, *, timeout: float = 10.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        self._http = httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {api_key}"},
                                  timeout=timeout, transport=transport)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: str, path: str, json: Any = None) -> dict[str, Any]:
        r = self._http.request(method, path, json=json)
        if r.status_code >= 400:
            try:
                err = r.json()["error"]
                raise ServiceError(r.status_code, str(err["code"]), str(err["message"]))
            except (ValueError, KeyError, TypeError):
                raise ServiceError(r.status_code, "http_error", r.text[:500]) from None
        data = r.json()
        assert isinstance(data, dict)
        return data

    def health(self) -> dict[str, Any]:
        return self._call("GET", "/health")

    def rank(self, user_id: str, features: Sequence[Sequence[float]], *,
             ids: Sequence[str] | None = None) -> RankResult:
        """Choose one of the candidate actions (one feature vector each) for ``user_id``."""
        if ids is not None and len(ids) != len(features):
            raise ValueError(f"ids: expected one per action ({len(features)}), got {len(ids)}")
        actions = [{"features": [float(x) for x in f], **({"id": ids[i]} if ids is not None else {})}
                   for i, f in enumerate(features)]
        d = self._call("POST", "/v1/rank", {"user_id": user_id, "actions": actions})
        return RankResult(d["event_id"], int(d["action"]), d.get("action_id"), tuple(d["probabilities"]),
                          bool(d["personalised"]))

    def reward(self, event_id: str, reward: float) -> str:
        """Report the reward of a decision; returns ``"recorded"`` or ``"duplicate"`` (409 on a different one)."""
        return str(self._call("POST", f"/v1/events/{event_id}/reward", {"reward": float(reward)})["status"])

    def profile(self, user_id: str) -> dict[str, Any]:
        return self._call("GET", f"/v1/users/{user_id}/profile")

    def forget(self, user_id: str) -> dict[str, Any]:
        return self._call("DELETE", f"/v1/users/{user_id}")

    def reset(self, user_id: str) -> dict[str, Any]:
        return self._call("POST", f"/v1/users/{user_id}/reset")

    def set_consent(self, user_id: str, *, opted_out: bool) -> dict[str, Any]:
        return self._call("PUT", f"/v1/users/{user_id}/consent", {"opted_out": bool(opted_out)})

    # ---- admin scope (an admin key) ----
    def populations(self) -> dict[str, Any]:
        """The active and shadow versions and the activation history."""
        return self._call("GET", "/v1/admin/populations")

    def fit(self, *, k_max: int = 12, seed: int = 0, min_users: int = 20) -> dict[str, Any]:
        """Fit a new population version on the logged rewards (stored, not activated)."""
        return self._call("POST", "/v1/admin/fit", {"k_max": k_max, "seed": seed, "min_users": min_users})

    def evaluate(self, version: int, *, baseline: int | None = None, n_boot: int = 1000,
                 seed: int = 0) -> dict[str, Any]:
        """Off-policy estimates of ``version`` and of ``baseline`` (the active version by default) on the
        logged events."""
        return self._call("POST", f"/v1/admin/populations/{int(version)}/evaluate",
                          {"baseline": baseline, "n_boot": n_boot, "seed": seed})

    def activate(self, version: int, *, mode: str = "active", note: str = "") -> dict[str, Any]:
        """Serve ``version`` (``mode="active"``) or log its choices without serving them (``"shadow"``)."""
        return self._call("POST", f"/v1/admin/populations/{int(version)}/activate", {"mode": mode, "note": note})

    def rollback(self) -> dict[str, Any]:
        """Re-activate the version that was active before the current one."""
        return self._call("POST", "/v1/admin/rollback")
