"""EmbeddedChatModel with the real packaged SmolLM2-135M GGUF, loaded once per module."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest
from langchain_core.messages import AIMessage, HumanMessage

from generation import (
    EmbeddedChatModel,
    LLMResponseError,
    LLMUnavailableError,
    ResilientChat,
    default_model_path,
    load_prompt,
)


@pytest.fixture(scope="module")
def llm() -> Iterator[EmbeddedChatModel]:
    # Greedy decoding and few tokens: fast, and the same prompt gives the same text.
    yield EmbeddedChatModel(n_threads=1, n_ctx=512, max_tokens=16, temperature=0.0, seed=7).load()


def test_default_model_ships_in_the_wheel() -> None:
    path = default_model_path()
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and path.stat().st_size > 50_000_000


def test_invoke_returns_text_and_usage(llm: EmbeddedChatModel) -> None:
    message = llm.invoke("Hello! Who are you?")
    assert isinstance(message, AIMessage)
    assert isinstance(message.content, str) and message.content.strip()
    assert message.usage_metadata is not None
    assert 0 < message.usage_metadata["output_tokens"] <= 16
    assert message.response_metadata["finish_reason"] in {"stop", "length"}


def test_stream_yields_tokens_matching_invoke(llm: EmbeddedChatModel) -> None:
    chunks = [chunk.content for chunk in llm.stream("Name a colour.")]
    assert sum(1 for c in chunks if c) >= 1
    assert "".join(str(c) for c in chunks) == llm.invoke("Name a colour.").content


def test_astream(llm: EmbeddedChatModel) -> None:
    async def run() -> str:
        return "".join([str(chunk.content) async for chunk in llm.astream("Name a fruit.")])

    assert asyncio.run(run()) == llm.invoke("Name a fruit.").content


def test_per_call_options_reach_the_model(llm: EmbeddedChatModel) -> None:
    message = llm.invoke("Tell me a long story about a shop.", max_tokens=3)
    assert message.usage_metadata is not None and message.usage_metadata["output_tokens"] <= 3


def test_configurations_share_one_loaded_model(llm: EmbeddedChatModel) -> None:
    same = EmbeddedChatModel(n_threads=1, n_ctx=512, max_tokens=4, temperature=1.0)
    assert same.server is llm.server


def test_stopping_a_stream_early_frees_the_model(llm: EmbeddedChatModel) -> None:
    for index, _ in enumerate(llm.stream("Count from one to fifty.", max_tokens=64)):
        if index == 1:
            break
    assert str(llm.invoke("Say hi.").content).strip()


def test_concurrent_callers(llm: EmbeddedChatModel) -> None:
    replies: dict[int, str] = {}

    def ask(i: int) -> None:
        replies[i] = str(llm.invoke([HumanMessage(f"Say the number {i}.")], max_tokens=6).content)

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(replies) == [0, 1, 2] and all(replies.values())


def test_prompt_too_long_for_the_context_is_a_response_error(llm: EmbeddedChatModel) -> None:
    with pytest.raises(LLMResponseError, match="context"):
        llm.invoke("word " * 2000)
    with pytest.raises(LLMResponseError, match="context"):
        list(llm.stream("word " * 2000))


def test_missing_model_file_is_unavailable(tmp_path: object) -> None:
    with pytest.raises(LLMUnavailableError, match="not found"):
        EmbeddedChatModel(model_path="/nonexistent/model.gguf").invoke("hi")


def test_rendered_prompt_through_resilient_chat(llm: EmbeddedChatModel) -> None:
    prompt = load_prompt("chat_reply").render(
        message="I need a warm jacket.", products=[{"name": "Alpine Down Parka", "price": 189}]
    )
    reply = ResilientChat(llm, fallback=lambda error, partial: "fallback").invoke(
        prompt.to_messages()
    )
    assert not reply.degraded and reply.error is None and reply.text.strip()


def test_avoid_words_are_never_written(llm: EmbeddedChatModel) -> None:
    from generation import make_chat_model

    ask = [HumanMessage("My dog died yesterday. What do you say to me?")]
    free = make_chat_model(backend="embedded", n_threads=1, n_ctx=512, max_tokens=24,
                           temperature=0.0, seed=7)
    banned = make_chat_model(backend="embedded", n_threads=1, n_ctx=512, max_tokens=24,
                             temperature=0.0, seed=7, avoid_words=("sorry",))
    assert banned.extra_body["cache_prompt"] is True  # type: ignore[attr-defined]
    assert "sorry" in str(free.invoke(ask).content).lower()  # what the ban is for
    reply = str(banned.invoke(ask).content)
    assert reply.strip() and "sorry" not in reply.lower()


def _settled(check: object, cap: float = 30.0) -> bool:
    """Poll until ``check()`` holds; the cap only stops a broken test from hanging."""
    import time

    end = time.monotonic() + cap
    while time.monotonic() < end:
        if check():  # type: ignore[operator]
            return True
        time.sleep(0.02)
    return bool(check())  # type: ignore[operator]


def test_an_abandoned_reply_frees_its_llama_cpp_slot(llm: EmbeddedChatModel) -> None:
    """The shopper leaves mid-reply: decoding stops (llama.cpp reports no request left)
    and no helper thread keeps running."""
    from generation.llm import AdmissionGate, CancelToken

    def helpers() -> int:
        return sum(1 for t in threading.enumerate()
                   if t.name in {"tailor-resilient-chat", "tailor-llamacpp-stream"})

    before = helpers()
    gate = AdmissionGate(1)
    chat = ResilientChat(llm, gate=gate, fallback=lambda error, partial: "template")
    cancel = CancelToken()
    stream = chat.stream("Count from one to two hundred.", cancel=cancel, max_tokens=400)
    next(stream)
    assert llm.slot_usage()["processing"] == 1
    cancel.cancel()
    assert list(stream) == []  # nobody is listening: no template either
    assert _settled(lambda: llm.slot_usage() == {"processing": 0, "deferred": 0})
    assert _settled(lambda: helpers() == before and gate.stats().in_flight == 0)


def test_parallel_slots_decode_together() -> None:
    """n_parallel slots with continuous batching: two replies decode at once, none waits
    in llama.cpp's queue."""
    model = EmbeddedChatModel(n_threads=1, n_ctx=512, parallel=2, max_tokens=200,
                              temperature=0.0)
    first = model.stream("Count from one to a hundred.")
    second = model.stream("Name every colour you know.")
    next(first), next(second)
    assert model.slot_usage() == {"processing": 2, "deferred": 0}
    first.close()
    second.close()
    assert _settled(lambda: model.slot_usage()["processing"] == 0)
