"""The one decision path through the real app: candidates beyond the first 5,000 items,
stable exploration within a session, the shared rules on every surface, empty results
that say why, reasons that push one way, trending by the events' own time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from app.decide.rules import diversify
from app.decide.trending import Trending
from tests.support import auth, new_key


def small_catalog() -> list[dict[str, Any]]:
    kinds = [("Footwear > Running", "running shoe", "mesh"),
             ("Home > Kitchen", "kitchen knife", "steel"),
             ("Apparel > Women", "linen dress", "linen")]
    items: list[dict[str, Any]] = []
    for c, (cat, noun, material) in enumerate(kinds):
        for i in range(10):
            items.append({"id": f"c{c}-{i}", "title": f"{noun.title()} model {i}",
                          "category": cat, "brand": f"Brand{c}", "price": 20 + i, "stock": 5,
                          "attributes": {"material": [material]}})
    return items


def start(app_factory: Any, url: str, items: list[dict[str, Any]], **settings: Any) -> Any:
    c = app_factory(url, search_enabled=True, chat_enabled=False, **settings)
    c.dev = new_key(c, "developer")
    assert c.put("/v1/items", json=items, headers=auth(c.dev)).status_code == 200
    c.app.state.runtime.search.wait_ready(timeout=600)
    return c


def recs(c: Any, who: str, **params: Any) -> dict[str, Any]:
    r = c.get(f"/v1/customers/{who}/recommendations", params={"k": 10, **params},
              headers=auth(c.dev))
    assert r.status_code == 200, r.text
    return dict(r.json())


def ids(result: dict[str, Any]) -> list[str]:
    return [i["item_id"] for i in result["items"]]


def send(c: Any, events: list[dict[str, Any]]) -> None:
    r = c.post("/v1/events", json={"events": events}, headers=auth(c.dev))
    assert r.status_code == 200, r.text


def bought(who: str, items: list[str], type_: str = "purchase") -> list[dict[str, Any]]:
    return [{"event_id": f"{type_}-{who}-{i}", "type": type_, "customer_id": who,
             "item_id": item} for i, item in enumerate(items)]


def test_an_item_beyond_the_5000th_can_be_recommended(app_factory: Any,
                                                       sqlite_url: str) -> None:
    # 5,100 socks first in index order, then garden tools: the old path only ever looked
    # at the first 5,000 items, so no garden tool could be recommended whatever one bought.
    # One sock text: the embedder's content cache embeds it once (the test stays cheap).
    items = [{"id": f"sock-{i}", "title": "Cotton sock", "category": "Apparel > Socks",
              "price": 5} for i in range(5100)]
    items += [{"id": f"tool-{i}", "title": f"Garden trowel {i}", "category": "Garden > Tools",
               "price": 15} for i in range(40)]
    c = start(app_factory, sqlite_url, items, exploration=0.0)
    c.post("/v1/identify", headers=auth(c.dev), json={"customer_id": "G-1"})
    send(c, bought("G-1", [f"tool-{i}" for i in range(5)]))
    got = ids(recs(c, "G-1"))
    fresh = [i for i in got if i.startswith("tool-") and int(i.split("-")[1]) >= 5]
    assert len(fresh) >= 3, got


@pytest.fixture
def shop(app_factory: Any, sqlite_url: str) -> Any:
    items = small_catalog()
    items[0]["stock"] = 0  # c0-0 is out of stock
    items[1]["stock"] = None  # c0-1: stock unknown
    c = start(app_factory, sqlite_url, items, exploration=1.0)
    c.post("/v1/identify", headers=auth(c.dev), json={"customer_id": "S-1"})
    return c


def test_the_same_request_twice_in_a_session_gives_the_same_list(shop: Any) -> None:
    c = shop
    send(c, bought("S-1", ["c2-0", "c2-1"]))
    first = ids(recs(c, "S-1", session="s-1", k=20))
    assert ids(recs(c, "S-1", session="s-1", k=20)) == first
    assert ids(recs(c, "S-1", session="s-1", k=20)) == first


def test_out_of_stock_is_excluded_and_unknown_stock_is_included(shop: Any) -> None:
    got = ids(recs(shop, "S-1", k=100))
    assert "c0-0" not in got and "c0-1" in got and len(got) == 29


def test_an_empty_result_says_why(shop: Any, app_factory: Any) -> None:
    r = recs(shop, "S-1", category="Footwear", max_price=20)  # only c0-0: out of stock
    assert r["items"] == [] and "out of stock" in r["why_empty"]
    r = recs(shop, "S-1", min_price=1000)
    assert r["items"] == [] and "match" in r["why_empty"]


def test_a_dismissed_item_disappears_from_every_surface(app_factory: Any,
                                                        db_url: str) -> None:
    c = start(app_factory, db_url, small_catalog(), exploration=0.0)
    h = auth(c.dev)
    c.post("/v1/identify", headers=h, json={"customer_id": "D-1"})
    send(c, bought("D-1", ["c1-0", "c1-1"], "click"))

    def everywhere() -> tuple[list[str], list[str], list[str]]:
        r = ids(recs(c, "D-1", k=30))
        s = c.get("/v1/search", params={"q": "kitchen knife", "k": 20, "customer_id": "D-1"},
                  headers=h).json()["hits"]
        m = c.get("/v1/items/c1-0/similar", params={"k": 20, "customer_id": "D-1"},
                  headers=h).json()["hits"]
        return r, [x["item_id"] for x in s], [x["item_id"] for x in m]

    assert all("c1-5" in got for got in everywhere())
    send(c, bought("D-1", ["c1-5"], "dismiss"))
    assert all("c1-5" not in got for got in everywhere())


def test_reasons_push_the_same_way_as_the_score(shop: Any) -> None:
    send(shop, bought("S-1", [f"c2-{i}" for i in range(5)]))
    for item in recs(shop, "S-1", k=20, session="r")["items"]:
        signs = {r["weight"] >= 0 for r in item["reasons"]}
        assert len(signs) <= 1, item["reasons"]


def test_trending_is_judged_by_the_events_own_time(shop: Any) -> None:
    # A replayed history from 2011: nothing happened "in the last 72 hours" by the clock,
    # but in the events' own time these items were trending at the end of the log.
    old = datetime(2011, 12, 9, tzinfo=UTC)
    events = []
    for n in range(3):
        for item, at in (("c1-3", old), ("c1-4", old - timedelta(days=30))):
            events.append({"event_id": f"t-{item}-{n}", "type": "purchase",
                           "customer_id": f"T-{n}", "item_id": item,
                           "occurred_at": at.isoformat()})
    for n in range(3):
        shop.post("/v1/identify", headers=auth(shop.dev), json={"customer_id": f"T-{n}"})
    send(shop, events)
    trending = Trending(shop.app.state.runtime.sessions, window_hours=72, refresh_seconds=0)
    assert trending.top() == ["c1-3"]  # c1-4 was a month before the newest event


def test_diversity_keeps_near_duplicates_below_the_rest() -> None:
    vecs = {f"d{i}": np.array([1.0, 0.0]) for i in range(6)}
    vecs |= {"x": np.array([0.0, 1.0]), "y": np.array([0.6, 0.8])}
    ranked = [f"d{i}" for i in range(6)] + ["x", "y"]
    out = diversify(ranked, vecs.__getitem__, 6, cosine=0.97, max_similar=4)
    assert out[:6] == ["d0", "d1", "d2", "d3", "x", "y"] and sorted(out) == sorted(ranked)
