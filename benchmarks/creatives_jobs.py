"""A two-step workflow for measuring the job engine's throughput (benchmarks/creatives.py
starts `tailor worker --import benchmarks.creatives_jobs`)."""

from __future__ import annotations

from app import jobs

# Each worker takes at most 4 at a time, so both share the queue.
QUEUE = jobs.declare_queue("bench", worker_concurrency=4)


@jobs.step()
def _work(i: int) -> int:
    return i * 2


@jobs.workflow()
def bench_job(i: int) -> int:
    return _work(i) + _work(1)
