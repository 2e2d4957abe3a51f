"""POST /v1/chat: one turn, streamed as server-sent events (sse-starlette)."""

from __future__ import annotations

import contextlib
import inspect
import json
import logging
import time
import weakref
from collections.abc import AsyncIterator, Generator
from typing import Any

import anyio
from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from sse_starlette import EventSourceResponse, ServerSentEvent

from app.api.deps import PrincipalDep, RuntimeDep, VisitorDep, get_chat, own_visitor
from app.chat.capacity import FIRST_WORDS, TURNS_REJECTED
from app.chat.pipeline import PreparedTurn, TurnPipeline
from app.errors import DependencyUnavailable, InvalidInput
from app.runtime import Runtime
from app.schemas.chat import ChatIn
from app.services.subjects import find_profile
from generation.llm import CancelToken

router = APIRouter(tags=["chat"])
log = logging.getLogger(__name__)
MAX_BODY = 64_000

SSE_DOC = """Events, each `event: <name>` + `data: <json>`:

* `session` `{"session_id"}` first;
* `token` `{"text"}` many times: the reply as it is written, word by word. Every clause is
  checked (it may name only the products in `cards`, their real prices, stay on topic);
  words are sent before their clause is complete, so:
* `retract` `{"chars", "text"}` (rare): the end of the text received so far, `text` (`chars`
  code points), is taken back: its clause failed the check and the reply ends there;
* `cards` `{"items": [{"item_id", "title", "brand", "price", "currency", "image_url",
  "reason", "in_stock"}]}`;
* `question` `{"text", "options"}` when the assistant needs to know more;
* `done` `{"message_id", "degraded", "personalized", "text"}` (`text`: the final reply, as
  stored), or `error` `{"code", "message"}`."""


def sse(event: str, data: dict[str, Any]) -> ServerSentEvent:
    # One JSON line per event (sse-starlette writes `event:` and `data:` lines, "\n" apart
    # as before): json.dumps escapes every line break inside the strings.
    return ServerSentEvent(data=json.dumps(data, ensure_ascii=False), event=event, sep="\n")


@router.post("/chat", summary="Chat with the shopping assistant (server-sent events)",
             description=SSE_DOC, response_class=EventSourceResponse,
             responses={200: {"content": {"text/event-stream": {}}},
                        413: {"description": "Body over 64 kB"},
                        422: {"description": "Empty or too long message, bad session id"},
                        503: {"description": "Too many conversations at once on this "
                              "worker: retry after `Retry-After` seconds"}})
async def chat(payload: ChatIn, rt: RuntimeDep, principal: PrincipalDep,
               visitor: VisitorDep) -> EventSourceResponse:
    principal.require("widget", "developer", "admin")
    own_visitor(visitor, payload.customer_id or visitor,
                "a widget key chats only as its own visitor")
    subject = visitor or payload.customer_id
    if subject is None:
        raise InvalidInput("customer_id is required with a staff key")
    pipeline = get_chat(rt)
    started = time.perf_counter()
    release = _enter(rt)
    try:
        turn = await run_in_threadpool(_prepare, rt, pipeline, subject, visitor is not None,
                                       payload)
    except BaseException:
        release()
        raise
    turn.first_words_by = _first_words_by(rt, started)
    events = _body(rt, pipeline, turn, started, release)
    # Safety net: a body never iterated (client gone before the first byte) still
    # gives its place back when it is dropped.
    weakref.finalize(events, release)
    # sse-starlette: the event stream, a comment ping every 15 s so proxies keep an idle
    # connection open, and the client's disconnect cancels `events` (see _body).
    return EventSourceResponse(events, sep="\n")


def _first_words_by(rt: Runtime, started: float) -> float:
    """The LLM gets the first-words budget from now, when the turn is ready. If preparing
    it alone took longer while other turns were in progress (the worker is overloaded),
    the LLM is skipped: the items' reply goes out at once and the CPU the model would
    take goes to the other turns. (A slow turn on its own, e.g. the first after start-up,
    is no overload.)"""
    budget = rt.settings.chat_first_words_seconds
    limiter = rt.chat_turns
    busy = limiter is not None and limiter.active > 1
    overloaded = busy and time.perf_counter() - started >= budget
    return time.monotonic() + (0.0 if overloaded else budget)


class _Once:
    """Give a turn's place back exactly once, whichever path gets there first."""

    def __init__(self, leave: Any) -> None:
        self._leave = leave

    def __call__(self) -> None:
        leave, self._leave = self._leave, None
        if leave is not None:
            leave()


def _enter(rt: Runtime) -> _Once:
    """Take a place among this worker's turns in progress, or 503 with Retry-After."""
    limiter = rt.chat_turns
    if limiter is None:
        return _Once(None)
    if not limiter.try_enter():
        TURNS_REJECTED.inc()
        raise DependencyUnavailable(
            f"the assistant is answering {limiter.limit} conversations on this server "
            "already; retry in a moment", headers={"Retry-After": "1"})
    return _Once(limiter.leave)


async def _body(rt: Runtime, pipeline: TurnPipeline, turn: PreparedTurn, started: float,
                release: _Once) -> AsyncIterator[ServerSentEvent]:
    """The SSE events, each produced on a worker thread. When the client disconnects the
    server cancels this generator: the turn's cancel token stops the LLM at once (the
    thread blocked on its next token returns), instead of letting it write to nobody."""
    events = _events(rt, pipeline, turn)
    first = True
    try:
        while True:
            item = await anyio.to_thread.run_sync(_next, events, turn.cancel,
                                                  abandon_on_cancel=True)
            if item is None:
                return
            if first and item.event == "token":
                first = False
                FIRST_WORDS.labels(turn.meta.get("first_words", "template")).observe(
                    time.perf_counter() - started)
            yield item
    finally:
        turn.cancel.cancel()  # a no-op once the reply is complete
        if inspect.getgeneratorstate(events) != inspect.GEN_RUNNING:  # else see _next
            _close(events)
        release()


def _next(events: Generator[ServerSentEvent, None, None], cancel: CancelToken
          ) -> ServerSentEvent | None:
    item = next(events, None)
    if cancel.cancelled:  # abandoned while this thread was writing: end the turn here
        _close(events)
        return None
    return item


def _close(events: Generator[ServerSentEvent, None, None]) -> None:
    with contextlib.suppress(ValueError):  # being closed by the other path right now
        events.close()


def _prepare(rt: Runtime, pipeline: TurnPipeline, subject: str, is_visitor: bool,
             payload: ChatIn) -> PreparedTurn:
    context = payload.context.model_dump(mode="json", exclude_none=True)
    with rt.sessions() as db:
        # First sight of a visitor, or of a shop customer id a staff key names (as events
        # do), creates their profile.
        profile = find_profile(db, subject, create="visitor" if is_visitor else "customer")
        db.commit()
        turn = pipeline.prepare(db, profile, payload.message, payload.session_id, context)
        db.commit()
        return turn


def _events(rt: Runtime, pipeline: TurnPipeline, turn: PreparedTurn
            ) -> Generator[ServerSentEvent, None, None]:
    yield sse("session", {"session_id": turn.session.id})
    try:
        for event, data in pipeline.stream(turn):
            yield sse(event, data)
        with rt.sessions() as db:
            turn.session = db.merge(turn.session)
            message_id = pipeline.finish(db, turn)
        yield sse("done", {"message_id": message_id, "degraded": bool(turn.meta.get(
            "degraded") or turn.meta.get("strayed")), "personalized": turn.personalized,
            "text": turn.meta.get("reply", "")})
    except Exception as exc:  # the stream has started: report in-band, keep the page alive
        log.exception("chat stream failed")
        yield sse("error", {"code": "internal_error",
                            "message": f"the assistant hit a problem ({type(exc).__name__})"})
