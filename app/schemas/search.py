from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from app.schemas.catalog import PublicItem, StaffItem


class SearchHit(BaseModel):
    item_id: str
    score: float = Field(description="Fused rank score (RRF) or cosine, per the mode.")
    dense_score: float = Field(description="Cosine similarity of the item to the query.")
    lexical_score: float | None = Field(None, description="BM25; null without a word match.")
    item: StaffItem | PublicItem | None = Field(
        None, description="Staff keys get the StaffItem view (cost, margin, stock); "
        "others the PublicItem view.")


class SearchResult(BaseModel):
    query: str
    query_text: str = Field(description="What was matched after constraints were taken out.")
    constraints: list[str] = Field(description="Phrases understood as hard filters.")
    filters: dict[str, Any]
    personalized: bool
    personalization_note: str | None = None
    hits: list[SearchHit]
