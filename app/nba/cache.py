"""Per-worker snapshots of small tables every decision reads (active offers, running
experiments, active journeys), reused while their scope's cache version (app/db/versions.py)
is unchanged. The version is bumped in the transaction of every write, so a snapshot is
never older than the last commit, in this worker or any other; reading it costs one small
query per decision (`versions.read`, shared by all snapshots)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from sqlalchemy.orm import Session

from app.db import versions as cache_versions

T = TypeVar("T")


def changed() -> None:
    """Kept for callers that announce a write: the version bump in their transaction is
    what invalidates now."""


class Snapshot(Generic[T]):
    def __init__(self, load: Callable[[Session], T], scope: str) -> None:
        self.load, self.scope = load, scope
        self._lock = threading.Lock()
        self._version: int | None = None
        self._value: T | None = None

    def get(self, db: Session, versions: dict[str, int] | None = None) -> T:
        """The snapshot for `versions` (read now when not given). Read the versions before
        the data: a write committed in between then only makes the next call reload."""
        if versions is None:
            versions = cache_versions.read(db)
        version = versions.get(self.scope)
        with self._lock:
            if version is not None and self._value is not None and self._version == version:
                return self._value
        value = self.load(db)
        with self._lock:
            self._value, self._version = value, version
        return value


class VersionedMap(Generic[T]):
    """Per-worker values by key (an item's price and cost), loaded for the keys missing and
    dropped as a whole when their scope's version moves."""

    def __init__(self, load_many: Callable[[Session, list[str]], dict[str, T]], scope: str,
                 size: int = 200_000) -> None:
        self.load_many, self.scope, self.size = load_many, scope, size
        self._lock = threading.Lock()
        self._version: int | None = None
        self._values: dict[str, T] = {}

    def get(self, db: Session, keys: list[str], versions: dict[str, int]) -> dict[str, T]:
        version = versions.get(self.scope)
        with self._lock:
            have = self._values if version is not None and version == self._version else {}
            out = {k: have[k] for k in keys if k in have}
        missing = [k for k in keys if k not in out]
        if missing:
            loaded = self.load_many(db, missing)
            out.update(loaded)
            if version is not None:
                with self._lock:
                    if self._version != version or len(self._values) > self.size:
                        self._values, self._version = {}, version
                    self._values.update(loaded)
        return out
