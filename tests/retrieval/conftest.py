"""Fixtures: a hand-made 16-d keyword encoder for index logic, the real MiniLM once."""

from __future__ import annotations

import os

import pytest

from retrieval import CatalogIndex
from tests.retrieval.retrieval_testkit import KeywordEncoder, small_catalog

os.environ["HF_HUB_OFFLINE"] = "1"


@pytest.fixture
def encoder() -> KeywordEncoder:
    return KeywordEncoder()


@pytest.fixture
def index(encoder: KeywordEncoder) -> CatalogIndex:
    idx = CatalogIndex(encoder, candidate_pool=20, rerank_depth=5)
    idx.upsert(small_catalog())
    return idx


@pytest.fixture(scope="session")
def minilm():  # type: ignore[no-untyped-def]
    from retrieval import Embedder

    return Embedder()
