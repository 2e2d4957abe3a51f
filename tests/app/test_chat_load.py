"""POST /v1/chat under load and LLM outages: the circuit breaker, admission control (a
template at once when every LLM slot is busy), 503 + Retry-After when even templated turns
are over the limit, the LLM's state in /readyz and /metrics, and a disconnect stopping
the generation. Real app, real index; the LLM is a scripted HTTP backend or a slow
MockChatModel put behind the app's own ResilientChat. No timed assertions."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from generation import MockChatModel
from tests.app.test_chat import make, text_of, turn
from tests.conftest import make_settings
from tests.generation.openai_stub import serve, status


def eventually(check: Callable[[], bool], cap: float = 30.0) -> bool:
    """Poll a state until it holds; the cap only stops a broken test from hanging."""
    end = time.monotonic() + cap
    while time.monotonic() < end:
        if check():
            return True
        time.sleep(0.02)
    return check()


def metric(client: Any, line_start: str) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(line_start + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{line_start} not in /metrics")


def slow_mock(words: int = 400) -> MockChatModel:
    # Lowercase, no punctuation: the grounding check releases each word as it comes and
    # never ends the reply early, so only a cancel stops it.
    return MockChatModel(replies=[" ".join(["here are lovely picks for you"] * (words // 6))],
                         token_delay=0.02)


def test_a_dead_backend_opens_the_circuit_and_readyz_says_so(app_factory: Any,
                                                             sqlite_url: str) -> None:
    with serve(status(500)) as stub:
        c = make(app_factory, sqlite_url, llm_backend="openai", llm_base_url=stub.base_url,
                 llm_breaker_failures=2, llm_breaker_reset_seconds=600)
        ready = c.get("/readyz")
        assert ready.status_code == 200 and ready.json()["checks"]["llm"] == "ok"
        for _ in range(2):
            code, events = turn(c, c.wh, "I need a warm sweater")
            assert code == 200 and events[-1][1]["degraded"] is True
        calls = len(stub.requests)
        assert calls >= 2
        ready = c.get("/readyz")
        assert ready.status_code == 200  # chat still answers: ready, and says how
        body = ready.json()
        assert body["status"] == "degraded"
        assert body["checks"]["llm"].startswith("degraded: LLM circuit open after 2 failures")
        code, events = turn(c, c.wh, "I need a warm sweater")
        assert code == 200 and events[-1][0] == "done" and events[-1][1]["degraded"] is True
        assert "Merino Wool Crew Sweater" in text_of(events)  # the item-built reply
        assert len(stub.requests) == calls  # open circuit: the backend was not called
    assert metric(c, 'tailor_llm_circuit_state{state="open"}') >= 1
    assert metric(c, 'tailor_llm_degraded_total{reason="circuit_open"}') >= 1
    assert metric(c, 'tailor_chat_first_words_seconds_count{source="template"}') >= 3


def test_busy_slots_answer_with_the_template_at_once(app_factory: Any,
                                                     sqlite_url: str) -> None:
    c = make(app_factory, sqlite_url, llm_backend="mock", llm_parallel=1, llm_queue=0)
    chat = c.app.state.runtime.chat.chat
    chat.model = mock = slow_mock()
    held = chat.stream("someone else's turn")  # takes the only slot
    assert not next(held).degraded
    code, events = turn(c, c.wh, "I need a warm sweater")
    assert code == 200 and events[-1][1]["degraded"] is True
    assert "Merino Wool Crew Sweater" in text_of(events)
    assert len(mock.calls) == 1  # the turn never reached the model
    stats = chat.stats()
    assert stats.outcomes.get("busy") == 1 and stats.gate.rejected == 1
    held.close()
    assert eventually(lambda: chat.stats().gate.in_flight == 0 and mock.active == 0)
    assert metric(c, 'tailor_llm_degraded_total{reason="busy"}') >= 1
    assert metric(c, "tailor_llm_slots") >= 1


def test_over_the_turn_limit_is_503_with_retry_after(app_factory: Any,
                                                     sqlite_url: str) -> None:
    c = make(app_factory, sqlite_url, llm_backend="mock", chat_max_turns=2)
    limiter = c.app.state.runtime.chat_turns
    for _ in range(3):  # finished turns give their place back
        assert turn(c, c.wh, "hello")[0] == 200
    assert limiter.active == 0
    assert limiter.try_enter() and limiter.try_enter()  # two turns in progress elsewhere
    r = c.post("/v1/chat", json={"message": "hello"}, headers=c.wh)
    assert r.status_code == 503 and r.headers["retry-after"] == "1"
    assert r.json()["error"]["code"] == "unavailable"
    assert "retry" in r.json()["error"]["message"]
    limiter.leave()
    assert turn(c, c.wh, "hello")[0] == 200


def test_a_refused_prepare_gives_its_place_back(app_factory: Any, sqlite_url: str) -> None:
    c = make(app_factory, sqlite_url, llm_backend="mock", chat_max_turns=1)
    bad = c.post("/v1/chat", json={"message": "hi", "session_id": "not-a-session"},
                 headers=c.wh)
    assert bad.status_code in {404, 422}
    assert c.app.state.runtime.chat_turns.active == 0


# -- a disconnect over real HTTP (uvicorn) -------------------------------------------------


@pytest.fixture
def live_server(tmp_path: Any, sqlite_url: str) -> Iterator[tuple[str, Any]]:
    import uvicorn

    from app.main import create_app

    app = create_app(make_settings(tmp_path, sqlite_url, search_enabled=True,
                                   llm_backend="mock", llm_parallel=1,
                                   llm_first_token_timeout_seconds=60,
                                   chat_first_words_seconds=120,
                                   llm_timeout_seconds=120))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    assert eventually(lambda: server.started, cap=120)
    try:
        yield f"http://127.0.0.1:{port}", app
    finally:
        server.should_exit = True
        thread.join(30)


@pytest.mark.parametrize("silent", [True, False], ids=["before-first-words", "mid-reply"])
def test_a_disconnect_stops_the_generation(live_server: tuple[str, Any], silent: bool) -> None:
    """The shopper closes the page while the model is still thinking (nothing sent yet,
    the turn's thread is blocked waiting for the model) or while it writes: either way
    the model stops at once, and the slot and the turn's place come back."""
    from tests.app.test_search import ITEMS
    from tests.support import ADMIN_KEY

    base, app = live_server
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    with httpx.Client(base_url=base, timeout=60) as http:
        assert http.put("/v1/items", json=ITEMS, headers=admin).status_code == 200
        app.state.runtime.search.wait_ready()
        key = http.post("/v1/keys", json={"role": "widget", "name": "w"},
                        headers=admin).json()["key"]
        session = http.post("/v1/widget/session",
                            headers={"Authorization": f"Bearer {key}"}).json()
        headers = {"Authorization": f"Bearer {key}",
                   "X-Visitor-Token": session["visitor_token"]}
        rt = app.state.runtime
        chat = rt.chat.chat
        chat.model = mock = slow_mock(words=3000)
        if silent:
            mock.first_token_delay = 3600.0  # a model that would think for an hour
        with http.stream("POST", "/v1/chat", json={"message": "a warm jacket"},
                         headers=headers) as r:
            assert r.status_code == 200
            wanted = "session_id" if silent else "text"
            lines = r.iter_lines()  # held: dropping it would close the connection now
            for line in lines:
                if line.startswith("data: ") and wanted in json.loads(line[6:]):
                    break
            assert eventually(lambda: mock.active == 1)  # the model is at work ...
        # ... and the shopper closes the page.
        # Nobody reads any more: the model stops at once, not after its hour or 3000 words.
        assert eventually(lambda: mock.active == 0)
        assert eventually(lambda: chat.stats().gate.in_flight == 0)
        assert eventually(lambda: rt.chat_turns.active == 0)
        assert mock.emitted < 3000
        assert chat.stats().outcomes.get("cancelled") == 1


def test_an_overloaded_worker_skips_the_llm(app_factory: Any, sqlite_url: str) -> None:
    """Preparing the turn took longer than the first-words budget while other turns were
    in progress: the items' reply goes out at once and the model is not run at all."""
    c = make(app_factory, sqlite_url, llm_backend="mock", chat_first_words_seconds=1e-6)
    chat = c.app.state.runtime.chat.chat
    chat.model = mock = slow_mock()
    limiter = c.app.state.runtime.chat_turns
    assert limiter.try_enter()  # another turn in progress: this one finds a busy worker
    code, events = turn(c, c.wh, "I need a warm sweater")
    limiter.leave()
    assert code == 200 and events[-1][1]["degraded"] is True
    assert "Merino Wool Crew Sweater" in text_of(events)
    assert mock.calls == [] and chat.stats().outcomes == {"busy": 1}
