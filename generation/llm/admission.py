"""``AdmissionGate``: at most ``slots`` generations at once, a short bounded wait for more.

An LLM on the same CPUs as the API slows every request when oversubscribed, and a
request queued inside llama.cpp cannot even be cancelled until it reaches a slot. So the
gate sits in front of the backend: a caller gets a slot at once, or waits in a queue of
at most ``queue`` callers for at most ``wait`` seconds, or is turned away at once. A turned
away chat turn answers with its planned template reply instead: fast first words beat a
model reply that arrives after the shopper has gone.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

__all__ = ["AdmissionGate", "GateStats"]


@dataclass(frozen=True)
class GateStats:
    slots: int
    queue: int
    in_flight: int
    waiting: int
    admitted: int
    """Callers that got a slot (at once or after waiting), since start."""
    rejected: int
    """Callers turned away: queue full, or no slot within ``wait``."""


class AdmissionGate:
    """A counting semaphore with a bounded, time-limited wait queue (thread-safe)."""

    def __init__(self, slots: int, *, queue: int = 0, wait: float = 0.0) -> None:
        if slots < 1 or queue < 0 or wait < 0:
            raise ValueError("slots must be >= 1, queue and wait >= 0")
        self.slots, self.queue, self.wait = slots, queue, wait
        self._cond = threading.Condition()
        self._in_flight = self._waiting = self._admitted = self._rejected = 0

    def try_acquire(self, wait: float | None = None) -> bool:
        """Take a slot; False if none frees up in time (the caller must not wait longer).

        ``wait`` overrides the gate's default budget for this call (e.g. what is left of
        the caller's own deadline).
        """
        budget = self.wait if wait is None else min(wait, self.wait)
        with self._cond:
            if self._in_flight < self.slots and self._waiting == 0:
                return self._admit()
            if self._waiting >= self.queue or budget <= 0:
                self._rejected += 1
                return False
            self._waiting += 1
            deadline = time.monotonic() + budget
            try:
                while self._in_flight >= self.slots:
                    left = deadline - time.monotonic()
                    if left <= 0 or not self._cond.wait(left):
                        if self._in_flight < self.slots:
                            break  # freed just as the wait ended
                        self._rejected += 1
                        return False
            finally:
                self._waiting -= 1
            return self._admit()

    def _admit(self) -> bool:
        self._in_flight += 1
        self._admitted += 1
        return True

    def release(self) -> None:
        with self._cond:
            if self._in_flight <= 0:
                raise RuntimeError("release() without a matching acquire")
            self._in_flight -= 1
            self._cond.notify()

    def stats(self) -> GateStats:
        with self._cond:
            return GateStats(self.slots, self.queue, self._in_flight, self._waiting,
                             self._admitted, self._rejected)
