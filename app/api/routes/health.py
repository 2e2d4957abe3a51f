"""Liveness, readiness and Prometheus metrics (unversioned, unauthenticated)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from app.api.deps import RuntimeDep

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is up")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Ready to serve: database reachable, resources loaded",
            description="200 while the worker can serve, even degraded (`status` says "
            "`degraded` and each check says why, e.g. `llm`: `degraded: LLM circuit open "
            "...` when chat answers from templates); 503 while loading or broken.")
def readyz(rt: RuntimeDep) -> Any:
    checks: dict[str, str] = {}
    try:
        with rt.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # report, don't raise: this endpoint is for probes
        checks["database"] = f"error: {type(exc).__name__}"
    for name, status in rt.readiness.items():
        checks[name] = status()
    # "degraded: ..." still serves (e.g. the LLM is down and chat answers from templates):
    # ready, but said plainly. "loading" and "error: ..." are not ready.
    ready = all(v == "ok" or v.startswith("degraded") for v in checks.values())
    ok = all(v == "ok" for v in checks.values())
    body: dict[str, Any] = {"status": "ok" if ok else "degraded", "checks": checks}
    details = {name: describe() for name, describe in rt.readiness_details.items()}
    if details:
        body["details"] = details
    return JSONResponse(body, status_code=200 if ready else 503)


@router.get("/metrics", summary="Prometheus metrics of this worker")
def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
