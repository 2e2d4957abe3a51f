"""Export and erasure of everything held about a person (GDPR art. 15, 17, 20).

`PERSONAL_TABLES` is the list erasure walks; a test checks that every table in the schema is
either listed here or declared free of personal data, so a new table cannot be forgotten.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from app.db.models import (
    AuditLog,
    ChatSession,
    Consent,
    CustomerState,
    Event,
    Identifier,
    Merge,
    Message,
    Profile,
)
from app.services.identity import cluster_ids, root_of

# Tables that never hold personal data.
NON_PERSONAL_TABLES = frozenset({"items", "catalog_changes", "api_keys", "alembic_version"})
PERSONAL_TABLES = frozenset({"profiles", "identifiers", "merges", "consents", "events",
                             "chat_sessions", "messages", "customer_states", "audit_log"})
# The learning outbox holds event ids only; its rows go with their events (ON DELETE CASCADE).
NON_PERSONAL_TABLES |= {"learn_pending"}


def _row(obj: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for col in obj.__table__.columns:
        value = getattr(obj, col.key)
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, bytes):
            value = base64.b64encode(value).decode()
        out[col.key] = value
    return out


def export(db: Session, profile: Profile) -> dict[str, Any]:
    root = root_of(db, profile)
    ids = cluster_ids(db, root.id)
    sessions = db.scalars(select(ChatSession).where(ChatSession.profile_id.in_(ids))).all()
    return {
        "format": "tailor.customer-export/v1",
        "exported_at": datetime.now(UTC).isoformat(),
        "customer": root.id,
        "profiles": [_row(p) for p in db.scalars(select(Profile).where(Profile.id.in_(ids)))],
        "identifiers": [_row(r) for r in db.scalars(
            select(Identifier).where(Identifier.profile_id.in_(ids)))],
        "merges": [_row(r) for r in db.scalars(select(Merge).where(
            or_(Merge.survivor_id.in_(ids), Merge.merged_id.in_(ids))))],
        "consents": [_row(r) for r in db.scalars(
            select(Consent).where(Consent.profile_id.in_(ids)).order_by(Consent.at))],
        "events": [_row(r) for r in db.scalars(
            select(Event).where(Event.profile_id.in_(ids)).order_by(Event.occurred_at))],
        "chat_sessions": [_row(s) for s in sessions],
        "messages": [_row(r) for r in db.scalars(
            select(Message).where(Message.profile_id.in_(ids)).order_by(Message.at))],
        "preference_state": [_row(r) for r in db.scalars(
            select(CustomerState).where(CustomerState.profile_id.in_(ids)))],
        "audit_log": [_row(r) for r in db.scalars(
            select(AuditLog).where(AuditLog.subject.in_(ids)))],
    }


def erase(db: Session, profile: Profile, *, actor: str = "api") -> tuple[list[str], dict[str, int]]:
    """Deletes the person's rows everywhere; returns the erased profile ids and row counts.
    The caller commits and then runs the erase hooks (model caches, indexes)."""
    root = root_of(db, profile)
    ids = cluster_ids(db, root.id)
    counts: dict[str, int] = {}

    def run(name: str, stmt: Any) -> None:
        counts[name] = int(getattr(db.execute(stmt), "rowcount", 0) or 0)

    run("messages", delete(Message).where(Message.profile_id.in_(ids)))
    run("chat_sessions", delete(ChatSession).where(ChatSession.profile_id.in_(ids)))
    run("events", delete(Event).where(Event.profile_id.in_(ids)))
    run("customer_states", delete(CustomerState).where(CustomerState.profile_id.in_(ids)))
    run("consents", delete(Consent).where(Consent.profile_id.in_(ids)))
    run("identifiers", delete(Identifier).where(Identifier.profile_id.in_(ids)))
    run("merges", delete(Merge).where(or_(Merge.survivor_id.in_(ids), Merge.merged_id.in_(ids))))
    run("audit_log", delete(AuditLog).where(AuditLog.subject.in_(ids)))
    # Break the merge chain first so no foreign key points at a deleted row.
    db.execute(update(Profile).where(Profile.id.in_(ids)).values(merged_into=None))
    run("profiles", delete(Profile).where(Profile.id.in_(ids)))
    # The erasure itself is recorded without anything that identifies the person: a one-way
    # hash lets the operator answer "was this request carried out?" given the id.
    digest = hashlib.sha256(root.id.encode()).hexdigest()[:16]
    db.add(AuditLog(actor=actor, action="customer.erase", subject=None,
                    details={"subject_sha256_16": digest, "rows": counts}))
    db.flush()
    return ids, counts
