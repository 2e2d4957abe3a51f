"""``CircuitBreaker``: stop calling an LLM backend that keeps failing, probe it to come back.

States (the classic three):

* ``closed``: calls go through; ``failure_threshold`` consecutive failures open it.
* ``open``: calls are refused at once (the chat answers with its template, no connect
  attempt) for ``reset_timeout`` seconds.
* ``half_open``: one probe call is let through; its success closes the breaker, its
  failure opens it for another ``reset_timeout``. Other callers are refused meanwhile.

A failure is the backend being down or too slow (the caller decides: ``ResilientChat``
counts :class:`LLMUnavailableError` and :class:`LLMTimeoutError`); a success is the first
token. A call abandoned before either (the shopper left) is no verdict: a probe abandoned
that way lets the next caller probe.

No library: pybreaker and friends wrap a function call, but a streamed reply succeeds at
its first token and fails or is abandoned much later, on another thread.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

__all__ = ["BreakerStats", "CircuitBreaker", "Pass", "State"]

State = Literal["closed", "open", "half_open"]
Pass = Literal["call", "probe"]


@dataclass(frozen=True)
class BreakerStats:
    state: State
    consecutive_failures: int
    opened: int
    """Times the breaker opened, since start."""
    retry_in: float
    """Seconds until the next probe may go through (0 unless open)."""
    last_error: str


class CircuitBreaker:
    """Thread-safe; ``clock`` is injectable so tests step time instead of sleeping."""

    def __init__(self, failure_threshold: int = 3, reset_timeout: float = 30.0, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if failure_threshold < 1 or reset_timeout <= 0:
            raise ValueError("failure_threshold must be >= 1 and reset_timeout > 0")
        self.failure_threshold = failure_threshold
        self.reset_timeout = reset_timeout
        self._clock = clock
        self._lock = threading.Lock()
        self._state: State = "closed"
        self._failures = 0
        self._opened = 0
        self._opened_at = 0.0
        self._probing = False
        self._last_error = ""

    @property
    def state(self) -> State:
        with self._lock:
            return self._current()

    def _current(self) -> State:
        if self._state == "open" and self._clock() - self._opened_at >= self.reset_timeout:
            self._state = "half_open"
        return self._state

    def allow(self) -> Pass | None:
        """May a call go to the backend now? None if not; in half-open, one probe only."""
        with self._lock:
            state = self._current()
            if state == "closed":
                return "call"
            if state == "half_open" and not self._probing:
                self._probing = True
                return "probe"
            return None

    def success(self) -> None:
        with self._lock:
            self._failures = 0
            self._probing = False
            self._state = "closed"

    def failure(self, reason: str = "") -> None:
        with self._lock:
            self._last_error = reason[:200]
            self._failures += 1
            state = self._current()
            if state == "half_open" or (state == "closed"
                                        and self._failures >= self.failure_threshold):
                self._state = "open"
                self._opened += 1
                self._opened_at = self._clock()
            self._probing = False

    def abandon(self, granted: Pass) -> None:
        """A call ended with no verdict; if it was the probe, the next caller probes."""
        if granted == "probe":
            with self._lock:
                self._probing = False

    def stats(self) -> BreakerStats:
        with self._lock:
            state = self._current()
            retry_in = (max(0.0, self._opened_at + self.reset_timeout - self._clock())
                        if state == "open" else 0.0)
            return BreakerStats(state, self._failures, self._opened, retry_in,
                                self._last_error)
