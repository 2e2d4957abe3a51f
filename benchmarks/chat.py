"""Chat turn latency: the non-LLM path (guardrails + extraction + model update + retrieval +
ranking) at 1k and 100k catalog items, and time to first token with the embedded LLM.

    python -m benchmarks.chat              # 1k and 100k items, 60 turns each, 20 LLM turns
    python -m benchmarks.chat --quick      # 1k items only, fewer turns

Runs in process on a temporary SQLite database, with the real MiniLM embedder, FAISS index,
preference model, sentiment classifier and SmolLM2. The 100k catalog is the demo store's
406 products repeated with variants; to keep set-up minutes short, variant vectors are the
product's real MiniLM embedding plus small noise (queries are embedded for real every turn).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("HF_HUB_OFFLINE", "1")

MESSAGES = [
    "I need a warm sweater under $100",
    "something vegan for breakfast",
    "a gift for my daughter, she is 7",
    "no leather please, I want running shoes",
    "show me linen shirts",
    "the first one looks great",
    "I hate polyester",
    "candles for a cosy evening",
    "cheaper please",
    "dog toys that last",
]


class NoisyCopies:
    """Embeds each distinct base text once for real; variants get that vector plus noise."""

    def __init__(self, real: Any, seed: int = 0) -> None:
        self.real = real
        self.rng = np.random.default_rng(seed)
        self.dim = real.dim
        self.model_id = real.model_id

    def encode(self, texts: Any) -> np.ndarray:
        bases = [t.split(" ~v", 1)[0] for t in texts]
        vecs = self.real.encode(bases)
        noisy = [i for i, t in enumerate(texts) if " ~v" in t]
        if noisy:
            vecs[noisy] += self.rng.normal(0, 0.02, (len(noisy), self.dim)).astype(np.float32)
            vecs[noisy] /= np.linalg.norm(vecs[noisy], axis=1, keepdims=True)
        return vecs


def build(n_items: int, tmp: Path) -> tuple[Any, Any]:
    from app.bootstrap import build_chat
    from app.db.migrate import upgrade
    from app.runtime import Runtime
    from app.services import catalog
    from app.services.personalization import Personalization
    from app.services.search import SearchRuntime, shared_embedder, shared_sentiment
    from app.settings import Settings
    from retrieval import CatalogIndex
    from retrieval.catalog import iter_file

    settings = Settings(data_dir=tmp, search_enabled=False, llm_threads=2,
                        log_level="WARNING")
    upgrade(settings.resolved_database_url)
    rt = Runtime.build(settings)
    base = [i for i in iter_file(ROOT / "app" / "demo" / "catalog.jsonl")]
    items = []
    for n in range(n_items):
        src = base[n % len(base)]
        copy = n // len(base)
        items.append(src if copy == 0 else src.model_copy(update={
            "id": f"{src.id}-v{copy}", "title": f"{src.title} ~v{copy}"}))
    with rt.sessions() as db:
        for start in range(0, len(items), 5000):
            catalog.upsert_items(db, items[start:start + 5000])
            db.commit()
    search = SearchRuntime(settings, rt.sessions)
    real = shared_embedder(None)
    t0 = time.perf_counter()
    index = CatalogIndex(NoisyCopies(real) if n_items > len(base) else real)
    index.upsert(items)
    index.embedder = real  # queries: the real encoder
    search.index = index
    search.ready.set()
    prefs = Personalization(settings, rt.sessions)
    prefs.attach(index)
    rt.search, rt.prefs, rt.sentiment = search, prefs, shared_sentiment()
    pipeline = build_chat(rt, search)
    print(f"  built {n_items} items in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return rt, pipeline


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def non_llm(rt: Any, pipeline: Any, turns: int) -> list[float]:
    from app.services.events import resolve_subjects
    from app.services.identity import resolve

    out = []
    for n in range(turns):
        visitor = f"bench-{n % 10}"
        with rt.sessions() as db:
            pid = resolve_subjects(db, {("visitor", visitor)})[("visitor", visitor)]
            db.commit()
            profile = resolve(db, pid)
            t = time.perf_counter()
            turn = pipeline.prepare(db, profile, MESSAGES[n % len(MESSAGES)], None,
                                    {"device": "mobile", "channel": "web"})
            db.commit()
            out.append(time.perf_counter() - t)
            del turn
    return out


@dataclass
class LLMTurns:
    """Per turn with the LLM: seconds to the first text, to the first text never taken
    back, to the end; and what the reply was."""

    first: list[float] = field(default_factory=list)
    kept: list[float] = field(default_factory=list)
    total: list[float] = field(default_factory=list)
    llm_led: list[bool] = field(default_factory=list)
    retracted: list[bool] = field(default_factory=list)
    replies: list[str] = field(default_factory=list)


def ttft(rt: Any, pipeline: Any, turns: int) -> LLMTurns:
    """Per turn, from the request to: the first text sent (TTFT), the first text that was
    never taken back (a `retract` can remove words whose clause failed its check), and the
    end of the reply."""
    from app.services.events import resolve_subjects
    from app.services.identity import resolve

    out = LLMTurns()
    pipeline.stream  # noqa: B018 - warm-up below loads the model
    for n in range(turns + 1):
        visitor = f"ttft-{n}"
        t = time.perf_counter()
        with rt.sessions() as db:
            pid = resolve_subjects(db, {("visitor", visitor)})[("visitor", visitor)]
            db.commit()
            turn = pipeline.prepare(db, resolve(db, pid), MESSAGES[n % len(MESSAGES)], None, {})
            db.commit()
        got = stays = None
        shown = ""
        for event, data in pipeline.stream(turn):
            now = time.perf_counter() - t
            if event == "token":
                got = now if got is None else got
                stays = now if stays is None else stays
                shown += data["text"]
            elif event == "retract":
                shown = shown[: -data["chars"]]
                if not shown.strip():
                    stays = None
        if n == 0:
            continue  # the first call loads the GGUF model
        out.first.append(got or float("nan"))
        out.kept.append(stays or float("nan"))
        out.total.append(time.perf_counter() - t)
        reply = turn.meta.get("reply", "")
        # Did the reply open with the model's own (checked) words, or the item-built one?
        out.llm_led.append(not reply.startswith(turn.fallback_text))
        out.retracted.append(bool(turn.meta.get("retracted")))
        out.replies.append(reply)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--sizes", default=None,
                    help="comma-separated catalog sizes (default 1000,100000; --quick: 1000)")
    ap.add_argument("--turns", type=int, default=60)
    ap.add_argument("--llm-turns", type=int, default=20,
                    help="turns with the embedded LLM for time to first token")
    args = ap.parse_args()
    sizes = [1000] if args.quick else [1000, 100_000]
    if args.sizes:
        sizes = [int(x) for x in args.sizes.split(",")]
    turns = 20 if args.quick else args.turns
    rows = []
    llm = LLMTurns()
    for size in sizes:
        with tempfile.TemporaryDirectory() as d:
            rt, pipeline = build(size, Path(d))
            non_llm(rt, pipeline, 5)  # warm-up
            lat = non_llm(rt, pipeline, turns)
            row = {"items": size, "p50": statistics.median(lat) * 1000,
                   "p95": pct(lat, 0.95) * 1000, "p99": pct(lat, 0.99) * 1000}
            if size == sizes[0]:
                llm = ttft(rt, pipeline, args.llm_turns)
                row.update(ttft50=statistics.median(llm.first) * 1000,
                           ttft95=pct(llm.first, 0.95) * 1000,
                           reply50=statistics.median(llm.total) * 1000,
                           llm_led=statistics.mean(llm.llm_led),
                           kept50=statistics.median(llm.kept) * 1000,
                           kept95=pct(llm.kept, 0.95) * 1000,
                           retracted=statistics.mean(llm.retracted))
            rows.append(row)
            rt.close()
    print(f"\nmachine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}; command: python -m benchmarks.chat"
          f"{' --quick' if args.quick else ''}\n")
    for r in rows:
        if "llm_led" in r:
            print(f"replies opening with the model's own (checked) words: {r['llm_led']:.0%} "
                  f"of {len(llm.llm_led)} (the rest open with the item-built reply); replies with "
                  f"a retract: {r['retracted']:.0%}; first text that stays p50 / p95: "
                  f"{r['kept50']:.0f} / {r['kept95']:.0f} ms")
    for reply in llm.replies[:6]:
        print("  reply:", reply[:160])
    print("| catalog items | non-LLM path p50 / p95 / p99 ms (target p95 <= 50) | "
          "time to first token p50 / p95 ms (target p95 <= 500) | whole reply p50 ms |")
    print("|---|---|---|---|")
    for r in rows:
        first = (f"{r['ttft50']:.0f} / {r['ttft95']:.0f}" if "ttft50" in r else "-")
        whole = f"{r['reply50']:.0f}" if "reply50" in r else "-"
        print(f"| {r['items']:,} | {r['p50']:.1f} / {r['p95']:.1f} / {r['p99']:.1f} | {first} | "
              f"{whole} |")


if __name__ == "__main__":
    main()
