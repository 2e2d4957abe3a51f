"""Small helpers for the NBA tests: events, consents and offers through the real API."""

from __future__ import annotations

from typing import Any

from tests.support import ADMIN_KEY, auth

ADMIN = auth(ADMIN_KEY)
_n = [0]


def events(client: Any, customer: str, *evs: dict[str, Any]) -> None:
    batch = []
    for e in evs:
        _n[0] += 1
        batch.append({"event_id": f"t-{customer}-{_n[0]}", "customer_id": customer} | e)
    r = client.post("/v1/events", json={"events": batch}, headers=ADMIN)
    assert r.status_code == 200, r.text


def consents(client: Any, customer: str, **purposes: bool) -> None:
    r = client.put(f"/v1/customers/{customer}/consents", json=purposes, headers=ADMIN)
    assert r.status_code == 200, r.text


def offer(client: Any, activate: bool = True, **kw: Any) -> dict[str, Any]:
    body = {"id": "o1", "name": "offer", "kind": "percent_discount", "value": 10,
            "items": ["shoe-2"], "margin_floor": 0.1} | kw
    r = client.post("/v1/offers", json=body, headers=ADMIN)
    assert r.status_code == 201, r.text
    if activate:
        r = client.post(f"/v1/offers/{body['id']}/activate", headers=ADMIN)
        assert r.status_code == 200, r.text
    return dict(r.json())


def nba(client: Any, customer: str, **body: Any) -> dict[str, Any]:
    body.setdefault("channels", ["web"])
    r = client.post(f"/v1/customers/{customer}/next-best-action", json=body, headers=ADMIN)
    assert r.status_code == 200, r.text
    return dict(r.json())


def status(decision: dict[str, Any], key: str, channel: str) -> tuple[str, str | None, str]:
    for c in decision["candidates"]:
        if c["key"] == key and c["channel"] == channel:
            return c["status"], c["removed_by"], c["reason"] or ""
    raise AssertionError(f"{key} on {channel} not among the candidates")
