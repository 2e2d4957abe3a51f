"""Offers: create, read, replace, delete, activate, pause. Definitions that cannot work are
refused with a precise 422 (unknown items, a discount that sells an item below the margin
floor, a window already over at activation); ids in use get 409."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import ItemRow, utcnow
from app.errors import Conflict, InvalidInput, NotFound
from app.nba import cache
from app.nba.offer_spec import OfferSpec
from app.nba.tables import OfferRow, RedemptionRow


@dataclass(frozen=True)
class Economics:
    """What the shop earns on one item: price and unit cost (None: unknown)."""

    price: float
    cost: float | None

    @classmethod
    def of(cls, row: ItemRow) -> Economics:
        cost = row.cost
        if cost is None and row.margin is not None:
            cost = row.price * (1.0 - row.margin)
        return cls(row.price, cost)

    def margin_after(self, discount: float, amount: float = 0.0) -> float | None:
        """Margin as a fraction of the discounted price; None when the cost is unknown."""
        if self.cost is None:
            return None
        paid = self.price * (1.0 - discount) - amount
        return (paid - self.cost) / paid if paid > 0 else float("-inf")

    def max_discount(self, floor: float) -> float:
        """The largest fraction off the price that keeps `floor` margin (0 if none does)."""
        if self.cost is None or self.price <= 0:
            return 0.0
        # (p(1-d) - c) / (p(1-d)) >= f  <=>  d <= 1 - c / (p (1 - f))
        return max(0.0, 1.0 - self.cost / (self.price * (1.0 - floor)))


def economics(db: Session, ids: list[str]) -> dict[str, Economics]:
    if not ids:
        return {}
    rows = db.execute(select(ItemRow.id, ItemRow.price, ItemRow.cost, ItemRow.margin)
                      .where(ItemRow.id.in_(ids))).all()
    return {i: Economics(price, cost if cost is not None or margin is None
                         else price * (1.0 - margin)) for i, price, cost, margin in rows}


_SPECS: dict[tuple[str, str], OfferSpec] = {}


def spec_of(row: OfferRow) -> OfferSpec:
    """The validated spec, cached per offer version (decisions read every active offer)."""
    key = (row.id, row.updated_at.isoformat())
    spec = _SPECS.get(key)
    if spec is None:
        if len(_SPECS) > 10_000:
            _SPECS.clear()
        spec = _SPECS[key] = OfferSpec.model_validate(row.spec)
    return spec


def check(db: Session, spec: OfferSpec) -> list[str]:
    """Raises InvalidInput for an offer the catalog cannot honour; returns warnings (items
    whose cost is unknown, so the margin floor could not be checked)."""
    ids = spec.item_ids()
    known = economics(db, ids)
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise InvalidInput(f"unknown item(s): {', '.join(unknown[:10])}",
                           details={"unknown_items": unknown})
    discount = spec.percent()
    warnings: list[str] = []
    if spec.dynamic is not None:
        # The range's top is capped per item at decision time; its bottom must be possible.
        discount = spec.dynamic.min_percent / 100
        over = [i for i in spec.items if known[i].cost is not None and
                known[i].max_discount(spec.margin_floor) < spec.dynamic.max_percent / 100]
        if over:
            warnings.append(f"dynamic discounts on {', '.join(over[:5])} are capped below "
                            f"{spec.dynamic.max_percent:g}% by the margin floor")
    amount = spec.value if spec.kind == "amount_discount" and spec.value else 0.0
    discounted = ([spec.bundle.reward_item] if spec.bundle else spec.items) \
        if (discount or amount) else []
    below, unchecked = [], []
    for item_id in discounted:
        m = known[item_id].margin_after(discount, amount)
        if m is None:
            unchecked.append(item_id)
        elif m < spec.margin_floor:
            below.append({"item_id": item_id, "margin": round(m, 4) if m > -1e9 else None,
                          "max_discount_percent":
                              round(100 * known[item_id].max_discount(spec.margin_floor), 2)})
    if below:
        raise InvalidInput(
            f"the discount sells {len(below)} item(s) below the margin floor "
            f"{spec.margin_floor:.0%}", details={"below_margin_floor": below})
    return warnings + [f"margin floor not checked for {i}: its cost is unknown"
                       for i in unchecked]


def _row(db: Session, offer_id: str) -> OfferRow:
    row = db.get(OfferRow, offer_id)
    if row is None:
        raise NotFound(f"no offer {offer_id!r}")
    return row


def create(db: Session, spec: OfferSpec) -> tuple[OfferRow, list[str]]:
    warnings = check(db, spec)
    if db.get(OfferRow, spec.id) is not None:
        raise Conflict(f"an offer {spec.id!r} exists; PUT it to change it")
    row = OfferRow(id=spec.id, name=spec.name, kind=spec.kind, status="draft",
                   spec=spec.model_dump(mode="json"))
    db.add(row)
    db.flush()
    cache.changed()
    return row, warnings


def replace(db: Session, offer_id: str, spec: OfferSpec) -> tuple[OfferRow, list[str]]:
    if spec.id != offer_id:
        raise InvalidInput(f"the body's id {spec.id!r} differs from the path's {offer_id!r}")
    row = _row(db, offer_id)
    warnings = check(db, spec)
    row.name, row.kind, row.spec, row.updated_at = (spec.name, spec.kind,
                                                    spec.model_dump(mode="json"), utcnow())
    db.flush()
    cache.changed()
    return row, warnings


def get(db: Session, offer_id: str) -> OfferRow:
    return _row(db, offer_id)


def listing(db: Session, status: str | None = None) -> list[OfferRow]:
    q = select(OfferRow).order_by(OfferRow.created_at, OfferRow.id)
    if status:
        q = q.where(OfferRow.status == status)
    return list(db.scalars(q))


def delete(db: Session, offer_id: str) -> None:
    db.delete(_row(db, offer_id))
    db.flush()
    cache.changed()


def set_status(db: Session, offer_id: str, status: str, now: datetime | None = None
               ) -> OfferRow:
    row = _row(db, offer_id)
    if status == "active":
        spec = OfferSpec.model_validate(row.spec)
        now = now or datetime.now(UTC)
        if spec.valid_until is not None and spec.valid_until <= now:
            raise InvalidInput(f"offer {offer_id!r} ended at {spec.valid_until.isoformat()}; "
                               "extend valid_until to activate it")
        check(db, spec)  # the catalog may have changed since the offer was written
    row.status, row.updated_at = status, utcnow()
    db.flush()
    cache.changed()
    return row


def active(db: Session) -> list[tuple[OfferRow, OfferSpec]]:
    """Active offers as read-only snapshots (detached: `cache.Snapshot` shares them)."""
    rows = listing(db, "active")
    for r in rows:
        db.expunge(r)
    return [(r, spec_of(r)) for r in rows]


def view(row: OfferRow, warnings: list[str] | None = None) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "kind": row.kind, "status": row.status,
            "spec": row.spec, "spent": row.spent, "redemptions": row.redemptions,
            "created_at": row.created_at, "updated_at": row.updated_at,
            "warnings": warnings or []}


def redeem(db: Session, offer_id: str, *, basket_value: float, quantity: int,
           discount_amount: float, now: datetime, profile_id: str | None = None) -> OfferRow:
    """Counts one redemption against the budget: the hurdle must be met (422), the offer
    active and live (409), the budget not exhausted (409). The budget check and the
    increment are one UPDATE, so two workers cannot both take the last redemption. With
    `profile_id` (the root profile) the redemption is also recorded for the person: their
    purchases of the offer's items around it were discounted (the discount-response
    propensity's input)."""
    from sqlalchemy import update

    row = _row(db, offer_id)
    spec = spec_of(row)
    if row.status != "active" or not spec.live(now):
        raise Conflict(f"offer {offer_id!r} is not active now")
    if basket_value < spec.hurdle.min_basket or quantity < spec.hurdle.min_quantity:
        raise InvalidInput(f"hurdle not met: the offer needs a basket of at least "
                           f"{spec.hurdle.min_basket:g} and {spec.hurdle.min_quantity} items",
                           details={"min_basket": spec.hurdle.min_basket,
                                    "min_quantity": spec.hurdle.min_quantity})
    stmt = update(OfferRow).where(OfferRow.id == offer_id)
    if spec.budget.max_redemptions is not None:
        stmt = stmt.where(OfferRow.redemptions < spec.budget.max_redemptions)
    if spec.budget.max_spend is not None:
        stmt = stmt.where(OfferRow.spent + discount_amount <= spec.budget.max_spend)
    done = db.execute(stmt.values(redemptions=OfferRow.redemptions + 1,
                                  spent=OfferRow.spent + discount_amount))
    if not getattr(done, "rowcount", 0):
        raise Conflict(f"offer {offer_id!r}: budget exhausted")
    if profile_id is not None:
        items = [spec.bundle.reward_item] if spec.bundle else list(spec.items)
        db.add(RedemptionRow(offer_id=offer_id, profile_id=profile_id, items=items,
                             basket_value=basket_value, discount_amount=discount_amount,
                             at=now))
    db.flush()
    db.refresh(row)
    cache.changed()  # the budget rule reads the counters
    return row
