"""``ResilientChat``: deadlines, admission control and a circuit breaker around a chat model.

A shop's chat must answer even when the LLM is down, crawling or busy. The caller supplies a
``fallback(error, partial_text) -> str`` (typically a sentence built from the product
cards it was about to show); the stream ends with that text, marked ``degraded=True``, when:

* the circuit ``breaker`` is open (the backend failed repeatedly): at once, no call made;
* no generation slot of the ``gate`` frees up within its short wait: at once, no call made;
* the model fails, gives no first token within ``first_token_timeout``, or runs past
  ``total_timeout``.

Without a fallback the :class:`LLMError` propagates. Whenever a reply ends early (deadline,
error, the caller stops reading, or ``cancel`` is triggered from outside) the backend is
told to stop through a :class:`CancelToken`, and the gate's slot is given back only once
the backend has really stopped, so the gate's count is the backend's real load.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from langchain_core.language_models import BaseChatModel, LanguageModelInput

from generation.errors import (
    CircuitOpenError,
    GenerationError,
    LLMCancelledError,
    LLMError,
    LLMOverloadedError,
    LLMResponseError,
    LLMTimeoutError,
    LLMUnavailableError,
)
from generation.llm.admission import AdmissionGate, GateStats
from generation.llm.breaker import BreakerStats, CircuitBreaker, Pass
from generation.llm.cancel import CANCEL_KWARG, CancelToken

__all__ = ["ChatReply", "Fallback", "LLMStats", "ReplyChunk", "ResilientChat"]

logger = logging.getLogger(__name__)

Fallback = Callable[[LLMError, str], str]
"""``fallback(error, partial_text)`` returns the text to send in place of (the rest of)
the model's reply; ``partial_text`` is what already streamed, usually ``""``."""


@dataclass(frozen=True)
class ReplyChunk:
    """One piece of a streamed reply; ``degraded`` marks text from the fallback."""

    text: str
    degraded: bool = False
    error: LLMError | None = None


@dataclass(frozen=True)
class ChatReply:
    """A whole reply; ``error`` says why it is degraded, if it is."""

    text: str
    degraded: bool = False
    error: LLMError | None = None


@dataclass(frozen=True)
class LLMStats:
    """A snapshot for health checks and metrics."""

    breaker: BreakerStats | None
    gate: GateStats | None
    replies: int
    """Replies whose first token came from the model."""
    outcomes: dict[str, int] = field(default_factory=dict)
    """Replies that did not (fully) come from the model, by reason: ``circuit_open``,
    ``busy``, ``timeout``, ``unavailable``, ``response_error``, ``cancelled``."""


_END = object()


def _as_llm_error(exc: BaseException) -> LLMError:
    """Errors from a foreign chat model (not ours) count as the backend being down."""
    if isinstance(exc, LLMError):
        return exc
    wrapped = LLMUnavailableError(f"chat model failed: {exc!r}")
    wrapped.__cause__ = exc
    return wrapped


def _reason(error: LLMError) -> str:
    if isinstance(error, CircuitOpenError):
        return "circuit_open"
    if isinstance(error, LLMOverloadedError):
        return "busy"
    if isinstance(error, LLMTimeoutError):
        return "timeout"
    if isinstance(error, LLMCancelledError):
        return "cancelled"
    if isinstance(error, LLMResponseError):
        return "response_error"
    return "unavailable"


def _is_outage(error: LLMError) -> bool:
    """What counts against the breaker: the backend down or too slow, nothing else."""
    return isinstance(error, LLMUnavailableError | LLMTimeoutError)


class _Call:
    """One reply's bookkeeping: the breaker pass, the verdict, the gate slot."""

    def __init__(self, chat: ResilientChat, granted: Pass | None) -> None:
        self.chat = chat
        self.granted = granted
        self.verdict = False
        self.started = time.monotonic()

    def first_token(self) -> None:
        if not self.verdict:
            self.verdict = True
            self.chat._count_reply(time.monotonic() - self.started)
            if self.chat.breaker is not None:
                self.chat.breaker.success()

    def failed(self, error: LLMError) -> None:
        self.chat._count(error)
        if self.chat.breaker is None or self.granted is None:
            return
        if _is_outage(error):
            self.verdict = True
            before = self.chat.breaker.state
            self.chat.breaker.failure(f"{type(error).__name__}: {error}")
            if before != "open" and self.chat.breaker.state == "open":
                logger.warning("LLM circuit opened: %s", error)

    def end(self) -> None:
        if self.chat.breaker is not None and self.granted is not None and not self.verdict:
            self.chat.breaker.abandon(self.granted)


class ResilientChat:
    """Wrap ``model`` with deadlines, an optional admission gate and circuit breaker."""

    def __init__(
        self,
        model: BaseChatModel,
        *,
        fallback: Fallback | None = None,
        first_token_timeout: float | None = 15.0,
        total_timeout: float | None = 60.0,
        gate: AdmissionGate | None = None,
        breaker: CircuitBreaker | None = None,
        on_first_token: Callable[[float], None] | None = None,
    ) -> None:
        self.model = model
        self.fallback = fallback
        self.first_token_timeout = first_token_timeout
        self.total_timeout = total_timeout
        self.gate = gate
        self.breaker = breaker
        self.on_first_token = on_first_token
        self._lock = threading.Lock()
        self._replies = 0
        self._outcomes: Counter[str] = Counter()

    # -- bookkeeping ----------------------------------------------------------------

    def stats(self) -> LLMStats:
        with self._lock:
            replies, outcomes = self._replies, dict(self._outcomes)
        return LLMStats(self.breaker.stats() if self.breaker else None,
                        self.gate.stats() if self.gate else None, replies, outcomes)

    def _count(self, error: LLMError) -> None:
        with self._lock:
            self._outcomes[_reason(error)] += 1

    def _count_reply(self, seconds: float) -> None:
        with self._lock:
            self._replies += 1
        if self.on_first_token is not None:
            self.on_first_token(seconds)

    def _admit(self, first_words_by: float | None = None
               ) -> tuple[_Call | None, LLMError | None]:
        """Breaker first (an open circuit costs nothing), then a gate slot."""
        left = None if first_words_by is None else first_words_by - time.monotonic()
        if left is not None and left <= 0:
            return None, LLMOverloadedError("no time left for the LLM in this turn's "
                                            "first-words budget")
        granted: Pass | None = "call"
        if self.breaker is not None:
            granted = self.breaker.allow()
            if granted is None:
                stats = self.breaker.stats()
                return None, CircuitOpenError(
                    f"LLM circuit open after repeated failures ({stats.last_error}); "
                    f"next probe in {stats.retry_in:.0f}s")
        call = _Call(self, granted if self.breaker is not None else None)
        if self.gate is not None and not self.gate.try_acquire(left):
            call.end()
            return None, LLMOverloadedError(
                f"all {self.gate.slots} LLM slots busy for {self.gate.wait:.2f}s")
        return call, None

    def _release(self) -> None:
        if self.gate is not None:
            self.gate.release()

    def _model_kwargs(self, token: CancelToken, kwargs: dict[str, Any]) -> dict[str, Any]:
        if getattr(type(self.model), "accepts_cancel_token", False):
            return {**kwargs, CANCEL_KWARG: token}
        return kwargs

    def _wait(self, started: float, got_text: bool) -> float | None:
        """Seconds left before the next deadline, or None if there is none."""
        now = time.monotonic()
        limits = []
        if self.total_timeout is not None:
            limits.append(started + self.total_timeout - now)
        if not got_text and self.first_token_timeout is not None:
            limits.append(started + self.first_token_timeout - now)
        return max(0.0, min(limits)) if limits else None

    def _timeout_error(self, got_text: bool) -> LLMTimeoutError:
        if got_text:
            return LLMTimeoutError(f"reply not finished within {self.total_timeout}s")
        deadline = min(t for t in (self.first_token_timeout, self.total_timeout) if t is not None)
        return LLMTimeoutError(f"no first token within {deadline}s")

    def _degrade(self, error: LLMError, partial: str, fallback: Fallback | None) -> ReplyChunk:
        chosen = fallback or self.fallback
        if chosen is None:
            raise error
        if isinstance(error, LLMOverloadedError):
            logger.debug("chat model skipped: %s", error)  # counted in stats, not news
        else:
            logger.warning("chat model degraded: %s", error)
        return ReplyChunk(chosen(error, partial), degraded=True, error=error)

    # -- sync ---------------------------------------------------------------------

    def stream(
        self,
        messages: LanguageModelInput,
        *,
        fallback: Fallback | None = None,
        cancel: CancelToken | None = None,
        first_words_by: float | None = None,
        **kwargs: Any,
    ) -> Iterator[ReplyChunk]:
        """Stream the reply; a failure, a missed deadline, an open circuit or a full gate
        ends it with the fallback text. ``cancel`` (triggered from any thread, e.g. when
        the shopper disconnects) stops the backend and ends the stream without fallback.

        ``first_words_by`` (``time.monotonic()`` time) is the caller's own budget for the
        first words: the slot wait and the first token must fit in it, else the fallback.
        Already past it: ``LLMOverloadedError`` at once, the backend not called nor blamed;
        no first token by then: ``LLMTimeoutError``, a breaker failure like any timeout."""
        if cancel is not None and cancel.cancelled:
            return
        call, refused = self._admit(first_words_by)
        if call is None:
            assert refused is not None
            self._count(refused)
            yield self._degrade(refused, "", fallback)
            return
        token = CancelToken()
        unlink = cancel.on_cancel(token.cancel) if cancel is not None else None
        # The model's stream runs on a helper thread so that this one can stop waiting
        # when a deadline passes, even while the model blocks inside a read.
        items: queue.SimpleQueue[object] = queue.SimpleQueue()
        model_kwargs = self._model_kwargs(token, kwargs)

        def produce() -> None:
            try:
                iterator = self.model.stream(messages, **model_kwargs)
                try:
                    for chunk in iterator:
                        if token.cancelled:
                            break
                        items.put(chunk.text)
                finally:
                    close = getattr(iterator, "close", None)
                    if close is not None:
                        close()  # frees the backend's slot or connection
            except BaseException as exc:  # noqa: BLE001 - handed to the consumer
                items.put(exc)
            finally:
                self._release()  # only now is the backend really done with this reply
                items.put(_END)

        try:
            threading.Thread(target=produce, daemon=True, name="tailor-resilient-chat").start()
        except BaseException:
            self._release()
            call.end()
            raise
        partial = ""
        try:
            while True:
                own = self._wait(call.started, bool(partial))
                wait = own
                if first_words_by is not None and not partial:
                    budget = max(0.0, first_words_by - time.monotonic())
                    wait = budget if own is None else min(own, budget)
                try:
                    item = items.get(timeout=wait)
                except queue.Empty:
                    error: LLMError = (
                        LLMTimeoutError("no first token within the turn's first-words budget")
                        if wait != own else self._timeout_error(bool(partial)))
                    # Either way a failure for the breaker: a backend that cannot start
                    # within the budget (dead behind retries, or starved of CPU) is best
                    # left alone for a while; that also sheds load.
                    call.failed(error)
                    yield self._degrade(error, partial, fallback)
                    return
                if cancel is not None and cancel.cancelled:
                    return  # nobody is listening: no fallback either
                if item is _END:
                    return
                if isinstance(item, BaseException):
                    if isinstance(item, GenerationError) and not isinstance(item, LLMError):
                        raise item  # a PromptError is a bug, not an outage
                    error = _as_llm_error(item)
                    call.failed(error)
                    yield self._degrade(error, partial, fallback)
                    return
                assert isinstance(item, str)
                if item:
                    call.first_token()
                    partial += item
                    yield ReplyChunk(item)
        finally:
            if cancel is not None and cancel.cancelled:
                self._count(LLMCancelledError("reply abandoned"))
            token.cancel()  # a no-op if the model already finished
            if unlink is not None:
                unlink()
            call.end()

    def invoke(
        self, messages: LanguageModelInput, *, fallback: Fallback | None = None, **kwargs: Any
    ) -> ChatReply:
        return _collect(self.stream(messages, fallback=fallback, **kwargs))

    # -- async --------------------------------------------------------------------

    async def astream(
        self, messages: LanguageModelInput, *, fallback: Fallback | None = None, **kwargs: Any
    ) -> AsyncIterator[ReplyChunk]:
        """Async twin of :meth:`stream` (cancel the task to abandon the reply)."""
        call, refused = await self._aadmit()
        if call is None:
            assert refused is not None
            self._count(refused)
            yield self._degrade(refused, "", fallback)
            return
        agen = self.model.astream(messages, **kwargs)
        partial = ""
        try:
            while True:
                try:
                    chunk = await asyncio.wait_for(
                        agen.__anext__(), self._wait(call.started, bool(partial))
                    )
                except StopAsyncIteration:
                    return
                except TimeoutError:
                    error: LLMError = self._timeout_error(bool(partial))
                    call.failed(error)
                    yield self._degrade(error, partial, fallback)
                    return
                except GenerationError as exc:
                    if not isinstance(exc, LLMError):
                        raise
                    call.failed(exc)
                    yield self._degrade(exc, partial, fallback)
                    return
                except Exception as exc:
                    error = _as_llm_error(exc)
                    call.failed(error)
                    yield self._degrade(error, partial, fallback)
                    return
                if chunk.text:
                    call.first_token()
                    partial += chunk.text
                    yield ReplyChunk(chunk.text)
        finally:
            try:
                aclose = getattr(agen, "aclose", None)
                if aclose is not None:
                    await aclose()
            finally:
                self._release()
                call.end()

    async def _aadmit(self) -> tuple[_Call | None, LLMError | None]:
        """:meth:`_admit` off the event loop (the gate may wait), without leaking a slot
        if this task is cancelled while the worker thread still gets one."""
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(None, self._admit)
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            def give_back(done: asyncio.Future[tuple[_Call | None, LLMError | None]]) -> None:
                if not done.cancelled() and done.exception() is None:
                    call, _ = done.result()
                    if call is not None:
                        self._release()
                        call.end()

            future.add_done_callback(give_back)
            raise

    async def ainvoke(
        self, messages: LanguageModelInput, *, fallback: Fallback | None = None, **kwargs: Any
    ) -> ChatReply:
        chunks = [c async for c in self.astream(messages, fallback=fallback, **kwargs)]
        return _collect(iter(chunks))


def _collect(chunks: Iterator[ReplyChunk]) -> ChatReply:
    texts: list[str] = []
    error: LLMError | None = None
    for chunk in chunks:
        texts.append(chunk.text)
        error = chunk.error or error
    return ChatReply("".join(texts), degraded=error is not None, error=error)
