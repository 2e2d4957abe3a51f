"""Erasure wins every race: events still arriving, a learner finishing late, an old widget
token, a re-identification; and it leaves no trace in the SQLite files or the logs."""

from __future__ import annotations

import json
import logging
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, inspect, select, text

from app.chat.sessions import add_message, open_session
from app.db.models import ChatSession, CustomerState, Event, Message, Profile
from app.errors import Erased
from app.logging import JsonFormatter
from app.services import identity, privacy
from app.services.state_store import REFUSED_VERSION, SqlStateStore
from tests.support import auth, new_key, sample_items


def scan(url: str, needles: list[str]) -> list[str]:
    """Every cell of every table, searched for the person's identifiers."""
    engine = create_engine(url)
    found = []
    with engine.connect() as conn:
        for table in inspect(engine).get_table_names():
            for row in conn.execute(text(f'SELECT * FROM "{table}"')):
                blob = " ".join(str(v) for v in row).lower()
                found += [f"{table}: {n}" for n in needles if n.lower() in blob]
    engine.dispose()
    return found


def refused_reasons(body: dict[str, Any]) -> list[str]:
    return [e["message"] for r in body["rejected"] for e in r["errors"]]


# -- the race ---------------------------------------------------------------------------------

ROUNDS = 4


@pytest.fixture
def learning_client(app_factory: Any, db_url: str) -> Any:
    # Batches of 1 are learned inline, larger ones by the background learner: both paths
    # write preference state while the erasure runs.
    c = app_factory(db_url, search_enabled=True, chat_enabled=False, learn_inline_max=1)
    c.dev = new_key(c, "developer")  # type: ignore[attr-defined]
    assert c.put("/v1/items", json=sample_items(8), headers=auth(c.dev)).status_code == 200
    c.app.state.runtime.search.wait_ready()
    return c


def _hammer(c: Any, who: str, n_thread: int, stop: threading.Event, erased: threading.Event,
            accepted: list[int], after: list[dict[str, Any]]) -> None:
    h = auth(c.dev)
    n = 0
    while not stop.is_set():
        size = 1 if n % 2 else 4
        batch = [{"event_id": f"{who}-{n_thread}-{n}-{k}", "type": "purchase",
                  "customer_id": who, "item_id": f"sku-{(n + k) % 8}"} for k in range(size)]
        was_erased = erased.is_set()
        r = c.post("/v1/events", json={"events": batch}, headers=h)
        assert r.status_code in (200, 422), r.text
        accepted[n_thread] += r.json()["accepted"]
        if was_erased:
            after.append(r.json())
        n += 1


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_erasure_wins_against_events_and_learning(learning_client: Any, round_: int) -> None:
    c, h = learning_client, auth(learning_client.dev)
    who, email = f"RACE-{round_}", f"race.{round_}@example.org"
    r = c.post("/v1/identify", headers=h, json={"customer_id": who, "email": email,
                                                "phone": f"+1 555 010 {1000 + round_}"})
    pid = r.json()["customer"]["id"]
    stop, erased = threading.Event(), threading.Event()
    accepted = [0] * 4
    after: list[dict[str, Any]] = []
    threads = [threading.Thread(target=_hammer, args=(c, who, t, stop, erased, accepted, after))
               for t in range(4)]
    for t in threads:
        t.start()
    while sum(accepted) < 12:  # the erasure starts while events are flowing and learned
        threading.Event().wait(0.01)
    gone = c.delete(f"/v1/customers/{who}", headers=h)
    erased.set()
    while len(after) < 8:  # and events keep coming after it
        threading.Event().wait(0.01)
    stop.set()
    for t in threads:
        t.join()
    prefs = c.app.state.runtime.prefs
    prefs.flush()
    assert gone.status_code == 200, gone.text
    assert all(b["accepted"] == 0 for b in after)
    assert all("erased" in m for b in after for m in refused_reasons(b))
    url = c.app.state.settings.resolved_database_url
    assert scan(url, [who, email, pid]) == []
    with c.app.state.runtime.sessions() as db:
        assert db.scalar(select(func.count()).select_from(CustomerState)) == 0
        assert db.scalar(select(func.count()).select_from(Profile)) == 0
        assert db.scalar(select(func.count()).select_from(Event)) == 0
    assert prefs.model.state(pid) is None


def test_a_learner_finishing_after_the_erasure_writes_nothing(client: Any) -> None:
    h = auth(new_key(client, "developer"))
    pid = client.post("/v1/identify", headers=h,
                      json={"customer_id": "LATE-1"}).json()["customer"]["id"]
    rt = client.app.state.runtime
    store = SqlStateStore(rt.sessions)
    assert store.save(pid, b"before", None) > 0
    assert client.delete("/v1/customers/LATE-1", headers=h).status_code == 200
    assert store.save(pid, b"after", 0) == REFUSED_VERSION
    assert store.load(pid) is None
    assert store.save("p_never_existed", b"x", None) == REFUSED_VERSION
    assert store.load("p_never_existed") is None


def test_a_chat_reply_finishing_after_the_erasure_is_not_stored(client: Any) -> None:
    h = auth(new_key(client, "developer"))
    client.post("/v1/identify", headers=h, json={"customer_id": "CHAT-1"})
    rt = client.app.state.runtime
    with rt.sessions() as db:
        session = open_session(db, identity.resolve(db, "CHAT-1"), None)
        add_message(db, session, "user", "I need boots for my hike")
        db.commit()
    assert client.delete("/v1/customers/CHAT-1", headers=h).status_code == 200
    with rt.sessions() as db:  # what the streaming reply does when it ends
        detached = db.merge(session)
        with pytest.raises(Erased):
            add_message(db, detached, "assistant", "Try the trail boots")
    with rt.sessions() as db:
        assert db.scalar(select(func.count()).select_from(ChatSession)) == 0
        assert db.scalar(select(func.count()).select_from(Message)) == 0


# -- tokens and re-identification -------------------------------------------------------------

def test_an_old_visitor_token_is_refused_after_erasure(client: Any) -> None:
    dev = auth(new_key(client, "developer"))
    widget = new_key(client, "widget")
    client.put("/v1/items", json=sample_items(3), headers=dev)
    s = client.post("/v1/widget/session", headers=auth(widget), json={}).json()
    visitor, token = s["visitor_id"], s["visitor_token"]
    as_visitor = {**auth(widget), "X-Visitor-Token": token}
    ev = {"event_id": "w-1", "type": "click", "visitor_id": visitor, "item_id": "sku-1"}
    assert client.post("/v1/events", headers=as_visitor, json={"events": [ev]}
                       ).status_code == 200
    assert client.delete(f"/v1/customers/{visitor}", headers=dev).status_code == 200

    late = {**ev, "event_id": "w-2"}
    r = client.post("/v1/events", headers=as_visitor, json={"events": [late]})
    assert r.status_code == 403 and "erased" in r.json()["error"]["message"]
    assert client.post("/v1/chat", headers=as_visitor,
                       json={"message": "hello"}).status_code == 403
    assert client.get(f"/v1/customers/{visitor}/recommendations",
                      headers=as_visitor).status_code == 403
    resumed = client.post("/v1/widget/session", headers=auth(widget),
                          json={"visitor_token": token})
    assert resumed.status_code == 403  # the widget then starts a new visitor:
    fresh = client.post("/v1/widget/session", headers=auth(widget), json={}).json()
    assert fresh["visitor_id"] != visitor
    # A server key cannot bring the visitor back either.
    r = client.post("/v1/events", headers=dev, json={"events": [late]})
    assert r.status_code == 422 and r.json()["accepted"] == 0
    assert "erased" in refused_reasons(r.json())[0]
    for allow in ("false", "true"):
        r = client.post(f"/v1/identify?allow_erased={allow}", headers=dev,
                        json={"visitor_id": visitor, "email": "new@example.org"})
        assert r.status_code == 409 and r.json()["error"]["code"] == "erased"
    assert scan(client.app.state.settings.resolved_database_url, [visitor]) == []


def test_a_person_registers_again_only_deliberately(client: Any) -> None:
    h = auth(new_key(client, "developer"))
    client.put("/v1/items", json=sample_items(3), headers=h)
    person = {"customer_id": "AGAIN-1", "email": "again@example.org"}
    first = client.post("/v1/identify", headers=h, json=person).json()["customer"]["id"]
    before = datetime.now(UTC) - timedelta(seconds=5)
    assert client.delete("/v1/customers/AGAIN-1", headers=h).status_code == 200

    # A nightly sync that still knows the email does not revive the person.
    r = client.post("/v1/identify", headers=h, json={"email": "Again@Example.org"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "erased"
    assert "allow_erased" in r.json()["error"]["message"]
    assert client.get("/v1/customers/AGAIN-1", headers=h).status_code == 404
    # The shop means it (the person signed up again): a fresh profile.
    r = client.post("/v1/identify?allow_erased=true", headers=h, json=person)
    assert r.status_code == 200, r.text
    assert r.json()["created"] is True and r.json()["customer"]["id"] != first

    def send(event_id: str, at: datetime | None) -> Any:
        ev = {"event_id": event_id, "type": "click", "customer_id": "AGAIN-1",
              "item_id": "sku-1"}
        if at is not None:
            ev["occurred_at"] = at.isoformat()
        return client.post("/v1/events", headers=h, json={"events": [ev]})

    late = send("late-1", before)  # delivered late, from before the erasure
    assert late.status_code == 422
    assert "from before the erasure" in refused_reasons(late.json())[0]
    assert send("new-1", None).json()["accepted"] == 1
    assert send("new-2", datetime.now(UTC)).json()["accepted"] == 1
    # Erasing the new person is a new erasure, not "already erased".
    r = client.delete("/v1/customers/AGAIN-1", headers=h)
    assert r.status_code == 200 and r.json()["already_erased"] is False
    assert r.json()["rows"]["events"] == 2


def test_consents_for_a_person_erased_meanwhile_are_refused(client: Any) -> None:
    h = auth(new_key(client, "developer"))
    client.post("/v1/identify", headers=h, json={"customer_id": "CONS-1"})
    rt = client.app.state.runtime
    with rt.sessions() as db:
        profile = identity.resolve(db, "CONS-1")
        ids, _ = privacy.erase(db, profile)
        db.commit()
    r = client.put("/v1/customers/CONS-1/consents", headers=h, json={"marketing": True})
    assert r.status_code == 404 and "erased" in r.json()["error"]["message"]


# -- what stays on disk and in the logs ------------------------------------------------------

def test_sqlite_files_keep_no_erased_bytes(app_factory: Any, sqlite_url: str) -> None:
    client = app_factory(sqlite_url)
    h = auth(new_key(client, "developer"))
    client.put("/v1/items", json=sample_items(3), headers=h)
    r = client.post("/v1/identify", headers=h, json={
        "customer_id": "DISK-77", "email": "quentin.quarry@example.org",
        "phone": "+44 20 7946 0123", "address": "12 Wobble Street, Quarrytown"})
    pid = r.json()["customer"]["id"]
    client.post("/v1/events", headers=h, json={"events": [
        {"event_id": f"d-{i}", "type": "view", "customer_id": "DISK-77", "item_id": "sku-1",
         "context": {"location": "Quarrytown"}} for i in range(20)]})
    rt = client.app.state.runtime
    with rt.sessions() as db:
        db.add(ChatSession(id="sess-disk", profile_id=pid, summary="wants quarry boots"))
        db.add(Message(session_id="sess-disk", profile_id=pid, role="user",
                       content="my knee hurts after the quarry marathon"))
        db.commit()
    db_file = Path(sqlite_url.removeprefix("sqlite:///"))
    wal = db_file.with_name(db_file.name + "-wal")
    needles = [b"quentin.quarry@example.org", b"+442079460123", b"DISK-77",
               b"quarry marathon", b"wobble", b"Quarrytown", pid.encode()]

    def on_disk() -> list[bytes]:
        data = db_file.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
        return [n for n in needles if n.lower() in data.lower()]

    assert on_disk()  # the check sees the data before the erasure
    assert client.delete("/v1/customers/DISK-77", headers=h).status_code == 200
    assert on_disk() == []


def test_logs_name_no_customer_and_follow_them_by_pseudonym(app_factory: Any,
                                                            db_url: str) -> None:
    client = app_factory(db_url, log_level="INFO")
    h = auth(new_key(client, "developer"))
    client.put("/v1/items", json=sample_items(3), headers=h)
    lines: list[str] = []
    handler = logging.Handler()
    formatter = JsonFormatter()
    handler.emit = lambda record: lines.append(formatter.format(record))  # type: ignore
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        client.post("/v1/identify", headers=h, json={
            "customer_id": "LOG-CUST-5", "email": "lara.logan@example.org"})
        client.get("/v1/customers/LOG-CUST-5", headers=h)
        client.get("/v1/customers/LOG-CUST-5/export", headers=h)
        client.delete("/v1/customers/LOG-CUST-5", headers=h)
        client.post("/v1/events", headers=h, json={"events": [
            {"event_id": "log-1", "type": "click", "customer_id": "LOG-CUST-5",
             "item_id": "sku-1"}]})
        client.get("/v1/custmers/LOG-CUST-5", headers=h)  # a typo'd path: unmatched
    finally:
        root.removeHandler(handler)
    # The test client's own request log (httpx) is the caller's, not the server's.
    lines = [x for x in lines if not json.loads(x)["logger"].startswith("httpx")]
    text_ = "\n".join(lines)
    assert "LOG-CUST-5" not in text_ and "lara.logan" not in text_
    access = [json.loads(x) for x in lines if json.loads(x)["logger"] == "tailor.http"]
    routes = {a["route"] for a in access}
    assert "/v1/customers/{customer_id}" in routes and "unmatched" in routes
    who = {a["params"]["customer_id"] for a in access if "params" in a}
    assert len(who) == 1  # one person, one pseudonym: their requests can be followed
    refused = [json.loads(x) for x in lines if "events refused" in x]
    assert refused and refused[0]["subjects"] == sorted(who)
