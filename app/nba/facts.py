"""What the NBA layer knows about one person when it decides: purchases (from the return
channel, priced by the catalog), recent views, touches already delivered, consent, time
zone and profile attributes, over the whole identity cluster."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import Event, ItemRow, Profile
from app.nba.tables import TouchRow
from app.services import consent
from app.services.identity import cluster_ids, root_of
from preference_model.propensity import Purchase

VIEW_EVENTS = ("view", "click", "add_to_cart", "dwell", "zoom")


@dataclass(frozen=True)
class Touch:
    channel: str
    action: str
    offer_id: str | None
    at: datetime


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

    def granted(self, purpose: str) -> bool:
        return bool(self.consents.get(purpose, False))

    def refused(self, purpose: str) -> bool:
        """Explicitly refused (channel preferences have no default: absent = not refused)."""
        return purpose in self.consents and not self.consents[purpose]

    def bought(self) -> set[str]:
        return {p.item_id for p in self.purchases}


def load(db: Session, ref_profile: Profile, now: datetime, *, personalization_default: bool,
         history_days: int = 730, touch_days: int = 30) -> CustomerFacts:
    root = root_of(db, ref_profile)
    ids = cluster_ids(db, root.id)
    facts = CustomerFacts(root.id, dict(root.attributes or {}))
    facts.consents = consent.current_many(db, [root.id], personalization_default)[root.id]
    rows = db.execute(
        select(Event.type, Event.item_id, Event.value, Event.occurred_at, Event.context)
        .where(Event.profile_id.in_(ids),
               Event.occurred_at >= now - timedelta(days=history_days),
               Event.occurred_at <= now)
        .order_by(Event.occurred_at)).all()
    prices = dict(db.execute(select(ItemRow.id, ItemRow.price).where(
        ItemRow.id.in_({r.item_id for r in rows if r.item_id}))).tuples().all())
    for r in rows:
        ctx = r.context or {}
        if ctx.get("timezone"):
            facts.timezone = ctx["timezone"]
        if ctx.get("channel"):
            facts.last_channel = ctx["channel"]
        facts.last_event_at = r.occurred_at
        if r.type == "purchase" and r.item_id in prices:
            qty = r.value if r.value and r.value > 0 else 1.0
            facts.purchases.append(Purchase(r.occurred_at, r.item_id, qty, prices[r.item_id]))
        elif r.type in VIEW_EVENTS and r.item_id:
            facts.viewed.insert(0, r.item_id)
            if r.type == "add_to_cart":
                facts.carted.insert(0, r.item_id)
    facts.viewed = list(dict.fromkeys(facts.viewed))
    facts.carted = list(dict.fromkeys(facts.carted))
    facts.timezone = str(facts.attributes.get("timezone") or facts.timezone or "") or None
    facts.touches = [Touch(t.channel, t.action, t.offer_id, t.at) for t in db.scalars(
        select(TouchRow).where(TouchRow.profile_id.in_(ids),
                               TouchRow.at >= now - timedelta(days=touch_days))
        .order_by(TouchRow.at))]
    return facts
