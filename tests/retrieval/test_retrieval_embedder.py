"""End to end with the real packaged MiniLM (loaded once per session)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from retrieval import CatalogIndex, Embedder, EmbeddingError, Filters, InvalidRequestError
from tests.retrieval.retrieval_testkit import make_item, small_catalog


def test_vectors_are_normalized_and_semantic(minilm: Embedder) -> None:
    v = minilm.encode(["running shoes", "sneakers for jogging", "industrial glue"])
    assert v.shape == (3, 384) and v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert v[0] @ v[1] > v[0] @ v[2]
    assert minilm.dim == 384 and "384" in minilm.model_id
    assert minilm.encode([]).shape == (0, 384)


def test_content_hash_cache_skips_known_texts(minilm: Embedder) -> None:
    texts = ["cache probe one", "cache probe two", "cache probe one"]
    first = minilm.encode(texts)
    misses = minilm.cache_misses
    again = minilm.encode(texts[::-1])
    assert minilm.cache_misses == misses  # nothing re-encoded
    np.testing.assert_array_equal(again[::-1], first)
    np.testing.assert_array_equal(first[0], first[2])


def test_bad_input_and_bad_model_dir(minilm: Embedder, tmp_path: Path) -> None:
    with pytest.raises(InvalidRequestError):
        minilm.encode("not a list")  # type: ignore[arg-type]
    with pytest.raises(InvalidRequestError):
        minilm.encode_query("  ")
    with pytest.raises(EmbeddingError):
        Embedder(model_dir=tmp_path / "missing")
    with pytest.raises(EmbeddingError):
        Embedder(model_dir=tmp_path)  # exists but is no model


def test_other_model_dir_is_accepted(minilm: Embedder) -> None:
    from retrieval.embedder import default_model_dir

    other = Embedder(model_dir=default_model_dir(), cache_size=0)
    np.testing.assert_allclose(other.encode(["hello"]), minilm.encode(["hello"]), atol=1e-5)


def test_end_to_end_search(minilm: Embedder) -> None:
    idx = CatalogIndex(minilm)
    res = idx.upsert(small_catalog() + [
        make_item("boot-1", "vegan hiking boots", category="Clothing > Shoes > Outdoor",
                  price=70, tags=["vegan"], attributes={"material": ["synthetic"]}),
    ])
    assert res.embedded == len(idx)
    hits = idx.search("vegan shoes under $80", k=3)
    assert hits and all(h.item and h.item.price <= 80 and "vegan" in h.item.tags for h in hits)
    assert hits[0].item_id == "boot-1"
    hits = idx.search("jacket without leather", k=3)
    assert [h.item_id for h in hits][:1] == ["jacket-1"]
    assert idx.search("XG-4471", k=1)[0].item_id == "glue-1"  # SKU via BM25
    assert idx.search("something to stick things together", k=1)[0].item_id == "glue-1"
    sim = idx.similar("jacket-1", k=1, filters=Filters(exclude=("shoes",)))
    assert sim[0].item_id == "jacket-2"
    # unchanged re-index costs nothing
    misses = minilm.cache_misses
    assert idx.upsert(small_catalog()).embedded == 0
    assert minilm.cache_misses == misses


def test_progress_bar_for_large_batches(
    minilm: Embedder, capsys: pytest.CaptureFixture[str]
) -> None:
    old = minilm.progress_threshold
    minilm.progress_threshold = 2
    try:
        minilm.encode(["progress one", "progress two", "progress three"])
    finally:
        minilm.progress_threshold = old
    assert "embedding" in capsys.readouterr().err


def test_concurrent_encode_is_consistent(minilm: Embedder) -> None:
    import threading

    texts = [f"thread text {i}" for i in range(4)]
    expected = Embedder.encode(minilm, texts)
    minilm._cache.clear()
    out: list[np.ndarray] = []
    threads = [threading.Thread(target=lambda: out.append(minilm.encode(texts))) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(out) == 3
    for got in out:
        np.testing.assert_allclose(got, expected, atol=1e-5)
