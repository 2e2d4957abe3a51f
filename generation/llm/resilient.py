"""``ResilientChat``: deadlines around a chat model, and a degraded reply when it fails.

A shop's chat must answer even when the LLM is down or crawling. The caller supplies a
``fallback(error, partial_text) -> str`` (typically a sentence built from the product
cards it was about to show); when the model fails, gives no first token within
``first_token_timeout``, or runs past ``total_timeout``, the stream ends with that text,
marked ``degraded=True``. Without a fallback the :class:`LLMError` propagates.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import BaseChatModel, LanguageModelInput

from generation.errors import GenerationError, LLMError, LLMTimeoutError, LLMUnavailableError

__all__ = ["ChatReply", "Fallback", "ReplyChunk", "ResilientChat"]

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


_END = object()


def _as_llm_error(exc: BaseException) -> LLMError:
    """Errors from a foreign chat model (not ours) count as the backend being down."""
    if isinstance(exc, LLMError):
        return exc
    wrapped = LLMUnavailableError(f"chat model failed: {exc!r}")
    wrapped.__cause__ = exc
    return wrapped


class ResilientChat:
    """Wrap ``model`` with a first-token deadline, a total deadline and a fallback."""

    def __init__(
        self,
        model: BaseChatModel,
        *,
        fallback: Fallback | None = None,
        first_token_timeout: float | None = 15.0,
        total_timeout: float | None = 60.0,
    ) -> None:
        self.model = model
        self.fallback = fallback
        self.first_token_timeout = first_token_timeout
        self.total_timeout = total_timeout

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
        logger.warning("chat model degraded: %s", error)
        return ReplyChunk(chosen(error, partial), degraded=True, error=error)

    # -- sync ---------------------------------------------------------------------

    def stream(
        self, messages: LanguageModelInput, *, fallback: Fallback | None = None, **kwargs: Any
    ) -> Iterator[ReplyChunk]:
        """Stream the reply; a failure or a missed deadline ends it with the fallback text."""
        # The model's stream runs on a helper thread so that this one can stop waiting
        # when a deadline passes, even while the model blocks inside a read.
        items: queue.SimpleQueue[object] = queue.SimpleQueue()
        stop = threading.Event()

        def produce() -> None:
            try:
                iterator = self.model.stream(messages, **kwargs)
                try:
                    for chunk in iterator:
                        if stop.is_set():
                            break
                        items.put(chunk.text)
                finally:
                    close = getattr(iterator, "close", None)
                    if close is not None:
                        close()  # frees the backend's slot or connection
            except BaseException as exc:  # noqa: BLE001 - handed to the consumer
                items.put(exc)
            finally:
                items.put(_END)

        threading.Thread(target=produce, daemon=True, name="tailor-resilient-chat").start()
        started, partial = time.monotonic(), ""
        try:
            while True:
                try:
                    item = items.get(timeout=self._wait(started, bool(partial)))
                except queue.Empty:
                    yield self._degrade(self._timeout_error(bool(partial)), partial, fallback)
                    return
                if item is _END:
                    return
                if isinstance(item, BaseException):
                    if isinstance(item, GenerationError) and not isinstance(item, LLMError):
                        raise item  # a PromptError is a bug, not an outage
                    yield self._degrade(_as_llm_error(item), partial, fallback)
                    return
                assert isinstance(item, str)
                if item:
                    partial += item
                    yield ReplyChunk(item)
        finally:
            stop.set()

    def invoke(
        self, messages: LanguageModelInput, *, fallback: Fallback | None = None, **kwargs: Any
    ) -> ChatReply:
        return _collect(self.stream(messages, fallback=fallback, **kwargs))

    # -- async --------------------------------------------------------------------

    async def astream(
        self, messages: LanguageModelInput, *, fallback: Fallback | None = None, **kwargs: Any
    ) -> AsyncIterator[ReplyChunk]:
        """Async twin of :meth:`stream`."""
        agen = self.model.astream(messages, **kwargs)
        started, partial = time.monotonic(), ""
        try:
            while True:
                try:
                    chunk = await asyncio.wait_for(
                        agen.__anext__(), self._wait(started, bool(partial))
                    )
                except StopAsyncIteration:
                    return
                except TimeoutError:
                    yield self._degrade(self._timeout_error(bool(partial)), partial, fallback)
                    return
                except GenerationError as exc:
                    if not isinstance(exc, LLMError):
                        raise
                    yield self._degrade(exc, partial, fallback)
                    return
                except Exception as exc:
                    yield self._degrade(_as_llm_error(exc), partial, fallback)
                    return
                if chunk.text:
                    partial += chunk.text
                    yield ReplyChunk(chunk.text)
        finally:
            aclose = getattr(agen, "aclose", None)
            if aclose is not None:
                await aclose()

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
