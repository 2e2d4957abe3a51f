"""The return channel's event schema."""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from app.schemas.types import LocalTime

Role = Literal["self", "child", "partner", "gift", "other"]
ITEM_EVENTS = frozenset({"impression", "view", "dwell", "zoom", "click", "add_to_cart",
                         "purchase", "dismiss", "rating"})


def teaches(event_type: str, item_id: str | None) -> bool:
    """Whether the preference model learns from such an event: exposure alone (an
    impression) or an event about no item is no preference."""
    return item_id is not None and event_type != "impression"


SubjectId = Annotated[str, Field(min_length=1, max_length=128,
                                 pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@-]*$")]


class EventContext(BaseModel):
    model_config = ConfigDict(extra="forbid")

    local_time: LocalTime | None = Field(
        None, description="The customer's local wall-clock time, ideally with its UTC offset.")
    timezone: str | None = Field(None, max_length=64, examples=["Europe/Paris"])
    device: Literal["desktop", "mobile", "tablet", "tv", "other"] | None = None
    channel: Literal["web", "app", "email", "chat", "store", "api", "other"] | None = None
    location: str | None = Field(None, max_length=80, description="Coarse: city or region.")
    weather: str | None = Field(None, max_length=40, examples=["rain"])
    page: str | None = Field(None, max_length=2000)
    placement: str | None = Field(None, max_length=80, examples=["home_recs", "chat"])
    unit_price: float | None = Field(None, ge=0, allow_inf_nan=False, description=(
        "purchase: the unit price paid, when it differs from the catalog's (a discount, a "
        "sale); the discount-response propensity reads it."))


class EventIn(BaseModel):
    """One customer reaction. Give `customer_id` (known) or `visitor_id` (anonymous)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "event_id": "evt-7f3a-0001", "type": "click", "visitor_id": "v-42",
        "item_id": "apl-w-0012", "occurred_at": "2026-11-23T10:15:00Z",
        "context": {"device": "mobile", "channel": "web", "placement": "home_recs"}}]})

    event_id: str = Field(min_length=1, max_length=128,
                          description="Idempotency key: an event re-sent with the same id "
                                      "is stored and counted once. Ids from a widget key "
                                      "are scoped to its visitor; ids from server keys may "
                                      "not start with 'wv:'.")
    type: str = Field(min_length=1, max_length=40, pattern=r"^[a-z][a-z0-9_]*$",
                      description="impression, view, dwell, zoom, click, add_to_cart, "
                                  "purchase, dismiss, rating, or a configured custom type.")
    customer_id: SubjectId | None = None
    visitor_id: SubjectId | None = None
    item_id: str | None = Field(None, min_length=1, max_length=64)
    value: float | None = Field(None, description="rating: 1-5; dwell: seconds; "
                                                  "purchase: quantity (default 1).")
    role: Role = Field("self", description="Who the action is for: a purchase for a child "
                                           "shapes a recipient profile, not the buyer's taste.")
    session_id: str | None = Field(None, max_length=80)
    occurred_at: AwareDatetime | None = Field(None, description="Default: time received.")
    context: EventContext = Field(default_factory=lambda: EventContext())

    @field_validator("value")
    @classmethod
    def _finite(cls, v: float | None) -> float | None:
        if v is not None and not math.isfinite(v):
            raise ValueError("value must be a finite number")
        return v


class EventBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    events: list[EventIn] = Field(min_length=1, max_length=1000)


class FieldError(BaseModel):
    field: str
    message: str


class RejectedEvent(BaseModel):
    index: int = Field(description="Position of the event in the batch, from 0.")
    event_id: str | None
    errors: list[FieldError]


class EventsResult(BaseModel):
    accepted: int = Field(description="New events stored by this request.")
    duplicates: int = Field(description="Events whose event_id was already stored.")
    rejected: list[RejectedEvent] = Field(default_factory=list)
    atomic: bool = False
