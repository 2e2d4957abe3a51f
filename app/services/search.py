"""The worker's catalog index: built from the database at start, kept current by tailing the
`catalog_changes` outbox (so a change made through any worker is searchable in every worker
within `index_poll_seconds`), saved atomically to data_dir for fast restarts.

Readiness is honest: "loading" (with progress) while the index is built or a large batch of
catalog changes is being embedded, "error" when the build keeps failing (it is retried) or
the follower has not been able to apply changes for a while. Stored rows that fail the item
schema are skipped, reported in /readyz details and the metrics, and never stop the build or
the follower; fixing or deleting such a row clears the report."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from prometheus_client import Gauge
from sqlalchemy.orm import Session, sessionmaker

from app.errors import DependencyUnavailable
from app.services import catalog
from app.settings import Settings
from retrieval import CatalogIndex, Embedder, IndexStorageError, Item, UpsertResult

log = logging.getLogger(__name__)

UNREADABLE_ITEMS = Gauge("tailor_catalog_unreadable_items",
                         "Stored catalog rows skipped because they fail the item schema")
FOLLOW_BATCH = 5000  # outbox changes read at a time
EMBED_CHUNK = 256  # items embedded per index write: progress, and searches go on between
FOLLOW_GRACE_SECONDS = 10.0  # a follower failing longer than this makes the worker unready
BUILD_RETRY_MAX_SECONDS = 60.0


@lru_cache(maxsize=4)
def shared_embedder(model_dir: str | None) -> Embedder:
    """One model per process, whatever the number of apps (tests build many)."""
    return Embedder(model_dir)


@lru_cache(maxsize=1)
def shared_sentiment() -> Any:
    """The SST-2 classifier on top of the retrieval encoder's (shared) bottom layers."""
    from preference_model.sentiment import SentimentClassifier

    return SentimentClassifier.load(encoder=shared_embedder(None).sentence_transformer)


@dataclass
class EmbedProgress:
    """A long embedding in progress, for /readyz."""

    what: str
    total: int
    done: int = 0
    queued: int = 0  # outbox changes beyond this batch

    def describe(self) -> str:
        more = f"; {self.queued} more catalog changes queued" if self.queued else ""
        return f"{self.what}: {self.done} of {self.total} items embedded{more}"


class SearchRuntime:
    def __init__(self, settings: Settings, sessions: sessionmaker[Session]) -> None:
        self.settings = settings
        self.sessions = sessions
        self.path: Path = settings.data_dir / "index"
        self.index: CatalogIndex | None = None
        self.ready = threading.Event()
        self.error: str | None = None
        self.build_result: UpsertResult | None = None
        # Stored rows the item schema rejects (id -> reason): skipped, and reported.
        self.unreadable: dict[str, str] = {}
        self.embedding: EmbedProgress | None = None
        self._follow_error: str | None = None
        self._follow_failing_since: float | None = None
        self._follow_failures = 0
        self._last_follow_log = 0.0
        self._last_change = 0
        self._queued = 0
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
        """"ok", "loading[: progress]" or "error: ..." for /readyz."""
        progress = self.embedding
        if not self.ready.is_set():
            if self.error:
                return f"error: {self.error} (retrying)"
            return f"loading: {progress.describe()}" if progress else "loading"
        if progress is not None:
            return f"loading: {progress.describe()}"
        since = self._follow_failing_since
        if since is not None and time.monotonic() - since > FOLLOW_GRACE_SECONDS:
            return (f"error: catalog changes not applied for {time.monotonic() - since:.0f} s "
                    f"({self._follow_error}); serving the catalog as it was")
        return "ok"

    def details(self) -> dict[str, Any]:
        """What /readyz shows beside the status: size, progress, skipped rows."""
        unreadable = dict(self.unreadable)
        out: dict[str, Any] = {"items": len(self.index) if self.index is not None else 0,
                               "unreadable_items": len(unreadable)}
        if unreadable:
            out["unreadable"] = [{"id": i, "reason": r}
                                 for i, r in sorted(unreadable.items())[:20]]
        if self.embedding is not None:
            p = self.embedding
            out["embedding"] = {"what": p.what, "done": p.done, "total": p.total,
                                "queued_changes": p.queued}
        return out

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
        delay = 1.0
        while not self._stop.is_set():
            try:
                self._build()
                self.error = None
                break
            except Exception as exc:  # keep serving everything else; readyz reports it
                log.exception("search index failed to build; retrying in %.0f s", delay)
                self.error = f"{type(exc).__name__}: {exc}"
                if self._stop.wait(delay):
                    return
                delay = min(delay * 2, BUILD_RETRY_MAX_SECONDS)
        last_save = time.monotonic()
        while not self._stop.wait(self.settings.index_poll_seconds):
            try:
                self.follow()
                self._follow_ok()
                if self._dirty and time.monotonic() - last_save > 30:
                    self._save()
                    last_save = time.monotonic()
            except Exception as exc:
                self._follow_failed(exc)

    def _follow_ok(self) -> None:
        if self._follow_failures:
            log.info("catalog follow recovered after %d failed attempts", self._follow_failures)
        self._follow_failures = 0
        self._follow_error = None
        self._follow_failing_since = None

    def _follow_failed(self, exc: Exception) -> None:
        """Count every failure, log the first and then at most one a minute."""
        self._follow_failures += 1
        self._follow_error = type(exc).__name__
        if self._follow_failing_since is None:
            self._follow_failing_since = time.monotonic()
        now = time.monotonic()
        if self._follow_failures == 1 or now - self._last_follow_log > 60:
            self._last_follow_log = now
            log.error("catalog follow failed (%d attempts so far); retrying",
                      self._follow_failures, exc_info=exc)

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
        unreadable: dict[str, str] = {}
        with self.sessions() as db:
            self._last_change = catalog.last_change_id(db)
            items = catalog.all_items(db, unreadable)
        self._set_unreadable(unreadable)
        live = [i for i in items if i.active]
        result = self._upsert(index, live, "building the search index")
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
        log.info("search index ready", extra={"items": len(index), "embedded": result.embedded,
                                              "unreadable": len(unreadable)})

    def _upsert(self, index: CatalogIndex, items: list[Item], what: str) -> UpsertResult:
        """index.upsert in chunks, reporting progress when much is to be embedded."""
        to_embed = len(index.to_embed(items))
        if to_embed < self.settings.index_loading_min_items:
            return index.upsert(items)
        progress = EmbedProgress(what, total=to_embed, queued=self._queued)
        self.embedding = progress
        added = embedded = metadata_only = unchanged = 0
        try:
            for start in range(0, len(items), EMBED_CHUNK):
                if self._stop.is_set():
                    break  # shutting down: the next start re-reads the catalog anyway
                r = index.upsert(items[start:start + EMBED_CHUNK])
                added += r.added
                embedded += r.embedded
                metadata_only += r.metadata_only
                unchanged += r.unchanged
                progress.done = embedded
        finally:
            self.embedding = None
        return UpsertResult(added, embedded, metadata_only, unchanged)

    def _set_unreadable(self, unreadable: dict[str, str]) -> None:
        self.unreadable = unreadable
        UNREADABLE_ITEMS.set(len(unreadable))

    def follow(self) -> int:
        """Apply catalog changes made since the last call (by any worker), all of them:
        batch after batch until the outbox is drained."""
        if self.index is None:
            return 0
        applied = 0
        while not self._stop.is_set():
            unreadable: dict[str, str] = {}
            with self.sessions() as db:
                changes = catalog.changes_since(db, self._last_change, FOLLOW_BATCH)
                if not changes:
                    break
                latest = {item_id: op for _, item_id, op in changes}
                items = catalog.items_by_id(db, [i for i, op in latest.items() if op == "upsert"],
                                            unreadable)
                self._queued = max(0, catalog.last_change_id(db) - changes[-1][0])
            # An id without a readable row now was deleted or is unreadable: out of the index.
            self.apply(list(items.values()), [i for i in latest if i not in items])
            known = {**self.unreadable, **unreadable}
            self._set_unreadable({i: r for i, r in known.items()
                                  if i in unreadable or i not in latest})
            self._last_change = changes[-1][0]
            applied += len(changes)
            if len(changes) < FOLLOW_BATCH:
                break
        self._queued = 0
        return applied

    def apply(self, items: list[Item], removed: list[str]) -> None:
        if self.index is None:
            return
        with self._lock:
            live = [i for i in items if i.active]
            gone = [i.id for i in items if not i.active] + list(removed)
            if live:
                self._upsert(self.index, live, "embedding catalog changes")
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
