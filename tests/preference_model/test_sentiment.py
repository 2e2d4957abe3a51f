"""The committed sentiment classifier: accuracy, edge cases, errors, shared encoder."""

from __future__ import annotations

import json
import os
import shutil
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from preference_model.sentiment import (
    DEFAULT_WEIGHTS_DIR,
    METADATA_FILE,
    WEIGHTS_FILE,
    SentimentClassifier,
    SentimentConfig,
    SentimentHead,
    SentimentWeightsError,
    default_base_model_dir,
    load_base_encoder,
    truncate_encoder,
)
from tests.shared_data import shared_data

os.environ.setdefault("HF_HUB_OFFLINE", "1")



@pytest.fixture(scope="module")
def clf() -> SentimentClassifier:
    return SentimentClassifier.load()


def read_rows(n: int) -> tuple[list[str], list[int]]:
    lines = shared_data("sst2/test.tsv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "sentence\tlabel"
    rows = [line.rsplit("\t", 1) for line in lines[1 : n + 1]]
    return [s.strip() for s, _ in rows], [int(y) for _, y in rows]


def test_artifact_is_small_and_described() -> None:
    size = (DEFAULT_WEIGHTS_DIR / WEIGHTS_FILE).stat().st_size
    assert size <= 25 * 1024 * 1024
    meta = json.loads((DEFAULT_WEIGHTS_DIR / METADATA_FILE).read_text())
    assert meta["test_rows"] == 872
    assert meta["test_accuracy"] >= 0.85
    assert meta["replaced_layers"] and meta["command"].startswith(
        ("python scripts/train_sentiment", "python -m scripts.train_sentiment"))


def test_accuracy_on_sst2_test_subset(clf: SentimentClassifier) -> None:
    texts, labels = read_rows(200)
    pred = clf.predict_proba(texts).argmax(axis=1)
    assert float((pred == np.array(labels)).mean()) >= 0.80


def test_obvious_sentences(clf: SentimentClassifier) -> None:
    positive = ["I absolutely love this, it is wonderful.", "a delightful, moving film ."]
    negative = ["This is terrible and I hate it.", "the red one is ugly and cheap ."]
    scores = clf.score(positive + negative)
    assert all(s > 0.5 for s in scores[:2]), scores
    assert all(s < -0.5 for s in scores[2:]), scores
    assert all(-1.0 <= s <= 1.0 for s in scores)


def test_predict_proba_shape_and_score_relation(clf: SentimentClassifier) -> None:
    texts = ["great", "awful", "a film"]
    p = clf.predict_proba(texts)
    assert p.shape == (3, 2)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(clf.score(texts), 2 * p[:, 1] - 1, atol=1e-6)
    # batching and length-sorting do not change a text's score
    np.testing.assert_allclose(clf.predict_proba(texts, batch_size=1), p, atol=1e-5)


def test_empty_input(clf: SentimentClassifier) -> None:
    assert clf.score([]) == []
    assert clf.predict_proba([]).shape == (0, 2)


def test_single_string_is_rejected(clf: SentimentClassifier) -> None:
    with pytest.raises(TypeError):
        clf.score("not a list")  # type: ignore[arg-type]


def test_very_long_text_is_truncated(clf: SentimentClassifier) -> None:
    long_text = "a wonderful , moving and beautifully acted film . " * 400  # ~4000 tokens
    (score,) = clf.score([long_text])
    assert score > 0.0
    hidden, mask = clf.encode_bottom([long_text])
    assert mask.shape[1] == clf.config.max_length


def test_missing_weights_dir_raises_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SentimentWeightsError, match=WEIGHTS_FILE):
        SentimentClassifier.load(tmp_path / "nowhere")


def test_missing_weights_file_is_named(tmp_path: Path) -> None:
    shutil.copy(DEFAULT_WEIGHTS_DIR / METADATA_FILE, tmp_path / METADATA_FILE)
    with pytest.raises(SentimentWeightsError, match=WEIGHTS_FILE):
        SentimentClassifier.load(tmp_path)
    assert issubclass(SentimentWeightsError, FileNotFoundError)


def test_missing_base_model_raises_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SentimentWeightsError, match="base model file missing"):
        SentimentClassifier.load(base_model_dir=tmp_path, check_base=False)


def test_concurrent_scoring_matches_sequential(clf: SentimentClassifier) -> None:
    texts, _ = read_rows(12)
    expected = clf.score(texts)
    results: dict[int, list[float]] = {}

    def work(k: int) -> None:
        results[k] = clf.score(texts)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4
    for k in range(4):
        np.testing.assert_allclose(results[k], expected, atol=1e-5)


@pytest.fixture(scope="module")
def sentence_transformer() -> Any:
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(default_base_model_dir()), device="cpu")


def test_shared_sentence_transformer_gives_same_scores(
    clf: SentimentClassifier, sentence_transformer: Any
) -> None:
    st = sentence_transformer
    before = st.encode(["a film"], convert_to_numpy=True)
    shared = SentimentClassifier.load(encoder=st)
    texts, _ = read_rows(8)
    np.testing.assert_allclose(shared.score(texts), clf.score(texts), atol=1e-5)
    # sharing does not alter the retrieval encoder
    np.testing.assert_allclose(st.encode(["a film"], convert_to_numpy=True), before, atol=1e-6)
    assert shared.bottom.embeddings is st[0].auto_model.embeddings  # type: ignore[union-attr]


def test_untrained_top_layers_reproduce_the_base_encoder(sentence_transformer: Any) -> None:
    """Our TopLayer copy of BERT's layer is exact: bottom + base top layers + mean pooling
    equals the packaged sentence-transformers embedding (which it L2-normalizes)."""
    base = default_base_model_dir()
    tokenizer, bert = load_base_encoder(base)
    cfg = SentimentConfig(num_frozen_layers=2, num_top_layers=4)
    head = SentimentHead(cfg).eval()
    head.init_from_bert(bert, cfg.num_frozen_layers)
    bottom = truncate_encoder(bert, cfg.num_frozen_layers)
    texts = ["it 's a charming and often affecting journey .", "bad"]
    batch = tokenizer(texts, padding=True, return_tensors="pt")
    with torch.no_grad():
        pooled = head.pooled(bottom(**batch).last_hidden_state, batch["attention_mask"])
    ref = sentence_transformer.encode(texts, convert_to_tensor=True)
    pooled = torch.nn.functional.normalize(pooled, dim=-1)
    torch.testing.assert_close(pooled, ref.cpu(), atol=1e-5, rtol=1e-4)
