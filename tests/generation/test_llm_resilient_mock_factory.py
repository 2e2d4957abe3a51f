"""ResilientChat degradation, MockChatModel (the boundary's test double) and the factory."""

from __future__ import annotations

import asyncio

import pytest
from langchain_core.messages import BaseMessage, HumanMessage
from pydantic import SecretStr

from generation import (
    EmbeddedChatModel,
    LLMError,
    LLMSettings,
    LLMTimeoutError,
    LLMUnavailableError,
    MissingVariableError,
    MockChatModel,
    OpenAICompatibleChatModel,
    ReplyChunk,
    ResilientChat,
    make_chat_model,
)


def cards(error: LLMError, partial: str) -> str:
    prefix = " ... " if partial else ""
    return prefix + "Here are some picks: Trail Fleece, Alpine Down Parka."


def test_mock_streams_its_script_and_records_calls() -> None:
    mock = MockChatModel(replies=["first reply", "second"])
    assert mock.invoke("a").content == "first reply"
    assert [c.content for c in mock.stream([HumanMessage("b")]) if c.content] == ["second"]
    assert mock.invoke("c").content == "first reply"
    assert [m[0].content for m in mock.calls] == ["a", "b", "c"]


def test_mock_respond_callable_and_async() -> None:
    def echo(messages: list[BaseMessage]) -> str:
        return f"you said {messages[-1].content}"

    mock = MockChatModel(respond=echo)

    async def run() -> str:
        return "".join([str(c.content) async for c in mock.astream("hi there")])

    assert asyncio.run(run()) == "you said hi there"


def test_healthy_model_is_passed_through() -> None:
    chat = ResilientChat(MockChatModel(replies=["All good here."]), fallback=cards)
    chunks = list(chat.stream("hi"))
    assert "".join(c.text for c in chunks) == "All good here."
    assert not any(c.degraded for c in chunks)
    assert chat.invoke("hi").degraded is False


def test_backend_error_before_any_token_gives_the_fallback() -> None:
    chat = ResilientChat(MockChatModel(error=LLMUnavailableError("down")), fallback=cards)
    reply = chat.invoke("hi")
    assert reply.degraded and reply.text == "Here are some picks: Trail Fleece, Alpine Down Parka."
    assert isinstance(reply.error, LLMUnavailableError)


def test_error_mid_stream_keeps_the_partial_text() -> None:
    seen: list[str] = []

    def fallback(error: LLMError, partial: str) -> str:
        seen.append(partial)
        return cards(error, partial)

    mock = MockChatModel(
        replies=["one two three four"], error=LLMUnavailableError("reset"), error_after_tokens=2
    )
    chunks = list(ResilientChat(mock, fallback=fallback).stream("hi"))
    assert [c.degraded for c in chunks] == [False, False, True]
    assert seen == ["one two"]
    assert "".join(c.text for c in chunks).startswith("one two ... Here are some picks")


def test_foreign_exceptions_count_as_unavailable() -> None:
    chat = ResilientChat(MockChatModel(error=ConnectionResetError("peer")), fallback=cards)
    reply = chat.invoke("hi")
    assert reply.degraded and isinstance(reply.error, LLMUnavailableError)
    assert isinstance(reply.error.__cause__, ConnectionResetError)


def test_without_a_fallback_the_error_propagates() -> None:
    chat = ResilientChat(MockChatModel(error=LLMUnavailableError("down")))
    with pytest.raises(LLMUnavailableError):
        chat.invoke("hi")


def test_prompt_errors_are_bugs_and_propagate() -> None:
    chat = ResilientChat(MockChatModel(error=MissingVariableError("products")), fallback=cards)
    with pytest.raises(MissingVariableError):
        chat.invoke("hi")


def test_first_token_timeout() -> None:
    chat = ResilientChat(MockChatModel(first_token_delay=1.0), fallback=cards,
                         first_token_timeout=0.05)
    reply = chat.invoke("hi")
    assert reply.degraded and isinstance(reply.error, LLMTimeoutError)
    assert "first token" in str(reply.error)


def test_total_timeout_mid_stream_async() -> None:
    mock = MockChatModel(replies=["a b c d e f g h"], token_delay=0.5)
    chat = ResilientChat(mock, first_token_timeout=None, total_timeout=0.2)

    async def run() -> list[ReplyChunk]:
        return [c async for c in chat.astream("hi", fallback=cards)]

    chunks = asyncio.run(run())
    assert chunks[0] == ReplyChunk("a")
    assert chunks[-1].degraded and isinstance(chunks[-1].error, LLMTimeoutError)
    assert "not finished" in str(chunks[-1].error)


def test_async_error_gives_the_fallback() -> None:
    chat = ResilientChat(MockChatModel(error=LLMUnavailableError("down")), fallback=cards)
    reply = asyncio.run(chat.ainvoke("hi"))
    assert reply.degraded and isinstance(reply.error, LLMUnavailableError)


def test_factory_builds_each_backend_without_loading_anything() -> None:
    embedded = make_chat_model()
    assert isinstance(embedded, EmbeddedChatModel) and embedded.max_tokens == 256
    remote = make_chat_model(
        {"backend": "openai", "base_url": "http://127.0.0.1:9/v1", "api_key": "k", "model": "m"},
        max_tokens=32,
    )
    assert isinstance(remote, OpenAICompatibleChatModel)
    assert (remote.model, remote.max_tokens, remote.api_key) == ("m", 32, SecretStr("k"))
    assert isinstance(make_chat_model(LLMSettings(backend="mock")), MockChatModel)


def test_factory_reads_settings_like_objects() -> None:
    class AppSettings:  # e.g. a pydantic-settings object with more fields than ours
        backend = "embedded"
        n_threads = 1
        temperature = 0.0
        database_url = "sqlite://"

    model = make_chat_model(AppSettings())
    assert isinstance(model, EmbeddedChatModel)
    assert (model.n_threads, model.temperature) == (1, 0.0)


def test_factory_rejects_bad_settings() -> None:
    with pytest.raises(ValueError, match="backend"):
        make_chat_model({"backend": "gpt"})
    with pytest.raises(ValueError, match="temprature"):
        make_chat_model({"temprature": 0.1})
    with pytest.raises(ValueError, match="max_tokens"):
        make_chat_model(max_tokens=0)
    with pytest.raises(LLMUnavailableError, match="base_url"):
        make_chat_model({"backend": "openai"})


def test_callbacks_see_each_token_once() -> None:
    from langchain_core.callbacks import BaseCallbackHandler

    class Tokens(BaseCallbackHandler):
        def __init__(self) -> None:
            self.tokens: list[str] = []

        def on_llm_new_token(self, token: str, **kwargs: object) -> None:
            self.tokens.append(token)

    handler = Tokens()
    mock = MockChatModel(replies=["red green blue"])
    list(mock.stream("colours", config={"callbacks": [handler]}))
    assert [t for t in handler.tokens if t] == ["red", " green", " blue"]
