"""Consent by purpose, export of everything, erasure everywhere (with a full database scan)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import create_engine, inspect, select, text

from app.db.base import Base
from app.db.models import ChatSession, CustomerState, Message
from app.services import consent, identity, privacy
from tests.support import auth, new_key, sample_items


def test_every_table_is_classified_for_erasure() -> None:
    tables = set(Base.metadata.tables)
    assert tables <= privacy.PERSONAL_TABLES | privacy.NON_PERSONAL_TABLES, (
        "a new table must be listed in app/services/privacy.py")


def test_consent_defaults_updates_and_history(client: Any) -> None:
    h = auth(new_key(client, "developer"))
    client.post("/v1/identify", headers=h, json={"customer_id": "C-9"})
    state = client.get("/v1/customers/C-9/consents", headers=h).json()
    assert state["customer_id"] == "C-9"  # the shop's id, never the internal profile id
    assert {p: s["granted"] for p, s in state["purposes"].items()} == {
        "personalization": True, "marketing": False, "sensitive": False, "demographics": False}
    assert state["purposes"]["marketing"]["source"] == "default"
    r = client.put("/v1/customers/C-9/consents", headers=h,
                   json={"marketing": True, "sensitive": True, "source": "preference-centre"})
    assert r.json()["customer_id"] == "C-9"
    assert r.json()["purposes"]["marketing"] == {**r.json()["purposes"]["marketing"],
                                                 "granted": True, "source": "preference-centre"}
    client.put("/v1/customers/C-9/consents", headers=h, json={"sensitive": False})
    rt = client.app.state.runtime
    with rt.sessions() as db:
        person = identity.resolve(db, "C-9")
        assert consent.has_consent(db, person, "marketing")
        assert not consent.has_consent(db, person, "sensitive")
    export = client.get("/v1/customers/C-9/export", headers=h).json()
    assert [c["granted"] for c in export["consents"] if c["purpose"] == "sensitive"] == [
        True, False]
    assert client.put("/v1/customers/C-9/consents", headers=h, json={}).status_code == 422
    assert client.put("/v1/customers/C-9/consents", headers=h,
                      json={"telepathy": True}).status_code == 422
    assert client.get("/v1/customers/nobody/consents", headers=h).status_code == 404


def test_consent_follows_merges(client: Any) -> None:
    h = auth(new_key(client, "developer"))
    client.post("/v1/identify", headers=h, json={"visitor_id": "v-a", "email": "m@example.com"})
    client.put("/v1/customers/v-a/consents", headers=h, json={"personalization": False})
    client.post("/v1/identify", headers=h, json={"customer_id": "C-5", "email": "m@example.com"})
    state = client.get("/v1/customers/C-5/consents", headers=h).json()
    assert state["purposes"]["personalization"]["granted"] is False


def _seed_person(client: Any, h: dict[str, str]) -> tuple[str, list[str]]:
    client.put("/v1/items", json=sample_items(5), headers=h)
    client.post("/v1/events", headers=h, json={"events": [
        {"event_id": f"z-{i}", "type": "view", "visitor_id": "anon-zed-77",
         "item_id": "sku-2", "context": {"location": "Zedtown"}} for i in range(3)]})
    client.post("/v1/identify", headers=h, json={
        "visitor_id": "anon-zed-77", "email": "zed.zedson@example.org",
        "phone": "+44 20 7946 0000", "customer_id": "CUST-ZED-1", "loyalty": "ZEDLOY9",
        "address": "99 Quux Lane, Zedtown", "device": "dev-zed-abc"})
    client.post("/v1/events", headers=h, json={"events": [
        {"event_id": "z-88", "type": "click", "visitor_id": "anon-zed-88", "item_id": "sku-1"}]})
    client.post("/v1/identify", headers=h, json={"visitor_id": "anon-zed-88",
                                                  "email": "zed.zedson@example.org"})
    client.put("/v1/customers/CUST-ZED-1/consents", headers=h, json={"marketing": True})
    person = client.get("/v1/customers/CUST-ZED-1", headers=h).json()
    rt = client.app.state.runtime
    with rt.sessions() as db:
        db.add(ChatSession(id="sess-zed", profile_id=person["id"], summary="Zed likes boots"))
        db.add(Message(session_id="sess-zed", profile_id=person["id"], role="user",
                       content="hi, I am Zed Zedson"))
        db.add(CustomerState(profile_id=person["id"], data=b"zed-state",
                             updated_at=datetime.now(UTC)))
        db.commit()
    needles = ["zed.zedson@example.org", "zedzedson", "+442079460000", "CUST-ZED-1",
               "ZEDLOY9", "quux", "dev-zed-abc", "anon-zed-77", "anon-zed-88", "Zed Zedson",
               *person["profile_ids"]]
    return person["id"], needles


def _scan(url: str, needles: list[str]) -> list[str]:
    """Every text and JSON cell of every table, searched for the person's identifiers."""
    engine = create_engine(url)
    found = []
    with engine.connect() as conn:
        for table in inspect(engine).get_table_names():
            for row in conn.execute(text(f'SELECT * FROM "{table}"')):
                blob = " ".join(str(v) for v in row).lower()
                for needle in needles:
                    if needle.lower() in blob:
                        found.append(f"{table}: {needle}")
    engine.dispose()
    return found


def test_export_has_everything_and_erase_leaves_nothing(client: Any) -> None:
    h = auth(new_key(client, "developer"))
    pid, needles = _seed_person(client, h)
    client.post("/v1/identify", headers=h, json={"customer_id": "OTHER-1",
                                                  "email": "other@example.org"})
    export = client.get("/v1/customers/anon-zed-88/export", headers=h).json()
    assert export["customer"] == pid
    assert len(export["profiles"]) == 2 and len(export["events"]) == 4
    assert {i["kind"] for i in export["identifiers"]} >= {"email", "phone", "customer",
                                                          "loyalty", "address", "device"}
    assert export["messages"][0]["content"] == "hi, I am Zed Zedson"
    assert base64.b64decode(export["preference_state"][0]["data"]) == b"zed-state"
    assert export["consents"] and export["merges"] and export["chat_sessions"]

    url = client.app.state.settings.resolved_database_url
    assert _scan(url, needles)  # the scan does see the data before erasure
    erased: list[list[str]] = []
    client.app.state.runtime.hooks.erase.append(lambda ids: erased.append(list(ids)))
    r = client.delete("/v1/customers/CUST-ZED-1", headers=h)
    assert r.status_code == 200 and r.json()["erased_profiles"] == 2
    assert sorted(erased[0]) == sorted(needles[-2:])
    assert _scan(url, needles) == []
    gone = client.get("/v1/customers/CUST-ZED-1", headers=h)
    assert gone.status_code == 404 and "erased at" in gone.json()["error"]["message"]
    # Erasing again is safe (a retried request): 200, nothing left, the time it was done.
    again = client.delete("/v1/customers/CUST-ZED-1", headers=h)
    assert again.status_code == 200, again.text
    assert again.json()["already_erased"] is True
    assert again.json()["erased_at"] == r.json()["erased_at"] is not None
    assert client.delete("/v1/customers/NEVER-SEEN", headers=h).status_code == 404
    # Others are untouched; the erasure itself is on record, anonymously.
    assert client.get("/v1/customers/OTHER-1", headers=h).status_code == 200
    rt = client.app.state.runtime
    with rt.sessions() as db:
        from app.db.models import AuditLog

        actions = db.scalars(select(AuditLog.action)).all()
    assert "customer.erase" in actions


def test_privacy_endpoints_need_staff_keys(client: Any) -> None:
    widget = new_key(client, "widget")
    marketer = new_key(client, "marketer")
    for key in (widget, marketer):
        assert client.get("/v1/customers/x/export", headers=auth(key)).status_code == 403
        assert client.delete("/v1/customers/x", headers=auth(key)).status_code == 403
