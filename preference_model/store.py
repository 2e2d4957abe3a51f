"""Where customer states live: a small versioned key-value protocol.

The service keeps states in its database so they survive restarts and every API worker
sees the same state. Writes use optimistic concurrency: `save(..., expected_version=v)`
succeeds only if the stored version is still `v` (0 = "must not exist yet"; None = write
unconditionally), otherwise it raises `StaleStateError` and the caller reloads and
retries. Versions never repeat for a customer, even across erasure, because a new row
starts from a microsecond clock: a worker's cache keyed by (customer, version) can never
mistake a re-created state for the one it cached.

`InMemoryStateStore` is for tests and single-process use; `SQLiteStateStore` (stdlib
sqlite3, WAL) is shared by processes on one machine. The service provides its own
SQLAlchemy/PostgreSQL implementation of the same protocol.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from preference_model.errors import StaleStateError


@runtime_checkable
class StateStore(Protocol):
    def load(self, customer_id: str) -> tuple[int, bytes] | None:
        """(version, data) of the stored state, or None if there is none."""
        ...

    def version(self, customer_id: str) -> int | None:
        """The stored version only (cheap), or None."""
        ...

    def save(self, customer_id: str, data: bytes, expected_version: int | None) -> int:
        """Write and return the new version; StaleStateError if the version moved."""
        ...

    def delete(self, customer_id: str) -> bool:
        """Erase the state; True if there was one."""
        ...


def _first_version() -> int:
    return time.time_ns() // 1000


class InMemoryStateStore:
    """A dict behind a lock. Not shared between processes."""

    def __init__(self) -> None:
        self._rows: dict[str, tuple[int, bytes]] = {}
        self._lock = threading.Lock()

    def load(self, customer_id: str) -> tuple[int, bytes] | None:
        with self._lock:
            return self._rows.get(customer_id)

    def version(self, customer_id: str) -> int | None:
        with self._lock:
            row = self._rows.get(customer_id)
            return None if row is None else row[0]

    def save(self, customer_id: str, data: bytes, expected_version: int | None) -> int:
        with self._lock:
            row = self._rows.get(customer_id)
            current = 0 if row is None else row[0]
            if expected_version is not None and expected_version != current:
                raise StaleStateError(
                    f"state of {customer_id!r} is at version {current}, not {expected_version}"
                )
            new = max(current + 1, _first_version()) if row is None else current + 1
            self._rows[customer_id] = (new, bytes(data))
            return new

    def delete(self, customer_id: str) -> bool:
        with self._lock:
            return self._rows.pop(customer_id, None) is not None

    def __len__(self) -> int:
        return len(self._rows)

    def __getstate__(self) -> dict[str, Any]:
        return {"rows": dict(self._rows)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._rows = state["rows"]
        self._lock = threading.Lock()


class SQLiteStateStore:
    """States in one SQLite file (WAL), safe across threads and processes.

    One connection per process (opened lazily, re-opened after fork) so a store can be
    created before `multiprocessing` starts workers.
    """

    _DDL = (
        "CREATE TABLE IF NOT EXISTS customer_states ("
        " customer_id TEXT PRIMARY KEY, version INTEGER NOT NULL,"
        " data BLOB NOT NULL, updated_at REAL NOT NULL)"
    )

    def __init__(self, path: str | Path, *, timeout: float = 10.0) -> None:
        self.path = str(path)
        self.timeout = timeout
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._pid = -1
        with self._lock:
            self._connection()

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None or self._pid != os.getpid():
            conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None,
                                   check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(self._DDL)
            self._conn, self._pid = conn, os.getpid()
        return self._conn

    def load(self, customer_id: str) -> tuple[int, bytes] | None:
        with self._lock:
            row = self._connection().execute(
                "SELECT version, data FROM customer_states WHERE customer_id = ?",
                (customer_id,),
            ).fetchone()
        return None if row is None else (int(row[0]), bytes(row[1]))

    def version(self, customer_id: str) -> int | None:
        with self._lock:
            row = self._connection().execute(
                "SELECT version FROM customer_states WHERE customer_id = ?", (customer_id,)
            ).fetchone()
        return None if row is None else int(row[0])

    def save(self, customer_id: str, data: bytes, expected_version: int | None) -> int:
        now = time.time()
        with self._lock:
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                row = conn.execute(
                    "SELECT version FROM customer_states WHERE customer_id = ?", (customer_id,)
                ).fetchone()
                current = 0 if row is None else int(row[0])
                if expected_version is not None and expected_version != current:
                    raise StaleStateError(f"state of {customer_id!r} is at version {current}, "
                                          f"not {expected_version}")
                if row is None:
                    new = _first_version()
                    conn.execute("INSERT INTO customer_states VALUES (?, ?, ?, ?)",
                                 (customer_id, new, sqlite3.Binary(data), now))
                else:
                    new = current + 1
                    conn.execute(
                        "UPDATE customer_states SET version = ?, data = ?, updated_at = ?"
                        " WHERE customer_id = ?", (new, sqlite3.Binary(data), now, customer_id))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return new

    def delete(self, customer_id: str) -> bool:
        with self._lock:
            cur = self._connection().execute(
                "DELETE FROM customer_states WHERE customer_id = ?", (customer_id,)
            )
        return cur.rowcount > 0

    def close(self) -> None:
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            self._conn = None

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path, "timeout": self.timeout}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["path"], timeout=state["timeout"])  # type: ignore[misc]
