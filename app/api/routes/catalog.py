"""Catalog: public reads for the storefront, writes and imports for developers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, File, Query, UploadFile
from fastapi.concurrency import run_in_threadpool

from app.api.deps import OptionalPrincipalDep, PublicLimit, RuntimeDep, SessionDep, require
from app.errors import InvalidInput, NotFound, PayloadTooLarge
from app.schemas.catalog import (
    DeleteResult,
    ImportResult,
    ItemPage,
    ItemView,
    PublicItemPage,
    is_staff,
    item_view,
)
from app.services import catalog
from retrieval.catalog import (
    CatalogFileError,
    Item,
    RowError,
    decode,
    detect_format,
    iter_text,
    parse_record,
    text_problem,
)

router = APIRouter(tags=["catalog"])

EXAMPLE_ITEM = {
    "id": "apl-w-0012", "title": "Merino Crew Sweater", "category": "Apparel > Women",
    "brand": "Fjordline", "price": 89.0, "cost": 38.0, "stock": 14,
    "description": "A soft, breathable merino knit for cool mornings.",
    "attributes": {"color": ["navy"], "material": ["wool"], "size": ["s", "m", "l"]},
    "tags": ["bestseller"], "image_url": "/demo/images/apl-w-0012.svg"}
MAX_IMPORT_BYTES = 50_000_000
MAX_OFFSET = 10_000_000  # far beyond any catalog; keeps the number inside 64-bit SQL
VIEWS = ("Staff keys (marketer, developer, admin) get `StaffItem`s with cost, margin and "
         "stock; no key or a widget key gets `PublicItem`s with `in_stock` instead.")


def _staff(principal: Any) -> bool:
    return principal is not None and is_staff(principal.role)


@router.get("/items", response_model=ItemPage | PublicItemPage, dependencies=[PublicLimit],
            summary="List catalog items (public)", description=VIEWS)
def list_items(db: SessionDep, principal: OptionalPrincipalDep,
               limit: Annotated[int, Query(ge=1, le=1000)] = 50,
               offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
               category: Annotated[str | None, Query(max_length=300,
                                                     examples=["Home > Kitchen"])] = None,
               in_stock: Annotated[bool | None, Query(
                   description="true: in stock or stock unknown; false: stock is 0")] = None,
               ) -> ItemPage | PublicItemPage:
    if category is not None and (problem := text_problem(category)):
        raise InvalidInput(f"category {problem}")
    items, total = catalog.list_items(db, limit=limit, offset=offset, category=category,
                                      in_stock=in_stock)
    staff = _staff(principal)
    views = [item_view(i, staff) for i in items]
    page = ItemPage if staff else PublicItemPage
    return page.model_validate({"items": views, "total": total, "limit": limit,
                                "offset": offset})


@router.get("/items/{item_id}", response_model=ItemView, dependencies=[PublicLimit],
            summary="One catalog item (public)", description=VIEWS,
            responses={404: {"description": "No such item, or its stored row is unreadable "
                             "(the message says which fields)"}})
def get_item(item_id: str, db: SessionDep, principal: OptionalPrincipalDep) -> ItemView:
    try:
        item = catalog.get_item(db, item_id)
    except catalog.UnreadableItem as bad:
        raise NotFound(f"item {item_id!r} is stored but unreadable ({bad.reason}); "
                       "send it again with PUT /v1/items or delete it") from bad
    if item is None:
        raise NotFound(f"no item with id {item_id!r}")
    return item_view(item, _staff(principal))


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
                      file: Annotated[UploadFile, File(description=".csv or .jsonl")],
                      encoding: Annotated[str, Query(
                          max_length=40, description="The file's text encoding, e.g. "
                          "latin-1 or cp1252 (UTF-8 with or without a BOM by default)")
                      ] = "utf-8",
                      ) -> ImportResult:
    """Every row is accounted for: accepted, or rejected with its line and reasons (the same
    report as `tailor catalog import --report`). A file that is not text in `encoding` is
    refused as a whole (422, with the line of the first bad byte) before anything is stored;
    the encoding is never guessed."""
    try:
        fmt = detect_format(file.filename or "")
    except CatalogFileError as exc:
        raise InvalidInput(str(exc)) from exc
    data = await file.read(MAX_IMPORT_BYTES + 1)
    if len(data) > MAX_IMPORT_BYTES:
        raise PayloadTooLarge(f"import files are limited to {MAX_IMPORT_BYTES} bytes; "
                              "split the file or use `tailor catalog import`")
    try:
        text = decode(data, encoding)
    except CatalogFileError as exc:
        raise InvalidInput(str(exc)) from exc

    def parse_and_store() -> catalog.ImportReport:
        rows: list[Item | RowError] = list(iter_text(text, fmt))
        return catalog.import_rows(db, rows, listener=rt.hooks.emit_catalog)

    # Parsing, storing and embedding take a while for a big file: off the event loop, so
    # this worker keeps answering (its /readyz included) meanwhile.
    report = await run_in_threadpool(parse_and_store)
    return ImportResult.model_validate(report.as_dict())


@router.delete("/items/{item_id}", response_model=DeleteResult, summary="Delete an item",
               dependencies=[require("developer", "admin")])
def delete_item(item_id: str, rt: RuntimeDep, db: SessionDep) -> DeleteResult:
    if text_problem(item_id):
        raise NotFound(f"no item with id {item_id!r}")
    n = catalog.delete_items(db, [item_id])
    if not n:
        raise NotFound(f"no item with id {item_id!r}")
    db.commit()
    rt.hooks.emit_catalog([], [item_id])
    return DeleteResult(deleted=n)
