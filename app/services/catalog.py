"""Catalog storage: bulk upsert, listing, deletion, file import with a rejected-row report."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from app.db.models import CatalogChange, ItemRow
from app.db.upsert import upsert
from retrieval.catalog import Item, RowError

CatalogListener = Callable[[Sequence[Item], Sequence[str]], None]  # (upserted, removed ids)


def row_to_item(row: ItemRow) -> Item:
    return Item(
        id=row.id, title=row.title, description=row.description, category=row.category,
        brand=row.brand, price=row.price, currency=row.currency, cost=row.cost,
        margin=row.margin, stock=row.stock, attributes=row.attributes or {},
        image_url=row.image_url, tags=row.tags or [],
        sensitive_topics=row.sensitive_topics or [], active=row.active)


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
    row = db.get(ItemRow, item_id)
    return row_to_item(row) if row else None


def list_items(db: Session, *, limit: int = 50, offset: int = 0, category: str | None = None,
               in_stock: bool | None = None) -> tuple[list[Item], int]:
    query = select(ItemRow).where(ItemRow.active.is_(True))
    if category:
        # Category subtree: "Home" matches "Home" and "Home > Kitchen".
        query = query.where((ItemRow.category == category)
                            | ItemRow.category.startswith(category + " > "))
    if in_stock is not None:
        query = query.where(ItemRow.stock > 0 if in_stock else ItemRow.stock == 0)
    total = db.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.scalars(query.order_by(ItemRow.id).limit(limit).offset(offset)).all()
    return [row_to_item(r) for r in rows], int(total)


def all_items(db: Session) -> list[Item]:
    return [row_to_item(r) for r in db.scalars(select(ItemRow).order_by(ItemRow.id))]


def items_by_id(db: Session, ids: Iterable[str]) -> dict[str, Item]:
    wanted = list(set(ids))
    out: dict[str, Item] = {}
    for start in range(0, len(wanted), 900):
        rows = db.scalars(select(ItemRow).where(ItemRow.id.in_(wanted[start:start + 900])))
        out.update({r.id: row_to_item(r) for r in rows})
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
    accepted: int = 0
    rejected: list[RowError] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"accepted": self.accepted, "rejected_count": len(self.rejected),
                "rejected": [{"row": r.row, "id": r.item_id, "reasons": r.reasons}
                             for r in self.rejected]}


def import_rows(db: Session, rows: Iterable[Item | RowError], *, batch: int = 500,
                on_batch: Callable[[int], None] | None = None,
                listener: CatalogListener | None = None) -> ImportReport:
    report = ImportReport()
    pending: list[Item] = []

    def flush() -> None:
        if pending:
            report.accepted += upsert_items(db, pending)
            db.commit()
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
