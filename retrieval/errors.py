"""Typed errors raised by the retrieval library.

The service maps each leaf to one HTTP status, so every error says exactly what
was wrong with the request (or with the index) and never leaks a FAISS or torch
exception type. Outside exceptions are wrapped where they enter (embedder,
persistence).

    RetrievalError                      base: catch this to catch them all
    ├── InvalidRequestError (ValueError)    bad argument: k out of 1..1000, empty query   -> 422
    │   └── InvalidFilterError              bad filter: min_price > max_price, bad name   -> 422
    ├── UnknownItemError (LookupError)      item id not in the index                      -> 404
    ├── IndexNotReadyError                  index empty / not loaded yet                  -> 503
    ├── EmbeddingError                      the sentence-transformers model failed        -> 500
    └── IndexStorageError                   save / load failed, files missing or corrupt  -> 500
"""

from __future__ import annotations

from collections.abc import Iterable


class RetrievalError(Exception):
    """Base class of every error the retrieval library raises on purpose."""


class InvalidRequestError(RetrievalError, ValueError):
    """An argument is out of range or malformed (k, query text, vector shape)."""


class InvalidFilterError(InvalidRequestError):
    """A filter is contradictory or malformed (e.g. min_price > max_price)."""


class UnknownItemError(RetrievalError, LookupError):
    """One or more item ids are not in the index."""

    def __init__(self, item_ids: Iterable[str]) -> None:
        self.item_ids = tuple(item_ids)
        shown = ", ".join(repr(i) for i in self.item_ids[:5])
        more = f" and {len(self.item_ids) - 5} more" if len(self.item_ids) > 5 else ""
        super().__init__(f"unknown item id(s): {shown}{more}")


class IndexNotReadyError(RetrievalError):
    """The index holds no items yet (nothing indexed or loaded)."""


class EmbeddingError(RetrievalError):
    """The embedding model could not be loaded or failed to encode."""


class IndexStorageError(RetrievalError):
    """Saving or loading the index on disk failed."""
