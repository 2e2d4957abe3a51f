"""Journeys: define, pause, watch (JSON and a monitor page)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from pydantic import BaseModel
from sqlalchemy import select

from app.api.deps import SessionDep, require
from app.nba.journeys import service
from app.nba.journeys.spec import JourneySpec
from app.nba.tables import JourneyRow

router = APIRouter(tags=["journeys"])
WRITE = require("marketer", "admin")
READ = require("marketer", "developer", "admin")
PAGE = Path(__file__).resolve().parents[2] / "web" / "journey.html"


class JourneyOut(BaseModel):
    id: str
    name: str
    status: str
    spec: dict[str, Any]
    created_at: datetime


def _out(row: JourneyRow) -> JourneyOut:
    return JourneyOut(id=row.id, name=row.name, status=row.status, spec=row.spec,
                      created_at=row.created_at)


@router.post("/journeys", response_model=JourneyOut, status_code=201, dependencies=[WRITE],
             summary="Define a journey (active at once)")
def create_journey(body: JourneySpec, db: SessionDep) -> JourneyOut:
    row = service.create(db, body)
    db.commit()
    return _out(row)


@router.get("/journeys", response_model=list[JourneyOut], dependencies=[READ])
def list_journeys(db: SessionDep) -> list[JourneyOut]:
    return [_out(r) for r in db.scalars(select(JourneyRow).order_by(JourneyRow.id))]


@router.post("/journeys/{journey_id}/pause", response_model=JourneyOut, dependencies=[WRITE],
             summary="Stop starting new runs (live runs finish)")
def pause(journey_id: str, db: SessionDep) -> JourneyOut:
    row = service.set_status(db, journey_id, "paused")
    db.commit()
    return _out(row)


@router.post("/journeys/{journey_id}/activate", response_model=JourneyOut,
             dependencies=[WRITE])
def activate(journey_id: str, db: SessionDep) -> JourneyOut:
    row = service.set_status(db, journey_id, "active")
    db.commit()
    return _out(row)


@router.get("/journeys/{journey_id}/runs", dependencies=[READ],
            summary="Each customer's state in the journey")
def runs(journey_id: str, db: SessionDep) -> dict[str, Any]:
    return service.monitor(db, journey_id)


@router.get("/journeys/{journey_id}/page", response_class=HTMLResponse,
            include_in_schema=False)
def page(journey_id: str) -> HTMLResponse:
    safe = json.dumps(journey_id).replace("<", "\\u003c").replace(">", "\\u003e")
    return HTMLResponse(PAGE.read_text().replace('"{{JOURNEY_ID}}"', safe))
