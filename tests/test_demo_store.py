"""The committed demo store: catalog quality, images, determinism and the storefront page."""

from __future__ import annotations

import importlib.util
import json
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pytest

from retrieval.catalog import Item, iter_file

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "app" / "demo"
CATALOG = DEMO / "catalog.jsonl"
IMAGES = DEMO / "images"
WEB = ROOT / "app" / "web"


@pytest.fixture(scope="module")
def items() -> list[Item]:
    parsed = list(iter_file(CATALOG))
    errors = [p for p in parsed if not isinstance(p, Item)]
    assert not errors, errors[:3]
    return [p for p in parsed if isinstance(p, Item)]


def test_size_and_breadth(items: list[Item]) -> None:
    assert len(items) >= 320
    tops = {i.category_levels[0] for i in items}
    assert len(tops) >= 10, tops
    assert len({i.brand for i in items}) >= 30
    assert len({i.id for i in items}) == len(items), "ids must be unique"
    assert len({i.title for i in items}) == len(items), "titles must be unique"
    meta = json.loads((DEMO / "store.json").read_text(encoding="utf-8"))
    assert meta["products"] == len(items) and sorted(tops) == meta["categories"]


def test_every_record_is_a_valid_item_as_written() -> None:
    """Validation must not have to fix anything: the file is already normalised."""
    for line in CATALOG.read_text(encoding="utf-8").splitlines():
        raw = json.loads(line)
        assert Item.model_validate(raw).model_dump(mode="json") == raw


def test_prices_margins_and_stock(items: list[Item]) -> None:
    for i in items:
        assert i.price > 0 and i.cost is not None and i.margin is not None
        assert 0.1 <= i.margin <= 0.7, (i.id, i.margin)
        assert f"{i.price:.2f}".endswith((".99", ".00")), (i.id, i.price)
        assert i.currency == "USD"
    out = sum(i.stock == 0 for i in items)
    assert 0 < out < len(items) // 4


def test_attributes_cover_the_constraints_customers_state(items: list[Item]) -> None:
    def has(key: str, value: str) -> int:
        return sum(value in i.attributes.get(key, []) for i in items)

    assert has("diet", "vegan") >= 10
    assert has("diet", "gluten-free") >= 10
    assert has("diet", "organic") >= 5
    assert has("material", "leather") >= 10
    assert has("material", "vegan leather") >= 5
    assert has("material", "wool") + has("material", "merino wool") >= 3
    assert has("material", "recycled polyester") >= 5
    assert {"0-2", "3-5", "6-8", "9-12"} <= {a for i in items for a in i.attributes.get("age", [])}
    assert sum("color" in i.attributes for i in items) >= 200
    tags = Counter(t for i in items for t in i.tags)
    for tag in ("bestseller", "new", "eco", "gift-idea", "vegan"):
        assert tags[tag] >= 10, tag
    for i in items:  # attribute values are lowercase, as the schema normalises them
        assert all(v == v.lower() for vals in i.attributes.values() for v in vals)


def test_sensitive_topics(items: list[Item]) -> None:
    topics = Counter(t for i in items for t in i.sensitive_topics)
    assert topics["health"] >= 20
    assert topics["pregnancy"] >= 10
    for i in items:
        if i.category.startswith("Health & Wellness"):
            assert "health" in i.sensitive_topics, i.id
        if i.category.startswith("Baby & Maternity > Maternity"):
            assert "pregnancy" in i.sensitive_topics, i.id
    lotion = [i for i in items if "Unscented Body Lotion" in i.title]
    assert lotion and all("pregnancy" in i.sensitive_topics for i in lotion)


def test_descriptions_read_like_copy(items: list[Item]) -> None:
    firsts = [i.description.split(". ")[0] for i in items]
    assert len(set(firsts)) >= 0.9 * len(items)
    # Not one template with swapped words: many distinct openings once names are removed.
    skeletons = {
        i.description.split(". ")[0].replace(i.title, "#").replace(i.brand, "@")
        for i in items
    }
    assert len(skeletons) >= 60
    for i in items:
        n = i.description.count(". ") + 1
        assert 2 <= n <= 5, (i.id, i.description)
        assert "{" not in i.description and "}" not in i.description


def test_every_item_has_a_small_valid_svg(items: list[Item]) -> None:
    files = {p.stem for p in IMAGES.glob("*.svg")}
    assert files == {i.id for i in items}, "one image per product, no orphans"
    for i in items:
        assert i.image_url == f"/demo/images/{i.id}.svg"
        path = IMAGES / f"{i.id}.svg"
        assert path.stat().st_size < 3072, (i.id, path.stat().st_size)
        root = ET.parse(path).getroot()
        assert root.tag == "{http://www.w3.org/2000/svg}svg"


def _generator():
    spec = importlib.util.spec_from_file_location("make_demo_store",
                                                  ROOT / "scripts" / "make_demo_store.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(module)
    return module


def test_generator_is_deterministic_and_matches_the_committed_files(tmp_path: Path) -> None:
    gen = _generator()
    assert gen.main(["--out", str(tmp_path)]) == 0
    assert (tmp_path / "catalog.jsonl").read_bytes() == CATALOG.read_bytes()
    assert (tmp_path / "store.json").read_bytes() == (DEMO / "store.json").read_bytes()
    made = sorted(p.name for p in (tmp_path / "images").glob("*.svg"))
    assert made == sorted(p.name for p in IMAGES.glob("*.svg"))
    for name in made[::7]:
        assert (tmp_path / "images" / name).read_bytes() == (IMAGES / name).read_bytes()


def test_storefront_page_hooks() -> None:
    html = (WEB / "store.html").read_text(encoding="utf-8")
    js = (WEB / "store.js").read_text(encoding="utf-8")
    tail = html.rstrip().rsplit("</body>", 1)[0].rstrip()
    assert tail.endswith('<script src="/widget.js" data-key="{{WIDGET_KEY}}" defer></script>')
    for href in ('href="/docs"', 'role="search"', '<main', "<dialog",
                 'href="/static/store.css"', 'src="/static/store.js"'):
        assert href in html
    for needle in ("/v1/items?limit=", "/v1/search?q=", "/similar?k=8", "Tailor.track",
                   '"view"', '"click"'):
        assert needle in js, needle
    assert (WEB / "store.css").stat().st_size > 0
