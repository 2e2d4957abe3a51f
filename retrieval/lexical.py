"""Incremental BM25 over item id, title, brand, attributes, tags and leaf category.

Why not bm25s: its index is a static sparse matrix, so every catalog change
(a new item) would mean re-indexing the whole catalog, and the
issue asks for changes to be searchable within a second. Here a posting list is
a dict per term, edited in O(terms of the item); scoring a query touches only
the posting lists of its few terms (NumPy arrays cached per term).

The tokenizer keeps SKU-like tokens whole ("fg263100gray", "b00o47ilva") and
also splits hyphenated ones ("usb-c" -> "usb-c", "usb", "c"), so both part
numbers and rare words match exactly, which dense embeddings do poorly.
"""

from __future__ import annotations

import math
import re
from collections import Counter

import numpy as np

from retrieval.catalog import Item

_TOKEN = re.compile(r"[a-z0-9]+(?:[-_./][a-z0-9]+)*")
_STOP_WORDS = (
    "a an and are as at be by for from has have i in is it its of on or that the this "
    "to was were will with me my you your we our want need looking some any"
)
_STOP = frozenset(_STOP_WORDS.split())


def tokenize(text: str) -> list[str]:
    """Lowercase word and SKU tokens, minus English stop words."""
    out: list[str] = []
    for tok in _TOKEN.findall(text.lower()):
        if tok in _STOP:
            continue
        out.append(tok)
        parts = re.split(r"[-_./]", tok)
        if len(parts) > 1:
            out.extend(p for p in parts if p and p not in _STOP)
    return out


def lexical_text(item: Item) -> str:
    """The fields BM25 sees; no description, whose many common words add noise."""
    attrs = " ".join(v for values in item.attributes.values() for v in values)
    leaf = item.category_levels[-1]
    return " ".join([item.id, item.title, item.brand, attrs, " ".join(item.tags), leaf])


class BM25Index:
    """Okapi BM25 with row-addressed documents; not thread-safe by itself."""

    def __init__(self, k1: float = 1.2, b: float = 0.75) -> None:
        self.k1 = k1
        self.b = b
        self._postings: dict[str, dict[int, int]] = {}
        self._arrays: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._row_terms: dict[int, tuple[str, ...]] = {}
        self._doc_len = np.zeros(1024, dtype=np.float32)
        self._total_len = 0.0

    @property
    def doc_count(self) -> int:
        return len(self._row_terms)

    def set(self, row: int, text: str) -> None:
        """Index (or re-index) the document at `row`."""
        self.remove(row)
        counts = Counter(tokenize(text))
        for term, tf in counts.items():
            self._postings.setdefault(term, {})[row] = tf
            self._arrays.pop(term, None)
        if row >= len(self._doc_len):
            grown = np.zeros(max(row + 1, 2 * len(self._doc_len)), dtype=np.float32)
            grown[: len(self._doc_len)] = self._doc_len
            self._doc_len = grown
        length = sum(counts.values())
        self._doc_len[row] = length
        self._total_len += length
        self._row_terms[row] = tuple(counts)

    def remove(self, row: int) -> None:
        terms = self._row_terms.pop(row, None)
        if terms is None:
            return
        self._total_len -= float(self._doc_len[row])
        self._doc_len[row] = 0.0
        for term in terms:
            posting = self._postings[term]
            del posting[row]
            self._arrays.pop(term, None)
            if not posting:
                del self._postings[term]

    @staticmethod
    def top(scores: np.ndarray, mask: np.ndarray | None, k: int) -> list[int]:
        """Rows with a positive score among `mask`, best first, at most k."""
        ok = scores > 0
        if mask is not None:
            ok &= mask
        hits = np.flatnonzero(ok)
        if len(hits) > k:
            hits = hits[np.argpartition(-scores[hits], k - 1)[:k]]
        return [int(r) for r in hits[np.argsort(-scores[hits], kind="stable")]]

    def scores(self, query: str, n_rows: int) -> np.ndarray:
        """Dense (n_rows,) BM25 scores of every row for `query`."""
        out = np.zeros(n_rows, dtype=np.float32)
        n_docs = self.doc_count
        if n_docs == 0:
            return out
        doc_len = self._doc_len
        avg = self._total_len / n_docs or 1.0
        for term in set(tokenize(query)):
            posting = self._postings.get(term)
            if not posting:
                continue
            rows, tfs = self._posting_array(term, posting)
            keep = rows < n_rows
            rows, tfs = rows[keep], tfs[keep]
            idf = math.log(1.0 + (n_docs - len(posting) + 0.5) / (len(posting) + 0.5))
            norm = self.k1 * (1.0 - self.b + self.b * doc_len[rows] / avg)
            out[rows] += idf * tfs * (self.k1 + 1.0) / (tfs + norm)
        return out

    def _posting_array(
        self, term: str, posting: dict[int, int]
    ) -> tuple[np.ndarray, np.ndarray]:
        cached = self._arrays.get(term)
        if cached is None:
            rows = np.fromiter(posting.keys(), dtype=np.int64, count=len(posting))
            tfs = np.fromiter(posting.values(), dtype=np.float32, count=len(posting))
            cached = self._arrays[term] = (rows, tfs)
        return cached
