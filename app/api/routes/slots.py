"""Personalized page slots as JSON, and the embeddable snippet that renders them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse

from app.api.deps import PrincipalDep, RuntimeDep, SessionDep, require, widget_visitor
from app.errors import Forbidden, NotFound
from app.nba import slots
from app.nba.services_api import nba_of
from app.services import identity
from app.services.events import resolve_subjects

router = APIRouter(tags=["delivery"])
SNIPPET = Path(__file__).resolve().parents[2] / "web" / "slots.js"


@router.get("/slots/snippet.js", include_in_schema=False)
def snippet() -> FileResponse:
    return FileResponse(SNIPPET, media_type="text/javascript")


@router.get("/slots/{slot}", summary="A personalized page slot (JSON)")
def get_slot(slot: str, request: Request, rt: RuntimeDep, db: SessionDep,
             principal: PrincipalDep,
             customer_id: Annotated[str, Query(min_length=1, max_length=128)],
             k: Annotated[int, Query(ge=1, le=50)] = 8,
             session: Annotated[str | None, Query(max_length=128)] = None) -> dict[str, Any]:
    """`slot`: for_you, because_you_viewed, buy_again, new_in_style, home_row. A widget key
    may read its own visitor's slots (X-Visitor-Token)."""
    if slot not in slots.SLOTS:
        raise NotFound(f"no slot {slot!r}; slots: {', '.join(slots.SLOTS)}")
    nba = nba_of(rt)
    visitor = widget_visitor(request, rt, principal)
    if visitor is not None:
        if customer_id != visitor:
            raise Forbidden("a widget key may only read its own visitor's slots")
        resolve_subjects(db, {("visitor", visitor)})
        db.commit()
    profile = identity.resolve(db, customer_id)
    return slots.fill(db, nba.engine, profile, slot, k=k, session=session, ranker=nba.ranker)


@router.get("/customers/{customer_id}/email", summary="A rendered marketing email (HTML)",
            dependencies=[require("marketer", "developer", "admin")])
def email(customer_id: str, request: Request, rt: RuntimeDep, db: SessionDep,
          k: Annotated[int, Query(ge=1, le=20)] = 4,
          send: Annotated[bool, Query(description="Record it as sent (caps, repetition)")]
          = False) -> dict[str, Any]:
    """The next best email offer above the person's "for you" items. `sendable` false (and
    no HTML) when consent, quiet hours or a cap forbid an email now; `reason` says which."""
    from app.nba.email import render

    nba = nba_of(rt)
    profile = identity.resolve(db, customer_id)
    return render(db, nba.engine, profile, shop=rt.settings.shop_name, k=k, ranker=nba.ranker,
                  now=datetime.now(UTC), send=send, base_url=str(request.base_url).rstrip("/"))


FORM_FIELDS = ("email", "phone", "address", "loyalty")


@router.get("/customers/{customer_id}/form", summary="Profile fields to pre-populate a form")
def form(customer_id: str, request: Request, rt: RuntimeDep, db: SessionDep,
         principal: PrincipalDep) -> dict[str, Any]:
    """The person's own identifiers (as they gave them) and profile attributes, for a
    checkout or application form. A widget key may read only its own visitor's."""
    from sqlalchemy import select

    from app.db.models import Identifier

    principal.require("widget", "marketer", "developer", "admin")
    visitor = widget_visitor(request, rt, principal)
    if visitor is not None and customer_id != visitor:
        raise Forbidden("a widget key may only read its own visitor's form")
    root = identity.root_of(db, identity.resolve(db, customer_id))
    rows = db.execute(select(Identifier.kind, Identifier.raw, Identifier.value).where(
        Identifier.profile_id.in_(identity.cluster_ids(db, root.id)),
        Identifier.kind.in_(FORM_FIELDS)).order_by(Identifier.created_at.desc())).all()
    fields: dict[str, str] = {}
    for kind, raw, value in rows:
        fields.setdefault(kind, raw or value)
    attrs = {k: v for k, v in (root.attributes or {}).items()
             if k in ("first_name", "last_name", "name", "country", "city", "postcode")}
    return {"customer_id": root.id, "fields": fields | attrs}
