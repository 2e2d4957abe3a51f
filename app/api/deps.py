"""FastAPI dependencies: database session, runtime, authentication, rate limits."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from functools import lru_cache
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from app.runtime import Runtime
from app.services.auth import Principal, Role, VisitorTokens
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


IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(cidrs: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(c, strict=False) for c in cidrs)


def _trusted(address: str, networks: tuple[IPNetwork, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)


def client_ip(request: Request, trusted_proxies: tuple[str, ...] = ()) -> str:
    """The address a rate limit should count: the direct peer, unless that peer is one of
    our own proxies; then the right-most X-Forwarded-For hop that is not ours (the hops to
    its left were written by the client and prove nothing)."""
    peer = request.client.host if request.client else "unknown"
    networks = _networks(trusted_proxies)
    if not networks or not _trusted(peer, networks):
        return peer
    hops = [h.strip() for v in request.headers.getlist("x-forwarded-for") for h in v.split(",")]
    for hop in reversed([h for h in hops if h]):
        if not _trusted(hop, networks):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer  # garbage from the client side of the proxy: count the proxy
    return peer


def get_principal(request: Request, rt: RuntimeDep, db: SessionDep) -> Principal:
    principal = rt.keys.authenticate(db, _api_key(request))
    if principal.role == "widget" and rt.settings.rate_limit_enabled:
        # Widget keys are public (embedded in a page): limit per key and client.
        ip = client_ip(request, rt.settings.trusted_proxies)
        rt.limiter.hit(f"k{principal.key_id}:{ip}")
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
        rt.limiter.hit(f"ip:{client_ip(request, rt.settings.trusted_proxies)}")


PublicLimit = Depends(public_rate_limit)


def visitor_tokens(rt: Runtime) -> VisitorTokens:
    return VisitorTokens(rt.secret, max_age=rt.settings.visitor_token_max_age_seconds,
                         previous=rt.settings.secret_key_previous)


def widget_visitor(request: Request, rt: RuntimeDep, principal: Principal) -> str | None:
    """The visitor a widget key acts for (from its signed token); None for other roles.

    A token past half its life is re-issued: the request middleware sends the new one in
    the X-Visitor-Token-Refresh header (whatever response class the route returns)."""
    if principal.role != "widget":
        return None
    visitor, refresh = visitor_tokens(rt).verify(request.headers.get("x-visitor-token"),
                                                 principal.key_id)
    with rt.sessions() as db:
        refuse_erased_visitor(db, visitor)
    if refresh is not None:
        request.state.visitor_token_refresh = refresh
    return visitor
