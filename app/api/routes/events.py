"""The return channel: batches of customer reactions, durable before the response."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from prometheus_client import Counter

from app.api.deps import PrincipalDep, RuntimeDep, VisitorDep
from app.errors import InvalidInput, PayloadTooLarge
from app.schemas.events import EventsResult
from app.services.events import event_weights, ingest

router = APIRouter(tags=["events"])
EVENTS = Counter("tailor_events_total", "Events received", ["outcome"])

BATCH_SCHEMA_REF = {"$ref": "#/components/schemas/EventBatch"}


@router.post(
    "/events", response_model=EventsResult, summary="Send a batch of events",
    responses={413: {"description": "Body or batch too large"},
               422: {"description": "Some events were rejected (the valid ones are stored "
                                    "unless atomic=true); `rejected` says which and why"}},
    openapi_extra={"requestBody": {"required": True, "content": {
        "application/json": {"schema": BATCH_SCHEMA_REF}}}})
async def post_events(request: Request, rt: RuntimeDep, principal: PrincipalDep,
                      visitor: VisitorDep,
                      atomic: Annotated[bool, Query(description="Store all or nothing")] = False
                      ) -> Any:
    """Up to 1,000 events per request. Each accepted event is committed before the response
    and handed to the preference model at once. Re-sending an event with the same
    `event_id` is safe: it is counted once (`duplicates`).

    Keys: developer and admin may send events for anyone; a widget key only for its own
    visitor (header `X-Visitor-Token` from `POST /v1/widget/session`), only the types a
    browser observes (`TAILOR_WIDGET_EVENT_TYPES`; no purchases by default), and its
    `event_id`s are scoped to that visitor, so they never collide with the server's."""
    principal.require("widget", "developer", "admin")
    limit = rt.settings.max_body_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"request body over {limit} bytes")
    body = await request.body()
    if len(body) > limit:
        raise PayloadTooLarge(f"request body over {limit} bytes")
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"body is not valid JSON: {exc}") from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("events"), list):
        raise InvalidInput('body must be an object {"events": [...]}')
    if set(payload) - {"events"}:
        raise InvalidInput(f"unexpected top-level field(s): {sorted(set(payload) - {'events'})}")
    events = payload["events"]
    if not events:
        raise InvalidInput("events must not be empty")
    if len(events) > rt.settings.max_events_per_batch:
        raise PayloadTooLarge(f"a batch holds at most {rt.settings.max_events_per_batch} "
                              f"events; this one has {len(events)}")

    # With a preference model, events go through the learning outbox: learned at once by
    # this worker, or later by any worker's retry if that fails (model not ready, outage).
    learn_after = rt.settings.learn_lease_seconds if rt.prefs is not None else None

    def work() -> Any:
        with rt.sessions() as db:
            return ingest(db, events, weights=event_weights(rt.settings),
                          max_skew=rt.settings.max_event_skew_seconds, atomic=atomic,
                          widget_visitor=visitor,
                          widget_types=rt.settings.widget_event_types,
                          learn_after=learn_after)

    result = await run_in_threadpool(work)
    if result.accepted:
        await run_in_threadpool(rt.hooks.emit_events, result.accepted)
    EVENTS.labels("accepted").inc(len(result.accepted))
    EVENTS.labels("duplicate").inc(result.duplicates)
    EVENTS.labels("rejected").inc(len(result.rejected))
    out = EventsResult(accepted=len(result.accepted), duplicates=result.duplicates,
                       rejected=result.rejected, atomic=atomic)
    status = 422 if result.rejected else 200
    return JSONResponse(out.model_dump(mode="json"), status_code=status)
