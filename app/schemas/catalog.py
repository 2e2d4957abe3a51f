from __future__ import annotations

from pydantic import BaseModel, Field

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


class ImportResult(BaseModel):
    accepted: int
    rejected_count: int
    rejected: list[RejectedRow]


class DeleteResult(BaseModel):
    deleted: int
