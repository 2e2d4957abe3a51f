"""Per-worker snapshots of small tables every decision reads (active offers, running
experiments): reused for `ttl` seconds. A write in this worker bumps the generation so its
own next decision reloads at once; other workers see a change within `ttl`."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

from sqlalchemy.orm import Session

T = TypeVar("T")
_generation = [0]


def changed() -> None:
    _generation[0] += 1


class Snapshot(Generic[T]):
    def __init__(self, load: Callable[[Session], T], ttl: float = 1.0) -> None:
        self.load, self.ttl = load, ttl
        self._lock = threading.Lock()
        self._at = float("-inf")
        self._gen = -1
        self._value: T | None = None

    def get(self, db: Session) -> T:
        now = time.monotonic()
        with self._lock:
            if self._value is None or self._gen != _generation[0] or now - self._at > self.ttl:
                gen = _generation[0]
                self._value = self.load(db)
                self._at, self._gen = now, gen
            return self._value
