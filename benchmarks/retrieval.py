"""Retrieval benchmark: vector index vs. exact NumPy search, and real-text quality.

    HF_HUB_OFFLINE=1 .venv/bin/python -m benchmarks.retrieval --quick   # 100k only, ~2-4 min
    HF_HUB_OFFLINE=1 .venv/bin/python -m benchmarks.retrieval --full    # + 1M (IVF), ~25 min

Part 1, synthetic: 384-d unit vectors, two distributions.
  * uniform: i.i.d. random directions. The worst case for any ANN index: in 384
    dimensions the 10th neighbour is barely closer than a random point, so
    every graph/cluster shortcut loses recall. Reported as the literal reading.
  * clustered: a mixture of n/200 Gaussian clusters (cosine to centre ~0.5),
    closer to how real sentence embeddings are spread.
  Queries are fresh draws from the same distribution. The exact baseline is
  NumPy brute force (matmul + argpartition) measured in the same run.
  Filtered rows use a 10%-selectivity mask (a random "category" column), with
  the mask computed inside the timed query, against a filtered exact ground truth.

Part 2, Amazon Scientific (`--data`, default ../shared/data/amazon_scientific beside the
  repository): MiniLM embedding
  throughput, and next-item HR@10 / NDCG@10 on the test split using each user's
  last history item (its title, brand, category text) as the query, excluding that
  item, for dense, BM25 and hybrid search.

Progress goes to stderr; the markdown snippet for BENCHMARKS.md goes to stdout.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
# BLAS/OpenMP thread pools must be sized before NumPy/FAISS/torch load. On a
# shared 2-core box, 2 spinning threads per pool made small matmuls 10-20x slower.
_pre = argparse.ArgumentParser(add_help=False)
_pre.add_argument("--threads", type=int, default=1)
THREADS = _pre.parse_known_args()[0].threads
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = str(THREADS)

import numpy as np  # noqa: E402

from retrieval import CatalogIndex, Embedder, Filters, Item  # noqa: E402
from retrieval.vectors import VectorIndex, VectorIndexConfig  # noqa: E402

DIM = 384
ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = "../shared/data/amazon_scientific"  # relative to the repository root


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def unit_rows(x: np.ndarray) -> np.ndarray:
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


def make_data(kind: str, n: int, nq: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    if kind == "uniform":
        x = unit_rows(rng.standard_normal((n, DIM), dtype=np.float32))
        q = unit_rows(rng.standard_normal((nq, DIM), dtype=np.float32))
        return x, q
    centres = unit_rows(rng.standard_normal((max(100, n // 200), DIM), dtype=np.float32))
    sigma = 0.09  # cosine(point, centre) ~ 1/sqrt(1 + 384 * sigma^2) ~ 0.5

    def draw(m: int) -> np.ndarray:
        out = np.empty((m, DIM), dtype=np.float32)
        for s in range(0, m, 100_000):  # chunked: bounded temporary memory
            e = min(m, s + 100_000)
            out[s:e] = centres[rng.integers(0, len(centres), e - s)]
            out[s:e] += rng.standard_normal((e - s, DIM), dtype=np.float32) * sigma
        return unit_rows(out)

    return draw(n), draw(nq)


def exact_topk(
    x: np.ndarray, q: np.ndarray, k: int, mask: np.ndarray | None = None
) -> tuple[np.ndarray, float]:
    """Brute-force top-k rows (unordered) and the batched wall time."""
    out = np.empty((len(q), k), dtype=np.int64)
    t = time.perf_counter()
    for s in range(0, len(q), 100):
        sims = q[s : s + 100] @ x.T
        if mask is not None:
            sims[:, ~mask] = -np.inf
        out[s : s + 100] = np.argpartition(-sims, k - 1, axis=1)[:, :k]
    return out, time.perf_counter() - t


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    pairs = zip(found, truth, strict=True)
    return float(np.mean([len(set(f[f >= 0]) & set(t)) / len(t) for f, t in pairs]))


def percentiles(times: list[float]) -> tuple[float, float]:
    ms = np.asarray(times) * 1000
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99))


@dataclass
class Row:
    data: str
    n: int
    method: str
    recall: float
    p50: float
    p99: float
    qps: float
    build_s: float
    mem_mb: float
    note: str = ""


def bench_vectors(
    kind: str, n: int, ann: str, knobs: list[int], nq: int, n_single: int
) -> list[Row]:
    log(f"{kind} n={n:,}: generating data")
    x, q = make_data(kind, n, nq, seed=n + len(kind))
    cats = np.random.default_rng(1).integers(0, 10, n).astype(np.int8)
    mask = cats == 3  # ~10% selectivity
    rows: list[Row] = []

    log("exact baseline (NumPy brute force)")
    truth, t_exact = exact_topk(x, q, 10)
    truth_f, _ = exact_topk(x, q, 10, mask)
    exact_qps = nq / t_exact
    single = []
    for i in range(n_single):
        t = time.perf_counter()
        s = x @ q[i]
        np.argpartition(-s, 9)[:10]
        single.append(time.perf_counter() - t)
    p50, p99 = percentiles(single)
    rows.append(Row(kind, n, "exact numpy", 1.0, p50, p99, exact_qps, 0.0, x.nbytes / 2**20))

    cfg = VectorIndexConfig(exact_threshold=1, ann=ann)  # type: ignore[arg-type]
    log(f"building {ann}" + (f" (M={cfg.hnsw_m}, efConstruction={cfg.ef_construction})"
                              if ann == "hnsw" else " (nlist=2*sqrt(n))"))
    before = rss_mb()
    t = time.perf_counter()
    index = VectorIndex(DIM, cfg)
    index.add(x)
    build = time.perf_counter() - t
    mem = rss_mb() - before  # includes the index's own copy of the vectors
    log(f"built in {build:.1f}s, +{mem:.0f} MB")
    for knob in knobs:
        index.config = VectorIndexConfig(
            exact_threshold=1, ann=ann, ef_search=knob, nprobe=knob,  # type: ignore[arg-type]
        )
        name = f"{ann} {'efSearch' if ann == 'hnsw' else 'nprobe'}={knob}"
        t = time.perf_counter()
        _, found = index.search(q, 10)
        qps = nq / (time.perf_counter() - t)
        single = []
        for i in range(n_single):
            t = time.perf_counter()
            index.search(q[i], 10)
            single.append(time.perf_counter() - t)
        p50, p99 = percentiles(single)
        rows.append(Row(kind, n, name, recall(found, truth), p50, p99, qps, build, mem,
                        f"{qps / exact_qps:.1f}x exact QPS"))
        # filtered: the mask is built inside the timed loop, as a request would
        ffound, single = [], []
        for i in range(n_single):
            t = time.perf_counter()
            m = cats == 3
            _, r = index.search(q[i], 10, m)
            single.append(time.perf_counter() - t)
            ffound.append(r[0])
        fp50, fp99 = percentiles(single)
        t = time.perf_counter()
        _, fb = index.search(q, 10, cats == 3)
        fqps = nq / (time.perf_counter() - t)
        rows.append(Row(kind, n, f"{name} + 10% filter", recall(fb, truth_f), fp50, fp99, fqps,
                        build, mem, f"p50 {fp50 / p50:.2f}x unfiltered"))
        log(f"{name}: recall {rows[-2].recall:.3f}, {qps:.0f} QPS; filtered recall "
            f"{rows[-1].recall:.3f}, p50 {fp50:.2f} ms vs {p50:.2f} ms")
    del index, x
    return rows


def load_amazon(data: Path) -> tuple[list[Item], dict[str, str], list[tuple[list[str], str]]]:
    items: list[Item] = []
    for line in (data / "Scientific.text").read_text(encoding="utf-8").splitlines()[1:]:
        item_id, _, text = line.partition("\t")
        parts = [p.strip() for p in text.strip().rstrip(".").split(". ")]
        # "Title. Category words. Brand." -- titles may hold ". " themselves
        brand = parts[-1] if len(parts) >= 3 else ""
        category = parts[-2] if len(parts) >= 3 else (parts[-1] if len(parts) == 2 else "")
        title = ". ".join(parts[:-2] if len(parts) >= 3 else parts[:1])
        items.append(Item(id=item_id, title=title[:300] or item_id, brand=brand[:120],
                          category=category or "Unknown", price=0.0, stock=1))
    index_to_id = {}
    for line in (data / "Scientific.item2index").read_text().splitlines():
        item_id, _, idx = line.partition("\t")
        index_to_id[idx.strip()] = item_id
    tests = []
    for line in (data / "Scientific.test.inter").read_text().splitlines()[1:]:
        _, hist, target = line.split("\t")
        tests.append(([index_to_id[h] for h in hist.split()], index_to_id[target.strip()]))
    return items, index_to_id, tests


def bench_text(data: Path) -> tuple[list[tuple[str, str]], list[tuple[str, float, float]]]:
    import torch

    torch.set_num_threads(THREADS)
    log("Amazon Scientific: loading MiniLM")
    items, _, tests = load_amazon(data)
    embedder = Embedder(cache_size=0)
    texts = [i.search_text() for i in items]
    t = time.perf_counter()
    embedder.encode(texts)
    enc_s = time.perf_counter() - t
    index = CatalogIndex(Embedder())
    t = time.perf_counter()
    index.upsert(items)
    upsert_s = time.perf_counter() - t
    facts = [
        ("items", f"{len(items):,}"),
        ("MiniLM encode throughput",
         f"{len(items) / enc_s:.0f} items/s (batch 64, CPU, {THREADS} torch thread(s))"),
        ("index build (embed + FAISS + BM25)", f"{upsert_s:.1f} s"),
        ("test users", f"{len(tests):,}"),
    ]
    log(f"encoded {len(items)} items in {enc_s:.1f}s; evaluating {len(tests)} users")
    by_id = {i.id: i for i in items}
    results = []
    for mode in ("dense", "lexical", "hybrid"):
        hr = ndcg = 0.0
        for history, target in tests:
            last = history[-1]
            hits = index.search(by_id[last].search_text()[:2000], k=10, mode=mode,  # type: ignore[arg-type]
                                parse=False, filters=Filters(exclude_ids=frozenset({last})))
            ranked = [h.item_id for h in hits]
            if target in ranked:
                hr += 1
                ndcg += 1 / np.log2(ranked.index(target) + 2)
        results.append((mode if mode != "lexical" else "BM25", hr / len(tests),
                        ndcg / len(tests)))
        log(f"{mode}: HR@10 {results[-1][1]:.4f} NDCG@10 {results[-1][2]:.4f}")
    return facts, results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    size = ap.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="100k vectors only (default)")
    size.add_argument("--full", action="store_true", help="100k and 1M vectors")
    ap.add_argument("--ann", choices=["hnsw", "ivf"], default="hnsw", help="index at 100k")
    ap.add_argument("--ann-1m", choices=["hnsw", "ivf"], default="ivf",
                    help="index at 1M (HNSW build takes >30 min on 1 shared core)")
    ap.add_argument("--sizes", default="", help="comma list overriding --quick/--full")
    ap.add_argument("--dist", default="uniform,clustered",
                    help="synthetic distributions, comma list: uniform,clustered")
    ap.add_argument("--data", type=Path, default=Path(DEFAULT_DATA),
                    help="the Amazon Scientific directory (a relative path is taken from the "
                    f"repository root; default {DEFAULT_DATA})")
    ap.add_argument("--threads", type=int, default=1, help="BLAS/OpenMP/torch threads")
    ap.add_argument("--no-text", action="store_true", help="skip the Amazon text part")
    args = ap.parse_args()
    sizes = [100_000, 1_000_000] if args.full else [100_000]
    if args.sizes:
        sizes = [int(v) for v in args.sizes.split(",")]
    rows: list[Row] = []
    for n in sizes:
        ann = args.ann if n <= 100_000 else args.ann_1m
        knobs = [64, 128, 256] if ann == "hnsw" else [16, 64, 128]
        for kind in args.dist.split(","):
            rows += bench_vectors(kind, n, ann, knobs, nq=1000,
                                  n_single=200 if n <= 100_000 else 100)
    data = args.data if args.data.is_absolute() else ROOT / args.data
    facts, quality = ([], []) if args.no_text else bench_text(data)

    cmd = "HF_HUB_OFFLINE=1 .venv/bin/python -m benchmarks.retrieval " + " ".join(sys.argv[1:])
    print(f"## Retrieval\n\n`{cmd}` on {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores shared with other jobs (noisy), {THREADS} thread(s), "
          f"{time.strftime('%Y-%m-%d')}.\n")
    print("### Vector index (384-d unit vectors, k=10, 1000 queries)\n")
    print("| data | n | method | recall@10 | p50 ms | p99 ms | batch QPS | build s | +RSS MB "
          "| note |")
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        print(f"| {r.data} | {r.n:,} | {r.method} | {r.recall:.3f} | {r.p50:.2f} | {r.p99:.2f} "
              f"| {r.qps:,.0f} | {r.build_s:.1f} | {r.mem_mb:,.0f} | {r.note} |")
    if quality:
        print("\n### Amazon Scientific, next-item from the last history item (test split)\n")
        for name, value in facts:
            print(f"- {name}: {value}")
        print("\n| retriever | HR@10 | NDCG@10 |\n|---|---:|---:|")
        for name, hr, ndcg in quality:
            print(f"| {name} | {hr:.4f} | {ndcg:.4f} |")


if __name__ == "__main__":
    main()
