"""One JSON error shape for every failure: {"error": {"code", "message", "details",
"request_id"}}.

Expected errors are mapped by exception handlers (inside Starlette's ExceptionMiddleware):
the service's own `ServiceError` tree (app/errors.py) carries its status, and every leaf of
the libraries' `errors.py` trees is mapped once, in `LIBRARY_ERRORS` below, so routes let
library errors through instead of catching them one by one.
Unexpected ones are turned into the JSON 500 by `UnhandledErrorMiddleware`, which sits
*inside* the request-id middleware: Starlette's own ServerErrorMiddleware would answer
outside it (so without the id the message asks to quote) and then re-raise, and uvicorn
drops a keep-alive connection whose app raised.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, OperationalError
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import generation.errors as gen
import preference_model.errors as pm
import retrieval.errors as ret
from app.errors import ServiceError
from app.logging import request_id_var

log = logging.getLogger(__name__)

HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
              405: "method_not_allowed", 413: "payload_too_large", 415: "unsupported_media_type",
              429: "rate_limited"}


class SafeJSONResponse(JSONResponse):
    """JSON that always renders: a lone surrogate echoed back from the request (the id of a
    rejected row) is sent as its \\u escape instead of failing the UTF-8 encoding. Used
    for error bodies; successful responses keep FastAPI's faster pydantic path."""

    def render(self, content: Any) -> bytes:
        try:
            return orjson.dumps(content)
        except (orjson.JSONEncodeError, TypeError):
            return json.dumps(content, ensure_ascii=True, allow_nan=False,
                              separators=(",", ":")).encode("ascii")


def error_response(status: int, code: str, message: str, details: Any = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    err: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        err["details"] = details
    rid = request_id_var.get()
    if rid:
        err["request_id"] = rid
    return SafeJSONResponse({"error": err}, status_code=status, headers=headers)


_json = error_response  # the name the handlers below have always used


def service_error_response(exc: ServiceError) -> JSONResponse:
    return _json(exc.status, exc.code, exc.message, exc.details, exc.headers)


def db_unavailable_response() -> JSONResponse:
    return _json(503, "unavailable", "the database is busy or unreachable; retry shortly",
                 headers={"Retry-After": "2"})


def too_large_response(message: str) -> JSONResponse:
    return _json(413, HTTP_CODES[413], message)


RETRY_SOON = {"Retry-After": "5"}

# Library error -> (status, code, headers). Looked up along the exception's MRO, so a leaf
# not listed takes its parent's line; each library's base class closes its tree with 500.
LIBRARY_ERRORS: dict[type[Exception], tuple[int, str, dict[str, str] | None]] = {
    # retrieval/errors.py
    ret.InvalidFilterError: (422, "invalid_input", None),
    ret.InvalidRequestError: (422, "invalid_input", None),
    ret.UnknownItemError: (404, "not_found", None),
    ret.IndexNotReadyError: (503, "unavailable", RETRY_SOON),
    ret.EmbeddingError: (500, "internal_error", None),
    ret.IndexStorageError: (500, "internal_error", None),
    ret.RetrievalError: (500, "internal_error", None),
    # preference_model/errors.py
    pm.UnknownItemError: (422, "invalid_input", None),
    pm.InvalidSignalError: (422, "invalid_input", None),
    pm.UnknownCustomerError: (404, "not_found", None),
    pm.ConsentRequiredError: (403, "forbidden", None),
    pm.NotReadyError: (503, "unavailable", RETRY_SOON),
    # The model retries stale writes itself; one that still lost the race may be retried.
    pm.StaleStateError: (503, "unavailable", {"Retry-After": "1"}),
    pm.StateCorruptError: (500, "internal_error", None),
    pm.SpaceMismatchError: (500, "internal_error", None),
    pm.PreferenceModelError: (500, "internal_error", None),
    # generation/errors.py (the chat degrades to templates on LLMError; these reach a caller
    # only from a direct generation call)
    gen.CircuitOpenError: (503, "unavailable", RETRY_SOON),
    gen.LLMOverloadedError: (503, "unavailable", RETRY_SOON),
    gen.LLMUnavailableError: (503, "unavailable", RETRY_SOON),
    gen.LLMTimeoutError: (504, "timeout", None),
    gen.LLMResponseError: (502, "bad_gateway", None),
    gen.LLMCancelledError: (503, "unavailable", None),
    gen.LLMError: (503, "unavailable", RETRY_SOON),
    gen.PromptError: (500, "internal_error", None),
    gen.GenerationError: (500, "internal_error", None),
}


def library_error_response(exc: Exception) -> JSONResponse:
    for cls in type(exc).__mro__:
        if cls in LIBRARY_ERRORS:
            status, code, headers = LIBRARY_ERRORS[cls]
            break
    else:  # pragma: no cover - install() registers only the classes in the table
        raise exc
    if status >= 500 and status not in (503, 504):
        log.error("library error", exc_info=exc)
        return _json(status, code, "unexpected server error; quote the request id")
    if isinstance(exc, ret.IndexNotReadyError):  # every item deleted, or none imported yet
        message = "the catalog has no searchable items yet; import some first"
    elif isinstance(exc, pm.NotReadyError):
        message = f"not ready: {exc}"
    else:
        message = str(exc)
    return _json(status, code, message, headers=headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(ServiceError)
    async def service_error(_: Request, exc: ServiceError) -> JSONResponse:
        return service_error_response(exc)

    async def library_error(_: Request, exc: Exception) -> JSONResponse:
        return library_error_response(exc)

    for cls in LIBRARY_ERRORS:
        app.add_exception_handler(cls, library_error)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = [{"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]}
                   for e in exc.errors()]
        summary = "; ".join(f"{d['field']}: {d['message']}" for d in details[:5])
        return _json(422, "invalid_input", f"invalid request: {summary}", details)

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        code = HTTP_CODES.get(exc.status_code, "http_error")
        return _json(exc.status_code, code, str(exc.detail),
                     headers=dict(exc.headers) if exc.headers else None)

    @app.exception_handler(OperationalError)
    async def db_unavailable(_: Request, exc: OperationalError) -> JSONResponse:
        log.warning("database unavailable: %s", type(exc.orig).__name__)
        return db_unavailable_response()

    # A value the database cannot store (an integer past 64 bits, a NUL byte or an
    # over-long string on PostgreSQL) is the client's mistake wherever a schema let it in.
    @app.exception_handler(DataError)
    async def db_data_error(_: Request, exc: DataError) -> JSONResponse:
        return _json(422, "invalid_input", "a value in the request is out of range or cannot "
                     f"be stored ({type(exc.orig).__name__})")

    @app.exception_handler(OverflowError)
    async def overflow(_: Request, exc: OverflowError) -> JSONResponse:
        if "too large to convert" not in str(exc):  # arithmetic trouble of our own: a 500
            raise exc
        return _json(422, "invalid_input", "a number in the request is out of range "
                     "(integers are limited to 64 bits)")


class UnhandledErrorMiddleware:
    """The JSON 500 for anything no handler mapped, carrying the request id; the error is
    logged and not re-raised, so the keep-alive connection stays usable. A response that
    already started (a stream) can only be cut off: that error is re-raised."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_tracking(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, send_tracking)
        except Exception:
            log.exception("unhandled error")
            if started:
                raise
            response = _json(500, "internal_error",
                             "unexpected server error; quote the request id")
            await response(scope, receive, send)
