"""`CatalogIndex`: the retrieval front door (upsert, remove, search, similar, save/load).

State per row (append-only rows shared by the vector index, the metadata
columns and BM25): the item, its text hash, its vector. An item whose text
changes gets a new row and its old row dies; a price/stock/tag change rewrites
its row's metadata in place, no re-embedding. Dead rows are dropped by an
automatic compaction that re-uses the stored vectors.

Concurrency: writers are serialized by `_write_mutex` and embed *before* taking
the exclusive side of `_rw` (a writer-preferring `readerwriterlock`), so searches
are blocked only for the in-place mutation (microseconds to milliseconds).
Compaction and `reload()` build a whole new `_State` while searches continue,
then swap it in.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from readerwriterlock.rwlock import RWLockWrite

from retrieval.catalog import Item
from retrieval.embedder import TextEncoder, content_hash
from retrieval.errors import (
    IndexNotReadyError,
    IndexStorageError,
    InvalidFilterError,
    InvalidRequestError,
    RetrievalError,
    UnknownItemError,
)
from retrieval.filters import Filters
from retrieval.hybrid import Hit, Reranker, SearchMode, reciprocal_rank_fusion
from retrieval.lexical import BM25Index, lexical_text
from retrieval.metadata import MetadataStore
from retrieval.persistence import current_version, write_version
from retrieval.query import parse_query
from retrieval.vectors import VectorIndex, VectorIndexConfig

MAX_K = 1000
MAX_QUERY_CHARS = 2000
FORMAT_VERSION = 1


@dataclass(frozen=True)
class UpsertResult:
    """What an upsert did: only `embedded` items cost a model call."""

    added: int = 0
    embedded: int = 0  # new items plus items whose text changed
    metadata_only: int = 0  # price, stock, tags, active... changed in place
    unchanged: int = 0


@dataclass
class _State:
    """Everything a search reads; swapped whole by compaction and reload."""

    vectors: VectorIndex
    meta: MetadataStore = field(default_factory=MetadataStore)
    lexical: BM25Index = field(default_factory=BM25Index)
    items: list[Item | None] = field(default_factory=list)  # by row; None = dead row
    hashes: list[str] = field(default_factory=list)  # by row: hash of the embedded text
    row_of: dict[str, int] = field(default_factory=dict)

    def append(self, items: list[Item], vectors: np.ndarray, hashes: list[str]) -> None:
        """Append rows; one FAISS add for the batch (HNSW/IVF add in parallel)."""
        rows = self.vectors.add(vectors)
        for row, item, text_hash in zip(rows.tolist(), items, hashes, strict=True):
            if self.meta.append(item) != row or len(self.items) != row:
                raise RetrievalError("index rows out of sync")  # a bug, never user error
            self.items.append(item)
            self.hashes.append(text_hash)
            self.lexical.set(row, lexical_text(item))
            self.row_of[item.id] = row

    def kill(self, item_id: str) -> None:
        row = self.row_of.pop(item_id)
        self.meta.kill(row)
        self.lexical.remove(row)
        self.items[row] = None

    @property
    def dead(self) -> int:
        return len(self.items) - len(self.row_of)


class CatalogIndex:
    """Hybrid (dense + BM25) catalog search with filters, thread-safe.

    Args:
        embedder: an `Embedder` (or any `TextEncoder`).
        exact_threshold: below this many rows search is exact (IndexFlatIP).
        ann: "hnsw" or "ivf" above the threshold.
        ef_search / nprobe: recall-vs-speed knobs of HNSW / IVF.
        candidate_pool: candidates per retriever before fusion.
        rerank_depth: candidates handed to a re-ranker (>= k).
        rrf_k: the RRF constant; 60 is the usual default.
        compact_ratio: compact when dead rows exceed this share (and 1000 rows).
        reranker: default re-ranker for searches that pass a customer_id.
    """

    def __init__(
        self,
        embedder: TextEncoder,
        *,
        exact_threshold: int = 50_000,
        ann: str = "hnsw",
        ef_search: int = 128,
        nprobe: int = 32,
        hnsw_m: int = 32,
        ef_construction: int = 80,
        exact_subset_max: int = 5_000,
        candidate_pool: int = 100,
        rerank_depth: int = 50,
        rrf_k: int = 60,
        compact_ratio: float = 0.3,
        reranker: Reranker | None = None,
    ) -> None:
        self.embedder = embedder
        self.config = VectorIndexConfig(
            exact_threshold=exact_threshold, ann=ann,  # type: ignore[arg-type]
            hnsw_m=hnsw_m, ef_construction=ef_construction, ef_search=ef_search,
            nprobe=nprobe, exact_subset_max=exact_subset_max,
        )
        if candidate_pool < 1 or rerank_depth < 1 or rrf_k < 1:
            raise InvalidRequestError("candidate_pool, rerank_depth and rrf_k must be >= 1")
        if not 0 < compact_ratio <= 1:
            raise InvalidRequestError("compact_ratio must be in (0, 1]")
        self.candidate_pool = candidate_pool
        self.rerank_depth = rerank_depth
        self.rrf_k = rrf_k
        self.compact_ratio = compact_ratio
        self.reranker = reranker
        self._state = _State(VectorIndex(embedder.dim, self.config))
        self._rw = RWLockWrite()  # writer preference: searches cannot starve an update
        self._write_mutex = threading.RLock()
        self._generation = 0  # bumped by every write: lets callers cache derived views

    # ----- introspection ----------------------------------------------------------
    def __len__(self) -> int:
        return len(self._state.row_of)

    @property
    def generation(self) -> int:
        """Changes whenever the catalog does (upsert, remove, compact, reload)."""
        return self._generation

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._state.row_of

    @property
    def index_kind(self) -> str:
        return self._state.vectors.kind

    def get(self, item_id: str) -> Item:
        with self._rw.gen_rlock():
            return self._item(self._state, item_id)

    def item_vector(self, item_id: str) -> np.ndarray:
        """The item's normalized content embedding (a copy)."""
        with self._rw.gen_rlock():
            state = self._state
            self._item(state, item_id)
            return state.vectors.vector(state.row_of[item_id])

    def ids(self) -> list[str]:
        """A snapshot of the indexed item ids (for syncing with the catalog store)."""
        with self._rw.gen_rlock():
            return list(self._state.row_of)

    def matching(self, filters: Filters | None = None, *, limit: int | None = None) -> list[str]:
        """Ids of the items passing `filters`, in index order: candidates for a ranker that
        scores items itself (recommendations), with the same filter semantics as search."""
        if filters is not None and not isinstance(filters, Filters):
            raise InvalidFilterError("filters must be a retrieval.Filters")
        with self._rw.gen_rlock():
            state = self._state
            excluded = [state.row_of[i] for i in (filters.exclude_ids if filters else ())
                        if i in state.row_of]
            rows = np.flatnonzero(state.meta.mask(filters, excluded))
            if limit is not None:
                rows = rows[:limit]
            return [item.id for r in rows if (item := state.items[int(r)]) is not None]

    def admits(self, item_ids: Sequence[str], filters: Filters | None = None) -> list[bool]:
        """For each id: is it indexed, active and passing `filters`? The same semantics as
        search and `matching`, checked for a few candidates from elsewhere (a ranker's own
        generators) instead of listing every match."""
        if filters is not None and not isinstance(filters, Filters):
            raise InvalidFilterError("filters must be a retrieval.Filters")
        with self._rw.gen_rlock():
            state = self._state
            excluded = [state.row_of[i] for i in (filters.exclude_ids if filters else ())
                        if i in state.row_of]
            mask = state.meta.mask(filters, excluded)
            return [(row := state.row_of.get(i)) is not None and bool(mask[row])
                    for i in item_ids]

    def titles(self) -> list[str]:
        """Titles of all indexed items (the chat checks replies against them)."""
        with self._rw.gen_rlock():
            return [item.title for item in self._state.items if item is not None]

    def categories(self) -> list[str]:
        with self._rw.gen_rlock():
            return list(self._state.meta.categories)

    def to_embed(self, items: Sequence[Item]) -> list[str]:
        """Ids of the items `upsert` would embed (new, or their text changed): lets a caller
        tell a long re-embedding from a quick metadata update before starting it."""
        with self._rw.gen_rlock():
            state = self._state
            out = []
            for item in items:
                row = state.row_of.get(item.id)
                if row is None or state.hashes[row] != self._text_hash(item):
                    out.append(item.id)
            return out

    def _text_hash(self, item: Item) -> str:
        return content_hash(f"{self.embedder.model_id}\n{item.search_text()}")

    # ----- writes -----------------------------------------------------------------
    def upsert(self, items: Sequence[Item] | Item) -> UpsertResult:
        """Add or update items; embeds only new items and items whose text changed."""
        batch = [items] if isinstance(items, Item) else list(items)
        bad = [type(i).__name__ for i in batch if not isinstance(i, Item)]
        if bad:
            raise InvalidRequestError(f"upsert takes Item objects, got {bad[:3]}")
        latest = {item.id: item for item in batch}  # last write of an id wins
        with self._write_mutex:
            state = self._state  # stable: only writers replace it, and we are the writer
            to_embed: list[tuple[Item, str]] = []
            in_place: list[tuple[int, Item]] = []
            unchanged = 0
            for item in latest.values():
                text_hash = self._text_hash(item)
                row = state.row_of.get(item.id)
                if row is None or state.hashes[row] != text_hash:
                    to_embed.append((item, text_hash))
                elif state.items[row] != item:
                    in_place.append((row, item))
                else:
                    unchanged += 1
            vectors = self._embed([item.search_text() for item, _ in to_embed])
            added = sum(1 for item, _ in to_embed if item.id not in state.row_of)
            with self._rw.gen_wlock():
                for row, item in in_place:
                    state.meta.set(row, item)
                    state.lexical.set(row, lexical_text(item))
                    state.items[row] = item
                for item, _ in to_embed:
                    if item.id in state.row_of:
                        state.kill(item.id)
                if to_embed:
                    state.append([i for i, _ in to_embed], vectors, [h for _, h in to_embed])
                self._generation += 1
            self._maybe_compact()
        return UpsertResult(added, len(to_embed), len(in_place), unchanged)

    def remove(self, item_ids: Iterable[str], *, missing_ok: bool = False) -> int:
        """Delete items; UnknownItemError (nothing removed) unless `missing_ok`."""
        if isinstance(item_ids, str):
            raise InvalidRequestError("remove() takes a list of ids, not one string")
        ids = list(dict.fromkeys(item_ids))
        with self._write_mutex:
            state = self._state
            unknown = [i for i in ids if i not in state.row_of]
            if unknown and not missing_ok:
                raise UnknownItemError(unknown)
            with self._rw.gen_wlock():
                for item_id in ids:
                    if item_id in state.row_of:
                        state.kill(item_id)
                self._generation += 1
            self._maybe_compact()
        return len(ids) - len(unknown)

    def compact(self) -> None:
        """Rebuild without dead rows from stored vectors; searches continue meanwhile."""
        with self._write_mutex:
            old = self._state
            fresh = _State(VectorIndex(self.embedder.dim, self.config))
            live = sorted(old.row_of.values())
            fresh.vectors = old.vectors.compacted(np.asarray(live, dtype=np.int64))
            for new_row, row in enumerate(live):
                item = old.items[row]
                assert item is not None
                fresh.meta.append(item)
                fresh.lexical.set(new_row, lexical_text(item))
                fresh.items.append(item)
                fresh.hashes.append(old.hashes[row])
                fresh.row_of[item.id] = new_row
            with self._rw.gen_wlock():
                self._state = fresh
                self._generation += 1

    def _maybe_compact(self) -> None:
        state = self._state
        if state.dead > max(1000, self.compact_ratio * len(state.items)):
            self.compact()

    def _embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.embedder.dim), dtype=np.float32)
        vecs = np.asarray(self.embedder.encode(texts), dtype=np.float32)
        if vecs.shape != (len(texts), self.embedder.dim):
            raise RetrievalError(f"embedder returned shape {vecs.shape}")
        return vecs

    # ----- reads ------------------------------------------------------------------
    def search(
        self,
        query: str | np.ndarray,
        k: int = 10,
        filters: Filters | None = None,
        *,
        customer_id: str | None = None,
        reranker: Reranker | None = None,
        mode: SearchMode = "hybrid",
        parse: bool = True,
    ) -> list[Hit]:
        """Top-k items for a text (or a query vector) under hard `filters`.

        Text is first run through `parse_query` (unless parse=False): constraints
        like "under $50" or "no leather" become filters merged with `filters`.
        Returns k hits whenever at least k items match the filters.
        """
        _check_k(k)
        if filters is not None and not isinstance(filters, Filters):
            raise InvalidFilterError("filters must be a retrieval.Filters")
        if mode not in ("hybrid", "dense", "lexical"):
            raise InvalidRequestError(f"mode must be hybrid, dense or lexical, not {mode!r}")
        if isinstance(query, str):
            text = query.strip()
            if not text:
                raise InvalidRequestError("query text is empty")
            if len(text) > MAX_QUERY_CHARS:
                raise InvalidRequestError(f"query text longer than {MAX_QUERY_CHARS} chars")
            if parse:
                parsed = parse_query(text, self.categories())
                filters = parsed.filters.merged(filters)
                text = parsed.query_text or text  # all constraints: embed the whole ask
            qvec = self.embedder.encode([text])[0] if mode != "lexical" else None
        else:
            if mode == "lexical":
                raise InvalidRequestError("lexical search needs query text, not a vector")
            text, qvec = "", _check_vector(query, self.embedder.dim)
        return self._run(qvec, text, k, filters, mode, None, customer_id, reranker)

    def similar(
        self,
        item_id: str,
        k: int = 10,
        filters: Filters | None = None,
        *,
        customer_id: str | None = None,
        reranker: Reranker | None = None,
    ) -> list[Hit]:
        """Items closest to `item_id` by content embedding, never the item itself."""
        _check_k(k)
        if filters is not None and not isinstance(filters, Filters):
            raise InvalidFilterError("filters must be a retrieval.Filters")
        qvec = self.item_vector(item_id)
        return self._run(qvec, "", k, filters, "dense", item_id, customer_id, reranker)

    def _run(
        self,
        qvec: np.ndarray | None,
        text: str,
        k: int,
        filters: Filters | None,
        mode: SearchMode,
        exclude_id: str | None,
        customer_id: str | None,
        reranker: Reranker | None,
    ) -> list[Hit]:
        rerank = reranker or self.reranker
        rerank = rerank if customer_id is not None else None
        depth = max(k, self.rerank_depth) if rerank else k
        pool = max(depth, self.candidate_pool) if mode == "hybrid" else depth
        with self._rw.gen_rlock():
            state = self._state
            if not state.row_of:
                raise IndexNotReadyError("the index holds no items yet")
            if filters and filters.category and not state.meta.has_category(filters.category):
                raise InvalidFilterError(f"unknown category {filters.category!r}")
            excluded = set(filters.exclude_ids) if filters else set()
            if exclude_id is not None:
                excluded.add(exclude_id)
            rows_out = (state.row_of[i] for i in excluded if i in state.row_of)
            mask = state.meta.mask(filters, rows_out)
            dense_rows: list[int] = []
            if qvec is not None:
                _, found = state.vectors.search(qvec, pool, mask)
                dense_rows = [int(r) for r in found[0] if r >= 0]
            lex_rows: list[int] = []
            lex_scores: np.ndarray | None = None
            if mode != "dense" and text:
                lex_scores = state.lexical.scores(text, state.vectors.size)
                lex_rows = BM25Index.top(lex_scores, mask, pool)
            if mode == "hybrid":
                fused = reciprocal_rank_fusion([dense_rows, lex_rows], self.rrf_k)[:depth]
            elif mode == "dense":
                fused = [(r, 0.0) for r in dense_rows[:depth]]
            else:
                fused = [(r, 0.0) for r in lex_rows[:depth]]
            hits = [self._hit(state, row, score, qvec, lex_scores, mode) for row, score in fused]
        if rerank is not None and customer_id is not None:
            hits = _apply_reranker(rerank, customer_id, hits)
        return hits[:k]

    @staticmethod
    def _hit(
        state: _State,
        row: int,
        fused: float,
        qvec: np.ndarray | None,
        lex_scores: np.ndarray | None,
        mode: SearchMode,
    ) -> Hit:
        item = state.items[row]
        assert item is not None  # the mask only lets live rows through
        dense = float(state.vectors.vector(row) @ qvec) if qvec is not None else 0.0
        lex = float(lex_scores[row]) if lex_scores is not None and lex_scores[row] > 0 else None
        score = {"hybrid": fused, "dense": dense, "lexical": lex or 0.0}[mode]
        return Hit(item.id, score, dense, lex, item)

    def _item(self, state: _State, item_id: str) -> Item:
        row = state.row_of.get(item_id)
        if row is None:
            raise UnknownItemError([item_id])
        item = state.items[row]
        assert item is not None
        return item

    # ----- persistence --------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write a new version atomically; searches and other readers go on meanwhile."""
        with self._write_mutex:  # no writer can change the state while we copy it
            state = self._state

            def write(folder: Path) -> None:
                state.vectors.save(folder)
                with open(folder / "items.jsonl", "w", encoding="utf-8") as fh:
                    for item, text_hash in zip(state.items, state.hashes, strict=True):
                        record = None if item is None else item.model_dump(mode="json")
                        fh.write(json.dumps({"item": record, "hash": text_hash}) + "\n")
                manifest = {
                    "format": FORMAT_VERSION,
                    "model_id": self.embedder.model_id,
                    "dim": self.embedder.dim,
                    "items": len(state.row_of),
                    "rows": len(state.items),
                }
                (folder / "manifest.json").write_text(json.dumps(manifest))

            return write_version(path, write)

    @classmethod
    def load(cls, path: str | Path, embedder: TextEncoder, **settings: Any) -> CatalogIndex:
        """Open the current saved version; the embedder must match the saved one."""
        index = cls(embedder, **settings)
        index._state = index._read_state(path)
        return index

    def reload(self, path: str | Path) -> None:
        """Swap in the saved version at `path` without stopping searches."""
        fresh = self._read_state(path)
        with self._write_mutex, self._rw.gen_wlock():
            self._state = fresh
            self._generation += 1

    def _read_state(self, path: str | Path) -> _State:
        folder = current_version(path)
        try:
            manifest = json.loads((folder / "manifest.json").read_text())
        except (OSError, ValueError) as exc:
            raise IndexStorageError(f"{folder}: unreadable manifest: {exc}") from exc
        if manifest.get("format") != FORMAT_VERSION:
            raise IndexStorageError(f"{folder}: unsupported format {manifest.get('format')}")
        if manifest.get("model_id") != self.embedder.model_id:
            raise IndexStorageError(
                f"{folder} was built with embedder {manifest.get('model_id')!r}, "
                f"not {self.embedder.model_id!r}: re-index the catalog"
            )
        vectors = VectorIndex.load(folder)
        vectors.config = self.config  # this process's knobs (ef_search, nprobe...) apply
        state = _State(vectors)
        try:
            with open(folder / "items.jsonl", encoding="utf-8") as fh:
                for row, line in enumerate(fh):
                    record = json.loads(line)
                    state.hashes.append(record["hash"])
                    if record["item"] is None:
                        state.items.append(None)
                        state.meta.append_dead()
                        continue
                    item = Item.model_validate(record["item"])
                    state.meta.append(item)
                    state.lexical.set(row, lexical_text(item))
                    state.items.append(item)
                    state.row_of[item.id] = row
        except (OSError, ValueError, KeyError) as exc:
            raise IndexStorageError(f"{folder}: unreadable items.jsonl: {exc}") from exc
        if len(state.items) != vectors.size:
            raise IndexStorageError(f"{folder}: {len(state.items)} items for {vectors.size} rows")
        return state


def _check_k(k: object) -> None:
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_K:
        raise InvalidRequestError(f"k must be an integer in 1..{MAX_K}, got {k!r}")


def _check_vector(query: object, dim: int) -> np.ndarray:
    arr = np.asarray(query, dtype=np.float32)
    if arr.shape != (dim,):
        raise InvalidRequestError(f"query vector must have shape ({dim},), got {arr.shape}")
    norm = float(np.linalg.norm(arr))
    if not np.isfinite(arr).all() or norm == 0.0:
        raise InvalidRequestError("query vector must be finite and non-zero")
    return arr / norm


def _apply_reranker(reranker: Reranker, customer_id: str, hits: list[Hit]) -> list[Hit]:
    try:
        out = list(reranker(customer_id, list(hits)))
    except RetrievalError:
        raise
    except Exception as exc:  # the preference model's failure, wrapped where it enters
        raise RetrievalError(f"re-ranker failed for customer {customer_id!r}: {exc}") from exc
    given = {h.item_id for h in hits}
    stray = [getattr(h, "item_id", h) for h in out
             if not isinstance(h, Hit) or h.item_id not in given]
    if stray:
        raise RetrievalError(f"re-ranker returned hits that were not candidates: {stray[:5]}")
    return out
