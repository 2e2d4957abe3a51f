"""Offers (marketers and admins): CRUD, activate, pause."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from app.api.deps import SessionDep, require
from app.nba import fairness, offers
from app.nba.offer_spec import OfferSpec
from app.services import identity

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


class RedemptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    customer_id: str = Field(min_length=1, max_length=128)
    basket_value: float = Field(ge=0, allow_inf_nan=False)
    quantity: int = Field(1, ge=0)
    discount_amount: float = Field(ge=0, allow_inf_nan=False, description="What the offer "
                                   "took off this basket (currency): counts against max_spend")


@router.post("/offers/{offer_id}/redemptions", response_model=OfferOut,
             dependencies=[require("developer", "admin")],
             summary="Record a redemption (checks the hurdle and the budget)")
def redeem_offer(offer_id: str, body: RedemptionIn, db: SessionDep) -> OfferOut:
    who = identity.resolve(db, body.customer_id)  # 404 for someone unknown
    row = offers.redeem(db, offer_id, basket_value=body.basket_value,
                        quantity=body.quantity, discount_amount=body.discount_amount,
                        now=datetime.now(UTC), profile_id=who.id)
    db.commit()
    return OfferOut(**offers.view(row))
