"""The decision path's per-worker caches (people, offers) are checked against cache versions
bumped in the writer's transaction: a change made through another worker is seen by the
very next decision. Decisions that send nothing are committed without waiting for the disk,
and stay readable; redemptions and prices paid feed the discount-response propensity."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from tests.nba.conftest import CATALOG
from tests.nba.helpers import ADMIN, consents, events, nba, offer, status
from tests.support import auth

AT = "2026-03-02T12:00:00Z"


def two_workers(app_factory: Any, db_url: str) -> tuple[Any, Any]:
    a = app_factory(db_url, jobs_enabled=False, nba_quiet_start=0, nba_quiet_end=0)
    b = app_factory(db_url, jobs_enabled=False, nba_quiet_start=0, nba_quiet_end=0)
    assert a.put("/v1/items", json=CATALOG, headers=ADMIN).status_code == 200
    return a, b


def test_other_workers_changes_are_seen_by_the_next_decision(app_factory: Any,
                                                               db_url: str) -> None:
    a, b = two_workers(app_factory, db_url)
    events(a, "cx", {"type": "purchase", "item_id": "sock-1", "occurred_at":
                     "2026-03-01T12:00:00Z"})
    offer(a, id="o-mail", items=["shoe-2"], channels=["email", "web"])
    consents(a, "cx", marketing=True)
    d = nba(a, "cx", at=AT, channels=["email"], include_items=False)
    assert status(d, "offer:o-mail", "email")[0] == "chosen"
    nba(a, "cx", at=AT, channels=["email"], include_items=False)  # served from the caches
    consents(b, "cx", marketing=False)  # another worker
    d = nba(a, "cx", at=AT, channels=["email"], include_items=False)
    assert status(d, "offer:o-mail", "email")[2] == "no marketing consent"
    assert b.put("/v1/customers/cx/channels", json={"email": False},
                 headers=ADMIN).status_code == 200
    consents(b, "cx", marketing=True)
    d = nba(a, "cx", at=AT, channels=["email"], include_items=False)
    assert status(d, "offer:o-mail", "email")[2] == "the customer refused email"
    # Offers: a pause through another worker removes the candidate at once (no timer).
    assert b.post("/v1/offers/o-mail/pause", headers=ADMIN).status_code == 200
    d = nba(a, "cx", at=AT, channels=["web"], include_items=False)
    assert all(c["key"] != "offer:o-mail" for c in d["candidates"])
    # Erasure through another worker: the cached person is gone for this one too.
    assert b.delete("/v1/customers/cx", headers=ADMIN).status_code == 200
    r = a.post("/v1/customers/cx/next-best-action", json={"channels": ["web"]},
               headers=ADMIN)
    assert r.status_code == 404, r.text


def test_merge_through_another_worker_joins_the_cluster(app_factory: Any,
                                                        db_url: str) -> None:
    a, b = two_workers(app_factory, db_url)
    events(a, "m1", {"type": "purchase", "item_id": "sock-1", "occurred_at":
                     "2026-03-01T12:00:00Z"})
    r = a.post("/v1/events", json={"events": [{
        "event_id": "vm2-1", "visitor_id": "vm2", "type": "purchase", "item_id": "shoe-1",
        "occurred_at": "2026-03-01T13:00:00Z"}]}, headers=ADMIN)
    assert r.status_code == 200, r.text
    pid1 = a.get("/v1/customers/m1", headers=ADMIN).json()["id"]
    before = a.get(f"/v1/customers/{pid1}/propensities?at={AT}", headers=ADMIN).json()
    nba(a, pid1, at=AT, include_items=False)  # caches m1's person under its profile id
    r = b.post("/v1/identify", json={"customer_id": "m1", "visitor_id": "vm2"},
               headers=ADMIN)
    assert r.status_code in (200, 201), r.text
    d = nba(a, pid1, at=AT, include_items=False)
    after = a.get(f"/v1/customers/{pid1}/propensities?at={AT}", headers=ADMIN).json()
    assert before["features"]["frequency"] == 1.0 and after["features"]["frequency"] == 2.0
    assert d["customer_id"] == after["customer_id"]


def test_decisions_commit_without_fsync_and_stay_readable(app_factory: Any,
                                                          db_url: str) -> None:
    a, b = two_workers(app_factory, db_url)
    events(a, "cy", {"type": "purchase", "item_id": "sock-1", "occurred_at":
                     "2026-03-01T12:00:00Z"})
    offer(a, id="o1", items=["shoe-2"])
    ids = [nba(a, "cy", at=AT, include_items=False)["id"] for _ in range(3)]
    for i in ids:
        got = b.get(f"/v1/decisions/{i}", headers=ADMIN)
        assert got.status_code == 200 and got.json()["id"] == i
    if db_url.startswith("sqlite"):
        rt = a.app.state.runtime
        with rt.sessions() as db:  # the pooled connection is back to FULL (2)
            assert db.execute(text("PRAGMA synchronous")).scalar() == 2


def test_redemptions_and_prices_paid_feed_discount_response(shop: Any) -> None:
    offer(shop, id="o10", value=10, items=["shoe-2"])
    events(shop, "full", {"type": "purchase", "item_id": "shoe-2"})
    events(shop, "redeemer", {"type": "purchase", "item_id": "shoe-2"})
    r = shop.post("/v1/offers/o10/redemptions", json={
        "customer_id": "redeemer", "basket_value": 80, "discount_amount": 8},
        headers=auth(shop.developer))
    assert r.status_code == 200, r.text
    events(shop, "paid", {"type": "purchase", "item_id": "shoe-2",
                          "context": {"unit_price": 60.0}})
    feats = {who: shop.get(f"/v1/customers/{who}/propensities", headers=ADMIN).json()
             for who in ("full", "redeemer", "paid")}
    assert feats["full"]["features"]["discount_share"] == 0.0
    assert feats["redeemer"]["features"]["discount_share"] == 1.0
    assert feats["paid"]["features"]["discount_share"] == 1.0
    p = {w: f["propensities"]["discount_response"]["p"] for w, f in feats.items()}
    assert p["full"] < min(p["redeemer"], p["paid"]), p  # discounts bought: more responsive
    export = shop.get("/v1/customers/redeemer/export", headers=ADMIN).json()
    assert len(export["nba_redemptions"]) == 1
    bad = shop.post("/v1/events", json={"events": [{
        "event_id": "neg", "customer_id": "paid", "type": "purchase", "item_id": "shoe-2",
        "context": {"unit_price": -1}}]}, headers=ADMIN)
    assert bad.status_code in (200, 422)
    assert "unit_price" in bad.text
