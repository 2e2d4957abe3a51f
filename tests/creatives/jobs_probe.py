"""A workflow for the job engine tests, imported by the test and by `tailor worker
--import tests.creatives.jobs_probe`: a slow first step, then one result row."""

from __future__ import annotations

import os
import time
from pathlib import Path

from sqlalchemy import create_engine, text

from app import jobs

QUEUE = jobs.declare_queue("probe")
_DDL = ("CREATE TABLE IF NOT EXISTS probe_attempts (job_id VARCHAR(64), pid INTEGER)",
        "CREATE TABLE IF NOT EXISTS probe_results (job_id VARCHAR(64), value INTEGER)")


def _engine():  # type: ignore[no-untyped-def]
    return create_engine(os.environ["TAILOR_DATABASE_URL"])


def setup(rt: object) -> None:
    engine = _engine()
    with engine.begin() as conn:
        for ddl in _DDL:
            conn.execute(text(ddl))
    engine.dispose()


@jobs.step()
def slow_part(job_id: str, release: str) -> int:
    """Records the attempt, then waits until the test creates the `release` file."""
    engine = _engine()
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO probe_attempts VALUES (:j, :p)"),
                     {"j": job_id, "p": os.getpid()})
    engine.dispose()
    while not Path(release).exists():
        time.sleep(0.05)
    return 21


@jobs.step()
def write_result(job_id: str, value: int) -> int:
    engine = _engine()
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO probe_results VALUES (:j, :v)"),
                     {"j": job_id, "v": value})
    engine.dispose()
    return value


@jobs.workflow()
def probe(release: str) -> int:
    job_id = jobs.current_job_id()
    jobs.report(stage="slow part")
    value = slow_part(job_id, release)
    jobs.report(stage="writing")
    jobs.sleep(0.2)  # a durable sleep between the steps
    return write_result(job_id, value * 2)
