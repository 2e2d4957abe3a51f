"""INSERT ... ON CONFLICT for both SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def _insert(db: Session, model: Any) -> Any:
    name = db.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert(model)
    if name == "sqlite":
        return sqlite.insert(model)
    raise NotImplementedError(f"upsert is not implemented for {name}")


def upsert(db: Session, model: Any, rows: list[dict[str, Any]], key: list[str]) -> None:
    stmt = _insert(db, model)
    update = {c: getattr(stmt.excluded, c) for c in rows[0] if c not in key}
    db.execute(stmt.on_conflict_do_update(index_elements=key, set_=update), rows)


def insert_ignore_returning(db: Session, model: Any, rows: list[dict[str, Any]],
                            key: list[str], returning: Any) -> list[Any]:
    """Insert rows, skip those whose key exists, return `returning` for the inserted ones."""
    # executemany: SQLAlchemy's "insertmanyvalues" batches the rows into few statements with
    # one cached compilation, ~10x faster than compiling a fresh multi-row VALUES each time.
    stmt = _insert(db, model).on_conflict_do_nothing(index_elements=key).returning(returning)
    return list(db.execute(stmt, rows).scalars())


def insert_ignore_returning_rows(db: Session, model: Any, rows: list[dict[str, Any]],
                                 key: list[str], *returning: Any) -> list[tuple[Any, ...]]:
    """Like `insert_ignore_returning`, with several columns per inserted row."""
    stmt = _insert(db, model).on_conflict_do_nothing(index_elements=key).returning(*returning)
    return [tuple(r) for r in db.execute(stmt, rows)]
