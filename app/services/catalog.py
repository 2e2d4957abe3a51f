"""Catalog storage: bulk upsert, listing, deletion, file import with a rejected-row report.

Rows are read back through the same `Item` schema that accepted them. A row that no longer
passes (written by an older version, or by hand) is skipped and reported, never raised:
one bad row must not take listing, search or the index follower down with it."""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import delete, func, insert, or_, select
from sqlalchemy.orm import Session

from app.db.models import CatalogChange, ItemRow
from app.db.upsert import upsert
from retrieval.catalog import Item, RowError, describe_validation_error, is_item_id, safe_text

log = logging.getLogger(__name__)
CatalogListener = Callable[[Sequence[Item], Sequence[str]], None]  # (upserted, removed ids)


class UnreadableItem(Exception):
    """A stored row that the item schema rejects; `reason` names the fields."""

    def __init__(self, item_id: str, reason: str) -> None:
        super().__init__(f"stored item {item_id!r} is unreadable: {reason}")
        self.item_id = item_id
        self.reason = reason


# Ids already logged as unreadable by this process: each is logged once, not on every read.
_logged: set[str] = set()
_logged_lock = threading.Lock()


def _log_once(bad: UnreadableItem) -> None:
    with _logged_lock:
        if bad.item_id in _logged or len(_logged) >= 10_000:
            return
        _logged.add(bad.item_id)
    log.warning("skipping unreadable catalog row %s (%s); fix it with PUT /v1/items or "
                "delete it", safe_text(bad.item_id), bad.reason)


def row_to_item(row: ItemRow) -> Item:
    """The stored row as an Item; UnreadableItem if it fails the schema."""
    try:
        return Item(
            id=row.id, title=row.title, description=row.description, category=row.category,
            brand=row.brand, price=row.price, currency=row.currency, cost=row.cost,
            margin=row.margin, stock=row.stock, attributes=row.attributes or {},
            image_url=row.image_url, tags=row.tags or [],
            sensitive_topics=row.sensitive_topics or [], active=row.active)
    except (ValidationError, TypeError, ValueError) as exc:
        reasons = (describe_validation_error(exc) if isinstance(exc, ValidationError)
                   else [f"{type(exc).__name__}: {exc}"])
        raise UnreadableItem(row.id, "; ".join(reasons)) from exc


def _readable(rows: Iterable[ItemRow], unreadable: dict[str, str] | None = None) -> list[Item]:
    """The rows that pass the schema; the others are logged once and, if asked, collected
    into `unreadable` (id -> reason)."""
    out: list[Item] = []
    for row in rows:
        try:
            out.append(row_to_item(row))
        except UnreadableItem as bad:
            _log_once(bad)
            if unreadable is not None:
                unreadable[bad.item_id] = bad.reason
    return out


def _values(item: Item, now: datetime) -> dict[str, Any]:
    data = item.model_dump()
    data["content_hash"] = hashlib.sha256(item.search_text().encode()).hexdigest()
    data["updated_at"] = now
    return data


def upsert_items(db: Session, items: Sequence[Item]) -> int:
    if not items:
        return 0
    now = datetime.now(UTC)
    # Last write wins within one batch, like it does across batches.
    unique = {item.id: item for item in items}
    rows = [_values(i, now) for i in unique.values()]
    for start in range(0, len(rows), 500):
        upsert(db, ItemRow, rows[start:start + 500], key=["id"])
    db.execute(insert(CatalogChange), [{"item_id": i, "op": "upsert", "at": now} for i in unique])
    return len(rows)


def delete_items(db: Session, ids: Sequence[str]) -> int:
    result = db.execute(delete(ItemRow).where(ItemRow.id.in_(list(ids))))
    n = int(getattr(result, "rowcount", 0) or 0)
    if n:
        now = datetime.now(UTC)
        db.execute(insert(CatalogChange), [{"item_id": i, "op": "delete", "at": now} for i in ids])
    return n


def get_item(db: Session, item_id: str) -> Item | None:
    """The item, None if there is none; UnreadableItem if its stored row is bad."""
    if not is_item_id(item_id):
        return None  # no stored row can have this id: don't send it to the database
    row = db.get(ItemRow, item_id)
    if row is None:
        return None
    try:
        return row_to_item(row)
    except UnreadableItem as bad:
        _log_once(bad)
        raise


def list_items(db: Session, *, limit: int = 50, offset: int = 0, category: str | None = None,
               in_stock: bool | None = None) -> tuple[list[Item], int]:
    query = select(ItemRow).where(ItemRow.active.is_(True))
    if category:
        # Category subtree: "Home" matches "Home" and "Home > Kitchen".
        query = query.where((ItemRow.category == category)
                            | ItemRow.category.startswith(category + " > "))
    if in_stock is not None:
        # Unknown stock (NULL) counts as available; only a known 0 is out of stock.
        query = query.where(or_(ItemRow.stock.is_(None), ItemRow.stock > 0) if in_stock
                            else ItemRow.stock == 0)
    total = db.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.scalars(query.order_by(ItemRow.id).limit(limit).offset(offset)).all()
    # `total` counts stored rows; a page can be short by the unreadable ones it skipped.
    return _readable(rows), int(total)


def all_items(db: Session, unreadable: dict[str, str] | None = None) -> list[Item]:
    """Every readable item; unreadable rows are skipped (and collected if asked)."""
    return _readable(db.scalars(select(ItemRow).order_by(ItemRow.id)), unreadable)


def items_by_id(db: Session, ids: Iterable[str], unreadable: dict[str, str] | None = None
                ) -> dict[str, Item]:
    """The readable items among `ids`; unreadable rows are skipped (and collected)."""
    wanted = list(set(ids))
    out: dict[str, Item] = {}
    for start in range(0, len(wanted), 900):
        rows = db.scalars(select(ItemRow).where(ItemRow.id.in_(wanted[start:start + 900])))
        out.update({i.id: i for i in _readable(rows, unreadable)})
    return out


def changes_since(db: Session, after: int, limit: int = 5000) -> list[tuple[int, str, str]]:
    rows = db.execute(select(CatalogChange.id, CatalogChange.item_id, CatalogChange.op)
                      .where(CatalogChange.id > after).order_by(CatalogChange.id).limit(limit))
    return [(int(i), str(item), str(op)) for i, item, op in rows]


def last_change_id(db: Session) -> int:
    return int(db.scalar(select(func.max(CatalogChange.id))) or 0)


def existing_ids(db: Session, ids: Iterable[str]) -> set[str]:
    wanted = list(set(ids))
    found: set[str] = set()
    for start in range(0, len(wanted), 900):
        chunk = wanted[start:start + 900]
        found.update(db.scalars(select(ItemRow.id).where(ItemRow.id.in_(chunk))))
    return found


@dataclass
class ImportReport:
    """Every row is counted once: `rows == accepted + len(rejected)`. A later row with the
    same id as an earlier one is accepted and replaces it (last write wins)."""

    accepted: int = 0
    rejected: list[RowError] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return self.accepted + len(self.rejected)

    def as_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "accepted": self.accepted,
                "rejected_count": len(self.rejected),
                "rejected": [{"row": r.row, "id": r.item_id, "reasons": r.reasons}
                             for r in self.rejected]}


def import_rows(db: Session, rows: Iterable[Item | RowError], *, batch: int = 500,
                on_batch: Callable[[int], None] | None = None,
                listener: CatalogListener | None = None) -> ImportReport:
    report = ImportReport()
    pending: list[Item] = []

    def flush() -> None:
        if pending:
            upsert_items(db, pending)
            db.commit()
            report.accepted += len(pending)  # rows, not distinct ids: each row is counted
            if listener:
                listener(list(pending), [])
            if on_batch:
                on_batch(len(pending))
            pending.clear()

    for result in rows:
        if isinstance(result, RowError):
            report.rejected.append(result)
            if on_batch:
                on_batch(1)
            continue
        pending.append(result)
        if len(pending) >= batch:
            flush()
    flush()
    return report
