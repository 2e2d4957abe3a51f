"""learn_one and rank latency of the preference model (issue targets: learn_one p99 <= 5 ms,
rank of 500 candidates p99 <= 10 ms), with the in-memory and the SQLite state store.

    python -m benchmarks.preference_latency

A 5,000-item catalog with 384-d content vectors and attributes (the shape of MiniLM
embeddings), 300 customers, time-ordered clicks and purchases; each call is timed on its own.
"""

from __future__ import annotations

import os
import platform
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from preference_model import (  # noqa: E402
    InMemoryStateStore,
    PreferenceConfig,
    PreferenceModel,
    Signal,
    SQLiteStateStore,
)

N_ITEMS, DIM, N_CUSTOMERS = 5000, 384, 300


def catalog(rng: np.random.Generator) -> tuple[list[str], np.ndarray, list[dict[str, list[str]]],
                                               list[str]]:
    ids = [f"i{n}" for n in range(N_ITEMS)]
    emb = rng.standard_normal((N_ITEMS, DIM)).astype(np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    colors, materials = ["red", "blue", "green", "black"], ["wool", "cotton", "leather", "linen"]
    attrs = [{"color": [colors[n % 4]], "material": [materials[(n // 4) % 4]]}
             for n in range(N_ITEMS)]
    cats = [f"Cat{n % 20} > Sub{n % 7}" for n in range(N_ITEMS)]
    return ids, emb, attrs, cats


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def measure(model: PreferenceModel, rng: np.random.Generator, ids: list[str]) -> dict[str, float]:
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    learn, rank = [], []
    for n in range(3000):
        sig = Signal(f"c{rng.integers(N_CUSTOMERS)}", "inferred",
                     item_id=ids[int(rng.integers(N_ITEMS))],
                     event_type=["click", "purchase", "view"][n % 3],
                     at=t0 + timedelta(seconds=30 * n), context={"device": "mobile"})
        t = time.perf_counter()
        model.learn_one(sig)
        learn.append(time.perf_counter() - t)
    for _ in range(1000):
        cands = [ids[int(i)] for i in rng.choice(N_ITEMS, 500, replace=False)]
        t = time.perf_counter()
        model.rank(f"c{rng.integers(N_CUSTOMERS)}", cands, {"device": "mobile"})
        rank.append(time.perf_counter() - t)
    return {"learn50": statistics.median(learn) * 1e3, "learn99": pct(learn, 0.99) * 1e3,
            "rank50": statistics.median(rank) * 1e3, "rank99": pct(rank, 0.99) * 1e3}


def main() -> None:
    rng = np.random.default_rng(0)
    ids, emb, attrs, cats = catalog(rng)
    rows = []
    with tempfile.TemporaryDirectory() as d:
        for name, store in [("in memory", InMemoryStateStore()),
                            ("SQLite file", SQLiteStateStore(Path(d) / "states.db"))]:
            model = PreferenceModel(PreferenceConfig(exploration=0.1), store)
            model.set_items(ids, emb, attrs, cats, rng.integers(0, 100, N_ITEMS).astype(float))
            measure(model, np.random.default_rng(1), ids)  # warm-up: states exist, caches hot
            rows.append((name, measure(model, np.random.default_rng(2), ids)))
    print(f"\nmachine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}; command: python -m benchmarks.preference_latency\n")
    print("| state store | learn_one p50 / p99 ms (target p99 <= 5) | "
          "rank 500 candidates p50 / p99 ms (target p99 <= 10) |")
    print("|---|---|---|")
    for name, r in rows:
        print(f"| {name} | {r['learn50']:.2f} / {r['learn99']:.2f} | "
              f"{r['rank50']:.2f} / {r['rank99']:.2f} |")


if __name__ == "__main__":
    main()
