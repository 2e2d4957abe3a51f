"""Webhook endpoints for push / SMS / email providers (admins and developers) and the
delivery log."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, HttpUrl
from sqlalchemy import select

from app.api.deps import SessionDep, require
from app.errors import NotFound
from app.nba.tables import DeliveryRow, WebhookRow
from app.nba.webhooks import HEADER, new_secret

router = APIRouter(tags=["delivery"])
ADMIN = require("admin", "developer")


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: HttpUrl
    channel: Literal["push", "sms", "email", "any"]


class WebhookOut(BaseModel):
    id: str
    url: str
    channel: str
    created_at: datetime
    secret: str | None = Field(None, description=f"Verifies the {HEADER} header; shown once.")


@router.post("/webhooks", response_model=WebhookOut, status_code=201, dependencies=[ADMIN],
             summary="Register a signed webhook for a channel")
def create_webhook(body: WebhookIn, db: SessionDep) -> WebhookOut:
    row = WebhookRow(id=uuid.uuid4().hex[:16], url=str(body.url), channel=body.channel,
                     secret=new_secret())
    db.add(row)
    db.commit()
    return WebhookOut(id=row.id, url=row.url, channel=row.channel, created_at=row.created_at,
                      secret=row.secret)


@router.get("/webhooks", response_model=list[WebhookOut], dependencies=[ADMIN])
def list_webhooks(db: SessionDep) -> list[WebhookOut]:
    return [WebhookOut(id=r.id, url=r.url, channel=r.channel, created_at=r.created_at)
            for r in db.scalars(select(WebhookRow).where(WebhookRow.active == 1))]


@router.delete("/webhooks/{webhook_id}", status_code=204, dependencies=[ADMIN])
def delete_webhook(webhook_id: str, db: SessionDep) -> None:
    row = db.get(WebhookRow, webhook_id)
    if row is None or not row.active:
        raise NotFound(f"no webhook {webhook_id!r}")
    row.active = 0
    db.commit()


@router.get("/webhooks/deliveries", dependencies=[ADMIN], summary="Recent webhook deliveries")
def deliveries(db: SessionDep, limit: Annotated[int, Query(ge=1, le=500)] = 50
               ) -> list[dict[str, Any]]:
    rows = db.scalars(select(DeliveryRow).order_by(DeliveryRow.id.desc()).limit(limit))
    return [{"id": r.id, "webhook_id": r.webhook_id, "customer_id": r.profile_id,
             "status": r.status, "attempts": r.attempts, "next_at": r.next_at,
             "last_error": r.last_error, "payload": r.payload} for r in rows]
