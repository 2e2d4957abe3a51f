"""What the NBA layer knows about one person when it decides: purchases (from the return
channel, at the price paid), recent views, touches already delivered, consent, time zone
and profile attributes, over the whole identity cluster.

Who the person is (root, cluster, attributes, consent) comes from `People`, a per-worker
cache checked against the `people` cache version (app/db/versions.py) on every use; the
events (joined with the catalog's prices, and the person's offer redemptions) are one query
and the touches another."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BindParameter, bindparam, literal_column, select, union_all
from sqlalchemy.orm import Session

from app.db.models import Event, ItemRow, Profile
from app.nba.tables import RedemptionRow, TouchRow
from app.services import consent
from app.services.identity import cluster_ids, resolve, root_of
from preference_model.propensity import Purchase

VIEW_EVENTS = ("view", "click", "add_to_cart", "dwell", "zoom")
# A purchase this close to a redemption of an offer on its item was made at the discount.
REDEMPTION_WINDOW = timedelta(days=1)


@dataclass(frozen=True)
class Touch:
    channel: str
    action: str
    offer_id: str | None
    at: datetime


@dataclass(frozen=True)
class Person:
    """Who one path id names: the root profile, its cluster, attributes and consent."""

    pid: str
    ids: tuple[str, ...]
    attributes: dict[str, Any]
    consents: dict[str, bool]


@dataclass
class CustomerFacts:
    pid: str
    attributes: dict[str, Any] = field(default_factory=dict)
    timezone: str | None = None
    consents: dict[str, bool] = field(default_factory=dict)  # purpose -> granted
    purchases: list[Purchase] = field(default_factory=list)
    viewed: list[str] = field(default_factory=list)  # newest first, distinct
    carted: list[str] = field(default_factory=list)
    touches: list[Touch] = field(default_factory=list)
    last_channel: str | None = None
    last_event_at: datetime | None = None
    reference: dict[str, float] = field(default_factory=dict)  # item -> list (catalog) price

    def granted(self, purpose: str) -> bool:
        return bool(self.consents.get(purpose, False))

    def refused(self, purpose: str) -> bool:
        """Explicitly refused (channel preferences have no default: absent = not refused)."""
        return purpose in self.consents and not self.consents[purpose]

    def bought(self) -> set[str]:
        return {p.item_id for p in self.purchases}


def person_of(db: Session, root: Profile, personalization_default: bool) -> Person:
    ids = tuple(cluster_ids(db, root.id))
    consents = consent.current_many(db, [root.id], personalization_default)[root.id]
    return Person(root.id, ids, dict(root.attributes or {}), consents)


class People:
    """Per-worker cache of `Person` by the profile id a caller named. An entry is used only
    while the `people` version it was read under is the current one, so a consent change,
    a merge, an erasure or a new attribute (any worker) is seen by the next decision.
    Shop customer and visitor ids are resolved each time (an identifier may be added for
    them); their cluster and consent are cached under the root's profile id."""

    def __init__(self, personalization_default: bool, size: int = 50_000) -> None:
        self.personalization_default = personalization_default
        self.size = size
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, tuple[int, Person]] = OrderedDict()

    def _cached(self, key: str, version: int | None) -> Person | None:
        if version is None:
            return None
        with self._lock:
            hit = self._entries.get(key)
            if hit is None or hit[0] != version:
                return None
            self._entries.move_to_end(key)
            return hit[1]

    def _keep(self, key: str, version: int | None, p: Person) -> None:
        if version is None:
            return
        with self._lock:
            self._entries[key] = (version, p)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def get(self, db: Session, ref: str, versions: dict[str, int]) -> Person:
        """NotFound for an unknown or erased id (as `identity.resolve`)."""
        version = versions.get("people")
        hit = self._cached(ref, version)
        if hit is not None:
            return hit
        profile = db.get(Profile, ref)
        root = root_of(db, profile) if profile is not None else resolve(db, ref)
        p = self._cached(root.id, version)
        if p is None:
            p = person_of(db, root, self.personalization_default)
            self._keep(root.id, version, p)
        if profile is not None:
            self._keep(ref, version, p)
        return p


def load(db: Session, ref_profile: Profile, now: datetime, *, personalization_default: bool,
         history_days: int = 730, touch_days: int = 30) -> CustomerFacts:
    """Facts without the cache (API reads, slots)."""
    return load_person(db, person_of(db, root_of(db, ref_profile), personalization_default),
                       now, history_days=history_days, touch_days=touch_days)


# Built once (the decision path runs them on every decision): bind parameters ids, since,
# now. One round trip: the cluster's events with their item's list price, and its offer
# redemptions (type "~redemption"; value = discount amount, price = basket value).
_IDS: BindParameter[list[str]] = bindparam("ids", expanding=True)
_SINCE: BindParameter[datetime] = bindparam("since")
_NOW: BindParameter[datetime] = bindparam("now")
_EVENTS = union_all(
    select(Event.type, Event.item_id, Event.value, Event.occurred_at, Event.context,
           ItemRow.price)
    .outerjoin(ItemRow, ItemRow.id == Event.item_id)
    .where(Event.profile_id.in_(_IDS), Event.occurred_at >= _SINCE,
           Event.occurred_at <= _NOW),
    select(literal_column("'~redemption'"), RedemptionRow.offer_id,
           RedemptionRow.discount_amount, RedemptionRow.at, RedemptionRow.items,
           RedemptionRow.basket_value)
    .where(RedemptionRow.profile_id.in_(_IDS), RedemptionRow.at >= _SINCE,
           RedemptionRow.at <= _NOW),
).order_by(literal_column("occurred_at"))
_TOUCHES = (select(TouchRow.channel, TouchRow.action, TouchRow.offer_id, TouchRow.at)
            .where(TouchRow.profile_id.in_(_IDS), TouchRow.at >= _SINCE)
            .order_by(TouchRow.at))


def load_person(db: Session, p: Person, now: datetime, *, history_days: int = 730,
                touch_days: int = 30) -> CustomerFacts:
    facts = CustomerFacts(p.pid, dict(p.attributes), consents=dict(p.consents))
    conn = db.connection()  # Core execution: these plain column reads need no ORM step
    rows = conn.execute(_EVENTS, {"ids": list(p.ids), "since": now - timedelta(
        days=history_days), "now": now}).all()
    lines: list[tuple[datetime, str, float, float, float | None]] = []
    redemptions: list[tuple[datetime, frozenset[str], float]] = []
    for typ, item_id, value, at, ctx, price in rows:
        if typ == "~redemption":
            redemptions.append((at, frozenset(ctx or ()), discount_fraction(value, price)))
            continue
        ctx = ctx or {}
        if ctx.get("timezone"):
            facts.timezone = ctx["timezone"]
        if ctx.get("channel"):
            facts.last_channel = ctx["channel"]
        facts.last_event_at = at
        if typ == "purchase" and price is not None and item_id:
            qty = value if value and value > 0 else 1.0
            facts.reference[item_id] = float(price)
            lines.append((at, item_id, qty, float(price), ctx.get("unit_price")))
        elif typ in VIEW_EVENTS and item_id:
            facts.viewed.append(item_id)
            if typ == "add_to_cart":
                facts.carted.append(item_id)
    facts.purchases = priced(lines, redemptions)
    facts.viewed = list(dict.fromkeys(reversed(facts.viewed)))  # newest first
    facts.carted = list(dict.fromkeys(reversed(facts.carted)))
    facts.timezone = str(facts.attributes.get("timezone") or facts.timezone or "") or None
    facts.touches = [Touch(*t) for t in conn.execute(_TOUCHES, {
        "ids": list(p.ids), "since": now - timedelta(days=touch_days)}).tuples()]
    return facts


def discount_fraction(discount: float | None, basket: float | None) -> float:
    if not discount or not basket or basket <= 0:
        return 0.0
    return max(0.0, min(discount / basket, 0.95))


def priced(lines: Iterable[tuple[datetime, str, float, float, float | None]],
           redemptions: Sequence[tuple[datetime, frozenset[str], float]]) -> list[Purchase]:
    """Purchase lines at the price paid: the event's `unit_price` when the shop sent it,
    else the list price less a redemption's discount (the basket's share taken off) when
    one of the person's redemptions within a day covers the item (its offer's discounted
    items; none listed = the whole basket), else the list price."""
    out = []
    for at, item, qty, price, paid in lines:
        if paid is None or paid < 0:
            off = max((f for r_at, items, f in redemptions
                       if abs(r_at - at) <= REDEMPTION_WINDOW and (not items or item in items)),
                      default=0.0)
            paid = price * (1.0 - off)
        out.append(Purchase(at, item, qty, float(paid)))
    return out
