"""Creative generation benchmark: prompt adherence and KID of the embedded image model on
held-out scenes, latency of one composed 1080x1080 creative, diffusion images/s, and jobs/s
through the job engine with 2 worker processes (PostgreSQL).

    nice -n 10 python -m benchmarks.creatives --prompts 64 --latency-runs 10 [--skip-jobs]

Prompt adherence: each held-out prompt's generated image is scored against the colour and
pattern statistics its prompt's scene renders to (generation.image.image_stats); pairwise
accuracy = how often the right prompt scores above another held-out prompt (all pairs).
The baseline scores images generated from shuffled prompts the same way (chance: ~0.5);
the ceiling scores a render of each scene with another seed (a perfect generator).
`--split validation` runs on the validation scenes instead (for choices such as
`--guidance-sweep 1,2,3,5`); the held-out numbers are only reported.
KID (polynomial-kernel MMD, unbiased) compares features (statistics + 8x8 thumbnails) of
generated images with held-out renders; the floor is renders vs renders of other seeds.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from generation.image import ImageGenerator, image_stats, render  # noqa: E402
from generation.image.scenes import Scene, held_out, validation  # noqa: E402

# Renders averaged into each scene's expected statistics. Chosen from renders alone
# (`--ceiling-only`), before and without looking at any generated image: see
# BENCHMARKS.md "Creatives" for the ceiling at each value.
RENDERS_PER_EXPECTED = 4


def features(img: np.ndarray) -> np.ndarray:
    from PIL import Image

    thumb = np.asarray(Image.fromarray(img).resize((8, 8), Image.Resampling.BOX),
                       np.float32).ravel() / 255.0
    return np.concatenate([image_stats(img) * 4, thumb])


def kid(x: np.ndarray, y: np.ndarray) -> float:
    d = x.shape[1]

    def k(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.asarray((a @ b.T / d + 1) ** 3)

    m, n = len(x), len(y)
    kxx, kyy, kxy = k(x, x), k(y, y), k(x, y)
    return float((kxx.sum() - np.trace(kxx)) / (m * (m - 1))
                 + (kyy.sum() - np.trace(kyy)) / (n * (n - 1)) - 2 * kxy.mean())


def expected_stats(scenes: list[tuple[Scene, str]], renders: int) -> np.ndarray:
    """What each scene should look like: the mean statistics of `renders` renders of it
    (seeds 0..renders-1)."""
    return np.stack([np.mean([image_stats(render(s, 32, k)) for k in range(renders)], axis=0)
                     for s, _ in scenes])


def pairwise(stats: np.ndarray, expected: np.ndarray) -> float:
    """Share of ordered pairs (i, j != i) where image i is closer to scene i's expected
    statistics than to scene j's (distances in units of each statistic's spread across
    scenes). Every pair counts, so no sampling noise beyond the choice of scenes."""
    scale = expected.std(axis=0) + 1e-6
    d = np.linalg.norm((stats[:, None, :] - expected[None, :, :]) / scale, axis=2)
    right = np.diag(d)[:, None]
    off = ~np.eye(len(stats), dtype=bool)
    return float((right < d)[off].mean())


def ceiling(scenes: list[tuple[Scene, str]], renders: int) -> float:
    """The score of a perfect generator: a render of each scene with another seed."""
    stats = np.stack([image_stats(render(s, 32, 5000 + i)) for i, (s, _) in enumerate(scenes)])
    return pairwise(stats, expected_stats(scenes, renders))


def adherence(gen: ImageGenerator, scenes: list[tuple[Scene, str]], steps: int, seed: int,
              renders: int) -> dict[str, float]:
    n = len(scenes)
    expected = expected_stats(scenes, renders)
    t0 = time.perf_counter()
    imgs = [np.asarray(gen.generate(p, seed=seed + i, steps=steps, size=32)[0])
            for i, (_, p) in enumerate(scenes)]
    per_image = (time.perf_counter() - t0) / n
    rng = np.random.default_rng(seed)
    perm = rng.permutation(n)
    while np.any(perm == np.arange(n)):
        perm = rng.permutation(n)
    stats = np.stack([image_stats(i) for i in imgs])
    renders1 = np.stack([features(render(s, 32, 1000 + k)) for k, (s, _) in enumerate(scenes)])
    renders2 = np.stack([features(render(s, 32, 2000 + k)) for k, (s, _) in enumerate(scenes)])
    fake = np.stack([features(i) for i in imgs])
    return {"prompts": n, "pairwise_accuracy": round(pairwise(stats, expected), 3),
            # image made from another prompt, scored against this one
            "pairwise_accuracy_shuffled_prompts": round(pairwise(stats[perm], expected), 3),
            "ceiling_render_other_seed": round(ceiling(scenes, renders), 3),
            "kid": round(kid(fake, renders1), 4),
            "kid_floor_renders_vs_renders": round(kid(renders2, renders1), 4),
            "native_images_per_s_batch1": round(1 / per_image, 2)}


def latency(gen: ImageGenerator, runs: int, steps: int) -> dict[str, float]:
    from datetime import UTC, datetime

    from app.creatives.brief import Audience, Moment, Pref, Product, build_brief
    from app.creatives.compose import compose, save
    from app.creatives.copy import BrandVoice, CopyWriter
    from generation.image import upscale

    product = Product(id="b1", title="Everly Waxed Canvas Tote Bag", brand="Everly",
                      category="Accessories > Bags", price=49.0, currency="USD",
                      description="", attributes={"material": ["canvas"]},
                      image_url="/demo/images/acc-b-0001.svg")
    brief = build_brief(Audience("persona", "p", "p", (Pref("style=cosy", 1, 0.9),)),
                        product, Moment(), now=datetime.now(UTC))
    writer = CopyWriter(BrandVoice())
    art = ROOT / "app" / "demo" / "images" / "acc-b-0001.svg"
    out = Path(tempfile.mkdtemp(prefix="tailor-bench-"))
    times = []
    for i in range(runs + 1):
        t0 = time.perf_counter()
        copy = writer.write(brief)
        [bg] = gen.generate(brief.style_prompt, seed=i, steps=steps, size=gen.native_size)
        img, _ = compose(upscale(bg, (1080, 1080), seed=i), copy.as_dict(), "square",
                         product_image=art)
        save(img, out / f"c{i}")
        if i:  # the first run warms up (model load, fonts)
            times.append(time.perf_counter() - t0)
    return {"runs": runs, "p50_s": round(float(np.percentile(times, 50)), 3),
            "p95_s": round(float(np.percentile(times, 95)), 3)}


def native_throughput(gen: ImageGenerator, steps: int) -> float:
    t0 = time.perf_counter()
    gen.generate("a calm studio backdrop", seed=1, steps=steps, size=32, n=8)
    return round(8 / (time.perf_counter() - t0), 2)


def job_throughput(n_jobs: int) -> dict[str, float]:
    """Jobs/s with 2 `tailor worker` processes on a fresh PostgreSQL database."""
    import uuid

    from sqlalchemy import create_engine, text

    from app.db.migrate import upgrade
    from app.jobs.engine import JobEngine

    server = os.environ.get("TAILOR_TEST_PG", "postgresql+psycopg://root@127.0.0.1:5432")
    name = f"tailor_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(f"{server}/test", isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = f"{server}/{name}"
    procs = []
    try:
        upgrade(url)
        env = {**os.environ, "TAILOR_DATABASE_URL": url, "PYTHONPATH": str(ROOT),
               "TAILOR_DATA_DIR": tempfile.mkdtemp(), "TAILOR_SEARCH_ENABLED": "false"}
        for w in ("bench-1", "bench-2"):
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "app.cli", "worker", "--executor-id", w, "--queue",
                 "bench", "--import", "benchmarks.creatives_jobs"], cwd=ROOT, env=env,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        sys.path.insert(0, str(ROOT))
        from benchmarks import creatives_jobs

        engine = JobEngine.start(url, executor_id="bench-api", listen=[],
                                 modules=["benchmarks.creatives_jobs"])
        time.sleep(20)  # both workers launch (slow on a loaded machine)
        t0 = time.perf_counter()
        ids = [engine.enqueue(creatives_jobs.QUEUE, creatives_jobs.bench_job, i)
               for i in range(n_jobs)]
        for job in ids:
            engine.wait(job, timeout=600)
        seconds = time.perf_counter() - t0
        executors = {engine.status(j).executor for j in ids}
        engine.stop()
        return {"jobs": n_jobs, "seconds": round(seconds, 2),
                "jobs_per_s": round(n_jobs / seconds, 2), "executors": sorted(executors)}
    finally:
        for p in procs:
            p.terminate()
            p.wait(30)
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--prompts", type=int, default=64)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--latency-runs", type=int, default=10)
    ap.add_argument("--jobs", type=int, default=100)
    ap.add_argument("--skip-jobs", action="store_true")
    ap.add_argument("--only-adherence", action="store_true")
    ap.add_argument("--only-jobs", action="store_true")
    ap.add_argument("--ceiling-only", action="store_true",
                    help="the perfect generator's score for 1..16 renders per expected value")
    ap.add_argument("--split", choices=["heldout", "validation"], default="heldout")
    ap.add_argument("--guidance-sweep", default="",
                    help="comma-separated guidance scales (adherence on --split for each)")
    ap.add_argument("--model-dir", default=None)
    ap.add_argument("--guidance", type=float, default=None)
    args = ap.parse_args()
    torch.set_num_threads(1)
    scenes = (held_out() if args.split == "heldout" else validation())[:args.prompts]
    if args.ceiling_only:
        print(json.dumps({"split": args.split, "prompts": len(scenes), "ceiling": {
            k: round(ceiling(scenes, k), 3) for k in (1, 2, 4, 8, 16)}}, indent=2))
        return
    if args.only_jobs:
        print(json.dumps({"jobs_2_workers_postgres": job_throughput(args.jobs),
                          "load_average": os.getloadavg()}, indent=2))
        return
    gen = ImageGenerator(args.model_dir, device="cpu", guidance=args.guidance)
    if args.guidance_sweep:
        sweep = {}
        for g in (float(x) for x in args.guidance_sweep.split(",")):
            gen.guidance = g
            sweep[g] = adherence(gen, scenes, args.steps, 0, RENDERS_PER_EXPECTED)
            print(g, json.dumps(sweep[g]), flush=True)
        print(json.dumps({"model": gen.model_id, "split": args.split, "steps": args.steps,
                          "sweep": sweep, "load_average": os.getloadavg()}, indent=2))
        return
    report: dict[str, object] = {"model": gen.model_id, "steps": args.steps,
                                 "guidance": gen.guidance, "split": args.split,
                                 "load_average": os.getloadavg()}
    report["adherence"] = adherence(gen, scenes, args.steps, 0, RENDERS_PER_EXPECTED)
    if args.only_adherence:
        print(json.dumps(report, indent=2))
        return
    report["diffusion_native_images_per_s_batch8"] = native_throughput(gen, args.steps)
    report["latency_1080_square"] = latency(gen, args.latency_runs, args.steps)
    if not args.skip_jobs:
        report["jobs_2_workers_postgres"] = job_throughput(args.jobs)
    report["load_average_end"] = os.getloadavg()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
