"""Catalog hardening through the real app on SQLite and PostgreSQL (issue #10 items 1, 5, 7
and #11 "silently empty" / readiness): one stored row can't take the shop down, every
imported row is accounted for, unknown stock is not zero, cost/margin/stock are for staff
only, and /readyz tells the truth while a catalog is being embedded."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert

from app.db.models import CatalogChange, ItemRow
from app.services import catalog
from retrieval.catalog import Item
from tests.support import auth, new_key, sample_items

ROOT = Path(__file__).resolve().parents[2]


def until(condition: Callable[[], Any], what: str, timeout: float = 90.0) -> Any:
    """Poll until `condition()` is truthy (generous deadline: not a timing assertion)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


def store_legacy_row(rt: Any, **values: Any) -> None:
    """A row written without the API (an older version, a hand edit), with its outbox
    entry, as a legacy writer would leave it."""
    row = {"id": "legacy-1", "title": "Legacy Lamp", "description": "", "category": "Home",
           "brand": "", "price": 10.0, "currency": "USD", "cost": None, "margin": None,
           "stock": 3, "attributes": {}, "image_url": None, "tags": [],
           "sensitive_topics": [], "active": True, "content_hash": ""}
    row.update(values)
    with rt.sessions() as db:
        db.execute(insert(ItemRow).values(**row))
        db.execute(insert(CatalogChange).values(item_id=row["id"], op="upsert"))
        db.commit()


def hit_ids(r: Any) -> list[str]:
    assert r.status_code == 200, r.text
    return [h["item_id"] for h in r.json()["hits"]]


# -- 1. one row can't take the shop down ------------------------------------------------------

def test_cost_above_twice_the_price_is_stored_and_read_back(client: Any) -> None:
    dev = new_key(client, "developer")
    item = {"id": "clear-1", "title": "Clearance Kettle", "category": "Home", "price": 10.0,
            "cost": 35.0, "stock": 2}
    assert client.put("/v1/items", json=[item], headers=auth(dev)).status_code == 200
    got = client.get("/v1/items/clear-1", headers=auth(dev))
    assert got.status_code == 200, got.text
    assert got.json()["margin"] == -2.5
    page = client.get("/v1/items", headers=auth(dev))
    assert page.status_code == 200 and page.json()["items"][0]["id"] == "clear-1"
    assert client.get("/v1/items").status_code == 200


@pytest.mark.parametrize(("body", "field"), [
    ('[{"id": "n1", "title": "T", "category": "C", "price": 10, "cost": Infinity}]', "cost"),
    ('[{"id": "n1", "title": "T", "category": "C", "price": 10, "cost": 1e999}]', "cost"),
    ('[{"id": "n1", "title": "T", "category": "C", "price": NaN}]', "price"),
    ('[{"id": "n1", "title": "T", "category": "C", "price": 10, "margin": -Infinity}]',
     "margin"),
    ('[{"id": "n1", "title": "T", "category": "C", "price": 10, '
     '"attributes": {"weight": [1e999]}}]', "attributes"),
    ('[{"id": "n1", "title": "T\\u0000", "category": "C", "price": 10}]', "title"),
    ('[{"id": "n1", "title": "T", "category": "C", "price": 10, "tags": ["\\ud800"]}]',
     "tags"),
])
def test_unstorable_values_get_a_precise_422(client: Any, body: str, field: str) -> None:
    dev = new_key(client, "developer")
    r = client.put("/v1/items", content=body, headers={**auth(dev),
                                                       "Content-Type": "application/json"})
    assert r.status_code == 422, r.text
    reasons = r.json()["error"]["details"][0]["reasons"]
    assert any(x.startswith(field) for x in reasons), reasons
    assert client.get("/v1/items").json()["total"] == 0


def test_a_legacy_unreadable_row_never_takes_the_shop_down(app_factory: Any,
                                                           db_url: str) -> None:
    c = app_factory(db_url, search_enabled=True, chat_enabled=False, exploration=0.0)
    rt = c.app.state.runtime
    dev = new_key(c, "developer")
    assert c.put("/v1/items", json=sample_items(6), headers=auth(dev)).status_code == 200
    search = rt.search
    search.wait_ready()
    store_legacy_row(rt, cost=math.inf)  # what `PUT` used to accept

    # Reads skip it; the item itself says why it can't be shown.
    for headers in ({}, auth(dev)):
        page = c.get("/v1/items", headers=headers)
        assert page.status_code == 200, page.text
        assert "legacy-1" not in [i["id"] for i in page.json()["items"]]
    r = c.get("/v1/items/legacy-1", headers=auth(dev))
    assert r.status_code == 404 and "unreadable" in r.json()["error"]["message"]
    assert "cost" in r.json()["error"]["message"]

    # The follower skips and reports it, and keeps applying later changes.
    until(lambda: search.details()["unreadable_items"] == 1, "the follower to report the row")
    with rt.sessions() as db:  # like `tailor catalog import`: no fast path, only the outbox
        catalog.import_rows(db, [Item(id="kettle-9", title="Copper Whistling Kettle",
                                      category="Home > Kitchen", price=60.0)])
    until(lambda: hit_ids(c.get("/v1/search", params={"q": "copper kettle", "k": 1}))
          == ["kettle-9"], "the follower to apply the next change")
    ready = c.get("/readyz")
    assert ready.status_code == 200, ready.text
    details = ready.json()["details"]["search"]
    assert details["unreadable_items"] == 1
    assert details["unreadable"][0]["id"] == "legacy-1"
    assert "cost" in details["unreadable"][0]["reason"]
    assert "tailor_catalog_unreadable_items 1.0" in c.get("/metrics").text

    # A restart loads the index without it: search and recommendations are served.
    search.stop()
    again = app_factory(db_url, search_enabled=True, chat_enabled=False, exploration=0.0)
    again_search = again.app.state.runtime.search
    again_search.wait_ready()
    assert again.get("/readyz").status_code == 200
    assert again_search.details()["unreadable_items"] == 1
    assert hit_ids(again.get("/v1/search", params={"q": "copper kettle", "k": 1})) == [
        "kettle-9"]
    assert again.post("/v1/identify", headers=auth(dev),
                      json={"customer_id": "C-1"}).status_code == 200
    recs = again.get("/v1/customers/C-1/recommendations", headers=auth(dev))
    assert recs.status_code == 200 and recs.json()["items"], recs.text

    # Deleting it clears the report, without a restart.
    assert again.delete("/v1/items/legacy-1", headers=auth(dev)).status_code == 200
    until(lambda: again_search.details()["unreadable_items"] == 0, "the report to clear")
    assert "unreadable" not in again.get("/readyz").json()["details"]["search"]


def test_a_legacy_row_fixed_through_the_api_is_served_again(app_factory: Any,
                                                            db_url: str) -> None:
    c = app_factory(db_url, search_enabled=True, chat_enabled=False)
    rt = c.app.state.runtime
    dev = new_key(c, "developer")
    store_legacy_row(rt, id="lamp-2", title="Brass Desk Lamp", price=math.inf)
    search = rt.search
    search.wait_ready()
    until(lambda: search.details()["unreadable_items"] == 1, "the row to be reported")
    fixed = {"id": "lamp-2", "title": "Brass Desk Lamp", "category": "Home", "price": 40.0}
    assert c.put("/v1/items", json=[fixed], headers=auth(dev)).status_code == 200
    until(lambda: search.details()["unreadable_items"] == 0, "the report to clear")
    assert hit_ids(c.get("/v1/search", params={"q": "brass lamp", "k": 1})) == ["lamp-2"]
    assert c.get("/v1/items/lamp-2").json()["price"] == 40.0


# -- 4. staff-only fields and bounded paging --------------------------------------------------

def test_cost_margin_and_stock_are_for_staff_only(app_factory: Any, db_url: str) -> None:
    c = app_factory(db_url, search_enabled=True, chat_enabled=False)
    dev = new_key(c, "developer")
    assert c.put("/v1/items", json=sample_items(4), headers=auth(dev)).status_code == 200
    c.app.state.runtime.search.wait_ready()
    widget, marketer = new_key(c, "widget"), new_key(c, "marketer")
    secret = {"cost", "margin", "stock"}

    def views(headers: dict[str, str]) -> list[dict[str, Any]]:
        out = [c.get("/v1/items/sku-1", headers=headers).json()]
        out += c.get("/v1/items", headers=headers).json()["items"]
        for r in (c.get("/v1/search", params={"q": "item", "k": 3}, headers=headers),
                  c.get("/v1/items/sku-1/similar", params={"k": 2}, headers=headers)):
            assert r.status_code == 200, r.text
            out += [h["item"] for h in r.json()["hits"]]
        return out

    for headers in ({}, auth(widget)):
        for item in views(headers):
            assert not secret & set(item), item
            assert item["in_stock"] == (item["id"] != "sku-0")  # sku-0 has stock 0
    session = c.post("/v1/widget/session", headers=auth(widget)).json()
    visitor = {**auth(widget), "X-Visitor-Token": session["visitor_token"]}
    me = session["visitor_id"]
    recs = c.get(f"/v1/customers/{me}/recommendations", headers=visitor)
    assert recs.status_code == 200 and recs.json()["items"], recs.text
    assert all(not secret & set(r["item"]) for r in recs.json()["items"])
    for headers in (auth(marketer), auth(dev)):
        for item in views(headers):
            assert secret <= set(item) and item["cost"] == 5.0
    spec = c.get("/openapi.json").json()
    shown = json.dumps(spec["paths"]["/v1/items/{item_id}"]["get"]["responses"]["200"])
    assert "StaffItem" in shown and "PublicItem" in shown
    assert "stock" not in spec["components"]["schemas"]["PublicItem"]["properties"]
    assert "Item" in spec["components"]["schemas"]  # the upsert body's items


@pytest.mark.parametrize("params", [{"offset": "9223372036854775808"}, {"offset": -1},
                                    {"offset": 10**9}, {"limit": 1001},
                                    {"category": "Home\x00"}])
def test_paging_and_filters_are_bounded(client: Any, params: dict[str, Any]) -> None:
    r = client.get("/v1/items", params=params)
    assert r.status_code == 422, r.text
    assert next(iter(params)) in r.json()["error"]["message"]


def test_odd_item_ids_are_a_plain_404(client: Any) -> None:
    for path in ("/v1/items/%ED%A0%80", "/v1/items/a%00b", "/v1/items/" + "x" * 300):
        assert client.get(path).status_code == 404
    dev = new_key(client, "developer")
    assert client.delete("/v1/items/a%00b", headers=auth(dev)).status_code == 404


# -- 3. unknown stock is not zero ----------------------------------------------------------------

def test_a_catalog_without_stock_is_recommendable(app_factory: Any, db_url: str) -> None:
    c = app_factory(db_url, search_enabled=True, chat_enabled=False, exploration=0.0)
    dev = new_key(c, "developer")
    csv_text = "id,title,category,price\n" + "".join(
        f"mug-{i},Ceramic Mug {i},Home > Kitchen,{10 + i}\n" for i in range(5))
    r = c.post("/v1/items/import", headers=auth(dev),
               files={"file": ("c.csv", csv_text.encode(), "text/csv")})
    assert r.json()["accepted"] == 5
    gone = {"id": "mug-sold", "title": "Ceramic Mug Sold Out", "category": "Home > Kitchen",
            "price": 9.0, "stock": 0}
    assert c.put("/v1/items", json=[gone], headers=auth(dev)).status_code == 200
    c.app.state.runtime.search.wait_ready()

    staff = c.get("/v1/items/mug-1", headers=auth(dev)).json()
    assert staff["stock"] is None and staff["in_stock"] is True
    assert c.get("/v1/items/mug-sold").json()["in_stock"] is False
    in_stock = c.get("/v1/items", params={"in_stock": True}).json()
    assert in_stock["total"] == 5 and "mug-sold" not in [i["id"] for i in in_stock["items"]]
    assert [i["id"] for i in c.get("/v1/items", params={"in_stock": False}).json()[
        "items"]] == ["mug-sold"]
    hits = hit_ids(c.get("/v1/search", params={"q": "mug", "k": 10, "in_stock": True}))
    assert len(hits) == 5 and "mug-sold" not in hits
    assert c.post("/v1/identify", headers=auth(dev),
                  json={"customer_id": "C-1"}).status_code == 200
    recs = c.get("/v1/customers/C-1/recommendations", headers=auth(dev)).json()
    assert sorted(i["item_id"] for i in recs["items"]) == [f"mug-{i}" for i in range(5)]


# -- 2. every import row accounted for ---------------------------------------------------------

TEN_ROWS = "id,title,category,price,stock\n" + "".join(
    f"r{i},Item {i},Shop > Misc,{i}.5,{i}\n" if i != 3 else 'r3,"Item 3,Shop > Misc,3.5,3\n'
    for i in range(1, 11))


def run_cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"TAILOR_DATA_DIR": str(tmp_path / "cli-var"), "PATH": "/usr/bin:/bin",
           "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "app.cli", "catalog", "import", *args],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)


def test_unbalanced_quote_costs_one_row_and_cli_and_upload_agree(client: Any,
                                                                  tmp_path: Path) -> None:
    dev = new_key(client, "developer")
    r = client.post("/v1/items/import", headers=auth(dev),
                    files={"file": ("catalog.csv", TEN_ROWS.encode(), "text/csv")})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["rows"] == 10 and body["accepted"] == 9 and body["rejected_count"] == 1
    assert body["rejected"][0]["row"] == 4 and body["rejected"][0]["id"] == "r3"
    assert "unbalanced quote" in body["rejected"][0]["reasons"][0]
    assert client.get("/v1/items").json()["total"] == 9

    src, report = tmp_path / "catalog.csv", tmp_path / "report.json"
    src.write_text(TEN_ROWS)
    out = run_cli(tmp_path, str(src), "--report", str(report))
    assert out.returncode == 1, out.stderr  # some rows rejected: not a silent success
    assert "10 rows: accepted 9 items, rejected 1 rows" in out.stdout
    assert "line 4 (r3): unbalanced quote" in out.stdout
    assert json.loads(report.read_text()) == body


def test_oversized_cell_and_nul_byte_cost_one_row_each(client: Any) -> None:
    dev = new_key(client, "developer")
    text = ("id,title,category,price,description\n"
            "ok-1,Fine,Shop,1,x\n"
            f"big-1,Big,Shop,1,{'x' * 200_000}\n"
            "nul-1,Nu\x00ll,Shop,1,x\n"
            "ok-2,Fine too,Shop,2,x\n")
    r = client.post("/v1/items/import", headers=auth(dev),
                    files={"file": ("c.csv", text.encode(), "text/csv")})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["rows"] == 4 and body["accepted"] == 2
    reasons = {e["row"]: " ".join(e["reasons"]) for e in body["rejected"]}
    assert "longer than" in reasons[3] and "NUL" in reasons[4]
    jsonl = "\n".join([json.dumps({"id": "s-1", "title": "a\ud800", "category": "C",
                                   "price": 1}),
                       json.dumps({"id": "s-2", "title": "fine", "category": "C",
                                   "price": 1, "tags": ["t\x00"]}),
                       json.dumps({"id": "s-3", "title": "fine", "category": "C",
                                   "price": 1})])
    r = client.post("/v1/items/import", headers=auth(dev),
                    files={"file": ("c.jsonl", jsonl.encode(), "application/json")})
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 1 and [e["row"] for e in r.json()["rejected"]] == [1, 2]


def test_latin1_file_gets_a_clear_message_or_its_declared_encoding(client: Any,
                                                                   tmp_path: Path) -> None:
    data = "id,title,category,price\nr1,Cafetière,Home,30\nr2,Crème Brûlée Set,Home,20\n"
    raw = data.encode("latin-1")
    dev = new_key(client, "developer")
    r = client.post("/v1/items/import", headers=auth(dev),
                    files={"file": ("c.csv", raw, "text/csv")})
    assert r.status_code == 422 and "line 2" in r.json()["error"]["message"]
    r = client.post("/v1/items/import", headers=auth(dev), params={"encoding": "latin-1"},
                    files={"file": ("c.csv", raw, "text/csv")})
    assert r.status_code == 200 and r.json()["accepted"] == 2
    assert client.get("/v1/items/r1").json()["title"] == "Cafetière"
    r = client.post("/v1/items/import", headers=auth(dev), params={"encoding": "klingon"},
                    files={"file": ("c.csv", raw, "text/csv")})
    assert r.status_code == 422 and "unknown text encoding" in r.json()["error"]["message"]

    src = tmp_path / "latin1.csv"
    src.write_bytes(raw)
    bad = run_cli(tmp_path, str(src))
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert "not valid UTF-8 text: line 2" in bad.stderr and "--encoding" not in bad.stdout
    good = run_cli(tmp_path, str(src), "--encoding", "latin-1")
    assert good.returncode == 0, good.stderr
    assert "2 rows: accepted 2 items, rejected 0 rows" in good.stdout


def test_cli_help_documents_exit_codes() -> None:
    out = subprocess.run([sys.executable, "-m", "app.cli", "catalog", "import", "--help"],
                         capture_output=True, text=True, cwd=ROOT, timeout=120,
                         env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT),
                              "COLUMNS": "200"})
    assert out.returncode == 0
    assert "some rows rejected" in out.stdout and "--encoding" in out.stdout


# -- 5. honest readiness while embedding ------------------------------------------------------

class GatedEncoder:
    """The real embedder, held at a gate: makes "while embedding" last until released."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.gate = threading.Event()
        self.waiting = threading.Event()  # a batch is held at the gate

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def encode(self, texts: list[str]) -> Any:
        if len(texts) > 1:  # catalog batches wait; a search's one query does not
            self.waiting.set()
            self.gate.wait(120)
        return self.inner.encode(texts)


def test_readyz_says_loading_while_an_imported_catalog_is_embedded(app_factory: Any,
                                                                    db_url: str) -> None:
    c = app_factory(db_url, search_enabled=True, chat_enabled=False,
                    index_loading_min_items=10)
    search = c.app.state.runtime.search
    index = search.wait_ready()
    # An empty catalog has nothing to search: a clear 503, not a 500.
    empty = c.get("/v1/search", params={"q": "lamp"})
    assert empty.status_code == 503 and "no searchable items" in empty.text
    dev = new_key(c, "developer")
    lamp = {"id": "lamp-old", "title": "Old Oil Lamp", "category": "Home", "price": 5.0}
    assert c.put("/v1/items", json=[lamp], headers=auth(dev)).status_code == 200
    assert c.get("/readyz").status_code == 200
    gated = GatedEncoder(index.embedder)
    index.embedder = gated
    try:
        items = [Item(id=f"lamp-{i}", title=f"Reading Lamp {i}", category="Home",
                      price=20.0 + i) for i in range(30)]
        with c.app.state.runtime.sessions() as db:  # the CLI's path: only the outbox
            catalog.import_rows(db, items)
        busy = until(lambda: (r := c.get("/readyz")).status_code == 503 and r,
                     "/readyz to report the embedding")
        assert busy.json()["checks"]["search"].startswith("loading: embedding catalog changes")
        assert busy.json()["details"]["search"]["embedding"]["total"] == 30
        # Searches go on meanwhile (on the catalog as it was).
        assert hit_ids(c.get("/v1/search", params={"q": "lamp", "k": 1})) == ["lamp-old"]
    finally:
        gated.gate.set()
    until(lambda: c.get("/readyz").status_code == 200, "/readyz to be ok again")
    assert len(hit_ids(c.get("/v1/search", params={"q": "reading lamp", "k": 31}))) == 31
    # A handful of changes (below index_loading_min_items) is quick: readiness stays ok.
    gated.gate.clear()
    gated.waiting.clear()
    few = [{"id": f"desk-{i}", "title": f"Desk {i}", "category": "Home", "price": 90.0}
           for i in range(3)]
    writer = threading.Thread(target=c.put, args=("/v1/items",),
                              kwargs={"json": few, "headers": auth(dev)})
    writer.start()
    try:
        assert gated.waiting.wait(60), "the write never reached the embedder"
        assert c.get("/readyz").status_code == 200
    finally:
        gated.gate.set()
        writer.join(60)
    assert hit_ids(c.get("/v1/search", params={"q": "desk", "k": 1}))[0].startswith("desk-")
