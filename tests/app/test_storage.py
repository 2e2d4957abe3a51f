"""Storage: migrations on SQLite and PostgreSQL match the models; SQLite runs in WAL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from app.db.base import Base, make_engine
from app.db.migrate import upgrade


def test_migrations_match_models(db_url: str) -> None:
    upgrade(db_url)
    engine = create_engine(db_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == [], f"models and migrations disagree: {diff}"


def test_upgrade_is_idempotent_and_creates_every_table(db_url: str) -> None:
    upgrade(db_url)
    upgrade(db_url)
    engine = create_engine(db_url)
    names = set(inspect(engine).get_table_names())
    engine.dispose()
    assert set(Base.metadata.tables) <= names


def test_sqlite_uses_wal_and_full_sync(sqlite_url: str) -> None:
    upgrade(sqlite_url)
    engine = make_engine(sqlite_url)
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    engine.dispose()


def test_a_savepoint_undoes_only_itself_and_the_outer_rollback_undoes_all(db_url: str) -> None:
    """pysqlite starts no transaction for a SAVEPOINT: without care, the savepoint's RELEASE
    commits, and a check that fails after it (an erased visitor id) cannot undo the insert."""
    from sqlalchemy.orm import Session

    from app.db.base import savepoint
    from app.db.models import Profile

    upgrade(db_url)
    engine = make_engine(db_url)
    with Session(engine) as db:
        with savepoint(db):
            db.add(Profile(id="p_savepoint_probe", kind="anonymous"))
            db.flush()
        db.rollback()
    with Session(engine) as db:
        assert db.get(Profile, "p_savepoint_probe") is None
    engine.dispose()
