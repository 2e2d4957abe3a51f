"""Catalog: public reads for the storefront, writes and imports for developers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, File, Query, UploadFile

from app.api.deps import PublicLimit, RuntimeDep, SessionDep, require
from app.errors import InvalidInput, NotFound, PayloadTooLarge
from app.schemas.catalog import DeleteResult, ImportResult, ItemPage
from app.services import catalog
from retrieval.catalog import Item, RowError, detect_format, iter_text, parse_record

router = APIRouter(tags=["catalog"])

EXAMPLE_ITEM = {
    "id": "apl-w-0012", "title": "Merino Crew Sweater", "category": "Apparel > Women",
    "brand": "Fjordline", "price": 89.0, "cost": 38.0, "stock": 14,
    "description": "A soft, breathable merino knit for cool mornings.",
    "attributes": {"color": ["navy"], "material": ["wool"], "size": ["s", "m", "l"]},
    "tags": ["bestseller"], "image_url": "/demo/images/apl-w-0012.svg"}
MAX_IMPORT_BYTES = 50_000_000


@router.get("/items", response_model=ItemPage, dependencies=[PublicLimit],
            summary="List catalog items (public)")
def list_items(db: SessionDep,
               limit: Annotated[int, Query(ge=1, le=1000)] = 50,
               offset: Annotated[int, Query(ge=0)] = 0,
               category: Annotated[str | None, Query(max_length=300,
                                                     examples=["Home > Kitchen"])] = None,
               in_stock: bool | None = None) -> ItemPage:
    items, total = catalog.list_items(db, limit=limit, offset=offset, category=category,
                                      in_stock=in_stock)
    return ItemPage(items=items, total=total, limit=limit, offset=offset)


@router.get("/items/{item_id}", response_model=Item, dependencies=[PublicLimit],
            summary="One catalog item (public)")
def get_item(item_id: str, db: SessionDep) -> Item:
    item = catalog.get_item(db, item_id)
    if item is None:
        raise NotFound(f"no item with id {item_id!r}")
    return item


@router.put("/items", response_model=ImportResult, summary="Upsert items (JSON array)",
            dependencies=[require("developer", "admin")])
def upsert_items(rt: RuntimeDep, db: SessionDep,
                 items: Annotated[list[dict[str, Any]],
                                  Body(examples=[[EXAMPLE_ITEM]], max_length=10_000)]
                 ) -> ImportResult:
    """Valid items are stored even when others in the array are rejected; the response lists
    each rejected item with its reasons. Status is 422 only when nothing was accepted."""
    results = [parse_record(i + 1, raw) for i, raw in enumerate(items)]
    report = catalog.import_rows(db, results, listener=rt.hooks.emit_catalog)
    if report.rejected and not report.accepted:
        raise InvalidInput("no item was accepted", details=report.as_dict()["rejected"])
    return ImportResult.model_validate(report.as_dict())


@router.post("/items/import", response_model=ImportResult,
             summary="Import a CSV or JSONL file", dependencies=[require("developer", "admin")])
async def import_file(rt: RuntimeDep, db: SessionDep,
                      file: Annotated[UploadFile, File(description=".csv or .jsonl")]
                      ) -> ImportResult:
    try:
        fmt = detect_format(file.filename or "")
    except ValueError as exc:
        raise InvalidInput(str(exc)) from exc
    data = await file.read(MAX_IMPORT_BYTES + 1)
    if len(data) > MAX_IMPORT_BYTES:
        raise PayloadTooLarge(f"import files are limited to {MAX_IMPORT_BYTES} bytes; "
                              "split the file or use `tailor catalog import`")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"the file is not UTF-8 text (byte {exc.start})") from exc
    rows: list[Item | RowError] = list(iter_text(text, fmt))
    report = catalog.import_rows(db, rows, listener=rt.hooks.emit_catalog)
    return ImportResult.model_validate(report.as_dict())


@router.delete("/items/{item_id}", response_model=DeleteResult, summary="Delete an item",
               dependencies=[require("developer", "admin")])
def delete_item(item_id: str, rt: RuntimeDep, db: SessionDep) -> DeleteResult:
    n = catalog.delete_items(db, [item_id])
    if not n:
        raise NotFound(f"no item with id {item_id!r}")
    db.commit()
    rt.hooks.emit_catalog([], [item_id])
    return DeleteResult(deleted=n)
