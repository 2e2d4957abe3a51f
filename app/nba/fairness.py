"""Fairness audit of dynamic prices: which inputs decide a discount (behaviour only, by
construction: `pricing.PRICE_INPUTS`), and, over the decisions actually made, the mean
discount per value of each protected profile attribute, with the largest gap. A gap can
still come in through a proxy (behaviour that correlates with a protected attribute); the
audit shows it so a person can judge it."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import Profile
from app.nba.pricing import PRICE_INPUTS
from app.nba.segments import PROTECTED
from app.nba.tables import DecisionRow

GAP_ALERT = 0.05  # 5 percentage points between groups


def audit(db: Session, offer_id: str, limit: int = 20_000) -> dict[str, Any]:
    rows = db.execute(select(DecisionRow.profile_id, DecisionRow.candidates)
                      .order_by(DecisionRow.at.desc()).limit(limit)).all()
    discount: dict[str, float] = {}
    for pid, candidates in rows:
        for c in candidates:
            if c.get("offer_id") == offer_id and (c.get("pricing") or {}).get("dynamic"):
                discount.setdefault(pid, float(c["discount"]))  # newest per person
    attrs: dict[str, Any] = dict(db.execute(select(Profile.id, Profile.attributes)
                            .where(Profile.id.in_(list(discount)))).tuples().all())
    groups: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for pid, d in discount.items():
        for key, value in (attrs.get(pid) or {}).items():
            if key in PROTECTED:
                v = value[0] if isinstance(value, list) and value else value
                groups[key][str(v)].append(d)
    report = {}
    for key, by_value in groups.items():
        means = {v: round(sum(ds) / len(ds), 4) for v, ds in by_value.items()}
        gap = max(means.values()) - min(means.values()) if means else 0.0
        report[key] = {"mean_discount": means, "n": {v: len(ds) for v, ds in by_value.items()},
                       "gap": round(gap, 4), "alert": gap > GAP_ALERT}
    return {"offer_id": offer_id, "price_inputs": list(PRICE_INPUTS),
            "protected_attributes_used_in_price": [], "customers": len(discount),
            "by_attribute": report,
            "verdict": "alert: review the gaps" if any(r["alert"] for r in report.values())
            else "no protected attribute drives price"}
