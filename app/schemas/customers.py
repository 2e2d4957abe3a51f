from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool


class IdentifyIn(BaseModel):
    """Whatever the shop knows right now; profiles these identifiers link are merged."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "visitor_id": "v-42", "customer_id": "C-1001", "email": "Jane.Doe@example.com",
        "phone": "(555) 123-4567", "loyalty": "LOY-42",
        "address": "12 Oak Street, Springfield"}]})

    visitor_id: str | None = Field(None, max_length=128)
    customer_id: str | None = Field(None, max_length=128)
    email: str | None = Field(None, max_length=320)
    phone: str | None = Field(None, max_length=40)
    address: str | None = Field(None, max_length=400)
    device: str | None = Field(None, max_length=128)
    loyalty: str | None = Field(None, max_length=64)

    def identifiers(self) -> dict[str, str]:
        mapping = {"visitor_id": "visitor", "customer_id": "customer"}
        return {mapping.get(k, k): v for k, v in self.model_dump(exclude_none=True).items()}


class IdentifierOut(BaseModel):
    kind: str
    value: str
    profile_id: str
    source: str
    created_at: datetime


class MergeOut(BaseModel):
    id: int
    survivor_id: str
    merged_id: str
    reason: str
    at: datetime
    undone_at: datetime | None


class CustomerOut(BaseModel):
    id: str = Field(description="Profile id of the person (the root of merged profiles).")
    kind: str
    profile_ids: list[str] = Field(description="All profiles merged into this person.")
    identifiers: list[IdentifierOut]
    merges: list[MergeOut]
    event_count: int
    created_at: datetime


class IdentifyOut(BaseModel):
    customer: CustomerOut
    created: bool
    merged: list[MergeOut]


class ConsentState(BaseModel):
    granted: bool
    at: datetime | None
    source: str


class ConsentsIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"personalization": True, "marketing": False, "sensitive": False,
         "demographics": False, "source": "preference-centre"}]})

    # Strict: a consent is a decision, and 0, "no" or "false" are not one (422).
    personalization: StrictBool | None = None
    marketing: StrictBool | None = None
    sensitive: StrictBool | None = None
    demographics: StrictBool | None = None
    source: str = Field("api", max_length=60)


class ConsentsOut(BaseModel):
    customer_id: str
    purposes: dict[str, ConsentState]
    descriptions: dict[str, str]


class EraseOut(BaseModel):
    erased_profiles: int
    rows: dict[str, int]
    already_erased: bool = Field(False, description="This person had been erased before; "
                                 "nothing left to delete.")
    erased_at: datetime | None = None


class ExportOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    format: str
    customer: str
    data: dict[str, Any] | None = None
