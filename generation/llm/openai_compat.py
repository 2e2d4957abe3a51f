"""A chat model for any OpenAI-compatible endpoint (vLLM, Ollama, llama.cpp server, ...).

Plain httpx rather than the ``openai`` SDK: one POST to ``/chat/completions``, with SSE
for streaming, is all we need, and it keeps retries and error wrapping in our hands.
Retries (with exponential backoff) happen only before the first byte of a reply, on
connection failures, 429 and 5xx; once text has streamed, a failure is final.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import socket
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any, ClassVar

import httpx
from httpx_sse import EventSource, ServerSentEvent, SSEError
from langchain_core.callbacks import (
    AsyncCallbackManagerForLLMRun,
    CallbackManagerForLLMRun,
)
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import Field, PrivateAttr, SecretStr

from generation.errors import (
    LLMCancelledError,
    LLMError,
    LLMResponseError,
    LLMTimeoutError,
    LLMUnavailableError,
)
from generation.llm._messages import chunk_from_openai, message_from_openai, to_openai_messages
from generation.llm.cancel import CANCEL_KWARG, CancelToken

__all__ = ["OpenAICompatibleChatModel"]

# Failures that mean "nobody answered": safe to retry because no reply was produced.
_RETRYABLE_TRANSPORT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout,
                        httpx.RemoteProtocolError)


def _retryable_status(status: int) -> bool:
    return status == 429 or status >= 500


class _Retry(Exception):
    """Internal: this attempt failed in a way worth retrying after ``delay`` seconds."""

    def __init__(self, reason: str, delay: float | None = None) -> None:
        super().__init__(reason)
        self.delay = delay


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:  # an HTTP date: not worth parsing, use our own backoff
        return None


def _payload_of(sse: ServerSentEvent) -> Mapping[str, Any] | None:
    """The JSON of one server-sent event (httpx-sse parses the stream); None at ``[DONE]``,
    {} for an event without data (pings and comments never reach here)."""
    if sse.data.strip() == "[DONE]":
        return None
    return _parse_json(sse.data) if sse.data else {}


class _Hangup:
    """Shuts a request's socket down when its reply is cancelled.

    Closing a socket does not wake a thread blocked reading it (on Linux); ``shutdown``
    does, so a reply abandoned while the backend is silent ends at once instead of at
    the read timeout, and the backend sees the connection drop and stops generating.
    The socket is caught through httpcore's ``trace`` hook as the connection opens.
    """

    def __init__(self, token: CancelToken) -> None:
        self.token = token
        self._unregister: list[Any] = []

    def trace(self, event: str, info: Mapping[str, Any]) -> None:
        if event == "connection.connect_tcp.complete" and info.get("return_value") is not None:
            sock = info["return_value"].get_extra_info("socket")
            if isinstance(sock, socket.socket):
                self._unregister.append(self.token.on_cancel(lambda: _shutdown(sock)))

    def done(self) -> None:
        for unregister in self._unregister:
            unregister()
        self._unregister.clear()


def _shutdown(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed: nothing left to stop
        sock.shutdown(socket.SHUT_RDWR)


def _parse_json(text: str | bytes) -> Mapping[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise LLMResponseError(f"backend sent invalid JSON: {text[:200]!r}") from exc
    if not isinstance(value, Mapping):
        raise LLMResponseError(f"backend sent JSON that is not an object: {text[:200]!r}")
    return value


class OpenAICompatibleChatModel(BaseChatModel):
    """Chat completions from an OpenAI-compatible HTTP endpoint.

    ``base_url`` is the API root that ``/chat/completions`` hangs off, e.g.
    ``http://localhost:11434/v1`` (Ollama) or ``http://localhost:8000/v1`` (vLLM).
    """

    accepts_cancel_token: ClassVar[bool] = True
    """``stream(..., cancel_token=CancelToken())`` shuts the connection down when cancelled."""

    base_url: str
    model: str = "default"
    api_key: SecretStr | None = None
    max_tokens: int | None = Field(default=256, ge=1)
    temperature: float = Field(default=0.7, ge=0.0)
    top_p: float | None = None
    seed: int | None = None
    stop: list[str] | None = None
    extra_body: dict[str, Any] = Field(default_factory=dict)
    """Further request fields, passed through (e.g. ``{"top_k": 40}`` for vLLM)."""
    headers: dict[str, str] = Field(default_factory=dict)
    timeout: float = Field(default=60.0, gt=0)
    """Seconds to wait for each read (the gap between streamed chunks, or a full reply)."""
    connect_timeout: float = Field(default=5.0, gt=0)
    max_retries: int = Field(default=2, ge=0)
    backoff: float = Field(default=0.5, ge=0)
    """First retry delay in seconds; doubles on each retry, capped at ``max_backoff``."""
    max_backoff: float = Field(default=8.0, ge=0)

    _client: httpx.Client | None = PrivateAttr(default=None)
    _aclient: httpx.AsyncClient | None = PrivateAttr(default=None)

    @property
    def _llm_type(self) -> str:
        return "tailor-openai-compatible"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"base_url": self.base_url, "model": self.model,
                "max_tokens": self.max_tokens, "temperature": self.temperature}

    # -- plumbing ------------------------------------------------------------------

    @property
    def _url(self) -> str:
        return self.base_url.rstrip("/") + "/chat/completions"

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json, text/event-stream", **self.headers}
        if self.api_key is not None:
            headers["Authorization"] = f"Bearer {self.api_key.get_secret_value()}"
        return headers

    def _timeout(self) -> httpx.Timeout:
        return httpx.Timeout(self.timeout, connect=self.connect_timeout)

    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            # One connection per reply (no keep-alive): a cancelled reply's socket is the
            # one caught as it opened (see _Hangup), never a pooled one we did not see.
            self._client = httpx.Client(timeout=self._timeout(), headers=self._headers(),
                                        limits=httpx.Limits(max_keepalive_connections=0))
        return self._client

    @property
    def aclient(self) -> httpx.AsyncClient:
        if self._aclient is None:
            self._aclient = httpx.AsyncClient(timeout=self._timeout(), headers=self._headers())
        return self._aclient

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    async def aclose(self) -> None:
        if self._aclient is not None:
            await self._aclient.aclose()
            self._aclient = None

    def _payload(
        self, messages: list[BaseMessage], stop: list[str] | None, stream: bool, **kwargs: Any
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "model": self.model,
            "messages": to_openai_messages(messages),
            "temperature": self.temperature,
            "stream": stream,
        }
        optional = {"max_tokens": self.max_tokens, "top_p": self.top_p, "seed": self.seed,
                    "stop": stop if stop is not None else self.stop}
        payload.update({k: v for k, v in optional.items() if v is not None})
        payload.update(self.extra_body)
        payload.update(kwargs)
        return payload

    def _delay(self, attempt: int, hint: float | None) -> float:
        if hint is not None:
            return min(hint, self.max_backoff)
        base = min(self.backoff * (2**attempt), self.max_backoff)
        return base * random.uniform(0.8, 1.2)  # jitter: retries from many workers spread out

    def _check(self, response: httpx.Response, body: bytes) -> None:
        """Raise for an error status (``_Retry`` for the kinds worth retrying)."""
        status = response.status_code
        if status < 400:
            return
        reason = f"HTTP {status} from {self._url}: {body[:200].decode(errors='replace')}"
        if _retryable_status(status):
            raise _Retry(reason, _retry_after(response))
        raise LLMResponseError(reason)

    def _give_up(self, reason: str) -> LLMUnavailableError:
        attempts = self.max_retries + 1
        return LLMUnavailableError(f"LLM backend unavailable after {attempts} attempt(s): {reason}")

    def _transport_error(self, exc: httpx.HTTPError, token: CancelToken | None = None
                         ) -> LLMError:
        if token is not None and token.cancelled:
            return LLMCancelledError(f"reply abandoned; connection to {self._url} shut down")
        if isinstance(exc, httpx.TimeoutException):
            return LLMTimeoutError(f"LLM backend at {self._url} timed out: {exc!r}")
        return LLMUnavailableError(f"LLM backend at {self._url} failed: {exc!r}")

    # -- sync --------------------------------------------------------------------

    def _open(self, payload: dict[str, Any], hangup: _Hangup | None = None) -> httpx.Response:
        """POST with retries; returns an open (streaming) response with a 2xx status."""
        reason = ""
        hint: float | None = None
        token = hangup.token if hangup is not None else None
        extensions = {"trace": hangup.trace} if hangup is not None else None
        for attempt in range(self.max_retries + 1):
            if attempt and _sleep(self._delay(attempt - 1, hint), token):
                raise LLMCancelledError("reply abandoned while waiting to retry")
            try:
                request = self.client.build_request("POST", self._url, json=payload,
                                                    extensions=extensions)
                response = self.client.send(request, stream=True)
                if response.status_code >= 400:
                    try:
                        self._check(response, response.read())
                    finally:
                        response.close()
                return response
            except _Retry as retry:
                reason, hint = str(retry), retry.delay
            except _RETRYABLE_TRANSPORT as exc:
                if token is not None and token.cancelled:
                    raise LLMCancelledError("reply abandoned before the backend answered") \
                        from exc
                reason, hint = repr(exc), None
            except httpx.HTTPError as exc:
                raise self._transport_error(exc, token) from exc
        raise self._give_up(reason)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        kwargs.pop(CANCEL_KWARG, None)  # a whole reply: nothing to stop half-way
        response = self._open(self._payload(messages, stop, stream=False, **kwargs))
        try:
            body = response.read()
        except httpx.HTTPError as exc:
            raise self._transport_error(exc) from exc
        finally:
            response.close()
        message, info = message_from_openai(_parse_json(body))
        return ChatResult(generations=[ChatGeneration(message=message, generation_info=info)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        token: CancelToken | None = kwargs.pop(CANCEL_KWARG, None)
        hangup = _Hangup(token) if token is not None else None
        try:
            response = self._open(self._payload(messages, stop, stream=True, **kwargs), hangup)
            try:
                for sse in EventSource(response).iter_sse():
                    event = _payload_of(sse)
                    if event is None:
                        return
                    chunk = chunk_from_openai(event) if event else None
                    if chunk is not None:
                        yield chunk
            except SSEError as exc:
                raise _not_a_stream(exc) from exc
            except httpx.HTTPError as exc:
                raise self._transport_error(exc, token) from exc
            finally:
                response.close()
        finally:
            if hangup is not None:
                hangup.done()

    # -- async -------------------------------------------------------------------

    async def _aopen(self, payload: dict[str, Any]) -> httpx.Response:
        reason = ""
        hint: float | None = None
        for attempt in range(self.max_retries + 1):
            if attempt:
                await asyncio.sleep(self._delay(attempt - 1, hint))
            try:
                request = self.aclient.build_request("POST", self._url, json=payload)
                response = await self.aclient.send(request, stream=True)
                if response.status_code >= 400:
                    try:
                        self._check(response, await response.aread())
                    finally:
                        await response.aclose()
                return response
            except _Retry as retry:
                reason, hint = str(retry), retry.delay
            except _RETRYABLE_TRANSPORT as exc:
                reason, hint = repr(exc), None
            except httpx.HTTPError as exc:
                raise self._transport_error(exc) from exc
        raise self._give_up(reason)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        kwargs.pop(CANCEL_KWARG, None)
        response = await self._aopen(self._payload(messages, stop, stream=False, **kwargs))
        try:
            body = await response.aread()
        except httpx.HTTPError as exc:
            raise self._transport_error(exc) from exc
        finally:
            await response.aclose()
        message, info = message_from_openai(_parse_json(body))
        return ChatResult(generations=[ChatGeneration(message=message, generation_info=info)])

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        kwargs.pop(CANCEL_KWARG, None)  # async callers cancel the task; aclose() ends the stream
        response = await self._aopen(self._payload(messages, stop, stream=True, **kwargs))
        try:
            async for sse in EventSource(response).aiter_sse():
                event = _payload_of(sse)
                if event is None:
                    return
                chunk = chunk_from_openai(event) if event else None
                if chunk is not None:
                    yield chunk
        except SSEError as exc:
            raise _not_a_stream(exc) from exc
        except httpx.HTTPError as exc:
            raise self._transport_error(exc) from exc
        finally:
            await response.aclose()


def _sleep(seconds: float, token: CancelToken | None) -> bool:
    """Sleep before a retry; True if the reply was abandoned meanwhile."""
    if token is None:
        time.sleep(seconds)
        return False
    return token.wait(seconds)


def _not_a_stream(exc: SSEError) -> LLMResponseError:
    return LLMResponseError(f"the backend did not answer with a server-sent event stream: {exc}")
