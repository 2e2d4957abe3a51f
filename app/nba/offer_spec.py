"""What an offer is, as marketers define it through the API. Shape checks live here (pydantic
at the boundary); checks against the catalog (unknown items, the margin floor) live in
`offers.py`, since they need the items' prices and costs."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from app.nba.segments import Condition

OfferKind = Literal["percent_discount", "amount_discount", "bundle", "free_shipping",
                    "loyalty_points", "content"]
Channel = Literal["web", "app", "email", "push", "sms", "store"]
CHANNELS: tuple[Channel, ...] = ("web", "app", "email", "push", "sms", "store")
ItemId = str


class Bundle(BaseModel):
    """Buy every item of `requires`, unlock `percent` off `reward_item`."""

    model_config = ConfigDict(extra="forbid")
    requires: list[ItemId] = Field(min_length=1, max_length=20)
    reward_item: ItemId = Field(min_length=1, max_length=64)
    percent: float = Field(gt=0, le=100)


class Hurdle(BaseModel):
    model_config = ConfigDict(extra="forbid")
    min_basket: float = Field(0.0, ge=0, description="Basket value needed to redeem.")
    min_quantity: int = Field(0, ge=0)


class Budget(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_redemptions: int | None = Field(None, ge=1)
    max_spend: float | None = Field(None, gt=0, description="Total discount granted, currency.")


class Dynamic(BaseModel):
    """Let the NBA pick the discount per customer in [min_percent, max_percent] (by
    propensity and discount response), never below the margin floor."""

    model_config = ConfigDict(extra="forbid")
    min_percent: float = Field(ge=0, le=100)
    max_percent: float = Field(gt=0, le=100)
    step: float = Field(5.0, ge=0.5, le=50, description="Percentage points between levels.")

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.min_percent > self.max_percent:
            raise ValueError("dynamic.min_percent must not exceed dynamic.max_percent")
        return self


class OfferSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "id": "spring-10", "name": "10% off running shoes", "kind": "percent_discount",
        "value": 10, "items": ["sku-1", "sku-4"], "valid_from": "2026-03-01T00:00:00Z",
        "valid_until": "2026-03-31T23:59:59Z", "margin_floor": 0.15,
        "eligibility": [{"field": "recency_days", "op": "<=", "value": 90}],
        "channels": ["web", "email"], "budget": {"max_redemptions": 500}}]})

    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    name: str = Field(min_length=1, max_length=200)
    kind: OfferKind
    value: float | None = Field(None, description="percent (0-100], amount (currency) or "
                                "loyalty points, by kind; none for bundle, free_shipping, "
                                "content")
    items: list[ItemId] = Field(default_factory=list, max_length=500,
                                description="Items the offer is about; empty: any item.")
    categories: list[str] = Field(default_factory=list, max_length=50)
    bundle: Bundle | None = None
    valid_from: AwareDatetime | None = None
    valid_until: AwareDatetime | None = None
    hurdle: Hurdle = Field(default_factory=Hurdle)
    eligibility: list[Condition] = Field(default_factory=list, max_length=20)
    budget: Budget = Field(default_factory=Budget)
    margin_floor: float = Field(0.0, ge=0, lt=1, description="Lowest margin (fraction of the "
                                "discounted price) any item may be sold at under this offer.")
    stackable: bool = Field(False, description="May be combined with other offers.")
    group: str | None = Field(None, max_length=64, description="Offers of one group conflict: "
                              "a customer gets at most one of them at a time.")
    channels: list[Channel] = Field(default_factory=lambda: list(CHANNELS), min_length=1)
    sensitive_topics: list[str] = Field(default_factory=list, max_length=10)
    dynamic: Dynamic | None = None
    shipping_cost: float = Field(0.0, ge=0, description="Free shipping: what it costs the shop.")
    point_value: float = Field(0.01, ge=0, description="Loyalty points: currency per point.")
    message: str = Field("", max_length=500, description="Copy shown or sent with the offer.")

    @model_validator(mode="after")
    def _coherent(self) -> Self:
        if self.valid_from and self.valid_until and self.valid_until <= self.valid_from:
            raise ValueError("empty validity window: valid_until must be after valid_from")
        needs_value = {"percent_discount", "amount_discount", "loyalty_points"}
        if self.kind in needs_value and (self.value is None or self.value <= 0):
            raise ValueError(f"a {self.kind} offer needs a positive `value`")
        if self.kind not in needs_value and self.value is not None:
            raise ValueError(f"a {self.kind} offer takes no `value`")
        if self.kind == "percent_discount" and self.value is not None and self.value > 100:
            raise ValueError("a percent discount is at most 100")
        if (self.kind == "bundle") != (self.bundle is not None):
            raise ValueError("`bundle` is given exactly for kind 'bundle'")
        if self.dynamic is not None and self.kind != "percent_discount":
            raise ValueError("`dynamic` discounts are percent discounts")
        for c in self.eligibility:
            if not c.known_field():
                raise ValueError(f"eligibility: unknown field {c.field!r}")
            if c.protected() and self.kind != "content":
                raise ValueError(f"eligibility: {c.field!r} is a protected attribute and may "
                                 "not decide who gets a price (fairness)")
        return self

    def percent(self) -> float:
        """The headline discount as a fraction of price (0 for non-price offers)."""
        if self.kind == "percent_discount" and self.value is not None:
            return (self.dynamic.max_percent if self.dynamic else self.value) / 100.0
        if self.kind == "bundle" and self.bundle is not None:
            return self.bundle.percent / 100.0
        return 0.0

    def live(self, at: datetime) -> bool:
        return ((self.valid_from is None or self.valid_from <= at)
                and (self.valid_until is None or at < self.valid_until))

    def item_ids(self) -> list[str]:
        extra = [*self.bundle.requires, self.bundle.reward_item] if self.bundle else []
        return list(dict.fromkeys([*self.items, *extra]))
