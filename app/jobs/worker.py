"""`tailor worker`: a process that only runs jobs (no HTTP), on the shared database."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Sequence

from app.jobs.runner import start_jobs
from app.runtime import Runtime
from app.settings import Settings

log = logging.getLogger(__name__)


def run(settings: Settings, *, queues: Sequence[str] = (), executor_id: str,
        modules: Sequence[str] = (), ready: threading.Event | None = None) -> None:
    """Take jobs from `queues` (all when empty) until SIGTERM/SIGINT.

    Give each worker a stable `executor_id` (worker-1, gpu-a...): when a worker dies, the
    next process started with its id resumes its unfinished jobs from their last step."""
    rt = Runtime.build(settings)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    rt.jobs = start_jobs(rt, listen=list(queues) or None, executor_id=executor_id,
                         extra_modules=modules)
    log.info("worker ready", extra={"executor": executor_id, "queues": list(queues) or "all"})
    if ready is not None:
        ready.set()
    try:
        stop.wait()
    finally:
        rt.jobs.stop()
        rt.close()
