"""Durable jobs on DBOS Transact: the one front door other packages use.

    from app import jobs

    QUEUE = jobs.declare_queue("journeys")  # at import time, in every process

    @jobs.workflow()
    def follow_up(customer_id: str) -> None:
        jobs.sleep(2 * 3600)                 # durable: survives restarts
        send(customer_id)                    # a @jobs.step(): done once, its result recorded

    job_id = jobs.active().enqueue(QUEUE, follow_up, "c1")

A module that declares workflows is listed in `WORKFLOW_MODULES` so that the API process
and every `tailor worker` import it (and so register the same workflows) before the engine
launches; its optional `setup(rt)` provides what its steps need (`jobs.provide`).
Docs: docs/creatives.md "Jobs".
"""

from __future__ import annotations

from typing import Any

from dbos import DBOS

from app.jobs.engine import (
    PROGRESS_EVENT,
    JobEngine,
    JobStatus,
    active,
    declare_queue,
    declare_schedule,
)
from app.jobs.runner import WORKFLOW_MODULES, provide, resource, start_jobs

workflow = DBOS.workflow
step = DBOS.step


def sleep(seconds: float) -> None:
    """A durable sleep inside a workflow: a restarted process sleeps only what is left."""
    DBOS.sleep(seconds)


def report(**progress: Any) -> None:
    """Publish the running workflow's progress (read by `JobEngine.status`)."""
    DBOS.set_event(PROGRESS_EVENT, progress)


def current_job_id() -> str:
    job = DBOS.workflow_id
    if job is None:
        raise RuntimeError("current_job_id() is only defined inside a workflow")
    return job


__all__ = ["WORKFLOW_MODULES", "JobEngine", "JobStatus", "active", "current_job_id",
           "declare_queue", "declare_schedule", "provide", "report", "resource", "sleep",
           "start_jobs", "step", "workflow"]
