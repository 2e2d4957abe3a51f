"""DBOS Transact in this process: launched once, on the app's own database.

DBOS is a process-wide singleton. Several `Runtime`s in one process (tests, `tailor
worker` beside an in-process app) share it while they point at the same database; the
last one to stop destroys it.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.errors import DependencyUnavailable, NotFound

log = logging.getLogger(__name__)

# What a job's status is called in the API (DBOS's own names, lower-cased and fewer).
STATES = {"ENQUEUED": "queued", "DELAYED": "queued", "PENDING": "running",
          "SUCCESS": "succeeded", "ERROR": "failed", "CANCELLED": "cancelled",
          "MAX_RECOVERY_ATTEMPTS_EXCEEDED": "failed"}
PROGRESS_EVENT = "progress"

_lock = threading.Lock()
_active: JobEngine | None = None
_users = 0
# Queues declared by the workflow modules (name -> DBOS options); DBOS keeps queues in
# its database, so they are registered once the engine has launched.
_declared: dict[str, dict[str, Any]] = {}


# Cron schedules (name -> (workflow, cron, queue)), applied to DBOS's schedule table once it
# has launched; "" as cron deletes the schedule (disabled by a setting).
_schedules: dict[str, tuple[Callable[..., Any], str, str | None]] = {}


def declare_schedule(name: str, workflow: Callable[..., Any], cron: str,
                     queue: str | None = None) -> None:
    """A workflow `workflow(scheduled_at, context)` run on `cron` (seconds first, UTC) on
    DBOS's scheduler: every launched process fires it, and the run for one scheduled time
    has one workflow id, so it happens once however many processes there are."""
    _schedules[name] = (workflow, cron, queue)


def declare_queue(name: str, *, worker_concurrency: int | None = None,
                  global_concurrency: int | None = None) -> str:
    """Declare a queue at import time (every process); returns its name for `enqueue`."""
    _declared[name] = {"worker_concurrency": worker_concurrency,
                       "global_concurrency": global_concurrency}
    return name


@dataclass(frozen=True)
class JobStatus:
    id: str
    state: str                      # queued | running | succeeded | failed | cancelled
    name: str                       # the workflow function
    queue: str | None
    progress: dict[str, Any] = field(default_factory=dict)
    result: Any = None
    error: str | None = None
    created_at_ms: int | None = None
    updated_at_ms: int | None = None
    executor: str | None = None


def _apply_schedules() -> None:
    from dbos import DBOS, ScheduleInput

    wanted: list[ScheduleInput] = []
    for name, (fn, cron, queue) in _schedules.items():
        if cron:
            wanted.append({"schedule_name": name, "workflow_fn": fn, "schedule": cron,
                           "queue_name": queue})
        else:
            DBOS.delete_schedule(name)
    if wanted:
        DBOS.apply_schedules(wanted)


def system_url(database_url: str) -> str:
    """The URL DBOS gets: the app's database itself (SQLite file or PostgreSQL, where its
    tables live in the `dbos` schema)."""
    if database_url.startswith("sqlite") and "+" in database_url.split(":", 1)[0]:
        return "sqlite" + database_url[database_url.index(":"):]
    return database_url


class JobEngine:
    """The durable job engine of this process. Build with `JobEngine.start(...)`."""

    def __init__(self, database_url: str, executor_id: str, app_version: str,
                 listen: Sequence[str] | None) -> None:
        self.database_url = database_url
        self.executor_id = executor_id
        self.app_version = app_version
        self.listen = None if listen is None else tuple(listen)
        self.queues: dict[str, Any] = {}
        self._clients: dict[int, Any] = {}  # engine id -> DBOSClient (in-transaction enqueue)

    # -- lifecycle -------------------------------------------------------------------
    @classmethod
    def start(cls, database_url: str, *, executor_id: str = "local",
              app_version: str = "tailor-1", listen: Sequence[str] | None = None,
              modules: Sequence[str] = (), sys_db_pool_size: int | None = None
              ) -> JobEngine:
        """Launch DBOS (or join the one already launched on the same database).

        `listen`: the queues this process takes work from (None: all of them; [] none, for
        an API process whose jobs run in `tailor worker` processes). `modules`: imported
        first, so every process registers the same workflows and queues."""
        global _active, _users
        import importlib

        from dbos import DBOS, DBOSConfig

        for name in modules:
            importlib.import_module(name)
        with _lock:
            if _active is not None:
                if _active.database_url != database_url:
                    raise DependencyUnavailable(
                        "the job engine of this process already runs on another database")
                _users += 1
                return _active
            engine = cls(database_url, executor_id, app_version, listen)
            config: DBOSConfig = {
                "name": "tailor", "system_database_url": system_url(database_url),
                "executor_id": executor_id, "application_version": app_version,
                "log_level": os.environ.get("TAILOR_JOBS_LOG_LEVEL", "WARNING"),
            }
            if sys_db_pool_size is not None:
                config["sys_db_pool_size"] = sys_db_pool_size
            DBOS(config=config)
            if engine.listen is not None:
                DBOS.listen_queues(list(engine.listen))
            try:
                DBOS.launch()
                for name, options in _declared.items():
                    engine.queues[name] = DBOS.register_queue(name, **options)
                _apply_schedules()
            except Exception as exc:
                DBOS.destroy()
                raise DependencyUnavailable(f"the job engine could not start: {exc}") from exc
            _active, _users = engine, 1
            log.info("job engine started", extra={"executor": executor_id,
                                                  "queues": engine.listen or "all"})
            return engine

    def stop(self) -> None:
        global _active, _users
        from dbos import DBOS

        with _lock:
            if _active is not self:
                return
            _users -= 1
            if _users > 0:
                return
            _active = None
            for client in self._clients.values():
                client.destroy()  # its engine is the app's: left open
            self._clients.clear()
            DBOS.destroy(workflow_completion_timeout_sec=0)

    # -- use -------------------------------------------------------------------------
    def enqueue(self, queue: str, func: Callable[..., Any], *args: Any,
                job_id: str | None = None) -> str:
        """Durably queue `func(*args)` (a workflow); returns the job id. The same `job_id`
        twice starts the job once (DBOS workflow ids are idempotency keys)."""
        from dbos import SetWorkflowID

        if queue not in self.queues:
            raise DependencyUnavailable(f"the job queue {queue!r} is not declared")
        q = self.queues[queue]
        if job_id is None:
            return str(q.enqueue(func, *args).get_workflow_id())
        with SetWorkflowID(job_id):
            return str(q.enqueue(func, *args).get_workflow_id())

    def enqueue_in(self, db: Any, queue: str, func: Callable[..., Any], *args: Any,
                   job_id: str) -> str:
        """Queue `func(*args)` inside the caller's open transaction on the app database
        (DBOS's system tables live in that same database): the job exists exactly when the
        caller's own rows commit, and many jobs share one commit. The caller commits; a
        `job_id` already taken fails the transaction (check first)."""
        from dbos import DBOSClient, EnqueueOptions

        if queue not in self.queues:
            raise DependencyUnavailable(f"the job queue {queue!r} is not declared")
        bind = db.get_bind()
        with _lock:
            client = self._clients.get(id(bind))
            if client is None:
                client = self._clients[id(bind)] = DBOSClient(
                    system_database_engine=bind, application_name="tailor", lazy=True)
        options: EnqueueOptions = {
            "workflow_name": func.dbos_function_name,  # type: ignore[attr-defined]
            "queue_name": queue, "workflow_id": job_id, "app_version": self.app_version,
            "application_name": "tailor"}
        client.enqueue_in_transaction(db, options, *args)
        return job_id

    def status(self, job_id: str) -> JobStatus:
        from dbos import DBOS

        st = DBOS.get_workflow_status(job_id)
        if st is None:
            raise NotFound(f"no job {job_id!r}")
        progress = DBOS.get_event(job_id, PROGRESS_EVENT, timeout_seconds=0) or {}
        error = None if st.error is None else f"{type(st.error).__name__}: {st.error}"
        return JobStatus(id=st.workflow_id, state=STATES.get(str(st.status), "running"),
                         name=st.name, queue=st.queue_name, progress=dict(progress),
                         result=st.output, error=error, created_at_ms=st.created_at,
                         updated_at_ms=st.updated_at, executor=st.executor_id)

    def wait(self, job_id: str, timeout: float | None = None) -> Any:
        """The job's result (raises its error); `timeout` None waits as long as it takes."""
        from dbos import DBOS

        handle: Any = DBOS.retrieve_workflow(job_id)
        if timeout is None:
            return handle.get_result()
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.status(job_id).state in {"succeeded", "failed", "cancelled"}:
                return handle.get_result()
            time.sleep(0.1)
        raise TimeoutError(f"job {job_id} still running after {timeout} s")


def active() -> JobEngine:
    """The engine launched in this process (503 if none: jobs disabled or not started)."""
    if _active is None:
        raise DependencyUnavailable("the job engine is not running in this process")
    return _active
