"""Service errors and their HTTP mapping.

    ServiceError                 500 unless a subclass says otherwise
    ├── InvalidInput             422  a client mistake the schema could not catch
    ├── NotFound                 404
    ├── Conflict                 409
    │   └── Erased               409  the person was erased: late writes about them refused
    ├── PayloadTooLarge          413
    ├── Unauthorized             401  no key, or a key we do not know
    ├── Forbidden                403  a known key whose role may not do this
    ├── RateLimited              429  with Retry-After
    └── DependencyUnavailable    503  database busy, LLM down: retry later

Every error body has the same shape: {"error": {"code", "message", "details"}}.
"""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    status = 500
    code = "internal_error"

    def __init__(self, message: str, *, details: Any = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        err: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details is not None:
            err["details"] = self.details
        return {"error": err}


class InvalidInput(ServiceError):
    status, code = 422, "invalid_input"


class NotFound(ServiceError):
    status, code = 404, "not_found"


class Conflict(ServiceError):
    status, code = 409, "conflict"


class Erased(Conflict):
    """A write about a person who was erased (their identities are tombstoned)."""

    code = "erased"


class PayloadTooLarge(ServiceError):
    status, code = 413, "payload_too_large"


class Unauthorized(ServiceError):
    status, code = 401, "unauthorized"

    def __init__(self, message: str, **kw: Any) -> None:
        kw.setdefault("headers", {"WWW-Authenticate": 'Bearer realm="tailor"'})
        super().__init__(message, **kw)


class Forbidden(ServiceError):
    status, code = 403, "forbidden"


class RateLimited(ServiceError):
    status, code = 429, "rate_limited"


class DependencyUnavailable(ServiceError):
    status, code = 503, "unavailable"
