"""The published contract: security schemes applied per operation, and every error status
an operation can answer documented with the shared error schema.

Derived from the routes themselves (which dependency authenticates, which path has
parameters, which method has a body), so a new route is documented without extra work.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel

from app.api.deps import get_optional_principal, get_principal, public_rate_limit
from app.schemas.errors import ErrorResponse

SECURITY_SCHEMES: dict[str, Any] = {
    "bearerAuth": {"type": "http", "scheme": "bearer",
                   "description": "`Authorization: Bearer <API key>`"},
    "apiKeyHeader": {"type": "apiKey", "in": "header", "name": "X-API-Key",
                     "description": "The same API key, for clients that cannot set "
                                    "Authorization."},
    "visitorToken": {"type": "apiKey", "in": "header", "name": "X-Visitor-Token",
                     "description": "Widget keys only: the token from POST "
                                    "/v1/widget/session, proving which visitor the call "
                                    "is for."},
}
Requirement = dict[str, list[str]]
KEY_ONLY: list[Requirement] = [{"bearerAuth": []}, {"apiKeyHeader": []}]
WITH_VISITOR: list[Requirement] = [{"bearerAuth": [], "visitorToken": []},
                                   {"apiKeyHeader": [], "visitorToken": []}]

# Operations where a widget key acts for its own visitor (the route checks the token).
VISITOR_OPERATIONS = frozenset({
    ("post", "/v1/chat"), ("post", "/v1/events"),
    ("get", "/v1/customers/{customer_id}/recommendations"),
    ("get", "/v1/customers/{customer_id}/preferences"),
    ("patch", "/v1/customers/{customer_id}/preferences"),
    ("get", "/v1/search"), ("get", "/v1/items/{item_id}/similar"),
})
# Operations without a path parameter that can still answer 404 (an unknown chat session).
NOT_FOUND_OPERATIONS = frozenset({("post", "/v1/chat")})
# Operations that can conflict with the stored state.
CONFLICT_OPERATIONS = frozenset({("post", "/v1/identify"),
                                 ("post", "/v1/merges/{merge_id}/undo")})
# A 422 that is not the error shape: the events batch answers with its per-event report.
OWN_422: dict[tuple[str, str], str] = {("post", "/v1/events"): "EventsResult"}

ERRORS = {
    400: "The body could not be read as UTF-8 JSON.",
    401: "Missing, unknown or revoked API key.",
    403: "The key's role may not call this, or a widget key acts for another visitor "
         "(or sent no valid X-Visitor-Token).",
    404: "Nothing with this id.",
    409: "Conflicts with the stored state.",
    413: "The body is over this endpoint's limit.",
    422: "Invalid input: `details` lists each field's problem.",
    429: "Too many requests from this public key or address; see Retry-After.",
    503: "A dependency is unavailable (database busy, model still loading); retry after "
         "Retry-After seconds.",
}
ERROR_REF = {"$ref": "#/components/schemas/ErrorResponse"}
BODY_METHODS = frozenset({"post", "put", "patch"})


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for dep in dependant.dependencies:
        if dep.call is not None:
            yield dep.call
        yield from _calls(dep)


def _auth(route: Any) -> str | None:
    calls = set(_calls(route.dependant))
    if get_principal in calls:
        return "required"
    if get_optional_principal in calls:
        return "optional"
    return None


def _security(auth: str, visitor: bool) -> list[Requirement]:
    options = [*KEY_ONLY, *(WITH_VISITOR if visitor else [])]
    return [{}, *options] if auth == "optional" else options


def _statuses(method: str, path: str, route: Any, auth: str | None) -> list[int]:
    out = [422, 503]
    if auth:
        out += [401, 403, 429]
    elif public_rate_limit in set(_calls(route.dependant)):
        out.append(429)
    if "{" in path or (method, path) in NOT_FOUND_OPERATIONS:
        out.append(404)
    if (method, path) in CONFLICT_OPERATIONS:
        out.append(409)
    if method in BODY_METHODS:
        out += [400, 413]
    return sorted(out)


def document(schema: dict[str, Any], routes: list[Any]) -> dict[str, Any]:
    """Add security and error responses to a generated OpenAPI document, in place."""
    comps = schema.setdefault("components", {})
    comps.setdefault("securitySchemes", {}).update(SECURITY_SCHEMES)
    _add_models(schema, [ErrorResponse])
    # Included routers keep their own routes: walk them with their effective full paths.
    for route in iter_route_contexts(routes):
        if not isinstance(route.original_route, APIRoute) or not route.include_in_schema:
            continue
        path = str(route.path_format)
        if not path.startswith("/v1/"):
            continue
        auth = _auth(route)
        for method in route.methods or ():
            op = schema["paths"].get(path, {}).get(method.lower())
            if op is None:
                continue
            key = (method.lower(), path)
            if auth:
                op["security"] = _security(auth, key in VISITOR_OPERATIONS)
            responses = op.setdefault("responses", {})
            for status in _statuses(key[0], path, route, auth):
                entry = responses.setdefault(str(status), {})
                entry.setdefault("description", ERRORS[status])
                ref: dict[str, Any] = ERROR_REF
                if key in OWN_422 and status == 422:
                    ref = {"anyOf": [{"$ref": f"#/components/schemas/{OWN_422[key]}"},
                                     ERROR_REF]}
                entry["content"] = {"application/json": {"schema": ref}}
    # FastAPI's own validation-error shape is never sent: ours replaces it.
    for name in ("HTTPValidationError", "ValidationError"):
        comps.get("schemas", {}).pop(name, None)
    return schema


def _add_models(schema: dict[str, Any], models: list[type[BaseModel]]) -> None:
    comps = schema.setdefault("components", {}).setdefault("schemas", {})
    for model in models:
        js = model.model_json_schema(ref_template="#/components/schemas/{model}")
        comps.update(js.pop("$defs", {}))
        comps[model.__name__] = js


def install(app: FastAPI, extra_models: list[type[BaseModel]]) -> None:
    """Routes that parse their body by hand (to reject events one by one) still document
    their schema: those models are added to the components too."""

    def custom() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(title=app.title, version=app.version,
                             description=app.description, routes=app.routes)
        _add_models(schema, extra_models)
        app.openapi_schema = document(schema, app.routes)
        return schema

    app.openapi = custom  # type: ignore[method-assign]
