"""Search results, the per-customer re-ranking hook, and rank fusion.

Dense and BM25 scores live on different scales (cosine vs. unbounded sums), so
they are fused by rank, not score: reciprocal rank fusion (Cormack et al. 2009),
score(d) = sum over lists of 1 / (rrf_k + rank(d)). An item found by only one
retriever still ranks, which is what lets exact SKUs and brand names surface.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

from retrieval.catalog import Item

SearchMode = Literal["hybrid", "dense", "lexical"]


@dataclass(frozen=True)
class Hit:
    """One search result.

    Attributes:
        item_id: the catalog id.
        score: the ranking score (RRF for hybrid, cosine for dense, BM25 for lexical).
        dense_score: cosine similarity to the query, always set.
        lexical_score: BM25 score, None when the item had no lexical match.
        item: the indexed item (for product cards and re-rankers); excluded from eq.
    """

    item_id: str
    score: float
    dense_score: float
    lexical_score: float | None = None
    item: Item | None = field(default=None, compare=False, repr=False)


@runtime_checkable
class Reranker(Protocol):
    """Re-orders candidates for one customer; the preference model implements it.

    Gets more candidates than asked for (the index's `rerank_depth`) and must
    return a subset of them, best first; the index keeps the first k.
    """

    def __call__(self, customer_id: str, hits: list[Hit]) -> list[Hit]: ...


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[int]], rrf_k: int = 60
) -> list[tuple[int, float]]:
    """Fuse ranked lists of keys into (key, score) pairs, best first.

    Ties keep the order of first appearance, so the result is deterministic.
    """
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, key in enumerate(ranking, start=1):
            scores[key] = scores.get(key, 0.0) + 1.0 / (rrf_k + rank)
    return sorted(scores.items(), key=lambda kv: -kv[1])
