"""What the chat can take, and what it reports about it.

* :class:`TurnLimiter`: chat turns in progress per worker. Over the limit a turn gets 503
  with Retry-After at once: the LLM already degrades to templates under load (its own
  admission gate), so this is the point where even templated turns would queue.
* :func:`llm_status`: the LLM line of ``/readyz``.
* Prometheus metrics: time to first words per turn (LLM or template), the LLM's time to
  first token, and a collector that reads each live ``ResilientChat``'s state at scrape
  time (circuit state, slots in use, waiting, replies and degraded turns by reason).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable, Iterator

from prometheus_client import REGISTRY, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from generation.llm import ResilientChat

__all__ = ["FIRST_WORDS", "LLM_FIRST_TOKEN", "TURNS_REJECTED", "TurnLimiter", "llm_status",
           "watch"]

_BUCKETS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 8.0, 15.0)
FIRST_WORDS = Histogram("tailor_chat_first_words_seconds",
                        "Request received to the reply's first words, by where they came "
                        "from (llm or template)", ["source"], buckets=_BUCKETS)
LLM_FIRST_TOKEN = Histogram("tailor_llm_first_token_seconds",
                            "LLM call started to its first token (admitted calls only)",
                            buckets=_BUCKETS)
TURNS_REJECTED = Counter("tailor_chat_turns_rejected_total",
                         "Chat turns refused with 503 because the worker was at its limit")


class TurnLimiter:
    """A non-blocking counter of chat turns in progress (thread-safe)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._active = 0

    @property
    def active(self) -> int:
        return self._active

    def try_enter(self) -> bool:
        with self._lock:
            if self._active >= self.limit:
                return False
            self._active += 1
            return True

    def leave(self) -> None:
        with self._lock:
            self._active = max(0, self._active - 1)


def llm_status(chat: ResilientChat) -> str:
    """"ok", or "degraded: ..." when replies come from templates for now (the chat still
    answers, so readiness holds; the text says why and until when)."""
    breaker = chat.stats().breaker
    if breaker is None or breaker.state == "closed":
        return "ok"
    if breaker.state == "half_open":
        return f"degraded: LLM circuit half-open, probing the backend ({breaker.last_error})"
    return (f"degraded: LLM circuit open after {breaker.consecutive_failures} failures "
            f"({breaker.last_error}); replies use templates; next probe in "
            f"{breaker.retry_in:.0f}s")


_chats: weakref.WeakSet[ResilientChat] = weakref.WeakSet()
_limiters: weakref.WeakSet[TurnLimiter] = weakref.WeakSet()


def watch(chat: ResilientChat, limiter: TurnLimiter | None = None) -> None:
    """Report this chat (and its turn limiter) in /metrics for as long as it lives."""
    _chats.add(chat)
    if limiter is not None:
        _limiters.add(limiter)


class _ChatCollector(Collector):
    """Sums over the live chats of this process (one per worker app; tests build many)."""

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        chats = [c.stats() for c in list(_chats)]
        state = GaugeMetricFamily("tailor_llm_circuit_state",
                                  "LLM circuit breakers in each state", labels=["state"])
        for name in ("closed", "open", "half_open"):
            state.add_metric([name], sum(1 for s in chats if s.breaker and
                                         s.breaker.state == name))
        yield state
        yield _gauge("tailor_llm_slots", "LLM generation slots (admission gate size)",
                     (s.gate.slots for s in chats if s.gate))
        yield _gauge("tailor_llm_in_flight", "LLM generations running now",
                     (s.gate.in_flight for s in chats if s.gate))
        yield _gauge("tailor_llm_queued", "Turns waiting for an LLM slot now",
                     (s.gate.waiting for s in chats if s.gate))
        yield _gauge("tailor_chat_turns_in_progress", "Chat turns being answered now",
                     (lim.active for lim in list(_limiters)))
        replies = CounterMetricFamily("tailor_llm_replies", "Replies whose first token came "
                                      "from the LLM")
        replies.add_metric([], sum(s.replies for s in chats))
        yield replies
        degraded = CounterMetricFamily("tailor_llm_degraded", "Turns answered (in full or "
                                       "in part) without the LLM, by reason", labels=["reason"])
        for reason in ("circuit_open", "busy", "timeout", "unavailable", "response_error",
                       "cancelled"):
            degraded.add_metric([reason], sum(s.outcomes.get(reason, 0) for s in chats))
        yield degraded
        opened = CounterMetricFamily("tailor_llm_circuit_opened", "Times the LLM circuit "
                                     "opened")
        opened.add_metric([], sum(s.breaker.opened for s in chats if s.breaker))
        yield opened


def _gauge(name: str, doc: str, values: Iterable[int]) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, value=sum(values))


REGISTRY.register(_ChatCollector())
