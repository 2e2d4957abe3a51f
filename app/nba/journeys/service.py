"""Journeys: define them, start runs from real-time triggers, watch them.

Triggers (the return channel and the catalog, after their commits):
    cart_abandonment   an add_to_cart event (the journey's own stop_on ends it on purchase)
    event              any event of `event_type`
    loyalty_milestone  the customer's n-th purchase
    price_drop         an item's price falls: everyone who viewed, carted or bought it in
                       the last 30 days
    back_in_stock      an item's stock goes from 0 to more: the same people
One live run per person and journey; the run id is the workflow id (idempotent enqueue)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import Event, ItemRow
from app.errors import Conflict, InvalidInput, NotFound
from app.hooks import AcceptedEvent
from app.nba import cache
from app.nba.cache import Snapshot
from app.nba.journeys.spec import JourneySpec
from app.nba.tables import JourneyRow, JourneyRunRow, OfferRow
from retrieval.catalog import Item

log = logging.getLogger(__name__)
INTEREST = ("view", "click", "add_to_cart", "purchase")


def create(db: Session, spec: JourneySpec) -> JourneyRow:
    unknown = [s.offer_id for s in spec.steps
               if s.offer_id and db.get(OfferRow, s.offer_id) is None]
    if unknown:
        raise InvalidInput(f"unknown offer(s): {', '.join(unknown)}",
                           details={"unknown_offers": unknown})
    if db.get(JourneyRow, spec.id) is not None:
        raise Conflict(f"a journey {spec.id!r} exists")
    row = JourneyRow(id=spec.id, name=spec.name, spec=spec.model_dump(mode="json"))
    db.add(row)
    db.flush()
    cache.changed()
    return row


def get(db: Session, journey_id: str) -> JourneyRow:
    row = db.get(JourneyRow, journey_id)
    if row is None:
        raise NotFound(f"no journey {journey_id!r}")
    return row


def set_status(db: Session, journey_id: str, status: str) -> JourneyRow:
    row = get(db, journey_id)
    row.status = status
    db.flush()
    cache.changed()
    return row


def _active(db: Session) -> list[JourneySpec]:
    rows = db.scalars(select(JourneyRow).where(JourneyRow.status == "active")).all()
    return [JourneySpec.model_validate(r.spec) for r in rows]


class Journeys:
    """Starts runs on the job engine (`app.jobs.active()`) from hooks of one worker."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions
        self.journeys = Snapshot(_active, "journeys")
        self._items: dict[str, tuple[float, int | None]] | None = None
        self._lock = threading.Lock()

    def start(self, spec: JourneySpec, profile_id: str, ref: str) -> str | None:
        started = self.start_many(spec, [(profile_id, ref)])
        return started[0] if started else None

    def start_many(self, spec: JourneySpec, people: Sequence[tuple[str, str]],
                   batch: int = 500) -> list[str]:
        """Start runs for many (profile id, trigger ref) at once; returns the run ids
        started. People with a live run of this journey, and runs already known (the same
        trigger again), are skipped. Each batch's run rows and their workflows commit in
        one transaction: a run is never recorded without its workflow, nor the reverse."""
        from app import jobs
        from app.nba.journeys.workflow import QUEUE, run_journey

        try:
            engine = jobs.active()
        except Exception as exc:  # no engine here: say so rather than record dead runs
            log.warning("journey %s: %d run(s) not started: %s", spec.id, len(people), exc)
            return []
        started: list[str] = []
        spec_json = spec.model_dump(mode="json")
        for at in range(0, len(people), batch):
            first: dict[str, str] = {}
            for pid, ref in people[at:at + batch]:
                first.setdefault(pid, ref)  # one run per person: the first trigger
            chunk = list(first.items())
            try:
                started += self._start_batch(engine, spec, spec_json, chunk, QUEUE,
                                             run_journey)
            except IntegrityError:  # another worker started some of them meanwhile
                for one in chunk:
                    try:
                        started += self._start_batch(engine, spec, spec_json, [one], QUEUE,
                                                     run_journey)
                    except IntegrityError:
                        continue
            except Exception as exc:  # nothing of the batch committed: none half-started
                log.warning("journey %s: %d run(s) not started: %s", spec.id, len(chunk),
                            exc)
        return started

    def _start_batch(self, engine: Any, spec: JourneySpec, spec_json: dict[str, Any],
                     chunk: list[tuple[str, str]], queue: str, workflow: Any) -> list[str]:
        now = datetime.now(UTC)
        ids = {pid: f"{spec.id}:{pid}:{ref}"[:120] for pid, ref in chunk}
        with self.sessions() as db:
            live = set(db.scalars(select(JourneyRunRow.profile_id).where(
                JourneyRunRow.journey_id == spec.id, JourneyRunRow.state == "running",
                JourneyRunRow.profile_id.in_(list(ids)))))
            known = set(db.scalars(select(JourneyRunRow.id).where(
                JourneyRunRow.id.in_(list(ids.values())))))
            todo = [(pid, rid) for pid, rid in ids.items()
                    if pid not in live and rid not in known]
            for pid, rid in todo:
                db.add(JourneyRunRow(id=rid, journey_id=spec.id, profile_id=pid,
                                     state="running", detail="started", started_at=now))
            db.flush()
            for pid, rid in todo:
                engine.enqueue_in(db, queue, workflow, rid, spec_json, pid, now.isoformat(),
                                  job_id=rid)
            db.commit()
        return [rid for _, rid in todo]

    # -- triggers --------------------------------------------------------------------
    def on_events(self, events: Sequence[AcceptedEvent]) -> None:
        with self.sessions() as db:
            specs = self.journeys.get(db)
            if not specs:
                return
            hits: dict[str, list[tuple[str, str]]] = {}
            for e in events:
                for spec in specs:
                    t = spec.trigger
                    hit = ((t.kind == "cart_abandonment" and e.type == "add_to_cart")
                           or (t.kind == "event" and e.type == t.event_type)
                           or (t.kind == "loyalty_milestone" and e.type == "purchase"
                               and self._purchases(db, e.profile_id) == t.milestone))
                    if hit:
                        hits.setdefault(spec.id, []).append((e.profile_id, e.event_id))
        for spec in specs:
            if spec.id in hits:
                self.start_many(spec, hits[spec.id])

    @staticmethod
    def _purchases(db: Session, pid: str) -> int:
        from app.services.identity import cluster_ids

        return int(db.scalar(select(func.count()).select_from(Event).where(
            Event.profile_id.in_(cluster_ids(db, pid)), Event.type == "purchase")) or 0)

    def on_catalog(self, items: Sequence[Item], _removed: Sequence[str]) -> None:
        with self._lock, self.sessions() as db:
            if self._items is None:
                self._items = {i: (p, s) for i, p, s in db.execute(
                    select(ItemRow.id, ItemRow.price, ItemRow.stock)).tuples()}
                return  # first sight: the catalog as it is now is the baseline
            specs = [s for s in self.journeys.get(db)
                     if s.trigger.kind in ("price_drop", "back_in_stock")]
            fired: list[tuple[str, str]] = []
            for item in items:
                old = self._items.get(item.id)
                self._items[item.id] = (item.price, item.stock)
                if old is None:
                    continue
                if item.price < old[0]:
                    fired.append(("price_drop", item.id))
                if old[1] == 0 and (item.stock or 0) > 0:
                    fired.append(("back_in_stock", item.id))
            for kind, item_id in fired:
                people = self._interested(db, item_id)
                for spec in specs:
                    if spec.trigger.kind == kind:
                        stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
                        self.start_many(spec, [(pid, f"{kind}:{item_id}:{stamp}")
                                               for pid in people])

    @staticmethod
    def _interested(db: Session, item_id: str) -> list[str]:
        since = datetime.now(UTC) - timedelta(days=30)
        return list(db.scalars(select(Event.profile_id).where(
            Event.item_id == item_id, Event.type.in_(INTEREST),
            Event.occurred_at >= since).distinct()))

    def prime(self) -> None:
        """Take the catalog baseline now (price drops are changes from it)."""
        self.on_catalog([], [])


def monitor(db: Session, journey_id: str, limit: int = 500) -> dict[str, Any]:
    row = get(db, journey_id)
    runs = db.scalars(select(JourneyRunRow).where(JourneyRunRow.journey_id == journey_id)
                      .order_by(JourneyRunRow.updated_at.desc()).limit(limit)).all()
    counts = dict(db.execute(select(JourneyRunRow.state, func.count()).where(
        JourneyRunRow.journey_id == journey_id).group_by(JourneyRunRow.state)).tuples().all())
    return {"journey": {"id": row.id, "name": row.name, "status": row.status,
                        "spec": row.spec},
            "counts": counts,
            "runs": [{"run_id": r.id, "customer_id": r.profile_id, "state": r.state,
                      "step": r.step, "detail": r.detail, "started_at": r.started_at,
                      "updated_at": r.updated_at} for r in runs]}
