"""FastAPI dependencies: database session, runtime, authentication, rate limits."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from app.runtime import Runtime
from app.services.auth import Principal, Role, verify_visitor
from app.services.tombstones import refuse_erased_visitor


def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime  # type: ignore[no-any-return]


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_db(rt: RuntimeDep) -> Iterator[Session]:
    session = rt.sessions()
    try:
        yield session
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_db)]


def _api_key(request: Request) -> str | None:
    auth = request.headers.get("authorization")
    if auth and auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return request.headers.get("x-api-key")


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def get_principal(request: Request, rt: RuntimeDep, db: SessionDep) -> Principal:
    principal = rt.keys.authenticate(db, _api_key(request))
    if principal.role == "widget" and rt.settings.rate_limit_enabled:
        # Widget keys are public (embedded in a page): limit per key and client.
        rt.limiter.hit(f"k{principal.key_id}:{client_ip(request)}")
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def get_optional_principal(request: Request, rt: RuntimeDep, db: SessionDep
                           ) -> Principal | None:
    """For public endpoints that do more for a caller with a key (personalization)."""
    if _api_key(request) is None:
        return None
    return get_principal(request, rt, db)


OptionalPrincipalDep = Annotated[Principal | None, Depends(get_optional_principal)]


def require(*roles: Role):  # type: ignore[no-untyped-def]
    def dep(principal: PrincipalDep) -> Principal:
        principal.require(*roles)
        return principal

    return Depends(dep)


def public_rate_limit(request: Request, rt: RuntimeDep) -> None:
    """For endpoints anyone may call (the storefront's catalog reads)."""
    if rt.settings.rate_limit_enabled:
        rt.limiter.hit(f"ip:{client_ip(request)}")


PublicLimit = Depends(public_rate_limit)


def widget_visitor(request: Request, rt: RuntimeDep, principal: Principal) -> str | None:
    """The visitor a widget key acts for (from its signed token); None for other roles."""
    if principal.role != "widget":
        return None
    visitor = verify_visitor(rt.secret, request.headers.get("x-visitor-token"))
    with rt.sessions() as db:
        refuse_erased_visitor(db, visitor)
    return visitor
