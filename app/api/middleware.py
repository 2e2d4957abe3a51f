"""Request ids, access logs and Prometheus metrics, as a plain ASGI middleware (cheaper than
BaseHTTPMiddleware on the event-ingest hot path).

The access log names the route template (`/v1/customers/{customer_id}`), never the path:
path parameters are customer ids, visitor ids, emails. Each parameter is logged as a keyed
pseudonym (`app.logging.pseudonym`), so the lines about one person can still be followed."""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from prometheus_client import Counter, Histogram

from app.logging import pseudonym, request_id_var
from app.services.tombstones import derive_key

log = logging.getLogger("tailor.http")
API_PREFIX = "/v1"

REQUESTS = Counter("tailor_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram("tailor_http_request_seconds", "HTTP request latency", ["method", "route"],
                    buckets=(.002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10))


class RequestContextMiddleware:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        incoming = headers.get(b"x-request-id", b"").decode("latin-1")[:64]
        rid = incoming if incoming.replace("-", "").isalnum() else uuid.uuid4().hex
        token = request_id_var.set(rid)
        start = time.perf_counter()
        status = 500

        async def send_wrapper(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", rid.encode())]
                # A widget visitor token re-issued while the request was verified.
                refresh = (scope.get("state") or {}).get("visitor_token_refresh")
                if refresh:
                    message["headers"].append((b"x-visitor-token-refresh", refresh.encode()))
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - start
            route = scope.get("route")
            path = getattr(route, "path", None) or "unmatched"
            # Routers included with a prefix report their own path; label with the full one.
            if str(scope.get("path", "")).startswith(API_PREFIX + "/") and path != "unmatched":
                path = API_PREFIX + path if not path.startswith(API_PREFIX) else path
            method = scope.get("method", "")
            REQUESTS.labels(method, path, str(status)).inc()
            LATENCY.labels(method, path).observe(elapsed)
            if path not in {"/healthz", "/metrics"}:
                log.info("%s %s %s", method, path, status,
                         extra={"status": status, "ms": round(elapsed * 1000, 2),
                                "route": path, **_hidden_params(scope, path)})
            request_id_var.reset(token)


def _hidden_params(scope: dict[str, Any], route: str) -> dict[str, Any]:
    runtime = getattr(getattr(scope.get("app"), "state", None), "runtime", None)
    key = derive_key(runtime.secret) if runtime is not None else ""
    if route == "unmatched":  # an unknown path may still carry an id (a typo'd route)
        return {"path": pseudonym(key, str(scope.get("path", "")))}
    params = scope.get("path_params") or {}
    return {"params": {k: pseudonym(key, str(v)) for k, v in params.items()}} if params else {}
