"""Identity: normalization, merges with history and audit, undo, household safety."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.errors import InvalidInput
from app.services.identity import normalize
from tests.support import auth, new_key, sample_items


@pytest.mark.parametrize(("kind", "raw", "expected"), [
    ("email", "  Jane.Doe+shop@GMail.com ", "janedoe@gmail.com"),
    ("email", "jane.smith@example.com", "jane.smith@example.com"),
    ("phone", "(555) 123-4567", "+15551234567"),
    ("phone", "+1 555 123 4567", "+15551234567"),
    ("phone", "0044 20 7946 0958", "+442079460958"),
    ("address", "12 Oak Street, Springfield", "12 oak st springfield"),
    ("address", "12 OAK ST. springfield", "12 oak st springfield"),
    ("loyalty", "loy-0042", "LOY0042"),
])
def test_normalize(kind: str, raw: str, expected: str) -> None:
    assert normalize(kind, raw) == expected


@pytest.mark.parametrize(("kind", "raw"), [("email", "nope"), ("phone", "12"),
                                           ("address", "x"), ("loyalty", "!"),
                                           ("visitor", "has space"), ("shoe", "x")])
def test_normalize_rejects(kind: str, raw: str) -> None:
    with pytest.raises(InvalidInput):
        normalize(kind, raw)


def _events(client: Any, key: str, subject: dict[str, str], prefix: str, n: int,
            start: datetime, type_: str = "purchase", role: str = "self") -> None:
    batch = [{"event_id": f"{prefix}-{i}", "type": type_, "item_id": f"sku-{i % 5}",
              "occurred_at": (start + timedelta(days=7 * i)).isoformat(), "role": role,
              **subject} for i in range(n)]
    r = client.post("/v1/events", json={"events": batch}, headers=auth(key))
    assert r.status_code == 200, r.text


def test_jane_doe_becomes_jane_smith_one_customer_all_history(client: Any) -> None:
    dev = new_key(client, "developer")
    client.put("/v1/items", json=sample_items(5), headers=auth(dev))
    h = auth(dev)
    t0 = datetime(2026, 6, 1, tzinfo=UTC)
    # Two months as a guest, on two devices, checking out with her email and phone.
    _events(client, dev, {"visitor_id": "guest-laptop"}, "g1", 5, t0)
    _events(client, dev, {"visitor_id": "guest-phone"}, "g2", 4, t0 + timedelta(days=3))
    r1 = client.post("/v1/identify", headers=h, json={
        "visitor_id": "guest-laptop", "email": "Jane.Doe@example.com",
        "phone": "(555) 123-4567", "address": "12 Oak Street, Springfield"})
    r2 = client.post("/v1/identify", headers=h, json={
        "visitor_id": "guest-phone", "email": "jane.doe@example.com"})
    assert r2.json()["merged"] and r2.json()["customer"]["id"] == r1.json()["customer"]["id"]
    # She joins the loyalty program: a known customer id now.
    r3 = client.post("/v1/identify", headers=h, json={
        "customer_id": "C-1001", "loyalty": "LOY-42", "email": "JANE.DOE@example.com"})
    assert r3.json()["customer"]["kind"] == "known"
    _events(client, dev, {"customer_id": "C-1001"}, "k", 3, t0 + timedelta(days=70))
    # She marries: Jane Smith, new email, same phone and address, new device.
    _events(client, dev, {"visitor_id": "new-tablet"}, "t", 2, t0 + timedelta(days=120))
    r4 = client.post("/v1/identify", headers=h, json={
        "visitor_id": "new-tablet", "email": "jane.smith@example.com",
        "phone": "+1 555 123 4567", "address": "12 Oak St., Springfield"})
    assert r4.status_code == 200
    # She buys for her family.
    _events(client, dev, {"customer_id": "C-1001"}, "fam", 3, t0 + timedelta(days=130),
            role="child")

    person = client.get("/v1/customers/C-1001", headers=h).json()
    assert person["kind"] == "known"
    assert person["event_count"] == 5 + 4 + 3 + 2 + 3
    assert len(person["profile_ids"]) == 3  # laptop, phone, tablet; C-1001 joined the first
    for ref in ["guest-laptop", "guest-phone", "new-tablet", person["id"]]:
        assert client.get(f"/v1/customers/{ref}", headers=h).json()["id"] == person["id"]
    kinds = {(i["kind"], i["value"]) for i in person["identifiers"]}
    assert ("email", "jane.doe@example.com") in kinds
    assert ("email", "jane.smith@example.com") in kinds
    assert ("phone", "+15551234567") in kinds and ("loyalty", "LOY42") in kinds
    assert all(m["reason"].startswith("shared") for m in person["merges"])
    export = client.get("/v1/customers/C-1001/export", headers=h).json()
    assert len(export["events"]) == 17
    assert {e["role"] for e in export["events"]} == {"self", "child"}
    assert any(a["action"] == "profile.merge" for a in export["audit_log"])


def test_merge_can_be_undone_exactly(client: Any) -> None:
    dev = new_key(client, "developer")
    client.put("/v1/items", json=sample_items(5), headers=auth(dev))
    h = auth(dev)
    _events(client, dev, {"visitor_id": "a"}, "a", 2, datetime(2026, 1, 1, tzinfo=UTC))
    _events(client, dev, {"visitor_id": "b"}, "b", 3, datetime(2026, 1, 1, tzinfo=UTC))
    client.post("/v1/identify", headers=h, json={"visitor_id": "a", "email": "x@example.com"})
    merged = client.post("/v1/identify", headers=h,
                         json={"visitor_id": "b", "email": "x@example.com"}).json()
    merge_id = merged["merged"][0]["id"]
    assert client.get("/v1/customers/b", headers=h).json()["event_count"] == 5
    undone = client.post(f"/v1/merges/{merge_id}/undo", headers=h)
    assert undone.status_code == 200 and undone.json()["undone_at"]
    a = client.get("/v1/customers/a", headers=h).json()
    b = client.get("/v1/customers/b", headers=h).json()
    assert a["id"] != b["id"] and a["event_count"] == 2 and b["event_count"] == 3
    assert client.post(f"/v1/merges/{merge_id}/undo", headers=h).status_code == 409
    assert client.post("/v1/merges/999999/undo", headers=h).status_code == 404


def test_household_address_never_merges_and_two_customers_conflict(client: Any) -> None:
    dev = new_key(client, "developer")
    h = auth(dev)
    jane = client.post("/v1/identify", headers=h, json={
        "customer_id": "C-1", "address": "12 Oak Street, Springfield"}).json()
    john = client.post("/v1/identify", headers=h, json={
        "customer_id": "C-2", "address": "12 Oak St Springfield"}).json()
    assert jane["customer"]["id"] != john["customer"]["id"] and not john["merged"]
    r = client.post("/v1/identify", headers=h, json={"customer_id": "C-2",
                                                      "email": "a@example.com"})
    assert r.status_code == 200
    r = client.post("/v1/identify", headers=h, json={"customer_id": "C-1",
                                                      "email": "a@example.com"})
    assert r.status_code == 409 and "different known customers" in r.json()["error"]["message"]


def test_identify_bad_input(client: Any) -> None:
    h = auth(new_key(client, "developer"))
    assert client.post("/v1/identify", headers=h, json={}).status_code == 422
    r = client.post("/v1/identify", headers=h, json={"email": "not-an-email"})
    assert r.status_code == 422 and "email" in r.json()["error"]["message"]
    assert client.post("/v1/identify", headers=h, json={"ssn": "1"}).status_code == 422
    assert client.get("/v1/customers/ghost", headers=h).status_code == 404
