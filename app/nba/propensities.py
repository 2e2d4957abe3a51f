"""Per-customer propensities for the API and the NBA: features from the person's purchases
(the return channel, read fresh on every call) through the fitted model. The model starts
as the prior fitted on a public retail log (`benchmarks/propensity.py --write-prior`) and
can be refitted on the shop's own events (`refit`)."""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import Event, ItemRow
from app.nba.facts import CustomerFacts, discount_fraction, priced
from app.nba.tables import RedemptionRow
from preference_model.propensity import (
    PRIOR_PATH,
    TARGETS,
    Propensity,
    PropensityModel,
    Purchase,
    features,
)

log = logging.getLogger(__name__)


class Propensities:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        try:
            self.model = PropensityModel.load(PRIOR_PATH)
            self.source = "prior: UCI Online Retail (benchmarks/propensity.py)"
        except (OSError, ValueError, KeyError) as exc:
            log.warning("no propensity prior (%s): propensities answer 0.5 until refit", exc)
            self.model, self.source = PropensityModel(), "none"

    def predict(self, facts: CustomerFacts, now: datetime
                ) -> tuple[dict[str, Propensity], dict[str, float]]:
        # The list prices are the reference: a purchase paid below them (an event's
        # unit_price, a redeemed offer) counts as a discounted one.
        feats = features(facts.purchases, now + timedelta(microseconds=1), facts.reference)
        with self._lock:
            model = self.model
        out = model.predict(feats)
        for target in TARGETS:
            out.setdefault(target, Propensity(0.5))
        return out, feats

    def refit(self, db: Session, now: datetime, every_days: int = 14) -> dict[str, Any]:
        """Fit on the shop's purchase events (cutoffs every `every_days`); targets with too
        little data keep the current model."""
        rows = db.execute(select(Event.profile_id, Event.item_id, Event.value,
                                 Event.occurred_at, ItemRow.price, Event.context)
                          .join(ItemRow, ItemRow.id == Event.item_id)
                          .where(Event.type == "purchase")).all()
        redeemed: dict[str, list[tuple[datetime, frozenset[str], float]]] = defaultdict(list)
        for r in db.scalars(select(RedemptionRow)):
            redeemed[r.profile_id].append((r.at, frozenset(r.items or ()), discount_fraction(
                r.discount_amount, r.basket_value)))
        lines: dict[str, list[tuple[datetime, str, float, float, float | None]]] = \
            defaultdict(list)
        reference: dict[str, float] = {}
        for pid, item, qty, at, price, ctx in rows:
            reference[str(item)] = float(price)
            lines[pid].append((at, str(item), qty if qty and qty > 0 else 1.0, float(price),
                               (ctx or {}).get("unit_price")))
        histories: dict[str, list[Purchase]] = {
            pid: priced(ls, redeemed.get(pid, [])) for pid, ls in lines.items()}
        if not histories:
            return {"fitted": [], "source": self.source}
        first = min(p.at for h in histories.values() for p in h)
        cutoffs, c = [], first + timedelta(days=every_days)
        while c < now:
            cutoffs.append(c)
            c += timedelta(days=every_days)
        fitted = PropensityModel.fit(histories, cutoffs, reference, last_event=now)
        with self._lock:
            merged = PropensityModel(dict(self.model.models), dict(self.model.n_train))
            merged.models.update(fitted.models)
            merged.n_train.update(fitted.n_train)
            self.model = merged
            if fitted.models:
                self.source = "fitted on this shop's events"
        return {"fitted": sorted(fitted.models), "n_train": fitted.n_train,
                "source": self.source}


def segment_facts(facts: CustomerFacts, feats: dict[str, float],
                  props: dict[str, Propensity]) -> dict[str, Any]:
    """What an offer's eligibility filter can read about this person."""
    return {"recency_days": feats["recency"] if facts.purchases else None,
            "frequency": feats["frequency"], "monetary": feats["monetary"],
            "avg_order_value": feats["avg_order"], "tenure_days": feats["tenure"],
            "orders_30d": feats["orders_30d"], "channel_last": facts.last_channel,
            "country": facts.attributes.get("country"), "timezone": facts.timezone,
            "attributes": facts.attributes, **{t: p.p for t, p in props.items()}}
