"""BM25: SKUs and brands match, incremental updates."""

from __future__ import annotations

import numpy as np

from retrieval.lexical import BM25Index, tokenize


def test_tokenize_keeps_skus_and_parts() -> None:
    toks = tokenize("The Gorilla glue XG-4471, USB-C cable")
    assert "xg-4471" in toks and "xg" in toks and "4471" in toks
    assert "usb-c" in toks and "the" not in toks


def test_scores_rank_rare_words_and_update_incrementally() -> None:
    bm = BM25Index()
    bm.set(0, "red cotton shirt")
    bm.set(1, "blue cotton shirt")
    bm.set(2, "gorilla glue xg-4471")
    assert BM25Index.top(bm.scores("xg-4471", 3), None, 5) == [2]
    assert BM25Index.top(bm.scores("red shirt", 3), None, 5) == [0, 1]
    mask = np.array([False, True, True])
    assert BM25Index.top(bm.scores("red shirt", 3), mask, 5) == [1]
    bm.set(0, "green wool sweater")  # re-index in place
    assert BM25Index.top(bm.scores("red", 3), None, 5) == []
    bm.remove(2)
    assert BM25Index.top(bm.scores("glue", 3), None, 5) == []
    assert bm.doc_count == 2
    bm.remove(2)  # idempotent
    assert BM25Index.top(bm.scores("nothing here", 3), None, 5) == []
