"""Prompt embeddings for the embedded model: MiniLM sentence vectors (the retrieval
package's packaged, offline encoder)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


class TextEncoder:
    def __init__(self, model_dir: str | None = None) -> None:
        from retrieval import Embedder

        self._embedder = Embedder(model_dir)

    @property
    def dim(self) -> int:
        return self._embedder.dim

    def encode(self, prompts: Sequence[str]) -> np.ndarray:
        return self._embedder.encode(list(prompts)).astype(np.float32)
