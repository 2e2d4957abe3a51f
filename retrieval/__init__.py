"""Retrieval: catalog schema and import, sentence embeddings, the FAISS index."""

from retrieval.catalog import (
    SENSITIVE_TOPICS,
    Item,
    RowError,
    detect_format,
    iter_file,
    iter_text,
    normalize_category,
)

__all__ = [
    "SENSITIVE_TOPICS",
    "Item",
    "RowError",
    "detect_format",
    "iter_file",
    "iter_text",
    "normalize_category",
]
