"""Offer CRUD, activation and the precise 4xx for impossible definitions."""

from __future__ import annotations

from typing import Any

from tests.support import auth


def offer(**kw: Any) -> dict[str, Any]:
    base = {"id": "o1", "name": "10% off shoes", "kind": "percent_discount", "value": 10,
            "items": ["shoe-1", "shoe-2"], "margin_floor": 0.2,
            "valid_from": "2026-01-01T00:00:00Z", "valid_until": "2099-01-01T00:00:00Z"}
    return base | kw


def test_crud_activate_pause(shop: Any) -> None:
    h = auth(shop.marketer)
    r = shop.post("/v1/offers", json=offer(), headers=h)
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "draft"
    assert shop.post("/v1/offers", json=offer(), headers=h).status_code == 409
    r = shop.post("/v1/offers/o1/activate", headers=h)
    assert r.status_code == 200 and r.json()["status"] == "active"
    assert [o["id"] for o in shop.get("/v1/offers?status=active", headers=h).json()] == ["o1"]
    r = shop.put("/v1/offers/o1", json=offer(value=15, name="15% off"), headers=h)
    assert r.status_code == 200 and r.json()["spec"]["value"] == 15
    assert shop.post("/v1/offers/o1/pause", headers=h).json()["status"] == "paused"
    assert shop.get("/v1/offers?status=active", headers=h).json() == []
    assert shop.delete("/v1/offers/o1", headers=h).status_code == 204
    assert shop.get("/v1/offers/o1", headers=h).status_code == 404


def test_roles(shop: Any) -> None:
    r = shop.post("/v1/offers", json=offer(), headers=auth(shop.developer))
    assert r.status_code == 403
    assert shop.get("/v1/offers", headers=auth(shop.developer)).status_code == 200
    assert shop.get("/v1/offers").status_code == 401


def test_discount_below_margin_floor(shop: Any) -> None:
    # shoe-1 costs 60 of 100: 30% off sells at 70, a 14% margin, under the 20% floor.
    r = shop.post("/v1/offers", json=offer(value=30), headers=auth(shop.marketer))
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert "margin floor" in err["message"]
    below = err["details"]["below_margin_floor"]
    assert [b["item_id"] for b in below] == ["shoe-1"]
    # the largest discount that keeps 20%: 1 - 60 / (100 * 0.8) = 25%
    assert below[0]["max_discount_percent"] == 25.0
    assert shop.post("/v1/offers", json=offer(value=25), headers=auth(shop.marketer)
                     ).status_code == 201


def test_amount_discount_margin_and_unknown_cost_warning(shop: Any) -> None:
    h = auth(shop.marketer)
    r = shop.post("/v1/offers", json=offer(id="a1", kind="amount_discount", value=7,
                                           items=["sock-1"], margin_floor=0.1), headers=h)
    assert r.status_code == 422  # 10 - 7 = 3 = cost: 0% margin
    r = shop.post("/v1/offers", json=offer(id="a2", kind="percent_discount", value=50,
                                           items=["nocost-1"]), headers=h)
    assert r.status_code == 201
    assert "cost is unknown" in r.json()["warnings"][0]


def test_bad_definitions(shop: Any) -> None:
    h = auth(shop.marketer)
    cases = [
        (offer(valid_from="2026-05-01T00:00:00Z", valid_until="2026-04-01T00:00:00Z"),
         "empty validity window"),
        (offer(items=["shoe-1", "ghost-9"]), "unknown item"),
        (offer(kind="bundle", value=None), "bundle"),
        (offer(value=None), "positive `value`"),
        (offer(kind="free_shipping"), "takes no `value`"),
        (offer(eligibility=[{"field": "attributes.gender", "op": "==", "value": "f"}]),
         "protected attribute"),
        (offer(eligibility=[{"field": "shoe_size", "op": "==", "value": 3}]),
         "unknown field"),
        (offer(valid_until="2026-04-01T00:00:00"), "timezone"),
        (offer(dynamic={"min_percent": 20, "max_percent": 10}), "min_percent"),
    ]
    for body, needle in cases:
        r = shop.post("/v1/offers", json=body, headers=h)
        assert r.status_code == 422, (needle, r.text)
        assert needle.lower() in r.text.lower(), (needle, r.text)
    bundle = offer(id="b1", kind="bundle", value=None, items=[],
                   bundle={"requires": ["shoe-1"], "reward_item": "ghost"})
    r = shop.post("/v1/offers", json=bundle | {"bundle": {"requires": ["shoe-1"],
                                                          "reward_item": "ghost",
                                                          "percent": 10}}, headers=h)
    assert r.status_code == 422 and "ghost" in r.text


def test_expired_offer_cannot_be_activated(shop: Any) -> None:
    h = auth(shop.marketer)
    body = offer(valid_from="2020-01-01T00:00:00Z", valid_until="2020-02-01T00:00:00Z")
    assert shop.post("/v1/offers", json=body, headers=h).status_code == 201
    r = shop.post("/v1/offers/o1/activate", headers=h)
    assert r.status_code == 422 and "ended" in r.text


def test_redemptions_check_hurdle_and_budget(shop: Any) -> None:
    from tests.nba.helpers import events

    events(shop, "r1", {"type": "view", "item_id": "shoe-1"})
    h = auth(shop.marketer)
    body = offer(hurdle={"min_basket": 50}, budget={"max_redemptions": 2, "max_spend": 100})
    assert shop.post("/v1/offers", json=body, headers=h).status_code == 201
    dev = auth(shop.developer)
    red = {"customer_id": "r1", "basket_value": 80, "discount_amount": 8}
    assert shop.post("/v1/offers/o1/redemptions", json=red, headers=dev).status_code == 409
    shop.post("/v1/offers/o1/activate", headers=h)
    r = shop.post("/v1/offers/o1/redemptions", json=red | {"basket_value": 20}, headers=dev)
    assert r.status_code == 422 and "hurdle" in r.text
    for _ in range(2):
        r = shop.post("/v1/offers/o1/redemptions", json=red, headers=dev)
        assert r.status_code == 200, r.text
    assert r.json()["redemptions"] == 2 and r.json()["spent"] == 16
    r = shop.post("/v1/offers/o1/redemptions", json=red, headers=dev)
    assert r.status_code == 409 and "budget exhausted" in r.text
    from tests.nba.helpers import nba, status

    d = nba(shop, "r1", include_items=False)
    assert status(d, "offer:o1", "web")[2] == "offer budget exhausted (redemptions)"
    assert shop.post("/v1/offers/o1/redemptions", json=red | {"customer_id": "ghost"},
                     headers=dev).status_code == 404
