"""Models for the chat tests, loaded at most once per session (they take seconds)."""

from __future__ import annotations

from typing import Any

import pytest

from preference_model.sentiment import DEFAULT_WEIGHTS_DIR, WEIGHTS_FILE


@pytest.fixture(scope="session")
def embedder() -> Any:
    from retrieval import Embedder

    return Embedder()


@pytest.fixture(scope="session")
def sentiment_classifier(embedder: Any) -> Any:
    """The fine-tuned classifier, sharing the MiniLM encoder; skipped until it is trained."""
    if not (DEFAULT_WEIGHTS_DIR / WEIGHTS_FILE).is_file():
        pytest.skip("sentiment weights not trained yet (preference_model/weights/)")
    from preference_model.sentiment import SentimentClassifier

    # Embedder keeps its SentenceTransformer private; sharing it saves a second load.
    return SentimentClassifier.load(encoder=getattr(embedder, "_model", None))
