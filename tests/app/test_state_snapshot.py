"""One decision reads a customer's preference-state version once (SqlStateStore.snapshot),
follows its own saves, and sees other writers again after the block."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event

from app.services.state_store import SqlStateStore
from tests.support import auth, new_key


def _person(client: Any, customer: str) -> str:
    h = auth(new_key(client, "developer"))
    pid: str = client.post("/v1/identify", headers=h,
                           json={"customer_id": customer}).json()["customer"]["id"]
    return pid


def _count_selects(store: SqlStateStore) -> list[str]:
    seen: list[str] = []
    engine = store.sessions.kw["bind"]

    @event.listens_for(engine, "before_cursor_execute")
    def _count(conn: Any, cursor: Any, stmt: str, *args: Any) -> None:
        if stmt.lstrip().upper().startswith("SELECT"):
            seen.append(stmt)

    return seen


def test_inside_a_snapshot_the_version_is_read_once_and_follows_own_saves(
        client: Any) -> None:
    pid = _person(client, "SNAP-1")
    store = SqlStateStore(client.app.state.runtime.sessions)
    v1 = store.save(pid, b"one", None)
    other = SqlStateStore(client.app.state.runtime.sessions)  # another worker
    selects = _count_selects(store)
    with store.snapshot():
        assert store.version(pid) == v1
        n = len(selects)
        assert store.version(pid) == v1 and len(selects) == n  # no second round trip
        v2 = store.save(pid, b"two", v1)
        assert store.version(pid) == v2  # its own save is seen
        v3 = other.save(pid, b"three", v2)  # another worker writes meanwhile
        assert store.version(pid) == v2  # the decision keeps its version
    assert store.version(pid) == v3  # the next request sees the other write
    with store.snapshot():
        assert store.version("p_nobody") is None
        with store.snapshot():  # nested: the same memo
            assert store.version(pid) == v3


def test_a_refused_or_stale_save_leaves_no_stale_memo(client: Any) -> None:
    pid = _person(client, "SNAP-2")
    store = SqlStateStore(client.app.state.runtime.sessions)
    v1 = store.save(pid, b"one", None)
    other = SqlStateStore(client.app.state.runtime.sessions)
    with store.snapshot():
        assert store.version(pid) == v1
        v2 = other.save(pid, b"two", v1)
        try:
            store.save(pid, b"late", v1)
        except Exception as exc:  # StaleStateError: the model reloads and retries
            assert "version" in str(exc) or "changed" in str(exc)
        else:
            raise AssertionError("a stale save must be refused")
        assert store.version(pid) == v2  # read again after the refusal
