"""A chat model for any OpenAI-compatible endpoint (vLLM, Ollama, llama.cpp server, ...).

Plain httpx rather than the ``openai`` SDK: one POST to ``/chat/completions``, with SSE
for streaming, is all we need, and it keeps retries and error wrapping in our hands.
Retries (with exponential backoff) happen only before the first byte of a reply, on
connection failures, 429 and 5xx; once text has streamed, a failure is final.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

import httpx
from langchain_core.callbacks import (
    AsyncCallbackManagerForLLMRun,
    CallbackManagerForLLMRun,
)
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import Field, PrivateAttr, SecretStr

from generation.errors import LLMError, LLMResponseError, LLMTimeoutError, LLMUnavailableError
from generation.llm._messages import chunk_from_openai, message_from_openai, to_openai_messages

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


def _iter_sse_events(lines: Iterator[str]) -> Iterator[Mapping[str, Any]]:
    """Parse the ``data:`` events of a text/event-stream, up to ``[DONE]``."""
    data: list[str] = []
    for line in itertools.chain(lines, [""]):
        for event in _feed_sse_line(data, line):
            if event is None:
                return
            yield event


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
            self._client = httpx.Client(timeout=self._timeout(), headers=self._headers())
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

    def _transport_error(self, exc: httpx.HTTPError) -> LLMError:
        if isinstance(exc, httpx.TimeoutException):
            return LLMTimeoutError(f"LLM backend at {self._url} timed out: {exc!r}")
        return LLMUnavailableError(f"LLM backend at {self._url} failed: {exc!r}")

    # -- sync --------------------------------------------------------------------

    def _open(self, payload: dict[str, Any]) -> httpx.Response:
        """POST with retries; returns an open (streaming) response with a 2xx status."""
        reason = ""
        hint: float | None = None
        for attempt in range(self.max_retries + 1):
            if attempt:
                time.sleep(self._delay(attempt - 1, hint))
            try:
                request = self.client.build_request("POST", self._url, json=payload)
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
                reason, hint = repr(exc), None
            except httpx.HTTPError as exc:
                raise self._transport_error(exc) from exc
        raise self._give_up(reason)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
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
        response = self._open(self._payload(messages, stop, stream=True, **kwargs))
        try:
            for event in _iter_sse_events(response.iter_lines()):
                chunk = chunk_from_openai(event)
                if chunk is not None:
                    yield chunk
        except httpx.HTTPError as exc:
            raise self._transport_error(exc) from exc
        finally:
            response.close()

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
        response = await self._aopen(self._payload(messages, stop, stream=True, **kwargs))
        try:
            data: list[str] = []
            async for line in response.aiter_lines():
                for event in _feed_sse_line(data, line):
                    if event is None:
                        return
                    chunk = chunk_from_openai(event)
                    if chunk is not None:
                        yield chunk
            for event in _feed_sse_line(data, ""):
                chunk = chunk_from_openai(event) if event is not None else None
                if chunk is not None:
                    yield chunk
        except httpx.HTTPError as exc:
            raise self._transport_error(exc) from exc
        finally:
            await response.aclose()


def _feed_sse_line(data: list[str], line: str) -> Iterator[Mapping[str, Any] | None]:
    """Incremental SSE parser for the async path: yields an event, or None at ``[DONE]``."""
    if line.startswith("data:"):
        data.append(line[5:].removeprefix(" "))
    elif not line and data:  # a blank line ends an event; ":" pings and "event:" lines are skipped
        payload = "\n".join(data)
        data.clear()
        if payload.strip() == "[DONE]":
            yield None
        else:
            yield _parse_json(payload)
