"""Admission control, the circuit breaker and cancellation around a chat model.

Real components: a scripted OpenAI-compatible HTTP server (openai_stub) for failing and
hanging backends, MockChatModel for slow streams. No timed assertions: states and counts
are polled until they settle (with a generous cap), never compared with durations.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest

from generation import LLMError, LLMTimeoutError, LLMUnavailableError, MockChatModel
from generation.errors import CircuitOpenError, LLMOverloadedError
from generation.llm import (
    AdmissionGate,
    CancelToken,
    CircuitBreaker,
    OpenAICompatibleChatModel,
    ReplyChunk,
    ResilientChat,
)
from tests.generation.openai_stub import hang, refused_url, reply, serve, status


def template(error: LLMError, partial: str) -> str:
    return "Here is what I found: Trail Fleece."


def eventually(check: Callable[[], bool], cap: float = 20.0) -> bool:
    """Poll a state until it holds; the cap only stops a broken test from hanging."""
    end = time.monotonic() + cap
    while time.monotonic() < end:
        if check():
            return True
        time.sleep(0.01)
    return check()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# -- the breaker on its own --------------------------------------------------------------


def test_breaker_opens_after_consecutive_failures_and_probes_once() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=3, reset_timeout=30, clock=clock)
    for _ in range(2):
        assert breaker.allow() == "call"
        breaker.failure("down")
    assert breaker.allow() == "call"
    breaker.success()  # a success in between resets the count
    for _ in range(3):
        breaker.failure("down")
    assert breaker.state == "open" and breaker.allow() is None
    assert breaker.stats().retry_in == 30 and breaker.stats().opened == 1
    clock.now += 30
    assert breaker.state == "half_open"
    assert breaker.allow() == "probe"
    assert breaker.allow() is None  # one probe at a time
    breaker.failure("still down")
    assert breaker.state == "open" and breaker.stats().opened == 2
    clock.now += 30
    assert breaker.allow() == "probe"
    breaker.abandon("probe")  # the shopper left: no verdict, the next caller probes
    assert breaker.allow() == "probe"
    breaker.success()
    assert breaker.state == "closed" and breaker.allow() == "call"


# -- the breaker around a real failing HTTP backend ----------------------------------------


def client(base_url: str, **kw: object) -> OpenAICompatibleChatModel:
    return OpenAICompatibleChatModel(base_url=base_url, backoff=0.01, max_tokens=16,
                                     **kw)  # type: ignore[arg-type]


def test_breaker_stops_calling_a_failing_backend_then_a_probe_closes_it() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=2, reset_timeout=30, clock=clock)
    with serve(status(500), status(500), reply("Back again.")) as stub:
        chat = ResilientChat(client(stub.base_url, max_retries=0), breaker=breaker,
                             fallback=template)
        for _ in range(2):
            failed = chat.invoke("hi")
            assert failed.degraded and isinstance(failed.error, LLMUnavailableError)
        assert breaker.state == "open" and len(stub.requests) == 2
        for _ in range(5):  # open: answered from the template, the backend is not called
            skipped = chat.invoke("hi")
            assert skipped.degraded and isinstance(skipped.error, CircuitOpenError)
            assert skipped.text == "Here is what I found: Trail Fleece."
        assert len(stub.requests) == 2
        clock.now += 30
        probe = chat.invoke("hi")
        assert not probe.degraded and probe.text == "Back again."
        assert breaker.state == "closed" and len(stub.requests) == 3
    stats = chat.stats()
    assert stats.replies == 1
    assert stats.outcomes == {"unavailable": 2, "circuit_open": 5}


def test_a_refused_port_opens_the_breaker() -> None:
    breaker = CircuitBreaker(failure_threshold=2, reset_timeout=60)
    chat = ResilientChat(client(refused_url(), max_retries=0), breaker=breaker,
                         fallback=template)
    errors = [chat.invoke("hi").error for _ in range(4)]
    assert [type(e) for e in errors] == [LLMUnavailableError, LLMUnavailableError,
                                         CircuitOpenError, CircuitOpenError]
    assert "ConnectError" in breaker.stats().last_error


def test_a_silent_backend_counts_as_failing_and_its_connection_is_shut() -> None:
    """A backend that accepts and never answers: each turn's first-token deadline is a
    failure, and the abandoned request does not keep its slot until the read timeout."""
    gate = AdmissionGate(1)
    breaker = CircuitBreaker(failure_threshold=2, reset_timeout=60)
    with serve(hang) as stub:
        chat = ResilientChat(client(stub.base_url, timeout=120), gate=gate, breaker=breaker,
                             first_token_timeout=0.2, fallback=template)
        first = chat.invoke("hi")
        assert first.degraded and isinstance(first.error, LLMTimeoutError)
        # The socket was shut down on cancel: the helper thread ends, the slot comes back.
        assert eventually(lambda: gate.stats().in_flight == 0)
        second = chat.invoke("hi")  # the slot is free again: not turned away as busy
        assert isinstance(second.error, LLMTimeoutError)
        assert breaker.state == "open"
        assert isinstance(chat.invoke("hi").error, CircuitOpenError)
        assert len(stub.requests) == 2


# -- admission control ------------------------------------------------------------------


def slow_mock() -> MockChatModel:
    return MockChatModel(replies=["one two three four five six seven eight nine ten"],
                         token_delay=0.05)


def test_a_full_gate_answers_with_the_template_at_once() -> None:
    mock = slow_mock()
    gate = AdmissionGate(1, queue=0, wait=0)
    chat = ResilientChat(mock, gate=gate, fallback=template)
    first = chat.stream("a")
    assert next(first).text == "one"  # holds the only slot
    busy = list(chat.stream("b"))
    assert [c.degraded for c in busy] == [True]
    assert isinstance(busy[0].error, LLMOverloadedError)
    assert busy[0].text == "Here is what I found: Trail Fleece."
    assert len(mock.calls) == 1  # the second turn never reached the model
    first.close()
    assert eventually(lambda: gate.stats().in_flight == 0 and mock.active == 0)
    assert not chat.invoke("c").degraded
    stats = chat.stats()
    assert stats.outcomes == {"busy": 1} and stats.gate is not None
    assert (stats.gate.admitted, stats.gate.rejected) == (2, 1)


def test_a_short_queue_waits_for_a_slot() -> None:
    mock = slow_mock()
    gate = AdmissionGate(1, queue=1, wait=60)
    chat = ResilientChat(mock, gate=gate, fallback=template)
    first = chat.stream("a")
    next(first)
    results: list[list[ReplyChunk]] = []
    waiter = threading.Thread(target=lambda: results.append(list(chat.stream("b"))))
    waiter.start()
    assert eventually(lambda: gate.stats().waiting == 1)
    # The queue holds one: a third caller is turned away at once.
    third = chat.invoke("c")
    assert third.degraded and isinstance(third.error, LLMOverloadedError)
    first.close()
    waiter.join()
    assert not any(c.degraded for c in results[0])
    assert "".join(c.text for c in results[0]).startswith("one two")


def test_gate_rejects_bad_sizes() -> None:
    with pytest.raises(ValueError):
        AdmissionGate(0)


# -- cancellation -------------------------------------------------------------------------


def test_an_outside_cancel_stops_the_model_and_frees_the_slot() -> None:
    mock = MockChatModel(replies=[" ".join(["word"] * 500)], token_delay=0.02)
    gate = AdmissionGate(1)
    chat = ResilientChat(mock, gate=gate, fallback=template)
    cancel = CancelToken()
    seen: list[ReplyChunk] = []

    def read() -> None:
        seen.extend(chat.stream("hi", cancel=cancel))

    reader = threading.Thread(target=read)
    reader.start()
    assert eventually(lambda: len(seen) >= 2)
    cancel.cancel()  # e.g. the shopper closed the page
    reader.join()
    assert eventually(lambda: mock.active == 0 and gate.stats().in_flight == 0)
    assert not any(c.degraded for c in seen)  # nobody listens: no template either
    assert len(seen) < 500 and chat.stats().outcomes == {"cancelled": 1}


def test_a_deadline_stops_the_model_too() -> None:
    mock = MockChatModel(replies=[" ".join(["word"] * 500)], token_delay=0.02)
    gate = AdmissionGate(1)
    chat = ResilientChat(mock, gate=gate, fallback=template, total_timeout=0.3)
    reply_ = chat.invoke("hi")
    assert reply_.degraded and isinstance(reply_.error, LLMTimeoutError)
    assert eventually(lambda: mock.active == 0 and gate.stats().in_flight == 0)


def test_cancel_token_runs_callbacks_once_and_late_ones_at_once() -> None:
    token = CancelToken()
    calls: list[str] = []
    unregister = token.on_cancel(lambda: calls.append("a"))
    token.on_cancel(lambda: calls.append("b"))
    unregister()
    token.cancel()
    token.cancel()
    token.on_cancel(lambda: calls.append("late"))
    assert calls == ["b", "late"] and token.cancelled


@pytest.fixture
def http_threads() -> Iterator[Callable[[], int]]:
    def count() -> int:
        return sum(1 for t in threading.enumerate() if t.name == "tailor-resilient-chat")

    yield count


def test_no_helper_thread_outlives_an_abandoned_http_reply(
        http_threads: Callable[[], int]) -> None:
    before = http_threads()
    with serve(hang) as stub:
        chat = ResilientChat(client(stub.base_url, timeout=120), first_token_timeout=0.1,
                             fallback=template)
        for _ in range(3):
            assert chat.invoke("hi").degraded
        assert eventually(lambda: http_threads() == before)


def test_the_callers_first_words_budget() -> None:
    """A budget for the first words (the shopper is waiting): a slow start ends with the
    template and counts as a timeout; a budget already spent does not call the model."""
    breaker = CircuitBreaker(failure_threshold=2, reset_timeout=60)
    mock = MockChatModel(first_token_delay=600)
    chat = ResilientChat(mock, breaker=breaker, gate=AdmissionGate(1), fallback=template,
                         first_token_timeout=900)
    late = chat.invoke("hi", first_words_by=time.monotonic() + 0.1)
    assert late.degraded and isinstance(late.error, LLMTimeoutError)
    assert "first-words budget" in str(late.error)
    assert breaker.stats().consecutive_failures == 1
    assert eventually(lambda: mock.active == 0)  # and the slow start was stopped
    spent = chat.invoke("hi", first_words_by=time.monotonic() - 1)  # nothing left at all
    assert spent.degraded and isinstance(spent.error, LLMOverloadedError)
    assert len(mock.calls) == 1  # the second never reached the model ...
    assert breaker.stats().consecutive_failures == 1  # ... nor was it blamed
    assert chat.stats().outcomes == {"timeout": 1, "busy": 1}
