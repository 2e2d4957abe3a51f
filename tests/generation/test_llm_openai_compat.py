"""OpenAICompatibleChatModel against real HTTP servers on 127.0.0.1.

Most tests use a scripted stdlib server (see ``openai_stub``); one talks to llama.cpp's
own OpenAI-compatible HTTP server (started by xllamacpp) with the packaged model.
"""

from __future__ import annotations

import asyncio
import secrets

import pytest
from openai_stub import hang, refused_url, reply, serve, sse_error, status

from generation import (
    LLMError,
    LLMResponseError,
    LLMTimeoutError,
    LLMUnavailableError,
    OpenAICompatibleChatModel,
    ResilientChat,
    default_model_path,
)


def client(base_url: str, **kwargs: object) -> OpenAICompatibleChatModel:
    options: dict[str, object] = {"backoff": 0.01, "max_retries": 2, "timeout": 10.0}
    options.update(kwargs)
    return OpenAICompatibleChatModel(base_url=base_url, model="tiny", **options)


def test_invoke_sends_an_openai_request_and_reads_the_reply() -> None:
    with serve(reply("Try the Trail Fleece.")) as stub:
        llm = client(stub.base_url, api_key="sk-test", max_tokens=12, seed=3)
        message = llm.invoke([("system", "Be brief."), ("human", "A jacket?")])
    assert message.content == "Try the Trail Fleece."
    assert message.usage_metadata is not None and message.usage_metadata["total_tokens"] == 8
    [request] = stub.requests
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["Authorization"] == "Bearer sk-test"
    assert request["body"]["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "A jacket?"},
    ]
    assert request["body"]["model"] == "tiny"
    assert (request["body"]["max_tokens"], request["body"]["seed"]) == (12, 3)
    assert request["body"]["stream"] is False


def test_stream_parses_server_sent_events() -> None:
    with serve(reply("one two three")) as stub:
        chunks = [chunk.content for chunk in client(stub.base_url).stream("count")]
    assert "".join(str(c) for c in chunks) == "one two three"
    assert chunks[:3] == ["one", " two", " three"]
    assert stub.requests[0]["body"]["stream"] is True


def test_astream_and_ainvoke() -> None:
    async def run(base_url: str) -> tuple[str, str]:
        llm = client(base_url)
        streamed = "".join([str(c.content) async for c in llm.astream("count")])
        whole = await llm.ainvoke("count")
        await llm.aclose()
        return streamed, str(whole.content)

    with serve(reply("four five")) as stub:
        assert asyncio.run(run(stub.base_url)) == ("four five", "four five")


def test_5xx_is_retried_then_succeeds() -> None:
    with serve(status(500), status(503), reply("ok now")) as stub:
        assert client(stub.base_url).invoke("hi").content == "ok now"
    assert len(stub.requests) == 3


def test_429_honours_retry_after() -> None:
    with serve(status(429, {"Retry-After": "0"}), reply("ok")) as stub:
        assert "".join(str(c.content) for c in client(stub.base_url).stream("hi")) == "ok"
    assert len(stub.requests) == 2


def test_persistent_500_gives_unavailable_after_retries() -> None:
    with serve(status(500)) as stub, pytest.raises(LLMUnavailableError, match="after 3 attempt"):
        client(stub.base_url).invoke("hi")
    assert len(stub.requests) == 3


def test_persistent_500_in_async_stream() -> None:
    async def run(base_url: str) -> None:
        async for _ in client(base_url, max_retries=1).astream("hi"):
            pass

    with serve(status(502)) as stub, pytest.raises(LLMUnavailableError):
        asyncio.run(run(stub.base_url))
    assert len(stub.requests) == 2


def test_connection_refused_gives_unavailable() -> None:
    llm = client(refused_url(), max_retries=1)
    with pytest.raises(LLMUnavailableError, match="ConnectError"):
        llm.invoke("hi")
    with pytest.raises(LLMUnavailableError):
        list(llm.stream("hi"))


def test_client_error_is_not_retried() -> None:
    with serve(status(400)) as stub, pytest.raises(LLMResponseError, match="HTTP 400"):
        client(stub.base_url).invoke("hi")
    assert len(stub.requests) == 1


def test_error_event_inside_the_stream() -> None:
    with serve(sse_error("context too long")) as stub, pytest.raises(
        LLMResponseError, match="context too long"
    ):
        list(client(stub.base_url).stream("hi"))


def test_read_timeout_is_a_timeout_error() -> None:
    with serve(hang) as stub, pytest.raises(LLMTimeoutError):
        client(stub.base_url, timeout=0.2).invoke("hi")


def test_slow_backend_degrades_to_the_fallback() -> None:
    cards = ["Trail Fleece", "Alpine Down Parka"]

    def fallback(error: LLMError, partial: str) -> str:
        return "Here is what I found: " + ", ".join(cards)

    with serve(hang) as stub:
        chat = ResilientChat(client(stub.base_url), fallback=fallback, first_token_timeout=0.2)
        chunks = list(chat.stream("a warm jacket"))
        reply_ = chat.invoke("a warm jacket")
    assert [c.degraded for c in chunks] == [True]
    assert chunks[0].text == "Here is what I found: Trail Fleece, Alpine Down Parka"
    assert isinstance(chunks[0].error, LLMTimeoutError)
    assert reply_.degraded and reply_.text.startswith("Here is what I found")


def test_slow_backend_degrades_in_async() -> None:
    async def run(base_url: str) -> str:
        chat = ResilientChat(client(base_url), first_token_timeout=0.2)
        reply_ = await chat.ainvoke("hi", fallback=lambda error, partial: "fallback")
        assert reply_.degraded and isinstance(reply_.error, LLMTimeoutError)
        return reply_.text

    with serve(hang) as stub:
        assert asyncio.run(run(stub.base_url)) == "fallback"


def test_down_backend_degrades_to_the_fallback() -> None:
    chat = ResilientChat(client(refused_url(), max_retries=1))
    reply_ = chat.invoke("hi", fallback=lambda error, partial: f"degraded: {type(error).__name__}")
    assert reply_ == type(reply_)(
        "degraded: LLMUnavailableError", degraded=True, error=reply_.error
    )


@pytest.mark.slow
def test_against_llama_cpp_http_server() -> None:
    """The real thing: llama.cpp's own OpenAI-compatible server, over HTTP, with SSE."""
    import xllamacpp

    key = secrets.token_urlsafe(16)
    params = xllamacpp.CommonParams()
    params.model.path = str(default_model_path())
    params.n_ctx = 512
    params.cpuparams.n_threads = params.cpuparams_batch.n_threads = 1  # see docs/llm.md
    params.hostnames, params.port, params.api_keys = ["127.0.0.1"], 0, [key]
    params.verbosity = -1
    server = xllamacpp.Server(params)
    llm = OpenAICompatibleChatModel(
        base_url=server.listening_address + "/v1", api_key=key, max_tokens=8, temperature=0
    )
    streamed = "".join(str(c.content) for c in llm.stream("Say hello."))
    whole = llm.invoke("Say hello.")
    assert streamed.strip()
    assert streamed == whole.content  # greedy decoding: same text either way
    with pytest.raises(LLMResponseError, match="401"):
        OpenAICompatibleChatModel(base_url=server.listening_address + "/v1").invoke("hi")
    llm.close()
    del server
