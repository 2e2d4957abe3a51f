"""The item universe the learner scores: ids, vectors, attributes, categories, flags.

Arrays are kept dense and row-aligned so that ranking 500 candidates is a handful of
gathers and one matrix-vector product. Removed items keep their row (a tombstone) until
the next `set_items`, so row numbers stay stable.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from preference_model.errors import InvalidSignalError, UnknownItemError
from preference_model.signals import attribute_key


def _check_vector(vec: np.ndarray, dim: int, what: str) -> np.ndarray:
    arr = np.asarray(vec, dtype=np.float64)
    if arr.shape != (dim,):
        raise InvalidSignalError(f"{what} must have shape ({dim},), got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise InvalidSignalError(f"{what} contains NaN or inf")
    return arr


class ItemTable:
    def __init__(
        self,
        item_ids: Sequence[str],
        content: np.ndarray,
        attributes: Sequence[Mapping[str, Sequence[str]]] | None = None,
        categories: Sequence[str] | None = None,
        popularity: Sequence[float] | np.ndarray | None = None,
        titles: Sequence[str] | None = None,
        sensitive_topics: Sequence[Sequence[str]] | None = None,
    ) -> None:
        ids = list(item_ids)
        n = len(ids)
        if n == 0:
            raise InvalidSignalError("set_items needs at least one item")
        if any(not isinstance(i, str) or not i for i in ids):
            raise InvalidSignalError("item ids must be non-empty strings")
        if len(set(ids)) != n:
            raise InvalidSignalError("item ids must be unique")
        emb = np.asarray(content, dtype=np.float64)
        if emb.ndim != 2 or emb.shape[0] != n:
            raise InvalidSignalError(f"content_embeddings must have shape ({n}, d), "
                                     f"got {emb.shape}")
        if not np.all(np.isfinite(emb)):
            raise InvalidSignalError("content_embeddings contain NaN or inf")
        for name, seq in (("attributes", attributes), ("categories", categories),
                          ("popularity", popularity), ("titles", titles),
                          ("sensitive_topics", sensitive_topics)):
            if seq is not None and len(seq) != n:
                raise InvalidSignalError(f"{name} has {len(seq)} rows, expected {n}")
        self.ids = ids
        self.index = {item: i for i, item in enumerate(ids)}
        self.content = emb
        self.dim = emb.shape[1]
        self.attrs: list[dict[str, list[str]]] = [
            self._clean_attrs(a) for a in (attributes or [{}] * n)
        ]
        self.categories = [str(c) if c else "" for c in (categories or [""] * n)]
        self.titles = [str(t) if t else ids[i] for i, t in enumerate(titles or [""] * n)]
        self.topics = [sorted({str(t).lower() for t in ts})
                       for ts in (sensitive_topics or [[]] * n)]
        raw_pop = np.zeros(n) if popularity is None else np.asarray(popularity, dtype=np.float64)
        if raw_pop.shape != (n,) or not np.all(np.isfinite(raw_pop)) or np.any(raw_pop < 0):
            raise InvalidSignalError("popularity must be n finite non-negative numbers")
        self.raw_pop = raw_pop.copy()
        logp = np.log1p(raw_pop)
        self.pop_mu = float(logp.mean())
        self.pop_sd = float(logp.std()) or 1.0
        self.removed = np.zeros(n, dtype=bool)
        self._rebuild_vocab()

    @staticmethod
    def _clean_attrs(raw: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
        if not isinstance(raw, Mapping):
            raise InvalidSignalError("each item's attributes must be a mapping name -> values")
        out: dict[str, list[str]] = {}
        for name, vals in raw.items():
            seq = [vals] if isinstance(vals, str) else list(vals)
            out[str(name).strip().lower()] = [str(v).strip().lower() for v in seq if str(v)]
        return out

    def _rebuild_vocab(self) -> None:
        self.attr_vocab: dict[str, int] = {}
        rows = []
        for attrs in self.attrs:
            keys = [attribute_key(k, v) for k, vals in attrs.items() for v in vals]
            rows.append([self.attr_vocab.setdefault(k, len(self.attr_vocab)) for k in keys])
        pad = len(self.attr_vocab)  # index of the always-zero slot
        width = max(1, max(len(r) for r in rows))
        self.attr_idx = np.full((len(rows), width), pad, dtype=np.int64)
        for i, r in enumerate(rows):
            self.attr_idx[i, : len(r)] = r
        self.n_attr = np.array([max(1, len(r)) for r in rows], dtype=np.float64)
        self.cat_vocab: dict[str, int] = {}
        self.cat_idx = np.array(
            [self.cat_vocab.setdefault(c, len(self.cat_vocab)) for c in self.categories],
            dtype=np.int64,
        )
        self.sensitive = np.array([bool(t) for t in self.topics], dtype=bool)
        self.pop = (np.log1p(self.raw_pop) - self.pop_mu) / self.pop_sd

    def __len__(self) -> int:
        return len(self.ids)

    def row(self, item_id: object) -> int:
        if not isinstance(item_id, str):
            raise InvalidSignalError(f"item_id must be a string, got {item_id!r}")
        i = self.index.get(item_id)
        if i is None:
            raise UnknownItemError(item_id)
        return i

    def rows(self, item_ids: Sequence[str], *, skip_unknown: bool = False) -> np.ndarray:
        index = self.index
        if skip_unknown:
            return np.fromiter((index[i] for i in item_ids if i in index), dtype=np.int64)
        try:
            return np.fromiter((index[i] for i in item_ids), dtype=np.int64,
                               count=len(item_ids))
        except (KeyError, TypeError):
            for i in item_ids:
                self.row(i)
            raise

    def attr_keys(self, row: int) -> list[str]:
        return [attribute_key(k, v) for k, vals in self.attrs[row].items() for v in vals]

    def upsert(self, item_id: str, content: np.ndarray, attributes: Mapping[str, Sequence[str]],
               category: str, title: str, sensitive_topics: Sequence[str],
               popularity: float | None) -> int:
        vec = _check_vector(content, self.dim, "content embedding")
        attrs = self._clean_attrs(attributes)
        i = self.index.get(item_id)
        if i is None:
            i = len(self.ids)
            self.ids.append(item_id)
            self.index[item_id] = i
            self.content = np.vstack([self.content, vec[None]])
            self.attrs.append(attrs)
            self.categories.append(category)
            self.titles.append(title or item_id)
            self.topics.append(sorted({t.lower() for t in sensitive_topics}))
            self.raw_pop = np.append(self.raw_pop, popularity or 0.0)
            self.removed = np.append(self.removed, False)
        else:
            self.content[i] = vec
            self.attrs[i] = attrs
            self.categories[i] = category
            self.titles[i] = title or item_id
            self.topics[i] = sorted({t.lower() for t in sensitive_topics})
            if popularity is not None:
                self.raw_pop[i] = popularity
        self._rebuild_vocab()
        return i

    def remove(self, item_id: str) -> int:
        i = self.row(item_id)
        del self.index[item_id]
        self.removed[i] = True
        return i

    def add_popularity(self, row: int, amount: float) -> None:
        self.raw_pop[row] += amount
        self.pop[row] = (np.log1p(self.raw_pop[row]) - self.pop_mu) / self.pop_sd
