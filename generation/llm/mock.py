"""``MockChatModel``: a scripted chat model for *other* packages' tests.

It is a real LangChain chat model (``invoke``, ``stream``, ``astream`` all work) that
needs no weights and no network, records what it was asked, and can be told to be slow
or to fail, so callers can test their degraded paths.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, ClassVar

from langchain_core.callbacks import (
    AsyncCallbackManagerForLLMRun,
    CallbackManagerForLLMRun,
)
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import Field, PrivateAttr

from generation.llm.cancel import CANCEL_KWARG, CancelToken

__all__ = ["MockChatModel"]

_TOKEN = re.compile(r"\s*\S+|\s+")


class MockChatModel(BaseChatModel):
    """Replies from a script: ``replies`` in turn, or ``respond(messages)`` if given."""

    accepts_cancel_token: ClassVar[bool] = True

    replies: list[str] = Field(default_factory=lambda: ["This is a mock reply."])
    respond: Callable[[list[BaseMessage]], str] | None = None
    error: Exception | None = None
    """Raised instead of (or, with ``error_after_tokens``, in the middle of) a reply."""
    error_after_tokens: int = Field(default=0, ge=0)
    first_token_delay: float = Field(default=0.0, ge=0)
    token_delay: float = Field(default=0.0, ge=0)

    _calls: list[list[BaseMessage]] = PrivateAttr(default_factory=list)
    _active: int = PrivateAttr(default=0)
    _emitted: int = PrivateAttr(default=0)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @property
    def _llm_type(self) -> str:
        return "tailor-mock"

    @property
    def active(self) -> int:
        """Sync streams running right now (a cancelled one stops at its next token)."""
        return self._active

    @property
    def emitted(self) -> int:
        """Tokens the sync streams have yielded so far, all calls together."""
        return self._emitted

    def _enter(self, delta: int) -> None:
        with self._lock:
            self._active += delta

    @property
    def calls(self) -> list[list[BaseMessage]]:
        """The messages of every call so far, oldest first."""
        return self._calls

    def _next_reply(self, messages: list[BaseMessage]) -> str:
        self._calls.append(list(messages))
        if self.respond is not None:
            return self.respond(messages)
        return self.replies[(len(self._calls) - 1) % len(self.replies)]

    def _tokens(self, messages: list[BaseMessage]) -> Iterator[tuple[float, str | None]]:
        """(delay before it, token) pairs; a None token means "raise ``error`` now"."""
        reply = self._next_reply(messages)
        if self.error is not None and self.error_after_tokens == 0:
            yield self.first_token_delay, None
            return
        for index, token in enumerate(_TOKEN.findall(reply)):
            if self.error is not None and index == self.error_after_tokens:
                yield self.token_delay, None
                return
            yield (self.first_token_delay if index == 0 else self.token_delay), token

    def _raise(self) -> None:
        assert self.error is not None
        raise self.error

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        text = "".join(chunk.text for chunk in self._stream(messages, stop, None, **kwargs))
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        cancel: CancelToken | None = kwargs.pop(CANCEL_KWARG, None)
        self._enter(+1)
        try:
            for delay, token in self._tokens(messages):
                if cancel is not None and cancel.wait(delay):
                    return  # like a real backend: a cancelled reply stops at once
                if cancel is None and delay:
                    time.sleep(delay)
                if token is None:
                    self._raise()
                    return
                chunk = ChatGenerationChunk(message=AIMessageChunk(content=token))
                self._emitted += 1
                yield chunk
        finally:
            self._enter(-1)

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        kwargs.pop(CANCEL_KWARG, None)
        for delay, token in self._tokens(messages):
            if delay:
                await asyncio.sleep(delay)
            if token is None:
                self._raise()
                return
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=token))
            yield chunk
