"""Request bodies refused as they stream, and keys checked before a body is read.

FastAPI reads and parses a whole body before any dependency runs, so without this a
caller with no key could make a worker buffer hundreds of megabytes only to get a 401.
This plain ASGI middleware runs before routing and never buffers:

* a body whose declared Content-Length is over the route's limit gets 413 at once;
* a write to the API (/v1, any method but GET/HEAD/OPTIONS) that carries a body and a
  missing or unknown key gets 401 before a byte of the body is read (the route still checks
  the key's role; a write without a body is left to routing, so a wrong method is a 405);
* a chunked body is counted as it arrives and the read fails with 413 the moment it passes
  the limit.

The transport (uvicorn) discards whatever the client still sends after the response, so
the client reliably sees the 413/401 instead of a reset connection.
"""

from __future__ import annotations

from typing import Any

from fastapi.concurrency import run_in_threadpool
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.deps import _api_key
from app.api.errors import db_unavailable_response, service_error_response, too_large_response
from app.api.routes.catalog import MAX_IMPORT_BYTES
from app.api.routes.chat import MAX_BODY as CHAT_MAX_BODY
from app.errors import Unauthorized
from app.settings import Settings

API_PREFIX = "/v1/"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Boundaries and part headers around the file of a multipart catalog import.
MULTIPART_OVERHEAD = 64_000
CATALOG_WRITES = frozenset({("PUT", "/v1/items"), ("POST", "/v1/items/import")})


class BodyTooLarge(HTTPException):
    """Raised from `receive` (an HTTPException, so FastAPI's body parsing lets it through
    to the JSON error handler instead of turning it into a 400)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body over this endpoint's limit of {limit} bytes")


def body_limit(method: str, path: str, settings: Settings) -> int:
    """The largest body the route may receive, in bytes."""
    if method == "POST" and path == "/v1/chat":
        return CHAT_MAX_BODY
    if (method, path) in CATALOG_WRITES:
        return MAX_IMPORT_BYTES + MULTIPART_OVERHEAD
    return settings.max_body_bytes


def needs_key(method: str, path: str) -> bool:
    return path.startswith(API_PREFIX) and method not in SAFE_METHODS


def declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers") or ():
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


def has_body(scope: Scope) -> bool:
    declared = declared_length(scope)
    if declared is not None:
        return declared > 0
    return any(name == b"transfer-encoding" for name, _ in scope.get("headers") or ())


class BodyGuardMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        app_state = scope["app"].state
        method, path = scope["method"], _route_path(scope)
        limit = body_limit(method, path, app_state.settings)
        declared = declared_length(scope)
        if declared is not None and declared > limit:
            await too_large_response(f"request body of {declared} bytes is over this "
                                     f"endpoint's limit of {limit} bytes")(scope, receive, send)
            return
        runtime = getattr(app_state, "runtime", None)
        if runtime is not None and needs_key(method, path) and has_body(scope):
            refusal = await _check_key(runtime, scope)
            if refusal is not None:
                await refusal(scope, receive, send)
                return

        received = 0

        async def receive_counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, receive_counted, send)


def _route_path(scope: Scope) -> str:
    path = str(scope.get("path", ""))
    root = str(scope.get("root_path", ""))
    return path[len(root):] if root and path.startswith(root) else path


async def _check_key(runtime: Any, scope: Scope) -> Response | None:
    """The 401 (or 503) for a missing, unknown or revoked key; None when the key is known."""
    key = _api_key(Request(scope))

    def authenticate() -> None:
        with runtime.sessions() as db:
            runtime.keys.authenticate(db, key)

    try:
        await run_in_threadpool(authenticate)
    except Unauthorized as exc:
        return service_error_response(exc)
    except OperationalError:
        return db_unavailable_response()
    return None
