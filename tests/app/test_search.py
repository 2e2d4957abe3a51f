"""Search endpoints over the real MiniLM index: hybrid search, filters from text,
item-to-item, incremental updates across workers, bad parameters."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.support import auth, new_key

ITEMS = [
    {"id": "shoe-vegan", "title": "Vegan Trail Running Shoe", "brand": "Stride",
     "category": "Footwear > Running", "price": 79.0, "stock": 5,
     "attributes": {"material": ["recycled mesh"], "diet": ["vegan"]}},
    {"id": "shoe-leather", "title": "Leather Running Shoe", "brand": "Oakhide",
     "category": "Footwear > Running", "price": 120.0, "stock": 3,
     "attributes": {"material": ["leather"]}},
    {"id": "boot-leather", "title": "Leather Hiking Boot", "brand": "Oakhide",
     "category": "Footwear > Boots", "price": 150.0, "stock": 0,
     "attributes": {"material": ["leather"]}},
    {"id": "pan-1", "title": "Cast Iron Skillet", "brand": "Hearth",
     "category": "Home > Kitchen", "price": 45.0, "stock": 9,
     "attributes": {"material": ["cast iron"]}},
    {"id": "sku-ZX81", "title": "Ceramic Mug", "brand": "Kiln & Co",
     "category": "Home > Kitchen", "price": 12.0, "stock": 40,
     "attributes": {"color": ["white"]}},
    {"id": "toy-1", "title": "Wooden Building Blocks", "brand": "Tinker",
     "category": "Toys", "price": 25.0, "stock": 7, "attributes": {"age": ["3-5"]}},
]


@pytest.fixture
def search_client(app_factory: Any, db_url: str) -> Any:
    client = app_factory(db_url, search_enabled=True)
    dev = new_key(client, "developer")
    assert client.put("/v1/items", json=ITEMS, headers=auth(dev)).status_code == 200
    client.app.state.runtime.search.wait_ready()
    client.dev = dev  # type: ignore[attr-defined]
    return client


def ids(r: Any) -> list[str]:
    assert r.status_code == 200, r.text
    return [h["item_id"] for h in r.json()["hits"]]


def test_hybrid_search_understands_constraints(search_client: Any) -> None:
    c = search_client
    r = c.get("/v1/search", params={"q": "running shoes under $100 no leather", "k": 3})
    assert ids(r) == ["shoe-vegan"]  # the only item matching the filters
    body = r.json()
    assert body["filters"]["max_price"] == 100 and body["constraints"]
    assert not body["personalized"]
    # A rare token (SKU) and a brand match lexically.
    assert ids(c.get("/v1/search", params={"q": "ZX81", "k": 1})) == ["sku-ZX81"]
    assert ids(c.get("/v1/search", params={"q": "Oakhide", "k": 2, "mode": "lexical"})) and all(
        i in {"shoe-leather", "boot-leather"}
        for i in ids(c.get("/v1/search", params={"q": "Oakhide", "k": 2})))


def test_filters_return_k_whenever_k_match(search_client: Any) -> None:
    c = search_client
    got = ids(c.get("/v1/search", params={"q": "kitchen", "k": 4, "category": "Footwear"}))
    assert len(got) == 3 and all(i.startswith(("shoe", "boot")) for i in got)
    got = ids(c.get("/v1/search", params={"q": "shoe", "k": 5, "in_stock": True,
                                          "exclude": ["material=leather"]}))
    assert "boot-leather" not in got and "shoe-leather" not in got and len(got) == 4
    got = ids(c.get("/v1/search", params={"q": "gift", "k": 5, "age": 4,
                                          "category": "Toys"}))
    assert got == ["toy-1"]


def test_similar_items(search_client: Any) -> None:
    c = search_client
    got = ids(c.get("/v1/items/shoe-vegan/similar", params={"k": 2}))
    assert "shoe-vegan" not in got and got[0] == "shoe-leather"
    assert c.get("/v1/items/nope/similar").status_code == 404


@pytest.mark.parametrize(("params", "fragment"), [
    ({"q": "x", "k": 0}, "k"),
    ({"q": "x", "k": 101}, "k"),
    ({"q": ""}, "q"),
    ({"q": "   "}, "blank"),
    ({"q": "x", "min_price": 50, "max_price": 10}, "min_price"),
    ({"q": "x", "mode": "magic"}, "mode"),
    ({"q": "x", "require": ["vegan"], "exclude": ["vegan"]}, "both required and excluded"),
])
def test_bad_parameters_get_precise_422(search_client: Any, params: dict[str, Any],
                                        fragment: str) -> None:
    r = search_client.get("/v1/search", params=params)
    assert r.status_code == 422, r.text
    assert fragment in r.text


def test_personalized_search_needs_a_key_for_that_customer(search_client: Any) -> None:
    c = search_client
    r = c.get("/v1/search", params={"q": "shoe", "customer_id": "C-1"})
    assert r.status_code == 403
    widget = new_key(c, "widget")
    token = c.post("/v1/widget/session", headers=auth(widget)).json()["visitor_token"]
    r = c.get("/v1/search", params={"q": "shoe", "customer_id": "someone-else"},
              headers={**auth(widget), "X-Visitor-Token": token})
    assert r.status_code == 403


def test_catalog_changes_reach_the_index_within_a_second(search_client: Any,
                                                          app_factory: Any) -> None:
    c = search_client
    url = c.app.state.settings.resolved_database_url
    # A second "worker" on the same database and data dir.
    other = app_factory(url, search_enabled=True)
    other.app.state.runtime.search.wait_ready()
    new = {"id": "kettle-9", "title": "Copper Whistling Kettle", "brand": "Hearth",
           "category": "Home > Kitchen", "price": 60.0, "stock": 2}
    assert c.put("/v1/items", json=[new], headers=auth(c.dev)).status_code == 200
    # Searchable at once on the worker that took the write ...
    assert ids(c.get("/v1/search", params={"q": "copper kettle", "k": 1})) == ["kettle-9"]
    # ... and within a second on the other one, without a rebuild.
    deadline = time.time() + 3
    while time.time() < deadline:
        if ids(other.get("/v1/search", params={"q": "copper kettle", "k": 1})) == ["kettle-9"]:
            break
        time.sleep(0.1)
    else:
        pytest.fail("the other worker never saw the new item")
    # Out of stock and price changes apply to filters; deletion removes it.
    c.put("/v1/items", json=[{**new, "stock": 0, "price": 5.0}], headers=auth(c.dev))
    r = c.get("/v1/search", params={"q": "copper kettle", "k": 1, "in_stock": True,
                                    "category": "Home > Kitchen"})
    assert "kettle-9" not in ids(r)
    assert c.delete("/v1/items/kettle-9", headers=auth(c.dev)).status_code == 200
    assert "kettle-9" not in ids(c.get("/v1/search", params={"q": "copper kettle", "k": 3}))


def test_index_persists_and_reloads_without_reembedding(search_client: Any,
                                                        app_factory: Any) -> None:
    c = search_client
    url = c.app.state.settings.resolved_database_url
    c.app.state.runtime.search.stop()
    again = app_factory(url, search_enabled=True)
    rt = again.app.state.runtime
    rt.search.wait_ready()
    assert ids(again.get("/v1/search", params={"q": "ZX81", "k": 1})) == ["sku-ZX81"]
    built = rt.search.build_result
    assert built.embedded == 0 and built.unchanged == len(ITEMS)
    assert again.get("/readyz").json()["checks"]["search"] == "ok"
