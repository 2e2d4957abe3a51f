"""API key management (admin only) and the widget's visitor session."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Body, Request
from pydantic import BaseModel, ConfigDict, Field

from app.api.deps import PrincipalDep, RuntimeDep, SessionDep, require, visitor_tokens
from app.db.models import AuditLog
from app.services import auth
from app.services.auth import Role, create_key
from app.services.tombstones import refuse_erased_visitor

router = APIRouter(tags=["keys"])


class KeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"role": "widget", "name": "shop.example.com widget"}]})
    role: Role
    name: str = Field("", max_length=120)


class KeyOut(BaseModel):
    id: int
    role: str
    name: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None = None
    key: str | None = Field(None, description="The secret; shown once, at creation.")


@router.post("/keys", response_model=KeyOut, status_code=201, dependencies=[require("admin")],
             summary="Create an API key")
def create(body: KeyIn, db: SessionDep, principal: PrincipalDep) -> KeyOut:
    row, key = create_key(db, body.role, body.name)
    db.add(AuditLog(actor=f"key:{principal.key_id}", action="key.create", subject=None,
                    details={"key_id": row.id, "role": body.role}))
    db.commit()
    return KeyOut(**KeyOut.model_validate(row, from_attributes=True).model_dump(exclude={"key"}),
                  key=key)


@router.get("/keys", response_model=list[KeyOut], dependencies=[require("admin")],
            summary="List API keys (without secrets)")
def list_keys(db: SessionDep) -> list[KeyOut]:
    return [KeyOut.model_validate(r, from_attributes=True) for r in auth.list_keys(db)]


@router.delete("/keys/{key_id}", response_model=KeyOut, dependencies=[require("admin")],
               summary="Revoke an API key",
               responses={409: {"description": "The last live admin key cannot be revoked"}})
def revoke(key_id: int, rt: RuntimeDep, db: SessionDep, principal: PrincipalDep) -> KeyOut:
    row = auth.revoke_key(db, key_id, actor=f"key:{principal.key_id}")
    db.commit()
    rt.keys.clear()
    return KeyOut.model_validate(row, from_attributes=True)


class WidgetSessionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    visitor_token: str | None = Field(None, description="Resume a visitor the browser knows.")


class WidgetSessionOut(BaseModel):
    visitor_id: str
    visitor_token: str = Field(description="Send as X-Visitor-Token with calls made with the "
                               "same widget key; it expires (TAILOR_VISITOR_TOKEN_MAX_AGE_"
                               "SECONDS) and a response header X-Visitor-Token-Refresh "
                               "replaces it past half its life.")


@router.post("/widget/session", response_model=WidgetSessionOut,
             summary="Start or resume an anonymous visitor (widget keys)")
def widget_session(request: Request, rt: RuntimeDep, principal: PrincipalDep,
                   body: Annotated[WidgetSessionIn | None, Body()] = None) -> WidgetSessionOut:
    principal.require("widget", "developer", "admin")
    tokens = visitor_tokens(rt)
    if body and body.visitor_token:
        # Resuming always re-issues: each page load rolls the visitor's expiry forward.
        visitor, _ = tokens.verify(body.visitor_token, principal.key_id)
        with rt.sessions() as db:
            refuse_erased_visitor(db, visitor)
    else:
        visitor = "v-" + secrets.token_hex(8)
    return WidgetSessionOut(visitor_id=visitor,
                            visitor_token=tokens.issue(visitor, principal.key_id))
