"""FastAPI dependencies: database session, runtime, authentication, rate limits, and the
components and the person a route works with.

Routes declare what they need with the aliases below (`SearchDep`, `PrefsDep`, `ChatDep`,
`SubjectDep`, ...); a disabled component is a 503 here, so no route checks for it. FastAPI
runs dependencies before it reports the request's validation errors, so a route that takes
client input calls `get_search(rt)` (etc.) in its body instead: a bad request stays a 422
on a server where the component is disabled. Every dependency that touches the database is
a plain `def`: FastAPI runs it on the thread pool, never on the event loop."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from functools import lru_cache
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from app.chat.pipeline import TurnPipeline
from app.errors import DependencyUnavailable, Forbidden
from app.runtime import Runtime
from app.services.auth import Principal, Role, VisitorTokens
from app.services.personalization import Personalization
from app.services.search import SearchRuntime
from app.services.subjects import Subject, subject
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


def get_visitor(request: Request, rt: RuntimeDep, principal: PrincipalDep) -> str | None:
    return widget_visitor(request, rt, principal)


# The widget's own visitor (None for staff keys): the visitor-token check, written once.
VisitorDep = Annotated[str | None, Depends(get_visitor)]


def own_visitor(visitor: str | None, customer_id: str | None, refusal: str) -> None:
    """A widget key acts only for the visitor its token names."""
    if visitor is not None and customer_id != visitor:
        raise Forbidden(refusal)


def get_search(rt: RuntimeDep) -> SearchRuntime:
    if rt.search is None:
        raise DependencyUnavailable("search is not enabled on this server")
    return rt.search


def get_prefs(rt: RuntimeDep) -> Personalization:
    if rt.prefs is None:
        raise DependencyUnavailable("personalization is not enabled on this server")
    return rt.prefs


def get_chat(rt: RuntimeDep) -> TurnPipeline:
    if rt.chat is None:
        raise DependencyUnavailable("the chat assistant is not enabled on this server")
    return rt.chat


SearchDep = Annotated[SearchRuntime, Depends(get_search)]
PrefsDep = Annotated[Personalization, Depends(get_prefs)]
ChatDep = Annotated[TurnPipeline, Depends(get_chat)]


def get_subject(customer_id: str, rt: RuntimeDep, visitor: VisitorDep) -> Subject:
    """The person of a `/customers/{customer_id}/...` route with their consent; a widget's
    own visitor gets a profile on first sight, staff get 404 for someone unknown."""
    own_visitor(visitor, customer_id, "a widget key may only act for its own visitor")
    with rt.sessions() as db:
        found = subject(db, customer_id, create="visitor" if visitor is not None else None,
                        personalization_default=rt.settings.default_consent_personalization)
        db.commit()
        return found


SubjectDep = Annotated[Subject, Depends(get_subject)]
