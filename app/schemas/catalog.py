"""Catalog request/response shapes.

Items go out in two views: staff keys (marketer, developer, admin) see what the shop
knows about an item, cost, margin and stock count included; everyone else (no key, a
widget key) sees the storefront view, with `in_stock` instead of the count. Both views
forbid extra fields, so a response validates as exactly one of them.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from retrieval.catalog import Item

STAFF_ROLES = frozenset({"marketer", "developer", "admin"})


class PublicItem(BaseModel):
    """An item as a shopper sees it."""

    model_config = ConfigDict(extra="forbid", title="PublicItem")

    id: str
    title: str
    description: str
    category: str = Field(description="Category path, levels separated by ' > '.")
    brand: str
    price: float
    currency: str
    in_stock: bool = Field(description="False only when stock is known to be 0.")
    attributes: dict[str, list[str]]
    image_url: str | None
    tags: list[str]
    sensitive_topics: list[str]
    active: bool


class StaffItem(PublicItem):
    """An item as the shop's staff see it: the public view plus cost, margin and stock."""

    model_config = ConfigDict(extra="forbid", title="StaffItem")

    # Required (though nullable) so that a public item never validates as a staff one.
    cost: float | None
    margin: float | None = Field(description="(price - cost) / price; negative below cost.")
    stock: int | None = Field(description="Units available; null = unknown.")


ItemView = StaffItem | PublicItem


def is_staff(role: str | None) -> bool:
    return role in STAFF_ROLES


def item_view(item: Item, staff: bool) -> ItemView:
    data = item.model_dump(exclude={"cost", "margin", "stock"})
    if staff:
        return StaffItem(**data, in_stock=item.in_stock, cost=item.cost, margin=item.margin,
                         stock=item.stock)
    return PublicItem(**data, in_stock=item.in_stock)


class ItemPage(BaseModel):
    """A page of items in the staff view."""

    model_config = ConfigDict(extra="forbid")

    items: list[StaffItem]
    total: int = Field(description="Stored items matching the query.")
    limit: int
    offset: int


class PublicItemPage(BaseModel):
    """A page of items in the public view."""

    model_config = ConfigDict(extra="forbid")

    items: list[PublicItem]
    total: int = Field(description="Stored items matching the query.")
    limit: int
    offset: int


class RejectedRow(BaseModel):
    row: int = Field(description="1-based line where the row starts (CSV: the header is line "
                                 "1; a JSON array: index + 1).")
    id: str | None
    reasons: list[str]

    @field_validator("id")
    @classmethod
    def _printable(cls, v: str | None) -> str | None:
        # An id echoed back as sent may hold a lone surrogate, which no JSON encoder writes.
        return v.encode("utf-8", "backslashreplace").decode() if v is not None else v


class ImportResult(BaseModel):
    rows: int = Field(description="Rows read: accepted + rejected_count.")
    accepted: int
    rejected_count: int
    rejected: list[RejectedRow]


class DeleteResult(BaseModel):
    deleted: int
