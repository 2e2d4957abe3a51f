"""A shared/exclusive lock for the model's in-memory catalog and population.

Scoring and learning only *read* the item table and the population weights; changing the
catalog or swapping in a newly trained prior *writes* them. Readers run together (numpy
releases the GIL for the large products), a writer runs alone, and a waiting writer stops
new readers from entering so a stream of requests cannot starve a catalog update.

Not re-entrant: take it once, at a public entry point, and never around I/O (state loads,
saves and retry sleeps happen outside, protected by the store's optimistic versions).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class SharedLock:
    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._readers = 0
        self._writing = False
        self._writers_waiting = 0

    @contextmanager
    def read(self) -> Iterator[None]:
        with self._cond:
            while self._writing or self._writers_waiting:
                self._cond.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                if self._readers == 0:
                    self._cond.notify_all()

    @contextmanager
    def write(self) -> Iterator[None]:
        with self._cond:
            self._writers_waiting += 1
            try:
                while self._writing or self._readers:
                    self._cond.wait()
            finally:
                self._writers_waiting -= 1
            self._writing = True
        try:
            yield
        finally:
            with self._cond:
                self._writing = False
                self._cond.notify_all()
