"""The preference model inside the service: consent-checked learning from the return channel
and the chat, ranking and re-ranking, the profile view, erasure. Customer states live in the
service database (SqlStateStore), so every worker process sees the same person.

Retraining on a live shop: `tailor train preferences` writes a new prior to the weights
directory; each worker notices it (a stat at most every `preference_reload_seconds`), loads
it in the background and swaps it in atomically (`PreferenceModel.adopt`). Stored states
from the old prior are rebuilt from the customer's events (`_history`, the events table) on
first use, and a background pass moves the rest (see docs/preference_model.md).

Learning from events is durable. Ingest writes each new event to the `learn_pending` outbox
in the event's own transaction; the state write that learns it deletes its outbox row in the
state's transaction (`SqlStateStore.on_save`), and rolls back if the row is already gone.
So an event is learned exactly once: a crash before that commit leaves the row for a retry,
a crash after it leaves nothing to redo, and of two workers learning the same event only the
first commit counts. The learner itself is not idempotent (each signal moves the taste
vector), which is why the mark rides in the state's transaction rather than after it.
What the worker that took the events could not learn (model not ready: no items yet at
start-up; database outage) is retried by every worker's learner thread, which claims the
oldest due rows (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite has one writer) and learns
them in event order per customer. An event learned inline while an older one of the same
customer still waits for the retry goes first; the model weighs each signal by its own
time, so a late one counts as late rather than as new."""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import queue
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from prometheus_client import Counter
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import CustomerState as StateRow
from app.db.models import Event, LearnPending, Profile
from app.decide import Decider, Person
from app.errors import DependencyUnavailable
from app.hooks import AcceptedEvent
from app.schemas.events import teaches
from app.services import consent as consent_service
from app.services.consent import ConsentFlags
from app.services.identity import cluster_ids, roots_of
from app.services.state_store import SqlStateStore
from app.settings import Settings
from preference_model import (
    Consent,
    EventWeights,
    InvalidSignalError,
    PreferenceConfig,
    PreferenceModel,
    PreferenceModelError,
    Replay,
    Signal,
    SpaceMismatchError,
    StaleStateError,
)
from preference_model import UnknownItemError as ModelUnknownItem
from preference_model.signals import DEFAULT_EVENT_WEIGHTS, RATING_EVENT
from retrieval import SENSITIVE_TOPICS, CatalogIndex, Item
from retrieval.hybrid import Hit

log = logging.getLogger(__name__)
# Put on the learner queue by close(): wakes the learner thread so it sees the stop at once.
_WAKE: Any = object()
# More changed items than this in one catalog change: the model takes the catalog whole.
BULK_CATALOG_CHANGE = 200
RETRIED = Counter("tailor_learn_retry_events_total",
                  "Stored events taken by the learning retry (not learned when received)")
RETRY_ERRORS = Counter("tailor_learn_retry_errors_total",
                       "Learning retry rounds that failed (the events stay in the outbox)")


@dataclass(frozen=True)
class Ranked:
    item_id: str
    score: float
    uncertainty: float
    reason: str
    reasons: tuple[Any, ...]


# Attributes worth a clarifying question, phrased as a shop assistant would.
ASKABLE = {"color": "Do you like {v}?", "material": "How do you feel about {v}?",
           "diet": "Should I focus on {v} options?", "style": "Is {v} your style?",
           "scent": "Do you like {v} scents?", "fit": "Do you prefer a {v} fit?"}


# Outbox rows (events.id) that the next state write of a customer learns, set around a
# learn call on the learning thread; the store's on_save reads it inside the transaction.
_LEARNING: ContextVar[dict[str, list[int]] | None] = ContextVar("tailor_learning", default=None)


class LearnedElsewhere(Exception):  # noqa: N818 - a condition, not a failure
    """Another learner committed (or erasure deleted) these events first: this state write
    is rolled back so they are not learned twice."""


def _mark_learned(db: Session, customer_id: str) -> None:
    """StateStore.on_save: delete the learned events' outbox rows with the state write."""
    seqs = set((_LEARNING.get() or {}).get(customer_id) or ())
    if not seqs:
        return
    result = db.execute(delete(LearnPending).where(LearnPending.event_id.in_(sorted(seqs))))
    gone = len(seqs) - int(getattr(result, "rowcount", 0))
    if gone:
        raise LearnedElsewhere(f"{gone} of {len(seqs)} events were already learned or erased")


def _rounded(d: dict[str, Any]) -> dict[str, Any]:
    return {k: round(v, 2) if isinstance(v, float) else v for k, v in d.items()
            if k != "message_count"}


class Personalization:
    def __init__(self, settings: Settings, sessions: sessionmaker[Session]) -> None:
        self.settings = settings
        self.sessions = sessions
        # The model's own table, with the shop's custom types and overrides (a rating is
        # mapped at ingest: it needs no weight here).
        weights = {**DEFAULT_EVENT_WEIGHTS, **{k: v for k, v in settings.event_weights.items()
                                                if k != RATING_EVENT}}
        # Sensitive topics: the catalog schema's list, the one the items are checked against.
        self._config = PreferenceConfig(event_weights=EventWeights(weights),
                                        sensitive_topics=SENSITIVE_TOPICS,
                                        exploration=settings.exploration,
                                        novelty=settings.novelty,
                                        repurchase_overrides=settings.repurchase_overrides,
                                        repurchase_horizon_days=settings.repurchase_horizon_days)
        self.store = SqlStateStore(sessions, on_save=_mark_learned)
        self.weights_dir = Path(settings.preference_weights_dir
                                or settings.data_dir / "preferences")
        self._prior_seen = self._artifact_stamp()
        self.model = self._load_prior() or PreferenceModel(self._config, self.store)
        self.model.history_source = self._history
        self.model.on_newer_space = self._check_prior_now
        self._prior_checked = time.monotonic()
        self._prior_lock = threading.Lock()  # one reload at a time
        self._catalog_lock = threading.Lock()  # catalog changes vs. a prior being swapped in
        self._reloader: threading.Thread | None = None
        self._migrator: threading.Thread | None = None
        self.ready = threading.Event()
        self._queue: queue.Queue[list[AcceptedEvent]] = queue.Queue(
            maxsize=settings.learn_queue_batches)
        self._worker: threading.Thread | None = None
        self._worker_lock = threading.Lock()
        self._stop = threading.Event()
        self._last_retry_warning = -math.inf
        self.decider = Decider(settings, sessions, self)

    # -- the trained prior, picked up live -------------------------------------------------
    def _load_prior(self) -> PreferenceModel | None:
        """The prior from `tailor train preferences`, with the shop's settings; None if
        there is none or it cannot be read (then the current prior stays)."""
        if not (self.weights_dir / "meta.json").exists():
            return None
        try:
            model = PreferenceModel.load(self.weights_dir, self.store)
        except PreferenceModelError as exc:
            log.warning("pre-trained preference model unusable: %s", exc)
            return None
        # Keep what pre-training chose (dimensions, rates); the shop's event weights,
        # exploration and novelty settings still apply.
        model.config = replace(model.config, event_weights=self._config.event_weights,
                               sensitive_topics=self._config.sensitive_topics,
                               exploration=self._config.exploration,
                               novelty=self._config.novelty,
                               repurchase_overrides=self._config.repurchase_overrides,
                               repurchase_horizon_days=self._config.repurchase_horizon_days)
        log.info("pre-trained preference model loaded",
                 extra={"dir": str(self.weights_dir), "version": model.space})
        return model

    def _artifact_stamp(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.weights_dir / "meta.json")
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size, st.st_ino

    def _check_prior_now(self) -> None:
        """A stored state came from a newer prior than ours: look for it at once."""
        self._prior_checked = float("-inf")
        self.maybe_reload()

    def maybe_reload(self) -> None:
        """Notice a newly trained prior (a stat, at most every `preference_reload_seconds`)
        and load it in the background; requests keep the current prior until the swap."""
        now = time.monotonic()
        if now - self._prior_checked < self.settings.preference_reload_seconds:
            return
        self._prior_checked = now
        stamp = self._artifact_stamp()
        if stamp is None or stamp == self._prior_seen or not self.ready.is_set():
            return
        with self._prior_lock:
            if self._reloader is not None and self._reloader.is_alive():
                return
            self._reloader = threading.Thread(target=self._reload, args=(stamp,),
                                              name="prefs-reload", daemon=True)
            self._reloader.start()

    def _reload(self, stamp: tuple[int, int, int]) -> None:
        version = PreferenceModel.artifact_version(self.weights_dir)
        if version is not None and self.model.population is not None \
                and version == self.model.space:
            self._prior_seen = stamp
            return
        new = self._load_prior()
        self._prior_seen = stamp  # a broken artifact is retried when it changes again
        if new is None:
            return
        with self._catalog_lock:  # no catalog change may land between copy and swap
            self._set_catalog(new, self.index)
            self.model.adopt(new)
        log.info("new preference prior in use; stored states follow on first use and in a "
                 "background pass", extra={"version": self.model.space})
        self._start_migration()

    def _start_migration(self) -> None:
        self._migrator = threading.Thread(target=self._migrate_all, args=(self.model.space,),
                                          name="prefs-migrate", daemon=True)
        self._migrator.start()

    def _migrate_all(self, version: str, batch: int = 200) -> None:
        """Move every stored state into the current prior's space, in batches that yield to
        requests in between (which migrate their own customer lazily meanwhile). Stops if
        another prior arrives (its own pass takes over). Progress is logged."""
        done, last = 0, ""
        try:
            with self.sessions() as db:
                total = db.scalar(select(func.count()).select_from(StateRow)) or 0
            while self.model.space == version:
                with self.sessions() as db:
                    ids = db.scalars(select(StateRow.profile_id)
                                     .where(StateRow.profile_id > last)
                                     .order_by(StateRow.profile_id).limit(batch)).all()
                if not ids:
                    break
                for pid in ids:
                    with contextlib.suppress(StaleStateError):
                        self.model.migrate(pid)
                done, last = done + len(ids), ids[-1]
                log.info("customer states moved to the new prior: %d/%d", done, total)
                time.sleep(0.01)  # let requests in between batches
        except Exception as exc:  # the database went away (shutdown): first use migrates
            log.warning("background state migration stopped (%s)", type(exc).__name__)
            return
        if self.model.space == version:
            self._write_marker(version)
            log.info("all %d customer states are on the prior in use", done)

    def _write_marker(self, version: str) -> None:
        """Remember that every state is on `version`, so a restart skips the pass."""
        with contextlib.suppress(OSError):
            self.weights_dir.mkdir(parents=True, exist_ok=True)
            tmp = self.weights_dir / f".migrated.{os.getpid()}.tmp"
            tmp.write_text(json.dumps({"version": version}))
            tmp.replace(self.weights_dir / "migrated.json")

    def _migrated_version(self) -> str | None:
        try:
            return str(json.loads((self.weights_dir / "migrated.json").read_text())["version"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    @property
    def migration_running(self) -> bool:
        return self._migrator is not None and self._migrator.is_alive()

    def _history(self, pid: str, limit: int) -> Replay | None:
        """The customer's newest `limit` interactions from the events table (authoritative:
        the model's own history is bounded), for rebuilding a state in a new prior's space.
        Learned under the same consent rules as the return channel."""
        with self.sessions() as db:
            ids = cluster_ids(db, pid)
            rows = db.execute(
                select(Event.type, Event.item_id, Event.value, Event.role, Event.context,
                       Event.occurred_at)
                .where(Event.profile_id.in_(ids), Event.item_id.is_not(None),
                       Event.type != "impression")
                .order_by(Event.occurred_at.desc(), Event.id.desc()).limit(limit)).all()
            granted = consent_service.current_many(
                db, {pid}, self.settings.default_consent_personalization)[pid]
        if not granted["personalization"]:
            return Replay([])
        signals = []
        for type_, item_id, value, role, context, at in reversed(rows):
            with contextlib.suppress(PreferenceModelError, TypeError, ValueError):
                signals.append(Signal(
                    customer_id=pid, kind="inferred", item_id=item_id,
                    value=value if type_ == "rating" and value is not None else 1.0,
                    role=role or "self", context=context or {}, at=at, source=type_,
                    event_type=type_))
        return Replay(signals, Consent(demographic=granted["demographics"],
                                       sensitive=granted["sensitive"]))

    # -- catalog ----------------------------------------------------------------------------
    def attach(self, index: CatalogIndex) -> None:
        """Item universe = the index's content embeddings plus catalog attributes."""
        with self._catalog_lock:
            self._set_catalog(self.model, index)
            self.index = index
        self.ready.set()
        if self.model.items is not None and self._migrated_version() != self.model.space:
            self._start_migration()  # e.g. the first start after `tailor train preferences`
        self._check_prior_now()  # trained while the catalog was loading?
        self._ensure_worker()  # its retry learns what arrived before the model had items

    def _set_catalog(self, model: PreferenceModel, index: CatalogIndex) -> None:
        items = [index.get(i) for i in index.ids()]
        if items:
            vectors = np.stack([index.item_vector(it.id) for it in items])
            model.set_items([it.id for it in items], vectors,
                            [it.attributes for it in items],
                            [it.category for it in items], self._popularity(items),
                            titles=[it.title for it in items],
                            sensitive_topics=[it.sensitive_topics for it in items])

    def _popularity(self, items: Sequence[Item]) -> list[float]:
        with self.sessions() as db:
            counts = dict(db.execute(select(Event.item_id, func.count()).where(
                Event.type.in_(["purchase", "add_to_cart", "click"]),
                Event.item_id.is_not(None)).group_by(Event.item_id)).all())
        return [float(counts.get(it.id, 0)) for it in items]

    def on_catalog(self, items: Sequence[Item], removed: Sequence[str]) -> None:
        if not self.ready.is_set():
            return
        if self.model.items is None:  # the catalog was empty at start: take it whole now
            self.attach(self.index)
            return
        with self._catalog_lock:
            self._apply_catalog(items, removed)

    def _apply_catalog(self, items: Sequence[Item], removed: Sequence[str]) -> None:
        if len(items) + len(removed) > BULK_CATALOG_CHANGE:
            # One item at a time rebuilds the model's item arrays each time (quadratic in a
            # big import); the whole catalog at once keeps learned factors of known ids.
            self._set_catalog(self.model, self.index)
            return
        for it in items:
            if not it.active or it.id not in self.index:
                self._remove(it.id)
                continue
            self.model.upsert_item(it.id, self.index.item_vector(it.id), it.attributes,
                                   it.category, title=it.title,
                                   sensitive_topics=it.sensitive_topics)
        for item_id in removed:
            self._remove(item_id)

    def _remove(self, item_id: str) -> None:
        with contextlib.suppress(ModelUnknownItem):
            self.model.remove_item(item_id)

    # -- consent ----------------------------------------------------------------------------
    def consent(self, db: Session, profile: Profile) -> ConsentFlags:
        return consent_service.flags(db, profile, self.settings.default_consent_personalization)

    # -- learning ---------------------------------------------------------------------------
    def _learn(self, signal: Signal, consent: Consent) -> None:
        # One retry policy: the model retries a write another worker raced
        # (PreferenceConfig.max_retries, with back-off); past that the signal is dropped.
        try:
            self.model.learn_one(signal, consent=consent)
        except StaleStateError:
            log.warning("state of %s kept changing; signal dropped", signal.customer_id)

    def on_events(self, events: Sequence[AcceptedEvent]) -> None:
        """The return channel: accepted events update each person's model at once.

        Small batches (a widget's clicks) are learned before the request returns, so the very
        next request sees them. Large batches (server-to-server imports) go to a background
        learner, so ingest is not bound by one state write per customer; when its queue is
        full the request learns inline, which slows the sender instead of dropping events.
        Whatever is not learned here stays in the outbox for the retry."""
        if not self.ready.is_set() or self.model.items is None:
            self._release(events)  # no items yet: the retry learns them once there are
            return
        self.maybe_reload()
        if len(events) > self.settings.learn_inline_max:
            try:
                self._queue.put_nowait(list(events))
            except queue.Full:
                pass
            else:
                self._ensure_worker()
                return
        try:
            self._learn_events(events)
        except Exception:
            self._release(events)
            raise

    def _learn_events(self, events: Sequence[AcceptedEvent]) -> int:
        """Learn the events; their outbox rows go with the state writes that learn them, and
        those of events that teach nothing (impressions, no consent, items gone) after."""
        useful = [ev for ev in events if teaches(ev.type, ev.item_id)]
        seqs = {ev.seq for ev in useful if ev.seq is not None}  # only these have outbox rows
        signals: list[tuple[Signal, int | None]] = []
        consents: dict[str, dict[str, bool]] = {}
        if useful:
            with self.sessions() as db:
                consents = consent_service.current_many(
                    db, {ev.profile_id for ev in useful},
                    self.settings.default_consent_personalization)
            for ev in useful:
                if not consents[ev.profile_id]["personalization"] or ev.item_id not in self.index:
                    continue
                value = ev.value if ev.type == "rating" and ev.value is not None else 1.0
                signals.append((Signal(customer_id=ev.profile_id, kind="inferred",
                                       item_id=ev.item_id, value=value, role=ev.role,
                                       context=ev.context, at=ev.occurred_at, source=ev.type,
                                       event_type=ev.type), ev.seq))
        n, keep, all_saved = 0, set[int](), False
        if signals:
            try:
                n, keep, all_saved = self._learn_signals(signals, consents)
            except LearnedElsewhere as exc:
                # A retry took some of these meanwhile: let it (or the next) finish the rest.
                log.info("events learned by another learner first (%s)", exc)
                self._release(events)
                return 0
        if all_saved:  # each customer's state write took its rows already
            seqs -= {seq for _, seq in signals if seq is not None}
        self._forget_pending(seqs - keep)
        return n

    def _learn_signals(self, signals: list[tuple[Signal, int | None]],
                       consents: Mapping[str, Mapping[str, bool]]
                       ) -> tuple[int, set[int], bool]:
        """(signals learned, outbox rows to keep for the retry, whether every signal was
        learned in one pass, so that each row went with its customer's state write)."""
        marks: dict[str, list[int]] = {}
        for sig, seq in signals:
            if seq is not None:
                marks.setdefault(sig.customer_id, []).append(seq)
        token = _LEARNING.set(marks)
        try:
            n = self.model.learn_many([sig for sig, _ in signals], lambda cid: Consent(
                demographic=consents[cid]["demographics"],
                sensitive=consents[cid]["sensitive"]))
            # Fewer learned: some customer's signals were all skipped (sensitive without
            # consent), so no save took their rows; the caller drops them.
            return n, set(), n == len(signals)
        except (InvalidSignalError, ModelUnknownItem) as exc:
            # One bad signal spoils the batch: learn the rest one by one.
            log.info("batch not learned whole (%s); learning one by one", exc)
        finally:
            _LEARNING.reset(token)
        n, keep = 0, set[int]()
        for sig, seq in signals:
            token = _LEARNING.set({sig.customer_id: [seq]} if seq is not None else {})
            try:
                self.model.learn_one(
                    sig, consent=Consent(sensitive=consents[sig.customer_id]["sensitive"]))
                n += 1
            except (InvalidSignalError, ModelUnknownItem) as err:
                log.info("event not learned: %s", err)
            except LearnedElsewhere:
                pass
            except StaleStateError:
                if seq is not None:
                    keep.add(seq)  # too contended right now: the retry learns it
            finally:
                _LEARNING.reset(token)
        return n, keep, False

    def _forget_pending(self, seqs: set[int]) -> None:
        """Drop outbox rows of events that were learned or can teach nothing."""
        if not seqs:
            return
        with self.sessions() as db:
            db.execute(delete(LearnPending).where(LearnPending.event_id.in_(sorted(seqs))))
            db.commit()

    def _release(self, events: Sequence[AcceptedEvent]) -> None:
        """Let the retry take these events at once instead of after the lease (best effort:
        in a database outage the lease simply runs out)."""
        seqs = sorted(ev.seq for ev in events
                      if ev.seq is not None and teaches(ev.type, ev.item_id))
        if not seqs:
            return
        try:
            with self.sessions() as db:
                db.execute(update(LearnPending).where(LearnPending.event_id.in_(seqs))
                           .values(retry_at=datetime.now(UTC)))
                db.commit()
        except Exception as exc:
            log.info("could not release %d events for the learning retry: %s", len(seqs), exc)

    # -- the learning retry ---------------------------------------------------------------
    def retry_pending(self, limit: int = 500) -> int:
        """Learn stored events that no learner has (their lease ran out), oldest first.
        Returns how many events were taken; any worker may run it at any time."""
        if not self.ready.is_set() or self.model.items is None:
            return 0
        now = datetime.now(UTC)
        with self.sessions() as db:
            due = (select(LearnPending.event_id).where(LearnPending.retry_at <= now)
                   .order_by(LearnPending.event_id).limit(limit))
            if db.get_bind().dialect.name == "postgresql":
                due = due.with_for_update(skip_locked=True)  # two workers take disjoint rows
            claimed = list(db.scalars(
                update(LearnPending)
                .where(LearnPending.event_id.in_(due.scalar_subquery()),
                       LearnPending.retry_at <= now)
                .values(retry_at=now + timedelta(seconds=self.settings.learn_lease_seconds),
                        attempts=LearnPending.attempts + 1)
                .returning(LearnPending.event_id)))
            db.commit()
            if not claimed:
                return 0
            rows = db.scalars(select(Event).where(Event.id.in_(claimed))
                              .order_by(Event.id)).all()
            roots = roots_of(db, {r.profile_id for r in rows})
        events = [AcceptedEvent(event_id=r.idempotency_key, type=r.type,
                                profile_id=roots[r.profile_id], item_id=r.item_id,
                                value=r.value, weight=r.weight, role=r.role,
                                session_id=r.session_id, context=dict(r.context or {}),
                                occurred_at=r.occurred_at, seq=r.id) for r in rows]
        RETRIED.inc(len(events))
        learned = self._learn_events(events)
        log.info("learning retry", extra={"events": len(events), "learned": learned})
        return len(events)

    def _ensure_worker(self) -> None:
        with self._worker_lock:
            if self._stop.is_set():
                return
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._drain, name="prefs-learner",
                                                daemon=True)
                self._worker.start()

    def _drain(self) -> None:
        """The learner thread: queued batches first; the outbox retry when idle, and at
        least every `learn_retry_seconds` under a steady stream of batches."""
        interval = self.settings.learn_retry_seconds
        last_retry = time.monotonic()
        while not self._stop.is_set():
            try:
                batch = self._queue.get(timeout=interval)
            except queue.Empty:
                batch = None
            if batch is _WAKE:  # close(): stop now, not at the end of the wait
                self._queue.task_done()
                continue
            if batch is not None:
                try:
                    self._learn_events(batch)
                except Exception:
                    log.exception("background learning failed for a batch; the retry takes it")
                    self._release(batch)
                finally:
                    self._queue.task_done()
            if batch is None or time.monotonic() - last_retry >= interval:
                self._retry_quietly()
                last_retry = time.monotonic()

    def _retry_quietly(self) -> None:
        try:
            while self.retry_pending() and not self._stop.is_set():
                if not self._queue.empty():
                    return  # fresh batches first
        except Exception as exc:  # an outage: one line a minute, not a traceback a tick
            RETRY_ERRORS.inc()
            now = time.monotonic()
            if now - self._last_retry_warning > 60:
                self._last_retry_warning = now
                log.warning("learning retry failed (%s: %s); events stay queued in the "
                            "database", type(exc).__name__, exc)

    def flush(self, timeout: float = 30.0) -> None:
        """Wait until queued events are learned (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)

    def close(self) -> None:
        """Stop the learner thread (shutdown); unlearned events stay in the outbox."""
        with self._worker_lock:  # not between a thread's creation and its start
            self._stop.set()
            worker = self._worker
        if worker is not None:
            # The learner waits on the queue for up to `learn_retry_seconds`; a full queue
            # wakes it anyway.
            with contextlib.suppress(queue.Full):
                self._queue.put_nowait(_WAKE)
            worker.join(timeout=10)

    def learn_from_chat(self, pid: str, stated: Iterable[Any], item_sentiments: Iterable[Any],
                        role: str, context: Mapping[str, Any], *, sensitive_ok: bool) -> None:
        self.maybe_reload()
        consent = Consent(sensitive=sensitive_ok)
        for pref in stated:
            try:
                self._learn(Signal(customer_id=pid, kind="stated", item_id=pref.item_id,
                                   attribute=pref.attribute, value=float(pref.value),
                                   role=role, context=dict(context), source="chat",
                                   event_type="constraint" if pref.hard else None), consent)
            except (InvalidSignalError, ModelUnknownItem) as exc:
                log.info("stated preference not learned: %s", exc)
        for sentiment in item_sentiments:
            item_id, score = sentiment[0], float(sentiment[1])
            try:
                self._learn(Signal(customer_id=pid, kind="sentiment", item_id=item_id,
                                   value=max(-1.0, min(1.0, score)), role=role,
                                   context=dict(context), source="chat"), consent)
            except (InvalidSignalError, ModelUnknownItem) as exc:
                log.info("sentiment not learned: %s", exc)

    # -- ranking ----------------------------------------------------------------------------
    def rank(self, pid: str, candidates: Sequence[str], context: Mapping[str, Any] | None,
             *, sensitive_ok: bool, role: str = "self", exploration: float | None = None,
             seed: int | None = None) -> list[Ranked]:
        self.maybe_reload()
        try:
            scored = self.model.rank(pid, list(candidates), dict(context or {}), role=role,
                                     consent=Consent(sensitive=sensitive_ok),
                                     exploration=exploration, skip_unknown=True, seed=seed)
        except SpaceMismatchError as exc:  # a bug guard: states are rebuilt before scoring
            log.error("customer state outside the model's space (%s): population ranking", exc)
            scored = self.model.rank("__population__", list(candidates), dict(context or {}),
                                     exploration=exploration, skip_unknown=True, seed=seed)
        return [Ranked(s.item_id, s.score, s.uncertainty,
                       s.reasons[0].text if s.reasons else "", s.reasons) for s in scored]

    def reranker(self, pid: str, sensitive_ok: bool, surface: str = "search",
                 session: str = "") -> Any:
        """Search re-ranking (and similar items) through the one decision path: the same
        rules as recommendations (a dismissed item is gone everywhere), then the ranking."""
        person = Person(pid, personalized=True, sensitive_ok=sensitive_ok, session=session)

        def rerank(customer_id: str, hits: list[Hit]) -> list[Hit]:
            by_id = {h.item_id: h for h in hits}
            decision = self.decider.decide(person, None, surface,  # type: ignore[arg-type]
                                           None, self.index, k=len(hits), relevant=list(by_id))
            return [by_id[i] for i in decision.items]

        return rerank

    def question(self, pid: str, candidates: Sequence[str]) -> dict[str, Any] | None:
        probe = self.model.next_question(pid, list(candidates))
        if probe is None or probe.expected_information_gain < self.settings.question_min_gain:
            return None
        text = probe.question
        if probe.kind == "attribute" and probe.attribute:
            name, _, value = probe.attribute.partition("=")
            template = ASKABLE.get(name)
            if template is None:  # sizes, ages...: not something to ask out of the blue
                return None
            text = template.format(v=value)
        options = ["Yes", "No"] if probe.kind == "attribute" else ["Show me", "Not really"]
        return {"text": text, "options": options, "kind": probe.kind,
                "attribute": probe.attribute, "item_id": probe.item_id}

    # -- style, profile, erasure --------------------------------------------------------------
    def style(self, pid: str) -> Any:
        from app.chat import style

        st = self.model.state(pid)
        return style.StyleProfile.from_dict(dict(st.style)) if st is not None and st.style \
            else style.StyleProfile()

    def describe_style(self, pid: str) -> dict[str, Any]:
        """The customer's writing style as the profile view shows it ({} when unknown)."""
        from app.chat import style

        st = self.model.state(pid)
        return style.describe(style.StyleProfile.from_dict(dict(st.style))) \
            if st is not None and st.style else {}

    def require_ready(self) -> None:
        """503 while the model waits for its item universe (the catalog is still loading)."""
        if not self.ready.is_set():
            raise DependencyUnavailable("the preference model is still loading",
                                        headers={"Retry-After": "2"})

    def set_style(self, pid: str, profile: Any, previous: Any = None) -> None:
        if previous is not None and _rounded(previous.to_dict()) == _rounded(profile.to_dict()):
            return  # unchanged at display precision: spare the write
        try:  # the model retries races itself (one retry policy); past that: skipped
            self.model.set_style(pid, profile.to_dict())
        except StaleStateError:
            log.warning("style of %s kept changing; not saved", pid)

    def dismissed(self, pid: str) -> set[str]:
        with self.sessions() as db:
            ids = cluster_ids(db, pid)
            rows = db.scalars(select(Event.item_id).where(
                Event.profile_id.in_(ids), Event.type == "dismiss")).all()
            return {r for r in rows if r is not None}

    def on_erase(self, profile_ids: Sequence[str]) -> None:
        for pid in profile_ids:
            self.model.forget(pid)

    def on_merge(self, survivor: str, merged: str) -> None:
        """Keep the richer state: the survivor's, or the merged profile's if the survivor has
        none yet (a guest's history becomes the new customer's)."""
        store = self.model.store
        if store.load(survivor) is None:
            row = store.load(merged)
            if row is not None:
                with contextlib.suppress(StaleStateError):
                    store.save(survivor, row[1], 0)
        self.model.invalidate(survivor)  # force a re-read
