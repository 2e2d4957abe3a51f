"""Offers (marketers and admins): CRUD, activate, pause."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel

from app.api.deps import SessionDep, require
from app.nba import fairness, offers
from app.nba.offer_spec import OfferSpec

router = APIRouter(tags=["offers"])
WRITE = require("marketer", "admin")
READ = require("marketer", "admin", "developer")


class OfferOut(BaseModel):
    id: str
    name: str
    kind: str
    status: str
    spec: dict[str, Any]
    spent: float
    redemptions: int
    created_at: datetime
    updated_at: datetime
    warnings: list[str]


@router.post("/offers", response_model=OfferOut, status_code=201, dependencies=[WRITE],
             summary="Define an offer (created as a draft)")
def create_offer(body: OfferSpec, db: SessionDep) -> OfferOut:
    row, warnings = offers.create(db, body)
    db.commit()
    return OfferOut(**offers.view(row, warnings))


@router.get("/offers", response_model=list[OfferOut], dependencies=[READ])
def list_offers(db: SessionDep, status: Annotated[
        Literal["draft", "active", "paused"] | None, Query()] = None) -> list[OfferOut]:
    return [OfferOut(**offers.view(r)) for r in offers.listing(db, status)]


@router.get("/offers/{offer_id}", response_model=OfferOut, dependencies=[READ])
def get_offer(offer_id: str, db: SessionDep) -> OfferOut:
    return OfferOut(**offers.view(offers.get(db, offer_id)))


@router.put("/offers/{offer_id}", response_model=OfferOut, dependencies=[WRITE],
            summary="Replace an offer's definition")
def put_offer(offer_id: str, body: OfferSpec, db: SessionDep) -> OfferOut:
    row, warnings = offers.replace(db, offer_id, body)
    db.commit()
    return OfferOut(**offers.view(row, warnings))


@router.delete("/offers/{offer_id}", status_code=204, dependencies=[WRITE])
def delete_offer(offer_id: str, db: SessionDep) -> None:
    offers.delete(db, offer_id)
    db.commit()


@router.post("/offers/{offer_id}/activate", response_model=OfferOut, dependencies=[WRITE])
def activate_offer(offer_id: str, db: SessionDep) -> OfferOut:
    row = offers.set_status(db, offer_id, "active")
    db.commit()
    return OfferOut(**offers.view(row))


@router.post("/offers/{offer_id}/pause", response_model=OfferOut, dependencies=[WRITE])
def pause_offer(offer_id: str, db: SessionDep) -> OfferOut:
    row = offers.set_status(db, offer_id, "paused")
    db.commit()
    return OfferOut(**offers.view(row))


@router.get("/offers/{offer_id}/fairness", dependencies=[READ],
            summary="Fairness audit of an offer's dynamic prices")
def offer_fairness(offer_id: str, db: SessionDep) -> dict[str, Any]:
    offers.get(db, offer_id)  # 404 for an unknown offer
    return fairness.audit(db, offer_id)
