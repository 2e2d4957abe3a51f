"""Leave-one-out next-item HR@10 / NDCG@10 of the preference model on Amazon Scientific.

    python -m benchmarks.amazon_loo

Items: the 1,585 products' text embedded with the packaged MiniLM. The population model is
pre-trained on the training split (each user's training history); then for every test user
the model learns their history online (one signal per past purchase, in order) and ranks
every item they have not bought; the held-out next item is the target. Popularity (training
counts) and the content-only model (no pre-training) are measured in the same run.
"""

from __future__ import annotations

import math
import os
import platform
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("HF_HUB_OFFLINE", "1")
DATA = ROOT.parent / "shared" / "data" / "amazon_scientific"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def read_inter(name: str) -> list[tuple[str, list[str], str]]:
    rows = []
    with open(DATA / f"Scientific.{name}.inter", encoding="utf-8") as fh:
        next(fh)
        for line in fh:
            user, hist, target = line.rstrip("\n").split("\t")
            rows.append((user, hist.split(), target))
    return rows


def main() -> None:
    from preference_model import (
        Interaction,
        PreferenceConfig,
        PreferenceModel,
        PretrainConfig,
        Signal,
        pretrain,
    )
    from retrieval import Embedder

    index = {}
    with open(DATA / "Scientific.item2index", encoding="utf-8") as fh:
        for line in fh:
            asin, idx = line.split()
            index[asin] = idx
    texts = {}
    with open(DATA / "Scientific.text", encoding="utf-8") as fh:
        next(fh)
        for line in fh:
            asin, text = line.rstrip("\n").split("\t", 1)
            if asin in index:
                texts[index[asin]] = text
    ids = sorted(texts, key=int)
    t = time.perf_counter()
    emb = Embedder(progress_threshold=100).encode([texts[i] for i in ids])
    embed_s = time.perf_counter() - t

    train = read_inter("train")
    longest: dict[str, tuple[list[str], str]] = {}
    for user, hist, target in train:  # rows are prefixes: keep each user's full history
        if user not in longest or len(hist) >= len(longest[user][0]):
            longest[user] = (hist, target)
    interactions = [Interaction(u, i, 1.0, T0 + timedelta(hours=n))
                    for u, (hist, target) in longest.items()
                    for n, i in enumerate([*hist, target])]
    counts = np.zeros(len(ids))
    for it in interactions:
        counts[int(it.item_id)] += 1

    test = read_inter("test")

    def evaluate(model: PreferenceModel | None) -> tuple[float, float]:
        hr = ndcg = 0.0
        for user, hist, target in test:
            if model is None:
                scores = counts.copy()
            else:
                cid = f"test-{user}"
                model.learn_many([Signal(cid, "inferred", item_id=i, event_type="purchase",
                                         at=T0 + timedelta(hours=n))
                                  for n, i in enumerate(hist)])
                ranked = model.rank(cid, ids, n_reasons=0, exploration=0.0,
                                    at=T0 + timedelta(hours=len(hist)))
                scores = np.zeros(len(ids))
                for pos, s in enumerate(ranked):
                    scores[int(s.item_id)] = len(ids) - pos
            scores[[int(i) for i in hist]] = -np.inf
            top = np.argsort(-scores, kind="stable")[:10]
            hits = np.flatnonzero(top == int(target))
            if hits.size:
                hr += 1
                ndcg += 1 / math.log2(hits[0] + 2)
        return hr / len(test), ndcg / len(test)

    results = [("popularity (training counts)", *evaluate(None))]
    content = PreferenceModel(PreferenceConfig(exploration=0.0))
    content.set_items(ids, emb)
    results.append(("Tailor, content only (no pre-training)", *evaluate(content)))
    model = PreferenceModel(PreferenceConfig(exploration=0.0))
    model.set_items(ids, emb)
    t = time.perf_counter()
    pretrain(interactions, model, config=PretrainConfig(epochs=20, threads=2), progress=True)
    train_s = time.perf_counter() - t
    results.append(("Tailor, pre-trained + online", *evaluate(model)))

    print(f"\nmachine: {platform.machine()}, {os.cpu_count()} cores; command: python "
          f"benchmarks/amazon_loo.py; {len(ids)} items embedded in {embed_s:.0f} s, "
          f"pre-training {train_s:.0f} s, {len(test)} test users\n")
    print("| model | HR@10 | NDCG@10 |\n|---|---:|---:|")
    for name, hr, nd in results:
        print(f"| {name} | {hr:.4f} | {nd:.4f} |")


if __name__ == "__main__":
    main()
