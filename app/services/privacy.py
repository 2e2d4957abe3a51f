"""Export and erasure of everything held about a person (GDPR art. 15, 17, 20).

`PERSONAL_TABLES` is the list erasure walks; a test checks that every table in the schema is
either listed here or declared free of personal data, so a new table cannot be forgotten.

Erasure wins races (docs/privacy.md): it locks the person's profiles first (writers hold
them while they insert, `tombstones.hold`), tombstones their identities in the same
transaction as the deletes, and on SQLite checkpoints the WAL afterwards (`scrub`) so the
deleted bytes leave the disk too.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, delete, or_, select, update
from sqlalchemy.orm import Session

from app.creatives.models import CreativeRow
from app.db.base import Base
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
from app.errors import NotFound
from app.nba import tables as nba_tables
from app.services import tombstones
from app.services.identity import STRONG_KINDS, cluster_ids, root_of

log = logging.getLogger(__name__)

# Tables that never hold personal data. `tombstones` holds keyed hashes of erased
# identities, kept on purpose: they are what refuses late writes about the person.
NON_PERSONAL_TABLES = frozenset({"items", "catalog_changes", "api_keys", "alembic_version",
                                 "tombstones"})
PERSONAL_TABLES = frozenset({"profiles", "identifiers", "merges", "consents", "events",
                             "chat_sessions", "messages", "customer_states", "audit_log"})
# The learning outbox holds event ids only; its rows go with their events (ON DELETE CASCADE).
NON_PERSONAL_TABLES |= {"learn_pending"}
# The next-best-action layer: its rows about a person all carry `profile_id`.
PERSONAL_TABLES |= set(nba_tables.PERSONAL)
NON_PERSONAL_TABLES |= set(nba_tables.NON_PERSONAL)
# Creatives made for a named customer hold their brief and profile snapshot; saved
# audiences are filters and imagined personas (no person).
PERSONAL_TABLES |= {"creatives"}
NON_PERSONAL_TABLES |= {"audiences"}
# Per-scope counters of the per-worker caches (app/db/versions.py): no person in them.
NON_PERSONAL_TABLES |= {"cache_versions"}


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
        **{name: [dict(r._mapping) for r in db.execute(
            select(table).where(table.c.profile_id.in_(ids)))]
           for name in nba_tables.PERSONAL
           for table in (Base.metadata.tables[name],)},
        "creatives": [_row(r) for r in db.scalars(
            select(CreativeRow).where(CreativeRow.profile_id.in_(ids)))],
    }


def erase(db: Session, profile: Profile, *, actor: str = "api") -> tuple[list[str], dict[str, int]]:
    """Deletes the person's rows everywhere and tombstones their identities; returns the
    erased profile ids and row counts. The caller commits, then runs the erase hooks (model
    caches, indexes) and `scrub`. NotFound if a concurrent erasure got there first."""
    root = root_of(db, profile)
    ids = _lock_cluster(db, root.id)
    idents = db.execute(select(Identifier.kind, Identifier.value).where(
        Identifier.profile_id.in_(ids), Identifier.kind.in_(STRONG_KINDS))).tuples().all()
    tombstones.record(db, [*idents, *(("profile", pid) for pid in ids)])
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
    for name in nba_tables.PERSONAL:
        table = Base.metadata.tables[name]
        run(name, delete(table).where(table.c.profile_id.in_(ids)))
    run("creatives", delete(CreativeRow).where(CreativeRow.profile_id.in_(ids)))
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


def _lock_cluster(db: Session, root_id: str) -> list[str]:
    """The cluster's profile ids, locked against writers; re-read after locking, since a
    merge may have joined a profile meanwhile."""
    ids: list[str] = []
    for _ in range(5):
        fresh = cluster_ids(db, root_id)
        if not tombstones.lock_for_erasure(db, fresh) >= {root_id}:
            raise NotFound("this customer was just erased by another request")
        if set(fresh) == set(ids):
            break
        ids = fresh
    return ids


def scrub(engine: Engine) -> bool:
    """After an erasure commits: SQLite keeps the old pages (the erased email, the chat text)
    in the `-wal` file until a checkpoint; copy them into the database file (where
    secure_delete zeroed them) and truncate the WAL. True when done; PostgreSQL: nothing to
    do here (VACUUM reclaims dead rows, see docs/privacy.md)."""
    if engine.dialect.name != "sqlite":
        return True
    with engine.connect() as conn:
        busy, _log_frames, _done = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
    if busy:
        log.warning("WAL not checkpointed after an erasure (readers busy); the erased rows "
                    "stay in the -wal file until the next checkpoint")
    return not busy
