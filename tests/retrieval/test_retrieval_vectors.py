"""VectorIndex on hand-made 8-d vectors: exact and ANN, masks, persistence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from retrieval import InvalidRequestError, VectorIndex, VectorIndexConfig
from retrieval.errors import IndexStorageError


def unit(rng: np.random.Generator, n: int, d: int = 8) -> np.ndarray:
    x = rng.standard_normal((n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def exact_top(x: np.ndarray, q: np.ndarray, k: int, mask: np.ndarray | None = None) -> set[int]:
    s = x @ q
    if mask is not None:
        s = np.where(mask, s, -np.inf)
    return set(np.argsort(-s)[:k].tolist())


def test_flat_is_exact_and_sorted() -> None:
    x = np.eye(8, dtype=np.float32)
    idx = VectorIndex(8)
    assert idx.add(x).tolist() == list(range(8))
    q = np.array([0.9, 0.5, 0.1, 0, 0, 0, 0, 0], dtype=np.float32)
    scores, rows = idx.search(q, 3)
    assert rows[0].tolist() == [0, 1, 2]
    assert np.all(np.diff(scores[0]) <= 0)
    assert idx.kind == "flat"
    np.testing.assert_allclose(idx.vector(3), x[3])


@pytest.mark.parametrize("ann", ["hnsw", "ivf"])
def test_switches_to_ann_above_threshold_and_keeps_rows(ann: str) -> None:
    rng = np.random.default_rng(0)
    x = unit(rng, 600)
    cfg = VectorIndexConfig(exact_threshold=500, ann=ann, nlist=8, nprobe=8,  # type: ignore[arg-type]
                            exact_subset_max=10)
    idx = VectorIndex(8, cfg)
    idx.add(x[:400])
    assert idx.kind == "flat"
    idx.add(x[400:])
    assert idx.kind == ann and idx.size == 600
    q = x[123]
    _, rows = idx.search(q, 1)
    assert rows[0, 0] == 123  # FAISS id == row number survived the switch


@pytest.mark.parametrize("ann", ["flat", "hnsw", "ivf"])
def test_filtered_search_returns_k_whenever_k_match(ann: str) -> None:
    rng = np.random.default_rng(1)
    x = unit(rng, 2000)
    threshold = 10**9 if ann == "flat" else 100
    cfg = VectorIndexConfig(exact_threshold=threshold, ann="ivf" if ann == "ivf" else "hnsw",
                            nlist=16, nprobe=1, ef_search=16, exact_subset_max=50)
    idx = VectorIndex(8, cfg)
    idx.add(x)
    q = unit(rng, 1)[0]
    # exact subset, ANN + bitmap selector (+ exact fallback when starved)
    for n_match in (3, 10, 60, 300, 1500):
        mask = np.zeros(2000, dtype=bool)
        mask[rng.choice(2000, n_match, replace=False)] = True
        _, rows = idx.search(q, 10, mask)
        got = [r for r in rows[0].tolist() if r >= 0]
        assert len(got) == min(10, n_match), (ann, n_match)
        assert all(mask[r] for r in got)
    # the subset path is exact for every index type
    for n_match in (15, 45):
        mask = np.zeros(2000, dtype=bool)
        mask[rng.choice(2000, n_match, replace=False)] = True
        _, rows = idx.search(q, 10, mask)
        assert set(rows[0].tolist()) == exact_top(x, q, 10, mask)


def test_empty_mask_and_bad_input() -> None:
    idx = VectorIndex(8)
    idx.add(np.eye(8, dtype=np.float32))
    _, rows = idx.search(np.ones(8), 5, np.zeros(8, dtype=bool))
    assert (rows == -1).all()
    with pytest.raises(InvalidRequestError):
        idx.add(np.ones((2, 7)))
    with pytest.raises(InvalidRequestError):
        idx.add(np.full((1, 8), np.nan))
    with pytest.raises(InvalidRequestError):
        idx.search(np.ones(8), 3, np.ones(3, dtype=bool))
    with pytest.raises(InvalidRequestError):
        VectorIndexConfig(ef_search=0)


@pytest.mark.parametrize("ann", ["flat", "hnsw", "ivf"])
def test_save_load_roundtrip(tmp_path: Path, ann: str) -> None:
    rng = np.random.default_rng(2)
    x = unit(rng, 300)
    cfg = VectorIndexConfig(exact_threshold=10**9 if ann == "flat" else 100,
                            ann="ivf" if ann == "ivf" else "hnsw", nlist=8)
    idx = VectorIndex(8, cfg)
    idx.add(x)
    idx.save(tmp_path)
    again = VectorIndex.load(tmp_path)
    assert again.kind == idx.kind and again.size == 300
    q = unit(rng, 4)
    np.testing.assert_array_equal(idx.search(q, 5)[1], again.search(q, 5)[1])
    again.add(unit(rng, 2))  # still appendable after load
    assert again.size == 302


def test_load_missing_raises_storage_error(tmp_path: Path) -> None:
    with pytest.raises(IndexStorageError):
        VectorIndex.load(tmp_path)


def test_compacted_renumbers() -> None:
    idx = VectorIndex(8)
    idx.add(np.eye(8, dtype=np.float32))
    small = idx.compacted(np.array([2, 5]))
    assert small.size == 2
    np.testing.assert_allclose(small.vector(1), np.eye(8)[5])


@pytest.mark.parametrize("n_match", [20, 300, 1900])
def test_the_starved_fallback_is_exact_for_small_and_large_subsets(n_match: int) -> None:
    """A large k starves the ANN under a filter; the exact fallback scores a small subset
    from its own vectors and a large one from the whole matrix: the same answer."""
    rng = np.random.default_rng(3)
    x = unit(rng, 2000)
    cfg = VectorIndexConfig(exact_threshold=100, ann="ivf", nlist=16, nprobe=1,
                            exact_subset_max=5)
    idx = VectorIndex(8, cfg)
    idx.add(x)
    q = unit(rng, 2)
    mask = np.zeros(2000, dtype=bool)
    mask[rng.choice(2000, n_match, replace=False)] = True
    k = 200  # more than one IVF list holds: with nprobe 1 the ANN comes back short
    scores, rows = idx.search(q, k, mask)
    for i in range(2):
        got = [r for r in rows[i].tolist() if r >= 0]
        assert set(got) == exact_top(x, q[i], min(k, n_match), mask)
        assert np.all(np.diff(scores[i][: len(got)]) <= 0)
