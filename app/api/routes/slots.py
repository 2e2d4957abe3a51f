"""Personalized page slots as JSON, and the embeddable snippet that renders them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse

from app.api.deps import PrincipalDep, RuntimeDep, SessionDep, widget_visitor
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
