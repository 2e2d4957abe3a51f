from __future__ import annotations

from pydantic import BaseModel, Field, field_validator

from retrieval.catalog import Item


class ItemPage(BaseModel):
    items: list[Item]
    total: int
    limit: int
    offset: int


class RejectedRow(BaseModel):
    row: int = Field(description="1-based row (CSV: the header is row 1) or array index + 1.")
    id: str | None
    reasons: list[str]

    @field_validator("id")
    @classmethod
    def _printable(cls, v: str | None) -> str | None:
        # An id echoed back as sent may hold a lone surrogate, which no JSON encoder writes.
        return v.encode("utf-8", "backslashreplace").decode() if v is not None else v


class ImportResult(BaseModel):
    accepted: int
    rejected_count: int
    rejected: list[RejectedRow]


class DeleteResult(BaseModel):
    deleted: int
