"""Cache versions: one counter per scope, bumped in the same transaction as any write to
the tables behind it, so a per-worker cache that compares its version with the stored one
before use can never serve a value older than the last commit.

    scope         bumped by writes to
    people        profiles (update, delete), identifiers (update, delete), merges,
                  consents: who is who, consent, profile attributes, erasure
    offers        nba_offers (any write, budgets included)
    experiments   nba_experiments
    journeys      nba_journeys
    catalog       items (prices and costs: the offers' economics)

The bump is hooked into the ORM (every `Session` flush and every `session.execute` of an
INSERT/UPDATE/DELETE), not into each service, so a new write path cannot forget it. New
profiles and identifiers do not bump `people`: no cache holds a person before they exist,
and caches are keyed by profile id, which an insert elsewhere cannot re-point. A write
that bypasses the Session (a raw DBAPI connection) must call `bump` itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import BigInteger, String, event, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, ORMExecuteState, Session, UOWTransaction, mapped_column
from sqlalchemy.sql.dml import Delete, Insert, Update

from app.db.base import Base

# table -> (scope, inserts count?)
WATCHED: dict[str, tuple[str, bool]] = {
    "profiles": ("people", False), "identifiers": ("people", False),
    "merges": ("people", True), "consents": ("people", True),
    "nba_offers": ("offers", True), "nba_experiments": ("experiments", True),
    "nba_journeys": ("journeys", True), "items": ("catalog", True)}
_PENDING = "_cache_versions_pending"


class CacheVersion(Base):
    __tablename__ = "cache_versions"

    scope: Mapped[str] = mapped_column(String(32), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, default=0)


_READ = select(CacheVersion.scope, CacheVersion.version)


def read(db: Session) -> dict[str, int]:
    """Every scope's version in one query (empty when the table is missing its rows: then
    nothing may be cached)."""
    return dict(db.connection().execute(_READ).tuples().all())


def bump(conn: Connection, scopes: Iterable[str]) -> None:
    # One row at a time in a fixed order: two transactions bumping the same scopes lock
    # them in the same order (no deadlock on PostgreSQL).
    for scope in sorted(set(scopes)):
        conn.execute(update(CacheVersion).where(CacheVersion.scope == scope)
                     .values(version=CacheVersion.version + 1))


def _table(obj: Any) -> str | None:
    table = getattr(obj, "__table__", None)
    return None if table is None else str(table.name)


@event.listens_for(Session, "before_flush")
def _collect(session: Session, _ctx: UOWTransaction, _instances: Any) -> None:
    scopes: set[str] = set()
    for obj in session.new:
        hit = WATCHED.get(_table(obj) or "")
        if hit and hit[1]:
            scopes.add(hit[0])
    for obj in (*session.dirty, *session.deleted):
        hit = WATCHED.get(_table(obj) or "")
        if hit and (obj in session.deleted or session.is_modified(obj)):
            scopes.add(hit[0])
    if scopes:
        session.info.setdefault(_PENDING, set()).update(scopes)


@event.listens_for(Session, "after_flush")
def _apply(session: Session, _ctx: UOWTransaction) -> None:
    scopes = session.info.pop(_PENDING, None)
    if scopes:
        bump(session.connection(), scopes)


@event.listens_for(Session, "do_orm_execute")
def _bulk(state: ORMExecuteState) -> None:
    stmt = state.statement
    if not isinstance(stmt, Insert | Update | Delete):
        return
    hit = WATCHED.get(str(getattr(stmt.table, "name", "")))
    if hit and (hit[1] or not isinstance(stmt, Insert)):
        bump(state.session.connection(), [hit[0]])
