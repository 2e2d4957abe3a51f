from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.schemas.catalog import PublicItem, StaffItem


class ReasonOut(BaseModel):
    text: str
    kind: str
    weight: float


class Recommendation(BaseModel):
    item_id: str
    score: float = Field(description="Probability of a positive response (posterior mean).")
    uncertainty: float
    reasons: list[ReasonOut]
    item: StaffItem | PublicItem = Field(description="StaffItem (cost, margin, stock) for "
                                         "staff keys, PublicItem for widget keys.")


class RecommendationsOut(BaseModel):
    customer_id: str
    personalized: bool
    note: str | None = Field(None, description="Why results are not personalized, if so.")
    items: list[Recommendation]
    why_empty: str | None = Field(None, description="Why the list is empty, if it is.")
    question: dict[str, Any] | None = Field(None, description="A clarifying question worth "
                                            "asking, when the model is unsure.")


class PreferenceOut(BaseModel):
    attribute: str | None
    item_id: str | None
    value: float = Field(description="-1 (dislike) .. +1 (like)")
    confidence: float
    source: str
    at: datetime
    kind: str
    hard: bool = False


class ProfileOut(BaseModel):
    customer_id: str
    exists: bool
    stated: list[PreferenceOut]
    inferred: list[PreferenceOut]
    suppressed: list[str] = Field(description="Preferences the customer deleted: never "
                                              "inferred again.")
    recipients: dict[str, dict[str, Any]] = Field(description="Separate profiles of people "
                                                              "the customer buys for.")
    cohort: int | None
    n_signals: int
    uncertainty: float
    style: dict[str, Any]
    consent: dict[str, bool]


class PreferenceSet(BaseModel):
    model_config = ConfigDict(extra="forbid")
    attribute: str = Field(examples=["diet=vegan"], max_length=120)
    value: float = Field(ge=-1, le=1, description="+1 like, -1 dislike")


class PreferencesPatch(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"set": [{"attribute": "diet=vegan", "value": 1}], "delete": ["material=leather"]}]})

    set: list[PreferenceSet] = Field(default_factory=list, max_length=50)
    delete: list[str] = Field(default_factory=list, max_length=50)
    role: Literal["self", "child", "partner", "gift", "other"] = "self"
