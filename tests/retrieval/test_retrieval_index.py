"""CatalogIndex on a 16-d keyword encoder: filters, updates, errors, persistence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from retrieval import (
    CatalogIndex,
    Filters,
    Hit,
    IndexNotReadyError,
    IndexStorageError,
    InvalidFilterError,
    InvalidRequestError,
    RetrievalError,
    UnknownItemError,
)
from tests.retrieval.retrieval_testkit import KeywordEncoder, make_item, small_catalog


def ids(hits: list[Hit]) -> list[str]:
    return [h.item_id for h in hits]


def test_dense_search_and_hit_fields(index: CatalogIndex) -> None:
    hits = index.search("running shoes", k=2, mode="dense")
    assert set(ids(hits)) == {"shoe-1", "shoe-2"}
    assert hits[0].item is not None and hits[0].item.id == hits[0].item_id
    assert hits[0].score == pytest.approx(hits[0].dense_score)
    assert -1.0 <= hits[1].dense_score <= hits[0].dense_score <= 1.0 + 1e-6


def test_hybrid_finds_sku_and_brand(index: CatalogIndex) -> None:
    assert ids(index.search("XG-4471", k=1)) == ["glue-1"]
    assert ids(index.search("hidez", k=1)) == ["jacket-2"]
    lex = index.search("scotch", k=3, mode="lexical")
    assert ids(lex) == ["tape-1"] and lex[0].lexical_score is not None


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (Filters(category="Clothing > Shoes"), {"shoe-1", "shoe-2", "shoe-3"}),
        (Filters(category="Clothing"), {"shoe-1", "shoe-2", "shoe-3", "jacket-1", "jacket-2"}),
        (Filters(min_price=50, max_price=120), {"shoe-1", "shoe-2", "shoe-3"}),
        (Filters(category="Clothing", in_stock=True),
         {"shoe-1", "shoe-2", "jacket-1", "jacket-2"}),
        (Filters(category="Clothing", exclude=("leather",)), {"shoe-2", "jacket-1"}),
        (Filters(require=("vegan",)), {"shoe-2"}),
        (Filters(require=("material=leather",), exclude_ids=frozenset({"shoe-3"})),
         {"shoe-1", "jacket-2"}),
        (Filters(require=("size=m|l",)), {"shoe-1", "shoe-2"}),
        (Filters(category="Kids", age=6), {"toy-1"}),
        (Filters(age=2), {"toy-2", "shoe-1", "shoe-2", "shoe-3", "jacket-1", "jacket-2",
                          "glue-1", "tape-1"}),  # age-neutral items pass
    ],
)
def test_filters_return_all_matches_never_others(
    index: CatalogIndex, filters: Filters, expected: set[str]
) -> None:
    for mode in ("dense", "hybrid"):
        hits = index.search("shoes", k=20, filters=filters, mode=mode, parse=False)  # type: ignore[arg-type]
        assert set(ids(hits)) == expected, mode


def test_filtered_search_returns_k_when_k_match(encoder: KeywordEncoder) -> None:
    # 200 items, only every 10th is in stock; the query is closest to out-of-stock ones.
    idx = CatalogIndex(encoder, exact_threshold=50, ef_search=4, exact_subset_max=5)
    idx.upsert([make_item(f"i{n}", "glue" if n % 10 else "tape glue", stock=int(n % 10 == 0))
                for n in range(200)])
    assert idx.index_kind == "hnsw"
    hits = idx.search("glue", k=15, filters=Filters(in_stock=True), mode="dense")
    assert len(hits) == 15
    assert all(h.item is not None and h.item.stock > 0 for h in hits)


def test_query_constraints_become_filters(index: CatalogIndex) -> None:
    hits = index.search("running shoes under $80", k=5)
    assert ids(hits) == ["shoe-1"]
    hits = index.search("shoes without leather", k=5)
    assert "shoe-1" not in ids(hits) and "shoe-2" in ids(hits)
    hits = index.search("toy for a 6-year-old", k=5)
    assert "toy-2" not in ids(hits) and ids(hits)[0] == "toy-1"
    # explicit filters combine with parsed ones
    hits = index.search("shoes under $100", k=5, filters=Filters(in_stock=True))
    assert set(ids(hits)) == {"shoe-1", "shoe-2"}


def test_similar_excludes_itself_and_respects_filters(index: CatalogIndex) -> None:
    hits = index.similar("shoe-1", k=2)
    assert "shoe-1" not in ids(hits)
    assert ids(hits)[0] in {"shoe-2", "shoe-3"}
    hits = index.similar("shoe-1", k=5, filters=Filters(category="Clothing > Jackets"))
    assert set(ids(hits)) == {"jacket-1", "jacket-2"}
    vec = index.item_vector("shoe-1")
    assert vec.shape == (16,) and np.linalg.norm(vec) == pytest.approx(1.0, abs=1e-5)


def test_reranker_hook(index: CatalogIndex) -> None:
    seen: dict[str, object] = {}

    def cheapest_first(customer_id: str, hits: list[Hit]) -> list[Hit]:
        seen["customer"], seen["n"] = customer_id, len(hits)
        return sorted(hits, key=lambda h: h.item.price if h.item else 0)

    hits = index.search("shoes", k=2, customer_id="c1", reranker=cheapest_first, parse=False)
    assert seen == {"customer": "c1", "n": 5}  # rerank_depth candidates, k returned
    assert len(hits) == 2 and hits[0].item and hits[1].item
    assert hits[0].item.price <= hits[1].item.price
    # no customer -> no re-ranking; default reranker on the index is used otherwise
    seen.clear()
    index.search("shoes", k=2, reranker=cheapest_first)
    assert seen == {}
    index.reranker = cheapest_first
    index.similar("shoe-1", k=2, customer_id="c2")
    assert seen["customer"] == "c2"


def test_bad_reranker_is_wrapped(index: CatalogIndex) -> None:
    def boom(customer_id: str, hits: list[Hit]) -> list[Hit]:
        raise ZeroDivisionError("model broke")

    def stray(customer_id: str, hits: list[Hit]) -> list[Hit]:
        return [Hit("nope", 1.0, 1.0)]

    with pytest.raises(RetrievalError, match="re-ranker failed"):
        index.search("shoes", k=2, customer_id="c", reranker=boom)
    with pytest.raises(RetrievalError, match="not candidates"):
        index.search("shoes", k=2, customer_id="c", reranker=stray)


def test_bad_input_raises_typed_errors(index: CatalogIndex, encoder: KeywordEncoder) -> None:
    for k in (0, 1001, -1, 2.5, True, "10"):
        with pytest.raises(InvalidRequestError):
            index.search("shoes", k=k)  # type: ignore[arg-type]
    with pytest.raises(InvalidRequestError):
        index.search("   ")
    with pytest.raises(InvalidRequestError):
        index.search("x" * 3000)
    with pytest.raises(InvalidRequestError):
        index.search(np.zeros(16))
    with pytest.raises(InvalidRequestError):
        index.search(np.ones(5))
    with pytest.raises(InvalidRequestError):
        index.search("shoes", mode="fuzzy")  # type: ignore[arg-type]
    with pytest.raises(InvalidFilterError):
        index.search("shoes", filters={"max_price": 5})  # type: ignore[arg-type]
    with pytest.raises(InvalidFilterError, match="unknown category"):
        index.search("shoes", filters=Filters(category="Garden"))
    with pytest.raises(UnknownItemError) as err:
        index.similar("missing")
    assert isinstance(err.value, LookupError) and err.value.item_ids == ("missing",)
    with pytest.raises(UnknownItemError):
        index.item_vector("missing")
    with pytest.raises(UnknownItemError):
        index.remove(["shoe-1", "missing"])
    assert "shoe-1" in index  # nothing removed on error
    with pytest.raises(InvalidRequestError):
        index.remove("shoe-1")
    with pytest.raises(InvalidRequestError):
        index.upsert([{"id": "x"}])  # type: ignore[list-item]
    with pytest.raises(IndexNotReadyError):
        CatalogIndex(encoder).search("shoes")
    assert index.search(np.ones(16), k=1)  # a raw vector query works


def test_incremental_updates_without_reembedding(
    index: CatalogIndex, encoder: KeywordEncoder
) -> None:
    before = encoder.texts
    shoe = index.get("shoe-1")
    generation = index.generation
    # price change and out of stock: in place, no embedding
    res = index.upsert([shoe.model_copy(update={"price": 500.0, "stock": 0})])
    assert index.generation > generation  # cached views of the catalog must be rebuilt
    assert (res.embedded, res.metadata_only) == (0, 1)
    assert encoder.texts == before
    assert "shoe-1" not in ids(index.search("shoes", k=10, filters=Filters(max_price=200)))
    assert "shoe-1" not in ids(index.search("shoes", k=10, filters=Filters(in_stock=True)))
    # same item again: nothing to do
    assert index.upsert(index.get("shoe-1")).unchanged == 1
    # a new item is searchable at once, and only it is embedded
    before = encoder.texts
    res = index.upsert([make_item("shoe-9", "vegan leather running shoes", tags=["vegan"])])
    assert (res.added, res.embedded) == (1, 1) and encoder.texts == before + 1
    assert "shoe-9" in ids(index.search("running shoes", k=3, mode="dense", parse=False))
    # title change: re-embedded, old vector replaced
    index.upsert([make_item("shoe-9", "duct tape")])
    assert ids(index.search("tape", k=2, mode="dense", parse=False))[0] in {"shoe-9", "tape-1"}
    assert "shoe-9" not in ids(index.search("running shoes", k=3, mode="dense", parse=False))
    # deactivated and deleted items are gone
    index.upsert([index.get("glue-1").model_copy(update={"active": False})])
    assert "glue-1" not in ids(index.search("glue", k=10))
    generation = index.generation
    assert index.remove(["tape-1"]) == 1
    assert index.generation > generation
    assert "tape-1" not in index and "tape-1" not in ids(index.search("tape", k=10))
    assert len(index) == 9
    assert sorted(index.ids()) == sorted(set(index.ids()))
    assert "tape-1" not in index.ids() and "shoe-9" in index.ids()


def test_compaction_keeps_results(encoder: KeywordEncoder) -> None:
    idx = CatalogIndex(encoder, compact_ratio=0.3)
    idx.upsert([make_item(f"i{n}", f"glue {n}") for n in range(1500)])
    q = idx.search("glue 7", k=5, mode="dense")
    idx.remove([f"i{n}" for n in range(100, 1300)])  # > 1000 dead rows -> compacts
    assert len(idx._state.items) == 300 and len(idx) == 300
    assert ids(idx.search("glue 7", k=5, mode="dense"))[:1] == ids(q)[:1]
    expected = encoder.encode([idx.get("i1499").search_text()])[0]
    np.testing.assert_allclose(idx.item_vector("i1499"), expected, atol=1e-6)


def test_save_load_reload(index: CatalogIndex, encoder: KeywordEncoder, tmp_path: Path) -> None:
    index.remove(["tape-1"])  # a dead row survives the round trip
    first = index.save(tmp_path / "idx")
    loaded = CatalogIndex.load(tmp_path / "idx", encoder)
    for q in ("running shoes", "XG-4471", "leather jacket under $300"):
        assert ids(loaded.search(q, k=5)) == ids(index.search(q, k=5))
    assert "tape-1" not in loaded and len(loaded) == len(index)
    np.testing.assert_array_equal(loaded.item_vector("shoe-2"), index.item_vector("shoe-2"))
    # a second save is a new version; reload swaps it in
    index.upsert([make_item("new-1", "wool coat")])
    second = index.save(tmp_path / "idx")
    assert first != second and (tmp_path / "idx" / "CURRENT").read_text() == second.name
    loaded.reload(tmp_path / "idx")
    assert "new-1" in loaded
    for _ in range(3):
        index.save(tmp_path / "idx")
    versions = [p for p in (tmp_path / "idx").iterdir() if p.name.startswith("v-")]
    assert len(versions) == 2  # old versions pruned


def test_load_errors(index: CatalogIndex, tmp_path: Path) -> None:
    with pytest.raises(IndexStorageError):
        CatalogIndex.load(tmp_path / "nothing", KeywordEncoder())
    folder = index.save(tmp_path / "idx")

    class Other(KeywordEncoder):
        model_id = "other:16"

    with pytest.raises(IndexStorageError, match="re-index"):
        CatalogIndex.load(tmp_path / "idx", Other())
    (folder / "items.jsonl").write_text("{not json\n")
    with pytest.raises(IndexStorageError):
        CatalogIndex.load(tmp_path / "idx", KeywordEncoder())


def test_small_catalog_fixture_is_consistent() -> None:
    assert len({i.id for i in small_catalog()}) == len(small_catalog())
