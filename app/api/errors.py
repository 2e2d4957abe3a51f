"""One JSON error shape for every failure: {"error": {"code", "message", "details"}}."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException

from app.errors import ServiceError
from app.logging import request_id_var

log = logging.getLogger(__name__)


def _json(status: int, code: str, message: str, details: Any = None,
          headers: dict[str, str] | None = None) -> JSONResponse:
    err: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        err["details"] = details
    rid = request_id_var.get()
    if rid:
        err["request_id"] = rid
    return JSONResponse({"error": err}, status_code=status, headers=headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(ServiceError)
    async def service_error(_: Request, exc: ServiceError) -> JSONResponse:
        return _json(exc.status, exc.code, exc.message, exc.details, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = [{"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]}
                   for e in exc.errors()]
        summary = "; ".join(f"{d['field']}: {d['message']}" for d in details[:5])
        return _json(422, "invalid_input", f"invalid request: {summary}", details)

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return _json(exc.status_code, code, str(exc.detail),
                     headers=dict(exc.headers) if exc.headers else None)

    @app.exception_handler(OperationalError)
    async def db_unavailable(_: Request, exc: OperationalError) -> JSONResponse:
        log.warning("database unavailable: %s", exc.orig)
        return _json(503, "unavailable", "the database is busy or unreachable; retry shortly",
                     headers={"Retry-After": "2"})

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return _json(500, "internal_error", "unexpected server error; quote the request id")
