"""Next best action, its stored decisions, propensities and channel preferences."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictBool, field_validator
from sqlalchemy import select

from app.api.deps import PrincipalDep, RuntimeDep, SessionDep, require
from app.db.models import AuditLog
from app.errors import InvalidInput, NotFound
from app.nba.explain import view
from app.nba.facts import load
from app.nba.offer_spec import Channel
from app.nba.services_api import nba_of
from app.nba.tables import DecisionRow
from app.services import consent, identity, tombstones

router = APIRouter(tags=["next best action"])
STAFF = require("marketer", "developer", "admin")


class NbaIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"channels": ["email", "web"], "k": 1, "deliver": False}]})

    channels: list[Channel] = Field(min_length=1, max_length=6)
    k: int = Field(1, ge=1, le=10, description="Actions to choose (anti-conflict applies).")
    session: str | None = Field(None, max_length=128, description="Dynamic prices stay the "
                                "same within a session (default: the customer's local day).")
    deliver: bool = Field(False, description="Record the chosen actions as delivered (caps, "
                          "anti-repetition) and queue webhooks for outbound channels.")
    include_items: bool = True
    at: AwareDatetime | None = Field(None, description="Decide as of this time (replays, "
                                     "simulations), 2000-2100; default now.")

    @field_validator("at")
    @classmethod
    def _sane(cls, v: datetime | None) -> datetime | None:
        return _in_range(v)


def _in_range(v: datetime | None) -> datetime | None:
    if v is not None and not 2000 <= v.astimezone(UTC).year < 2100:
        raise ValueError("must be between the years 2000 and 2100")
    return v


class DecisionOut(BaseModel):
    id: str
    customer_id: str
    at: datetime
    channels: list[str]
    chosen: list[dict[str, Any]]
    candidates: list[dict[str, Any]]
    rules: list[dict[str, Any]]
    context: dict[str, Any]
    explanation: list[str]
    timing_ms: dict[str, float] | None = Field(None, description="Where this decision's "
                                               "time went (only when it was just made).")


@router.post("/customers/{customer_id}/next-best-action", response_model=DecisionOut,
             dependencies=[STAFF], summary="Decide the next best action for a customer")
def next_best_action(customer_id: str, body: NbaIn, rt: RuntimeDep) -> DecisionOut:
    """Ranks candidate actions (active offers on each channel, items from the decision path)
    by expected value = p(response) x margin - cost, then lets the business rules override
    (eligibility, consent per channel, sensitive topics, quiet hours in the customer's time
    zone, frequency caps, anti-repetition, anti-conflict). The decision is stored:
    `GET /v1/decisions/{id}` explains it."""
    nba = nba_of(rt)
    out = nba.engine.decide(customer_id, list(dict.fromkeys(body.channels)), k=body.k,
                            session=body.session, now=body.at, deliver=body.deliver,
                            include_items=body.include_items)
    return DecisionOut(**out)


@router.get("/decisions/{decision_id}", response_model=DecisionOut, dependencies=[STAFF],
            summary="A stored decision with its candidates, scores, rules and reasons")
def get_decision(decision_id: str, db: SessionDep) -> DecisionOut:
    row = db.get(DecisionRow, decision_id)
    if row is None:
        raise NotFound(f"no decision {decision_id!r}")
    return DecisionOut(**view(row))


@router.get("/customers/{customer_id}/decisions", response_model=list[DecisionOut],
            dependencies=[STAFF])
def customer_decisions(customer_id: str, db: SessionDep,
                       limit: Annotated[int, Query(ge=1, le=100)] = 20) -> list[DecisionOut]:
    ids = identity.cluster_ids(db, identity.root_of(db, identity.resolve(db, customer_id)).id)
    rows = db.scalars(select(DecisionRow).where(DecisionRow.profile_id.in_(ids))
                      .order_by(DecisionRow.at.desc()).limit(limit))
    return [DecisionOut(**view(r)) for r in rows]


class PropensityOut(BaseModel):
    customer_id: str
    propensities: dict[str, dict[str, Any]]
    features: dict[str, float]
    model: str


@router.get("/customers/{customer_id}/propensities", response_model=PropensityOut,
            dependencies=[STAFF], summary="Propensities (buy in 7/30 days, churn, trade-up, "
            "discount response) with their drivers")
def propensities(customer_id: str, rt: RuntimeDep, db: SessionDep,
                 at: Annotated[AwareDatetime | None, Query()] = None) -> PropensityOut:
    nba = nba_of(rt)
    try:
        now = _in_range(at) or datetime.now(UTC)
    except ValueError as exc:
        raise InvalidInput(f"at: {exc}") from exc
    facts = load(db, identity.resolve(db, customer_id), now,
                 personalization_default=rt.settings.default_consent_personalization)
    props, feats = nba.propensities.predict(facts, now)
    return PropensityOut(
        customer_id=facts.pid, model=nba.propensities.source,
        features={k: round(v, 4) for k, v in feats.items()},
        propensities={t: {"p": round(p.p, 4), "drivers": [
            {"feature": d.feature, "text": d.text, "value": round(d.value, 4),
             "contribution": round(d.contribution, 4)} for d in p.drivers]}
            for t, p in props.items()})


@router.post("/propensities/refit", dependencies=[require("admin")],
             summary="Refit the propensity models on this shop's purchase events")
def refit(rt: RuntimeDep, db: SessionDep) -> dict[str, Any]:
    nba = nba_of(rt)
    return nba.propensities.refit(db, datetime.now(UTC))


class ChannelsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: StrictBool | None = None
    push: StrictBool | None = None
    sms: StrictBool | None = None
    source: str = Field("api", max_length=60)


@router.put("/customers/{customer_id}/channels", dependencies=[STAFF],
            summary="Per-channel contact preferences (on top of `marketing` consent)")
def put_channels(customer_id: str, body: ChannelsIn, db: SessionDep,
                 principal: PrincipalDep, rt: RuntimeDep) -> dict[str, Any]:
    decisions = {f"channel_{k}": v for k, v in
                 body.model_dump(exclude_none=True, exclude={"source"}).items()}
    if not decisions:
        raise InvalidInput("give at least one channel: email, push, sms")
    profile = identity.resolve(db, customer_id)
    root = identity.root_of(db, profile)
    tombstones.require_live(db, root.id)
    consent.record(db, profile, decisions, source=body.source)
    db.add(AuditLog(actor=f"key:{principal.key_id}", action="channels.update",
                    subject=root.id, details=decisions))
    db.commit()
    state = consent.current(db, profile, rt.settings.default_consent_personalization)
    return {"customer_id": root.id, "channels": {
        k.removeprefix("channel_"): v for k, v in state.items() if k.startswith("channel_")}}


