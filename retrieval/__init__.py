"""Retrieval: catalog schema and import, sentence embeddings, the FAISS index.

Front door::

    emb = Embedder()                         # packaged MiniLM, offline
    index = CatalogIndex(emb)
    index.upsert(items)
    hits = index.search("vegan running shoes under $80", k=10)
    hits = index.similar("sku-9", k=10)
"""

from retrieval.catalog import (
    SENSITIVE_TOPICS,
    Item,
    RowError,
    detect_format,
    iter_file,
    iter_text,
    normalize_category,
)
from retrieval.embedder import Embedder, TextEncoder, content_hash
from retrieval.errors import (
    EmbeddingError,
    IndexNotReadyError,
    IndexStorageError,
    InvalidFilterError,
    InvalidRequestError,
    RetrievalError,
    UnknownItemError,
)
from retrieval.filters import Filters
from retrieval.hybrid import Hit, Reranker, SearchMode, reciprocal_rank_fusion
from retrieval.index import MAX_K, CatalogIndex, UpsertResult
from retrieval.query import ParsedQuery, parse_query
from retrieval.vectors import VectorIndex, VectorIndexConfig

__all__ = [
    "MAX_K",
    "SENSITIVE_TOPICS",
    "CatalogIndex",
    "Embedder",
    "EmbeddingError",
    "Filters",
    "Hit",
    "IndexNotReadyError",
    "IndexStorageError",
    "InvalidFilterError",
    "InvalidRequestError",
    "Item",
    "ParsedQuery",
    "Reranker",
    "RetrievalError",
    "RowError",
    "SearchMode",
    "TextEncoder",
    "UnknownItemError",
    "UpsertResult",
    "VectorIndex",
    "VectorIndexConfig",
    "content_hash",
    "detect_format",
    "iter_file",
    "iter_text",
    "normalize_category",
    "parse_query",
    "reciprocal_rank_fusion",
]
