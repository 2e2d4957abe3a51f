"""The creative generation workflow and its queue (run by the job engine, app/jobs)."""

from __future__ import annotations

from app import jobs

# One image generation at a time per worker process: the CPU (or GPU) is the limit.
QUEUE = jobs.declare_queue("creatives", worker_concurrency=1)
