"""The worker's catalog index: built from the database at start, kept current by tailing the
`catalog_changes` outbox (so a change made through any worker is searchable in every worker
within `index_poll_seconds`), saved atomically to data_dir for fast restarts."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from app.errors import DependencyUnavailable
from app.services import catalog
from app.settings import Settings
from retrieval import CatalogIndex, Embedder, IndexStorageError, Item, UpsertResult

log = logging.getLogger(__name__)


@lru_cache(maxsize=4)
def shared_embedder(model_dir: str | None) -> Embedder:
    """One model per process, whatever the number of apps (tests build many)."""
    return Embedder(model_dir)


@lru_cache(maxsize=1)
def shared_sentiment() -> Any:
    """The SST-2 classifier on top of the retrieval encoder's (shared) bottom layers."""
    from preference_model.sentiment import SentimentClassifier

    return SentimentClassifier.load(encoder=shared_embedder(None).sentence_transformer)


class SearchRuntime:
    def __init__(self, settings: Settings, sessions: sessionmaker[Session]) -> None:
        self.settings = settings
        self.sessions = sessions
        self.path: Path = settings.data_dir / "index"
        self.index: CatalogIndex | None = None
        self.ready = threading.Event()
        self.error: str | None = None
        self.build_result: UpsertResult | None = None
        self._last_change = 0
        self._dirty = False
        self._lock = threading.Lock()  # one writer: the poller or a request's fast path
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # Called with the index once built, and with every applied change (from any worker):
        # the preference model follows the catalog through these.
        self.on_ready: list[Callable[[CatalogIndex], None]] = []
        self.on_change: list[Callable[[Sequence[Item], Sequence[str]], None]] = []

    # -- lifecycle --------------------------------------------------------------------------
    def start(self, background: bool = True) -> None:
        if background:
            self._thread = threading.Thread(target=self._run, name="search-index", daemon=True)
            self._thread.start()
        else:
            self._build()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self.index is not None and self._dirty:
            self._save()

    def status(self) -> str:
        if self.error:
            return f"error: {self.error}"
        return "ok" if self.ready.is_set() else "loading"

    def require(self) -> CatalogIndex:
        if self.index is None or not self.ready.is_set():
            raise DependencyUnavailable(
                "the search index is " + ("unavailable: " + self.error if self.error
                                          else "still loading; retry in a few seconds"),
                headers={"Retry-After": "2"})
        return self.index

    def wait_ready(self, timeout: float = 120.0) -> CatalogIndex:
        if not self.ready.wait(timeout):
            raise TimeoutError(f"search index not ready after {timeout} s ({self.status()})")
        return self.require()

    # -- building and following the catalog ---------------------------------------------------
    def _run(self) -> None:
        try:
            self._build()
        except Exception as exc:  # keep serving everything else; readyz reports it
            log.exception("search index failed to build")
            self.error = f"{type(exc).__name__}: {exc}"
            return
        last_save = time.monotonic()
        while not self._stop.wait(self.settings.index_poll_seconds):
            try:
                self.follow()
                if self._dirty and time.monotonic() - last_save > 30:
                    self._save()
                    last_save = time.monotonic()
            except Exception:
                log.exception("catalog follow failed; retrying")

    def _build(self) -> None:
        model_dir = self.settings.embedding_model_dir
        embedder = shared_embedder(str(model_dir) if model_dir else None)
        knobs: dict[str, Any] = {"exact_threshold": self.settings.index_exact_threshold,
                                 "ef_search": self.settings.index_ef_search}
        index: CatalogIndex | None = None
        if (self.path / "CURRENT").exists() or self.path.is_dir():
            try:
                index = CatalogIndex.load(self.path, embedder, **knobs)
            except IndexStorageError as exc:
                log.warning("saved index unusable (%s); rebuilding", exc)
        index = index or CatalogIndex(embedder, **knobs)
        with self.sessions() as db:
            self._last_change = catalog.last_change_id(db)
            items = catalog.all_items(db)
        live = [i for i in items if i.active]
        result = index.upsert(live)  # unchanged texts are not re-embedded
        self.build_result = result
        stale = set(index.ids()) - {i.id for i in live}
        if stale:
            index.remove(sorted(stale), missing_ok=True)
        self.index = index
        self._dirty = bool(result.embedded or stale or result.metadata_only)
        if self._dirty:
            self._save()
        for callback in self.on_ready:
            callback(index)
        self.ready.set()
        log.info("search index ready", extra={"items": len(index), "embedded": result.embedded})

    def follow(self) -> int:
        """Apply catalog changes made since the last call (by any worker)."""
        if self.index is None:
            return 0
        with self.sessions() as db:
            changes = catalog.changes_since(db, self._last_change)
            if not changes:
                return 0
            latest = {item_id: op for _, item_id, op in changes}
            items = catalog.items_by_id(db, [i for i, op in latest.items() if op == "upsert"])
        self.apply([i for i in items.values()],
                   [i for i in latest if i not in items])
        self._last_change = changes[-1][0]
        return len(changes)

    def apply(self, items: list[Item], removed: list[str]) -> None:
        if self.index is None:
            return
        with self._lock:
            live = [i for i in items if i.active]
            gone = [i.id for i in items if not i.active] + list(removed)
            if live:
                self.index.upsert(live)
            if gone:
                self.index.remove(gone, missing_ok=True)
            self._dirty = True
        for callback in self.on_change:
            try:
                callback(items, removed)
            except Exception:
                log.exception("catalog listener failed")

    def on_catalog(self, items: Sequence[Item], removed: Sequence[str]) -> None:
        """Hook for changes made by this worker: searchable before the response returns."""
        self.apply(list(items), list(removed))

    def _save(self) -> None:
        if self.index is None:
            return
        try:
            self.index.save(self.path)
            self._dirty = False
        except Exception:
            log.exception("saving the search index failed")
