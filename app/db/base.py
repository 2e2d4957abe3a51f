"""Engine and session factory. SQLite runs in WAL mode; PostgreSQL through psycopg 3."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, MetaData, create_engine, event, text
from sqlalchemy.orm import DeclarativeBase, Session, SessionTransaction, sessionmaker

# Stable constraint names so Alembic migrations are identical on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # WAL: readers never block the writer; FULL sync keeps a 2xx'd event on disk
    # even after a power cut (events are batched, so one fsync covers a batch).
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    # Deleted rows are overwritten with zeros, not left in free pages: an erased email must
    # not survive in the file (the WAL is checkpointed after an erasure, privacy.scrub).
    cur.execute("PRAGMA secure_delete=ON")
    cur.close()


_RELAXED = "tailor_relaxed_sync"


def _restore_full_sync(dbapi_conn: Any, record: Any) -> None:
    """Pool check-in: a connection that committed without fsync gets FULL back."""
    if record.info.pop(_RELAXED, False):
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA synchronous=FULL")
        cur.close()


def commit_no_wait(db: Session) -> None:
    """Commit without waiting for the disk: SQLite (WAL) `synchronous=NORMAL` for this one
    commit, PostgreSQL `synchronous_commit = off` for this transaction. The rows are
    committed and visible at once and survive the process being killed; only an OS crash or
    a power cut before the next fsync (any FULL commit, a WAL checkpoint; PostgreSQL's WAL
    writer within ~0.6 s) can lose them, whole, never in part. For records whose loss
    costs nothing but the record (a decision that sent nothing), never for effects."""
    conn = db.connection()
    dialect = conn.dialect.name
    if dialect == "sqlite":
        # SQLite refuses a new safety level inside a transaction; pysqlite begins one at
        # the first write, so this holds when the session has only read (else: FULL).
        raw = conn.connection.dbapi_connection
        if raw is not None and not raw.in_transaction:  # type: ignore[attr-defined]
            conn.connection.info[_RELAXED] = True
            conn.exec_driver_sql("PRAGMA synchronous=NORMAL")
    elif dialect == "postgresql":
        conn.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
    db.commit()


def make_engine(url: str, **kwargs: Any) -> Engine:
    # Statement parameters hold emails, chat text...: keep them out of error messages, which
    # end up in logs.
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        kwargs.pop("pool_size", None)  # SQLite's pool takes no sizes (file connections)
        kwargs.pop("max_overflow", None)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10},
                               **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "checkin", _restore_full_sync)
        return engine
    if "poolclass" not in kwargs:
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 10)
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def make_session_factory(engine: Engine, info: dict[str, Any] | None = None
                         ) -> sessionmaker[Session]:
    """`info` is copied into every session's `Session.info` (the tombstone key)."""
    return sessionmaker(engine, expire_on_commit=False, info=info)


def savepoint(db: Session) -> SessionTransaction:
    """`db.begin_nested()` that undoes only itself, on SQLite too.

    pysqlite opens its transaction lazily, at the first INSERT/UPDATE/DELETE, and never for a
    SAVEPOINT statement. A savepoint taken before any write is therefore SQLite's outermost
    transaction, and its RELEASE commits everything: a check that fails afterwards (an erased
    identity found after the insert) could no longer roll the insert back. Opening the real
    transaction first keeps the savepoint nested. IMMEDIATE takes the write lock at once (with
    the busy timeout), so a later write cannot fail on a stale WAL snapshot."""
    if db.get_bind().dialect.name == "sqlite":
        raw = db.connection().connection.dbapi_connection
        if raw is not None and not raw.in_transaction:
            db.execute(text("BEGIN IMMEDIATE"))
    return db.begin_nested()


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
