"""What a journey is, as marketers define it."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

Trigger = Literal["cart_abandonment", "back_in_stock", "price_drop", "loyalty_milestone",
                  "event", "fading_customer"]


class TriggerSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Trigger
    event_type: str | None = Field(None, max_length=40, description="kind 'event': which")
    milestone: int | None = Field(None, ge=1, description="loyalty_milestone: the n-th "
                                  "purchase")
    threshold: float | None = Field(None, gt=0, lt=1, description="fading_customer: the "
                                    "churn propensity (no purchase in 90 days) at or above "
                                    "which a customer who bought before enters the journey")

    @model_validator(mode="after")
    def _coherent(self) -> Self:
        if (self.kind == "event") != (self.event_type is not None):
            raise ValueError("`event_type` is given exactly for trigger kind 'event'")
        if (self.kind == "loyalty_milestone") != (self.milestone is not None):
            raise ValueError("`milestone` is given exactly for a loyalty_milestone trigger")
        if (self.kind == "fading_customer") != (self.threshold is not None):
            raise ValueError("`threshold` is given exactly for a fading_customer trigger")
        return self


class Step(BaseModel):
    model_config = ConfigDict(extra="forbid")
    wait_seconds: float = Field(0.0, ge=0, le=90 * 86400, description="Durable wait before "
                                "the step (survives restarts).")
    channel: Literal["email", "push", "sms", "web", "app"]
    message: str = Field(min_length=1, max_length=500)
    offer_id: str | None = Field(None, max_length=64)


class JourneySpec(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "id": "cart-rescue", "name": "Cart abandonment",
        "trigger": {"kind": "cart_abandonment"},
        "steps": [{"wait_seconds": 7200, "channel": "email",
                   "message": "You left something in your cart"},
                  {"wait_seconds": 172800, "channel": "email", "offer_id": "free-ship",
                   "message": "Free shipping on your cart"}],
        "stop_on": ["purchase"]}]})

    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    name: str = Field(min_length=1, max_length=200)
    trigger: TriggerSpec
    steps: list[Step] = Field(min_length=1, max_length=20)
    stop_on: list[str] = Field(default_factory=lambda: ["purchase"], max_length=10,
                               description="Event types that end a person's run.")
