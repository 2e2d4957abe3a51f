"""Starting the engine for a runtime, in the API process or a `tailor worker` process."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from app.jobs.engine import JobEngine

if TYPE_CHECKING:
    from app.runtime import Runtime

log = logging.getLogger(__name__)

# Modules that declare workflows and queues. Every process imports them before launch so
# all register the same workflows (DBOS recovers a workflow only where its code exists).
WORKFLOW_MODULES: list[str] = ["app.creatives.jobs", "app.nba.journeys.workflow",
                                "app.nba.journeys.fading"]

_resources: dict[str, Any] = {}


def provide(name: str, value: Any) -> None:
    """Make a process-wide resource (a service, a model) available to workflow steps."""
    _resources[name] = value


def resource(name: str) -> Any:
    try:
        return _resources[name]
    except KeyError:
        raise RuntimeError(f"job resource {name!r} is not provided in this process") from None


def start_jobs(rt: Runtime, *, listen: Sequence[str] | None = None,
               executor_id: str | None = None, extra_modules: Sequence[str] = ()
               ) -> JobEngine:
    """Import the workflow modules, let each set up its resources for this runtime, then
    launch the engine (which recovers this executor's unfinished jobs at once)."""
    s = rt.settings
    modules = [*WORKFLOW_MODULES, *s.jobs_modules, *extra_modules]
    for name in modules:
        module = importlib.import_module(name)
        setup = getattr(module, "setup", None)
        if setup is not None:
            setup(rt)
    if listen is None and not s.jobs_in_process:
        listen = []  # this API process only enqueues; `tailor worker`s run the jobs
    def launch() -> JobEngine:
        return JobEngine.start(s.resolved_database_url,
                               executor_id=executor_id or s.jobs_executor_id or "local",
                               app_version=s.jobs_app_version, listen=listen, modules=modules,
                               sys_db_pool_size=s.jobs_sys_db_pool_size)

    # DBOS refuses its blocking calls on a thread that runs an event loop (the lifespan's).
    with ThreadPoolExecutor(1, thread_name_prefix="tailor-jobs-start") as pool:
        return pool.submit(launch).result()
