"""Dynamic offers (margin floor, stable within a session, explainable, fairness audit) and
signed webhooks with retries against a real local HTTP server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import httpx
import pytest

from tests.nba.helpers import ADMIN, consents, events, nba, offer, status
from tests.nba.test_decisions import buyer

DYNAMIC = {"min_percent": 0, "max_percent": 40, "step": 5}


def test_dynamic_discount_respects_floor_and_is_explained(shop: Any) -> None:
    buyer(shop, "d1")
    # shoe-1: cost 60 of 100 with a 20% floor allows at most 25% off.
    offer(shop, id="dyn", items=["shoe-1"], value=10, margin_floor=0.2, dynamic=DYNAMIC)
    d = nba(shop, "d1", at="2026-03-02T12:00:00Z", include_items=False, session="s1")
    c = next(c for c in d["candidates"] if c["key"] == "offer:dyn")
    assert c["discount"] <= 0.25 + 1e-9
    pr = c["pricing"]
    assert pr["max_percent_by_margin_floor"] == 25.0
    refused = [t["percent"] for t in pr["tried"] if "refused" in t]
    assert refused == [30.0, 35.0, 40.0]
    best = max((t for t in pr["tried"] if "refused" not in t),
               key=lambda t: t["expected_margin"])
    assert pr["chosen_percent"] == best["percent"]
    assert set(pr["inputs"]) == {"buy_7d", "discount_response"}


def test_dynamic_discount_stable_within_a_session(shop: Any) -> None:
    buyer(shop, "d2")
    offer(shop, id="dyn", items=["shoe-2"], value=10, margin_floor=0.1, dynamic=DYNAMIC)
    first = nba(shop, "d2", at="2026-03-02T12:00:00Z", include_items=False, session="s1")
    pct = status_discount(first)
    # Behaviour changes the propensities mid-session ...
    for minute in range(10, 60, 8):
        events(shop, "d2", {"type": "purchase", "item_id": "sock-1",
                            "occurred_at": f"2026-03-02T12:{minute}:00Z"})
    same = nba(shop, "d2", at="2026-03-02T13:00:00Z", include_items=False, session="s1")
    assert status_discount(same) == pct
    assert same["candidates"][0]["pricing"]["rule"] == "kept from earlier in this session"
    # ... which a new session may reflect.
    fresh = nba(shop, "d2", at="2026-03-02T13:00:00Z", include_items=False, session="s2")
    assert fresh["candidates"][0]["pricing"]["rule"].startswith("max expected margin")


def status_discount(d: dict[str, Any]) -> float:
    return float(next(c["discount"] for c in d["candidates"] if c["key"] == "offer:dyn"))


def test_fairness_audit_protected_attribute_does_not_move_price(shop: Any) -> None:
    from app.db.models import Profile
    from app.services.identity import resolve

    offer(shop, id="dyn", items=["shoe-2"], value=10, margin_floor=0.1, dynamic=DYNAMIC)
    rt = shop.app.state.runtime
    for n, gender in enumerate(["f", "m", "f", "m"]):
        who = f"fair{n}"
        buyer(shop, who)  # identical behaviour
        with rt.sessions() as db:
            p = db.get(Profile, resolve(db, who).id)
            p.attributes = {"gender": gender, "age": 20 + 30 * (n % 2)}
            db.commit()
        nba(shop, who, at="2026-03-02T12:00:00Z", include_items=False)
    r = shop.get("/v1/offers/dyn/fairness", headers=ADMIN)
    assert r.status_code == 200, r.text
    audit = r.json()
    assert audit["customers"] == 4
    assert audit["by_attribute"]["gender"]["gap"] == 0.0
    assert audit["by_attribute"]["gender"]["n"] == {"f": 2, "m": 2}
    assert audit["verdict"] == "no protected attribute drives price"
    assert shop.get("/v1/offers/nope/fairness", headers=ADMIN).status_code == 404


class Hook(BaseHTTPRequestHandler):
    fail_first = 2
    seen: list[tuple[dict[str, str], bytes]] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Hook.seen.append((dict(self.headers), body))
        self.send_response(503 if len(Hook.seen) <= Hook.fail_first else 200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[str]:
    Hook.seen = []
    server = HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/hook"
    server.shutdown()


def test_signed_webhook_with_retries(app_factory: Any, db_url: str, receiver: str) -> None:
    from app.nba.webhooks import HEADER, send_due, verify
    from tests.nba.conftest import CATALOG

    client = app_factory(db_url, nba_webhook_poll_seconds=0, nba_webhook_backoff_seconds=1,
                         nba_webhook_max_attempts=5)
    assert client.put("/v1/items", json=CATALOG, headers=ADMIN).status_code == 200
    r = client.post("/v1/webhooks", json={"url": receiver, "channel": "push"}, headers=ADMIN)
    assert r.status_code == 201, r.text
    secret = r.json()["secret"]
    assert client.post("/v1/webhooks", json={"url": "ftp://x", "channel": "push"},
                       headers=ADMIN).status_code == 422
    buyer(client, "w1")
    consents(client, "w1", marketing=True)
    offer(client, id="o-push", items=["shoe-2"], channels=["push"])
    d = nba(client, "w1", at="2026-03-02T12:00:00Z", channels=["push"], include_items=False,
            deliver=True)
    assert status(d, "offer:o-push", "push")[0] == "chosen"
    rt = client.app.state.runtime
    now = datetime.now(UTC)
    with httpx.Client() as http:
        assert send_due(rt.sessions, rt.settings, http, now) == {"sent": 0, "retry": 1,
                                                                 "failed": 0}
        # not due yet: backoff
        assert send_due(rt.sessions, rt.settings, http, now)["retry"] == 0
        assert send_due(rt.sessions, rt.settings, http, now + timedelta(seconds=1.5)
                        )["retry"] == 1
        assert send_due(rt.sessions, rt.settings, http, now + timedelta(seconds=10)
                        )["sent"] == 1
        assert send_due(rt.sessions, rt.settings, http, now + timedelta(seconds=99)
                        ) == {"sent": 0, "retry": 0, "failed": 0}
    assert len(Hook.seen) == 3
    headers, body = Hook.seen[-1]
    assert verify(secret, headers[HEADER], body)
    assert not verify("whsec_other", headers[HEADER], body)
    assert not verify(secret, headers[HEADER], body + b" ")
    payload = json.loads(body)
    assert payload["decision_id"] == d["id"] and payload["channel"] == "push"
    out = client.get("/v1/webhooks/deliveries", headers=ADMIN).json()
    assert out[0]["status"] == "sent" and out[0]["attempts"] == 3
