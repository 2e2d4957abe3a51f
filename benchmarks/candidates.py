"""Two-stage ranking at catalog scale: candidate generators + the preference model vs the
preference model ranking the whole catalog exactly.

Synthetic catalogs (the MiniLM embedder is far too slow for 1M real titles on 2 cores):
items belong to 500 "styles"; an item's factor vector is its style's centroid plus noise,
its bias is log-normal popularity, its content vector is random; the EASE neighbours of an
item are 20 items of its style. A customer has a true taste (one or two styles); their 8
past purchases and 5 held-out next purchases are sampled from the top of the true score.
The customer's state is learned by the real model from the 8 purchases (learn_one).

Measured per customer, in the same run:
- NDCG@10 of the held-out purchases for (a) exact: model.rank over every item; (b) two-stage:
  model.propose (taste ANN, neighbours, repurchase, popular, exploration) + model.rank;
- the overlap of the two top-10s;
- latency of the two-stage path (propose + rank with reasons): the library part of
  app/decide.Decider.decide (the app adds one events query and the catalog filter mask).

    PYTHONPATH=$PWD python -m benchmarks.candidates --items 100000 1000000 --customers 200
"""

from __future__ import annotations

import argparse
import os
import time

# One BLAS thread: the service's requests run in parallel threads; multi-threaded BLAS on a
# shared 2-core machine spins instead of computing.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from preference_model import PreferenceConfig, PreferenceModel, Signal  # noqa: E402
from preference_model.similar import ItemNeighbors  # noqa: E402

DIM = 16
STYLES = 500


def build(n: int, rng: np.random.Generator) -> tuple[PreferenceModel, np.ndarray, np.ndarray]:
    ids = [f"i{j}" for j in range(n)]
    content = rng.standard_normal((n, DIM))
    style = rng.integers(0, STYLES, n)
    centroids = rng.standard_normal((STYLES, DIM)) * 0.8
    model = PreferenceModel(PreferenceConfig(dim=DIM, exploration=0.0))
    model.set_items(ids, content, popularity=rng.lognormal(1.0, 1.2, n))
    pop = model.population
    assert pop is not None
    # Factors from the style, not from the random content: W = 0 leaves v_i = q_i.
    pop.W = np.zeros_like(pop.W)
    pop.q = centroids[style] + 0.3 * rng.standard_normal((n, DIM))
    pop.item_bias = rng.normal(-1.0, 0.5, n)
    members = [np.flatnonzero(style == s) for s in range(STYLES)]
    idx = np.stack([rng.choice(members[s], 20) for s in style]).astype(np.int32)
    pop.similar = ItemNeighbors(idx, rng.uniform(0.0, 0.05, idx.shape).astype(np.float32))
    model.refresh_vectors()
    return model, centroids, style


def true_scores(model: PreferenceModel, taste: np.ndarray) -> np.ndarray:
    pop = model.population
    assert pop is not None
    return model.vectors @ taste + pop.item_bias


def ndcg(ranked: list[str], relevant: set[str], k: int = 10) -> float:
    dcg = sum(1.0 / np.log2(r + 2) for r, i in enumerate(ranked[:k]) if i in relevant)
    ideal = sum(1.0 / np.log2(r + 2) for r in range(min(k, len(relevant))))
    return dcg / ideal if ideal else 0.0


def run(n: int, customers: int, seed: int) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    model, centroids, _ = build(n, rng)
    built = time.perf_counter() - t0
    all_ids = list(model.items.ids) if model.items else []
    t0 = time.perf_counter()
    model.propose("warmup")  # builds the factor index once per item table
    index_s = time.perf_counter() - t0
    exact_ndcg, two_ndcg, overlap, lat, sizes = [], [], [], [], []
    for c in range(customers):
        cid = f"u{c}"
        taste = centroids[rng.integers(0, STYLES)] * 1.5
        score = true_scores(model, taste)
        top = np.argpartition(-score, 60)[:60]
        picks = rng.permutation(top)
        history, held = picks[:8], picks[8:13]
        for j, row in enumerate(history):
            model.learn_one(Signal(customer_id=cid, kind="inferred", item_id=all_ids[row],
                                   event_type="purchase", source="purchase"))
            del j
        relevant = {all_ids[r] for r in held}
        exact = [s.item_id for s in model.rank(cid, all_ids, exploration=0.0, n_reasons=0)]
        exact = [i for i in exact if i not in {all_ids[r] for r in history}]
        t1 = time.perf_counter()
        prop = model.propose(cid, seed=c)
        ranked = model.rank(cid, prop.ids, exploration=0.1, seed=c)
        lat.append(time.perf_counter() - t1)
        greedy = [s.item_id for s in model.rank(cid, prop.ids, exploration=0.0, n_reasons=0)]
        greedy = [i for i in greedy if i not in {all_ids[r] for r in history}]
        del ranked
        sizes.append(len(prop.ids))
        exact_ndcg.append(ndcg(exact, relevant))
        two_ndcg.append(ndcg(greedy, relevant))
        overlap.append(len(set(exact[:10]) & set(greedy[:10])) / 10)
    ms = np.array(lat) * 1000
    return {"items": n, "build_s": built, "index_s": index_s,
            "ndcg_exact": float(np.mean(exact_ndcg)), "ndcg_two": float(np.mean(two_ndcg)),
            "overlap": float(np.mean(overlap)), "cands": float(np.mean(sizes)),
            "p50": float(np.percentile(ms, 50)), "p95": float(np.percentile(ms, 95))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--items", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--customers", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    print("| items | candidates | NDCG@10 exact | NDCG@10 two-stage | ratio | top-10 overlap "
          "| p50 ms | p95 ms | index build s |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n in args.items:
        r = run(n, args.customers, args.seed)
        print(f"| {n:,} | {r['cands']:.0f} | {r['ndcg_exact']:.4f} | {r['ndcg_two']:.4f} | "
              f"{r['ndcg_two'] / max(r['ndcg_exact'], 1e-9):.3f} | {r['overlap']:.2f} | "
              f"{r['p50']:.1f} | {r['p95']:.1f} | {r['index_s']:.1f} |", flush=True)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
