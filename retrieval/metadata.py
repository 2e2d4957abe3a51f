"""Per-row item metadata in columns, turning `Filters` into a boolean row mask.

Rows are the vector index's row numbers. Columns are NumPy arrays so a filter
over a million items is a handful of vectorized comparisons (a few ms), and a
price or stock change is an in-place write: no re-embedding, no index rebuild.

Attribute/tag terms use an inverted index (term -> set of rows); the NumPy array
of each posting list is cached until that term changes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np

from retrieval.catalog import CATEGORY_SEP, Item
from retrieval.filters import Filters, term_alternatives

_AGE_RANGE = re.compile(r"^\s*(\d{1,3})\s*(?:-|to|–)\s*(\d{1,3})\s*$")
_AGE_PLUS = re.compile(r"^\s*(\d{1,3})\s*\+\s*$")
_AGE_ONE = re.compile(r"^\s*(\d{1,3})\s*$")
UNKNOWN_STOCK = -1  # stock not given: counts as available


# Fibres sold under their own names that are wool to anyone asking for "no wool" (the US
# Wool Products Labeling Act counts them as wool too).
_BROADER = {"lambswool": "wool", "merino": "wool", "cashmere": "wool", "alpaca": "wool",
            "mohair": "wool", "angora": "wool", "camelhair": "wool"}
# Modifiers that say the material is NOT what the next word names ("vegan leather").
_NOT_THE_REAL_THING = {"vegan", "faux", "imitation", "fake", "synthetic", "artificial"}


def broader_terms(value: str) -> set[str]:
    """What a multi-word or specific value also is: "merino wool" and "lambswool" are wool,
    "recycled polyester" is polyester, "wool felt" is wool and felt; "vegan leather" is
    not leather. So "no wool" excludes lambswool and "cotton" finds organic cotton."""
    words = value.split()
    out: set[str] = set()
    for n, word in enumerate(words):
        if n and words[n - 1] in _NOT_THE_REAL_THING:
            continue
        if len(words) > 1 and word not in _NOT_THE_REAL_THING:
            out.add(word)
        if word in _BROADER:
            out.add(_BROADER[word])
    out.discard(value)
    return out


def item_terms(item: Item) -> set[str]:
    """Every term an item answers to: 'name=value', bare 'value' (and what the value also
    is, see `broader_terms`), and tags."""
    terms: set[str] = set()
    for name, values in item.attributes.items():
        for value in values:
            for term in (value, *broader_terms(value)):
                terms.add(f"{name}={term}")
                terms.add(term)
    terms.update(item.tags)
    return terms


def age_bounds(item: Item) -> tuple[float, float]:
    """The widest age span in the `age` attribute, or (nan, nan) if none parses."""
    lo, hi = np.inf, -np.inf
    for value in item.attributes.get("age", []):
        if m := _AGE_RANGE.match(value):
            a, b = float(m[1]), float(m[2])
        elif m := _AGE_PLUS.match(value):
            a, b = float(m[1]), np.inf
        elif m := _AGE_ONE.match(value):
            a = b = float(m[1])
        else:
            continue
        lo, hi = min(lo, a), max(hi, b)
    return (lo, hi) if lo <= hi else (np.nan, np.nan)


class MetadataStore:
    """Columns of filterable fields; not thread-safe by itself (the index locks)."""

    def __init__(self, capacity: int = 1024) -> None:
        self.size = 0
        self.live = np.zeros(capacity, dtype=bool)  # row holds the current version
        self.active = np.zeros(capacity, dtype=bool)
        self.price = np.zeros(capacity, dtype=np.float64)
        self.stock = np.zeros(capacity, dtype=np.int64)  # UNKNOWN_STOCK where not given
        self.cat = np.zeros(capacity, dtype=np.int32)
        self.age_lo = np.full(capacity, np.nan)
        self.age_hi = np.full(capacity, np.nan)
        self.categories: list[str] = []
        self._cat_code: dict[str, int] = {}
        self._postings: dict[str, set[int]] = {}
        self._posting_arrays: dict[str, np.ndarray] = {}
        self._row_terms: dict[int, set[str]] = {}

    # ----- writes -------------------------------------------------------------
    def append(self, item: Item) -> int:
        row = self.size
        self._grow(row + 1)
        self.size += 1
        self.live[row] = True
        self.set(row, item)
        return row

    def append_dead(self) -> int:
        """Reserve a row for a dead item (loading a saved index keeps row numbers)."""
        row = self.size
        self._grow(row + 1)
        self.size += 1
        return row

    def set(self, row: int, item: Item) -> None:
        """(Re)write a row's metadata in place, e.g. a price or stock change."""
        self.active[row] = item.active
        self.price[row] = item.price
        self.stock[row] = UNKNOWN_STOCK if item.stock is None else item.stock
        self.cat[row] = self._code(item.category)
        self.age_lo[row], self.age_hi[row] = age_bounds(item)
        new_terms = item_terms(item)
        old_terms = self._row_terms.get(row, set())
        for term in old_terms - new_terms:
            self._postings[term].discard(row)
            self._posting_arrays.pop(term, None)
            if not self._postings[term]:
                del self._postings[term]
        for term in new_terms - old_terms:
            self._postings.setdefault(term, set()).add(row)
            self._posting_arrays.pop(term, None)
        self._row_terms[row] = new_terms

    def kill(self, row: int) -> None:
        """Mark a row dead (item removed or its text changed and it moved rows)."""
        self.live[row] = False
        for term in self._row_terms.pop(row, set()):
            self._postings[term].discard(row)
            self._posting_arrays.pop(term, None)
            if not self._postings[term]:
                del self._postings[term]

    def _code(self, category: str) -> int:
        code = self._cat_code.get(category)
        if code is None:
            code = self._cat_code[category] = len(self.categories)
            self.categories.append(category)
        return code

    def _grow(self, need: int) -> None:
        cap = len(self.live)
        if need <= cap:
            return
        new_cap = max(need, cap * 2)
        for name, fill in (
            ("live", False), ("active", False), ("price", 0.0), ("stock", 0),
            ("cat", 0), ("age_lo", np.nan), ("age_hi", np.nan),
        ):
            old = getattr(self, name)
            grown = np.full(new_cap, fill, dtype=old.dtype)
            grown[:cap] = old
            setattr(self, name, grown)

    # ----- reads --------------------------------------------------------------
    def searchable(self) -> np.ndarray:
        """Rows any search may return: current version of an active item."""
        n = self.size
        return self.live[:n] & self.active[:n]

    def mask(self, filters: Filters | None, id_rows: Iterable[int] = ()) -> np.ndarray:
        """Boolean mask over rows [0, size) of searchable rows passing `filters`."""
        n = self.size
        m = self.searchable()
        rows = np.fromiter(id_rows, dtype=np.int64)
        if rows.size:
            m[rows] = False
        if filters is None:
            return m
        if filters.category is not None:
            m &= np.isin(self.cat[:n], self._subtree_codes(filters.category))
        if filters.min_price is not None:
            m &= self.price[:n] >= filters.min_price
        if filters.max_price is not None:
            m &= self.price[:n] <= filters.max_price
        if filters.in_stock:
            m &= self.stock[:n] != 0  # unknown stock counts as available
        for term in filters.require:
            m &= self._term_mask(term, n)
        for term in filters.exclude:
            m &= ~self._term_mask(term, n)
        if filters.age is not None:
            lo, hi = self.age_lo[:n], self.age_hi[:n]
            with np.errstate(invalid="ignore"):
                m &= np.isnan(lo) | ((lo <= filters.age) & (filters.age <= hi))
        return m

    def has_category(self, category: str) -> bool:
        return len(self._subtree_codes(category)) > 0

    def _subtree_codes(self, category: str) -> np.ndarray:
        prefix = f"{category} {CATEGORY_SEP} ".lower()
        low = category.lower()
        codes = [
            code for code, path in enumerate(self.categories)
            if path.lower() == low or path.lower().startswith(prefix)
        ]
        return np.asarray(codes, dtype=np.int32)

    def _term_mask(self, term: str, n: int) -> np.ndarray:
        out = np.zeros(n, dtype=bool)
        for alt in term_alternatives(term):
            rows = self._posting_arrays.get(alt)
            if rows is None:
                posting = self._postings.get(alt, set())
                rows = np.fromiter(posting, dtype=np.int64, count=len(posting))
                self._posting_arrays[alt] = rows
            out[rows[rows < n]] = True
        return out
