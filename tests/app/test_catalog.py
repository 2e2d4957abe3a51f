"""Catalog: API upsert and file import with rejected-row reports, CLI import, public reads."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.support import auth, new_key, sample_items

HEADER = ("id,title,description,category,brand,price,cost,stock,attr.color,attr.material,tags,"
          "sensitive_topics\n")
CSV = HEADER + """\
sh-1,Trail Runner,Light shoe,Footwear > Running,Stride,89.99,40,12,red;black,mesh,new;bestseller,
sh-2,Leather Boot,,Footwear > Boots,Oakhide,149.00,70,0,brown,leather,,
bad-1,,No title,Footwear,Stride,10,,1,,,,
bad-2,Weird,,Footwear,Stride,-5,,1,,,,
bad-3,Vitamins,,Health,Vita,12,,1,,,,astrology
"""


def test_upsert_reports_rejected_items_and_keeps_good_ones(client: Any) -> None:
    dev = new_key(client, "developer")
    items = sample_items(3) + [{"id": "x y", "title": "", "category": "A", "price": "cheap"}]
    r = client.put("/v1/items", json=items, headers=auth(dev))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["accepted"] == 3 and body["rejected_count"] == 1
    reasons = " ".join(body["rejected"][0]["reasons"])
    assert "id" in reasons and "title" in reasons and "price" in reasons
    # Upsert: a price change replaces the row, no duplicate.
    items[0]["price"] = 99.0
    client.put("/v1/items", json=items[:1], headers=auth(dev))
    page = client.get("/v1/items").json()
    assert page["total"] == 3
    assert client.get("/v1/items/sku-0").json()["price"] == 99.0


def test_all_rejected_is_422_and_not_a_list_is_422(client: Any) -> None:
    dev = new_key(client, "developer")
    r = client.put("/v1/items", json=[{"id": "a"}], headers=auth(dev))
    assert r.status_code == 422 and r.json()["error"]["details"][0]["reasons"]
    r = client.put("/v1/items", json={"id": "a"}, headers=auth(dev))
    assert r.status_code == 422


def test_csv_upload_reports_each_bad_row(client: Any) -> None:
    dev = new_key(client, "developer")
    r = client.post("/v1/items/import", headers=auth(dev),
                    files={"file": ("catalog.csv", CSV.encode(), "text/csv")})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["accepted"] == 2
    rows = {e["row"]: e for e in body["rejected"]}
    assert set(rows) == {4, 5, 6}
    assert "title" in rows[4]["reasons"][0]
    assert "price" in rows[5]["reasons"][0]
    assert "astrology" in rows[6]["reasons"][0]
    item = client.get("/v1/items/sh-1", headers=auth(dev)).json()  # margin: staff only
    assert item["attributes"] == {"color": ["red", "black"], "material": ["mesh"]}
    assert item["margin"] == round((89.99 - 40) / 89.99, 4)
    assert item["tags"] == ["bestseller", "new"]


def test_jsonl_upload_with_bad_json_line(client: Any) -> None:
    dev = new_key(client, "developer")
    lines = [json.dumps(i) for i in sample_items(2)] + ["{not json", json.dumps([1, 2])]
    r = client.post("/v1/items/import", headers=auth(dev),
                    files={"file": ("c.jsonl", "\n".join(lines).encode(), "application/json")})
    body = r.json()
    assert body["accepted"] == 2
    assert [e["row"] for e in body["rejected"]] == [3, 4]
    assert "invalid JSON" in body["rejected"][0]["reasons"][0]


def test_upload_bad_format_and_encoding(client: Any) -> None:
    dev = new_key(client, "developer")
    r = client.post("/v1/items/import", headers=auth(dev),
                    files={"file": ("c.xlsx", b"PK..", "application/octet-stream")})
    assert r.status_code == 422 and ".csv or .jsonl" in r.json()["error"]["message"]
    r = client.post("/v1/items/import", headers=auth(dev),
                    files={"file": ("c.csv", b"id,title\n\xff\xfe,x", "text/csv")})
    assert r.status_code == 422 and "UTF-8" in r.json()["error"]["message"]


def test_public_reads_filters_and_404(client: Any) -> None:
    dev = new_key(client, "developer")
    client.put("/v1/items", json=sample_items(6), headers=auth(dev))
    page = client.get("/v1/items", params={"category": "Footwear", "limit": 10}).json()
    assert {i["id"] for i in page["items"]} == {"sku-0", "sku-3"}
    assert client.get("/v1/items", params={"in_stock": False}).json()["total"] == 2
    assert client.get("/v1/items", params={"limit": 0}).status_code == 422
    assert client.get("/v1/items/nope").status_code == 404
    assert client.delete("/v1/items/sku-1", headers=auth(dev)).json() == {"deleted": 1}
    assert client.delete("/v1/items/sku-1", headers=auth(dev)).status_code == 404


def test_catalog_writes_call_the_catalog_hook(client: Any) -> None:
    seen: list[tuple[list[str], list[str]]] = []
    client.app.state.runtime.hooks.catalog.append(
        lambda items, removed: seen.append(([i.id for i in items], list(removed))))
    dev = new_key(client, "developer")
    client.put("/v1/items", json=sample_items(2), headers=auth(dev))
    client.delete("/v1/items/sku-0", headers=auth(dev))
    assert seen == [(["sku-0", "sku-1"], []), ([], ["sku-0"])]


def test_cli_import_with_progress_and_report(tmp_path: Path) -> None:
    src = tmp_path / "catalog.csv"
    src.write_text(CSV)
    report = tmp_path / "report.json"
    env = {"TAILOR_DATA_DIR": str(tmp_path / "var"), "PATH": "/usr/bin:/bin",
           "HF_HUB_OFFLINE": "1"}
    out = subprocess.run([sys.executable, "-m", "app.cli", "catalog", "import", str(src),
                          "--report", str(report)], capture_output=True, text=True, env=env,
                         cwd=Path(__file__).resolve().parents[2], timeout=120)
    assert out.returncode == 1, out.stderr  # some rows were rejected
    assert "5 rows: accepted 2 items, rejected 3 rows" in out.stdout
    assert "line 4 (bad-1)" in out.stdout
    assert "importing" in out.stderr  # tqdm progress bar
    assert json.loads(report.read_text())["rejected_count"] == 3
    bad = subprocess.run([sys.executable, "-m", "app.cli", "catalog", "import",
                          str(tmp_path / "missing.csv")], capture_output=True, text=True,
                         env=env, cwd=Path(__file__).resolve().parents[2], timeout=60)
    assert bad.returncode == 2 and "does not exist" in bad.stderr
