"""Return-channel ingest: validate each event, resolve who it is about, store the batch in one
transaction (idempotent on event_id), then hand the new events to the update hooks.

Idempotency keys are scoped by source: an event id from a server key (developer, admin) is
stored as sent, so re-sends stay idempotent across upgrades; one from a public widget key is
stored as `wv:<visitor>:<event_id>`, so a browser can never claim (and thereby drop) an id
the shop's server will send, nor another visitor's. Server ids may not start with `wv:`."""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import delete, insert, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db.base import savepoint
from app.db.models import Event, Identifier, LearnPending, Profile
from app.db.upsert import insert_ignore_returning_rows
from app.errors import Erased
from app.hooks import AcceptedEvent
from app.schemas.events import ITEM_EVENTS, EventIn, FieldError, RejectedEvent, teaches
from app.services import catalog, tombstones
from app.services.identity import new_profile_id, roots_of
from app.settings import DEFAULT_EVENT_TYPES, DEFAULT_WIDGET_EVENT_TYPES, Settings
from preference_model.signals import DEFAULT_EVENT_WEIGHTS, RATING_EVENT

log = logging.getLogger(__name__)
_adapter = TypeAdapter(EventIn)
WIDGET_SCOPE = "wv:"
KEY_LENGTH = 160  # events.idempotency_key


def idempotency_key(event_id: str, widget_visitor: str | None) -> str:
    """The stored key: the event id itself for server keys, scoped by visitor for widgets."""
    if widget_visitor is None:
        return event_id
    return f"{WIDGET_SCOPE}{widget_visitor}:{event_id}"


@dataclass
class IngestResult:
    accepted: list[AcceptedEvent] = field(default_factory=list)
    duplicates: int = 0
    rejected: list[RejectedEvent] = field(default_factory=list)


def _reject(index: int, raw: Any, errors: list[tuple[str, str]]) -> RejectedEvent:
    event_id = raw.get("event_id") if isinstance(raw, dict) else None
    return RejectedEvent(index=index, event_id=event_id if isinstance(event_id, str) else None,
                         errors=[FieldError(field=f, message=m) for f, m in errors])


def _source_errors(ev: EventIn, widget_visitor: str | None,
                   widget_types: Collection[str]) -> list[tuple[str, str]]:
    """What the sender may send: server keys anything, widget keys their own visitor's
    browser-observable events."""
    errs: list[tuple[str, str]] = []
    if widget_visitor is None:
        if ev.event_id.startswith(WIDGET_SCOPE):
            errs.append(("event_id", f"event ids starting with {WIDGET_SCOPE!r} are reserved "
                                     "for events sent with a widget key"))
        return errs
    if ev.customer_id is not None or ev.visitor_id != widget_visitor:
        errs.append(("visitor_id", "a widget key may only send events for its own visitor"))
    if ev.type not in widget_types:
        errs.append(("type", f"a widget key may not send {ev.type!r} events (the shop's "
                             "server reports those with a developer key); widget keys may "
                             f"send: {', '.join(sorted(widget_types))} "
                             "(TAILOR_WIDGET_EVENT_TYPES)"))
    room = KEY_LENGTH - len(idempotency_key("", widget_visitor))
    if len(ev.event_id) > room:
        errs.append(("event_id", f"event_id is {len(ev.event_id)} characters; at most {room} "
                                 "for this visitor's widget events"))
    return errs


def event_weights(settings: Settings) -> dict[str, float]:
    """Every event type the API accepts, with its weight: the default types weighed by the
    preference model's table (the one home of those numbers), then TAILOR_EVENT_WEIGHTS
    (custom types, overrides). The rating entry only marks the type as known: `weight_of`
    maps the rating itself."""
    base = {t: DEFAULT_EVENT_WEIGHTS[t] for t in DEFAULT_EVENT_TYPES if t != RATING_EVENT}
    return {**base, RATING_EVENT: 1.0, **settings.event_weights}


def validate(raw_events: Sequence[Any], weights: dict[str, float], max_skew: int,
             widget_visitor: str | None = None,
             widget_types: Collection[str] = DEFAULT_WIDGET_EVENT_TYPES
             ) -> tuple[list[tuple[int, EventIn]], list[RejectedEvent]]:
    """Schema and business checks per event; the catalog check happens in `ingest`."""
    good: list[tuple[int, EventIn]] = []
    bad: list[RejectedEvent] = []
    horizon = datetime.now(UTC) + timedelta(seconds=max_skew)
    for i, raw in enumerate(raw_events):
        try:
            ev = _adapter.validate_python(raw)
        except ValidationError as exc:
            bad.append(_reject(i, raw, [(".".join(str(p) for p in e["loc"]) or "(event)",
                                         e["msg"]) for e in exc.errors()]))
            continue
        errs: list[tuple[str, str]] = []
        if ev.type not in weights:
            errs.append(("type", f"unknown event type {ev.type!r}; allowed: "
                                 f"{', '.join(sorted(weights))} (add custom types with "
                                 "TAILOR_EVENT_WEIGHTS)"))
        if (ev.customer_id is None) == (ev.visitor_id is None):
            errs.append(("customer_id", "give exactly one of customer_id or visitor_id"))
        if ev.type in ITEM_EVENTS and ev.item_id is None:
            errs.append(("item_id", f"a {ev.type} event needs item_id"))
        if ev.type == "rating" and (ev.value is None or not 1 <= ev.value <= 5):
            errs.append(("value", "a rating needs value between 1 and 5"))
        if ev.type == "dwell" and (ev.value is None or ev.value < 0):
            errs.append(("value", "a dwell event needs value = seconds (>= 0)"))
        if ev.type == "purchase" and ev.value is not None and ev.value <= 0:
            errs.append(("value", "a purchase quantity must be positive"))
        if ev.occurred_at is not None and ev.occurred_at > horizon:
            errs.append(("occurred_at", "is in the future"))
        errs += _source_errors(ev, widget_visitor, widget_types)
        if errs:
            bad.append(_reject(i, raw, errs))
        else:
            good.append((i, ev))
    return good, bad


def weight_of(ev: EventIn, weights: dict[str, float]) -> float:
    if ev.type == "rating" and ev.value is not None:
        return (ev.value - 3.0) / 2.0  # 1 -> -1, 3 -> 0, 5 -> +1
    return weights[ev.type]


def resolve_subjects(db: Session, keys: set[tuple[str, str]], *,
                     skip_erased: bool = False) -> dict[tuple[str, str], str]:
    """(kind, id) -> profile id, creating profiles for first-seen visitors and customers.

    An erased identity is not created again: `Erased` is raised, or with `skip_erased` it is
    left out of the result (the caller refuses what was about it)."""
    found: dict[tuple[str, str], str] = {}
    key_list = list(keys)
    for start in range(0, len(key_list), 400):
        chunk = key_list[start:start + 400]
        rows = db.execute(select(Identifier.kind, Identifier.value, Identifier.profile_id)
                          .where(tuple_(Identifier.kind, Identifier.value).in_(chunk))).all()
        for kind, value, pid in rows:
            found.setdefault((kind, value), pid)
    created: dict[tuple[str, str], str] = {}
    for kind, value in keys - set(found):
        try:
            with savepoint(db):
                pid = new_profile_id()
                db.add(Profile(id=pid, kind="known" if kind == "customer" else "anonymous"))
                db.flush()
                db.add(Identifier(kind=kind, value=value, raw=value, profile_id=pid,
                                  source="event"))
                db.flush()
            found[(kind, value)] = created[(kind, value)] = pid
        except IntegrityError:  # another worker created it a moment ago
            pid_row = db.scalar(select(Identifier.profile_id).where(
                Identifier.kind == kind, Identifier.value == value))
            assert pid_row is not None
            found[(kind, value)] = pid_row
    if created:
        _undo_erased(db, created, found, skip_erased)
    return found


def _undo_erased(db: Session, created: dict[tuple[str, str], str],
                 found: dict[tuple[str, str], str], skip_erased: bool) -> None:
    """Checked after the inserts, not before: an erasure that committed while they waited
    (on the identifier it was deleting) is visible only now."""
    erased = tombstones.erased_at(db, created)
    if not erased:
        return
    if not skip_erased:
        raise Erased("this customer was erased; nothing more is recorded about them")
    gone = [created[k] for k in erased]
    db.execute(delete(Identifier).where(Identifier.profile_id.in_(gone)))
    db.execute(delete(Profile).where(Profile.id.in_(gone)))
    for k in erased:
        del found[k]


def _erasure_refusals(db: Session, good: Sequence[tuple[int, EventIn]]
                      ) -> dict[int, tuple[str, str]]:
    """Events about an erased person: index -> (field, reason). An identity erased and not
    registered again refuses every event; one registered again since (`identify` with
    `allow_erased`) refuses only events that happened before its erasure: late deliveries."""
    subject = {i: _subject(ev) for i, ev in good}
    erased = tombstones.erased_at(db, set(subject.values()))
    if not erased:
        return {}
    live = set(db.execute(select(Identifier.kind, Identifier.value).where(
        tuple_(Identifier.kind, Identifier.value).in_(list(erased)))).tuples())
    out: dict[int, tuple[str, str]] = {}
    for i, ev in good:
        key = subject[i]
        at = erased.get(key)
        if at is None or (key in live and (ev.occurred_at is None or ev.occurred_at >= at)):
            continue
        who = "customer" if key[0] == "customer" else "visitor"
        reason = (f"this {who} was erased; events about them are not accepted"
                  if key not in live else
                  f"this {who} was erased at {at.isoformat()}; events from before the "
                  "erasure are not accepted")
        out[i] = (f"{key[0]}_id", reason)
    _log_refused(db, [subject[i] for i in out])
    return out


def _log_refused(db: Session, keys: Sequence[tuple[str, str]]) -> None:
    if keys:
        log.info("events refused: the person was erased", extra={
            "events": len(keys),
            "subjects": sorted({tombstones.short(db, v) for _, v in keys})})


def _subject(ev: EventIn) -> tuple[str, str]:
    return ("customer", ev.customer_id) if ev.customer_id else ("visitor", ev.visitor_id)  # type: ignore[return-value]


def _erased_meanwhile(db: Session, kept: Sequence[tuple[int, EventIn]],
                      unique: dict[str, EventIn], live: set[str],
                      profiles: dict[tuple[str, str], str]) -> list[RejectedEvent]:
    first = {ev.event_id: i for i, ev in reversed(kept)}
    late = [ev for ev in unique.values() if profiles.get(_subject(ev)) not in live]
    _log_refused(db, [_subject(ev) for ev in late])
    return [_reject(first[ev.event_id], ev.model_dump(), [(
        f"{_subject(ev)[0]}_id", "this person was erased while the batch was being stored; "
        "events about them are not accepted")]) for ev in late]


def ingest(db: Session, raw_events: Sequence[Any], *, weights: dict[str, float],
           max_skew: int = 300, atomic: bool = False,
           widget_visitor: str | None = None,
           widget_types: Collection[str] = DEFAULT_WIDGET_EVENT_TYPES,
           learn_after: float | None = None) -> IngestResult:
    """Stores the valid events and commits before returning (durable before the 2xx).

    With `learn_after` (seconds), each new event is also put in the learning outbox in the
    same transaction, for the retry to learn if this worker's learner has not by then."""
    result = IngestResult()
    good, result.rejected = validate(raw_events, weights, max_skew, widget_visitor,
                                     widget_types)
    known = catalog.existing_ids(db, {ev.item_id for _, ev in good if ev.item_id})
    refused = _erasure_refusals(db, good)
    kept: list[tuple[int, EventIn]] = []
    for i, ev in good:
        if ev.item_id is not None and ev.item_id not in known:
            result.rejected.append(_reject(i, ev.model_dump(), [
                ("item_id", f"item {ev.item_id!r} is not in the catalog")]))
        elif i in refused:
            result.rejected.append(_reject(i, ev.model_dump(), [refused[i]]))
        else:
            kept.append((i, ev))
    result.rejected.sort(key=lambda r: r.index)
    if atomic and result.rejected:
        return result  # nothing stored, the caller answers 422
    # The same event id twice in one batch counts once.
    unique: dict[str, EventIn] = {}
    for _, ev in kept:
        key = idempotency_key(ev.event_id, widget_visitor)
        if key in unique:
            result.duplicates += 1
        else:
            unique[key] = ev
    if not unique:
        return result
    subjects = {("customer", ev.customer_id) if ev.customer_id else ("visitor", ev.visitor_id)
                for ev in unique.values()}
    profiles = resolve_subjects(db, subjects, skip_erased=True)  # type: ignore[arg-type]
    # An erasure may have committed since the check above. The profiles are held from here
    # to commit: the erasure either deletes these rows too, or has removed the profile.
    live = tombstones.hold(db, profiles.values())
    late = _erased_meanwhile(db, kept, unique, live, profiles)
    if late:
        result.rejected = sorted([*result.rejected, *late], key=lambda r: r.index)
        if atomic:
            db.rollback()
            return result
    now = datetime.now(UTC)
    rows: list[dict[str, Any]] = []
    for key, ev in unique.items():
        subject = _subject(ev)
        if profiles.get(subject) not in live:
            continue
        rows.append({
            "idempotency_key": key, "type": ev.type,
            "profile_id": profiles[subject],
            "item_id": ev.item_id, "value": ev.value, "weight": weight_of(ev, weights),
            "role": ev.role, "session_id": ev.session_id,
            "context": ev.context.model_dump(mode="json", exclude_none=True),
            "occurred_at": ev.occurred_at or now, "received_at": now})
    if not rows:
        db.commit()  # the profiles' locks go; nothing else was written
        return result
    inserted: dict[str, int] = dict(insert_ignore_returning_rows(  # type: ignore[arg-type]
        db, Event, rows, ["idempotency_key"], Event.idempotency_key, Event.id))
    retry_at = now + timedelta(seconds=learn_after or 0)
    outbox = [{"event_id": inserted[r["idempotency_key"]], "retry_at": retry_at, "attempts": 0}
              for r in rows
              if r["idempotency_key"] in inserted and teaches(r["type"], r["item_id"])]
    if learn_after is not None and outbox:
        db.execute(insert(LearnPending), outbox)
    db.commit()
    result.duplicates += len(rows) - len(inserted)
    roots = roots_of(db, {r["profile_id"] for r in rows if r["idempotency_key"] in inserted})
    for row in rows:
        seq = inserted.get(row["idempotency_key"])
        if seq is None:
            continue
        result.accepted.append(AcceptedEvent(
            event_id=unique[row["idempotency_key"]].event_id, type=row["type"],
            profile_id=roots[row["profile_id"]],
            item_id=row["item_id"], value=row["value"], weight=row["weight"],
            role=row["role"], session_id=row["session_id"], context=row["context"],
            occurred_at=row["occurred_at"], seq=seq))
    return result
