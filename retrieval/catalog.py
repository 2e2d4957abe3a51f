"""Catalog item schema and file parsing (CSV and JSONL).

The schema lives here, not in `app`, because retrieval indexes items and the
preference model reads their attributes; the service only stores them.
Parsing never raises on a bad row: it yields a `RowError` with the row number
and the reasons, so an import can report every rejected row and keep the rest.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

# Topics that must never be inferred or used for targeting without the customer's
# consent for the "sensitive" purpose (the Target pregnancy story).
SENSITIVE_TOPICS: frozenset[str] = frozenset(
    {
        "health",
        "pregnancy",
        "religion",
        "sexuality",
        "financial_hardship",
        "politics",
        "ethnicity",
        "disability",
        "mental_health",
        "addiction",
    }
)

ItemId = Annotated[
    str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")
]
CATEGORY_SEP = ">"


def normalize_category(value: str | list[str]) -> str:
    """'Home >kitchen> Cookware' or ['Home','Kitchen'] -> 'Home > Kitchen > Cookware'."""
    parts = value if isinstance(value, list) else str(value).split(CATEGORY_SEP)
    cleaned = [re.sub(r"\s+", " ", p).strip() for p in parts]
    cleaned = [p for p in cleaned if p]
    if not cleaned:
        raise ValueError("category path is empty")
    return f" {CATEGORY_SEP} ".join(cleaned)


class Item(BaseModel):
    """One product. Prices are in the store's currency, as floats with 2 decimals."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: ItemId
    title: str = Field(min_length=1, max_length=300)
    description: str = Field(default="", max_length=10_000)
    category: str = Field(description="Category path, levels separated by '>'.")
    brand: str = Field(default="", max_length=120)
    price: float = Field(ge=0, le=10_000_000)
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    cost: float | None = Field(default=None, ge=0)
    margin: float | None = Field(default=None, ge=-1, le=1, description="(price - cost) / price")
    stock: int = Field(default=0, ge=0)
    attributes: dict[str, list[str]] = Field(default_factory=dict)
    image_url: str | None = Field(default=None, max_length=2000)
    tags: list[str] = Field(default_factory=list)
    sensitive_topics: list[str] = Field(default_factory=list)
    active: bool = True

    @field_validator("category", mode="before")
    @classmethod
    def _category(cls, v: Any) -> str:
        if not isinstance(v, (str, list)):
            raise ValueError("category must be a string like 'Home > Kitchen' or a list")
        return normalize_category(v)

    @field_validator("attributes", mode="before")
    @classmethod
    def _attributes(cls, v: Any) -> dict[str, list[str]]:
        if v is None:
            return {}
        if not isinstance(v, dict):
            raise ValueError("attributes must be an object of name -> value or list of values")
        out: dict[str, list[str]] = {}
        for key, val in v.items():
            name = str(key).strip().lower()
            if not re.fullmatch(r"[a-z][a-z0-9_]{0,39}", name):
                raise ValueError(f"attribute name {key!r} must be lowercase letters, digits, _")
            vals = val if isinstance(val, list) else [val]
            cleaned = [str(x).strip().lower() for x in vals if str(x).strip()]
            if cleaned:
                out[name] = cleaned
        return out

    @field_validator("tags", mode="before")
    @classmethod
    def _tags(cls, v: Any) -> list[str]:
        if v is None:
            return []
        vals = v if isinstance(v, list) else str(v).split(";")
        return sorted({str(x).strip().lower() for x in vals if str(x).strip()})

    @field_validator("sensitive_topics", mode="before")
    @classmethod
    def _sensitive(cls, v: Any) -> list[str]:
        if v is None:
            return []
        vals = v if isinstance(v, list) else str(v).split(";")
        topics = sorted({str(x).strip().lower() for x in vals if str(x).strip()})
        unknown = [t for t in topics if t not in SENSITIVE_TOPICS]
        if unknown:
            raise ValueError(
                f"unknown sensitive topic(s) {unknown}; allowed: {sorted(SENSITIVE_TOPICS)}"
            )
        return topics

    @model_validator(mode="after")
    def _margin(self) -> Item:
        if self.margin is None and self.cost is not None and self.price > 0:
            self.margin = round((self.price - self.cost) / self.price, 4)
        return self

    @property
    def category_levels(self) -> list[str]:
        return [p.strip() for p in self.category.split(CATEGORY_SEP)]

    def search_text(self) -> str:
        """The text the embedder and BM25 see: title first, it matters most."""
        attrs = "; ".join(f"{k}: {', '.join(v)}" for k, v in sorted(self.attributes.items()))
        parts = [self.title, self.brand, self.category, attrs, self.description]
        return ". ".join(p for p in parts if p)


@dataclass(frozen=True)
class RowError:
    """A rejected row: 1-based row number in the file and one reason per bad field."""

    row: int
    item_id: str | None
    reasons: list[str]


ParseResult = Item | RowError
FileFormat = Literal["csv", "jsonl"]


def describe_validation_error(exc: ValidationError) -> list[str]:
    out = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(row)"
        out.append(f"{loc}: {err['msg']}")
    return out


def parse_record(row: int, record: Any) -> ParseResult:
    if not isinstance(record, dict):
        return RowError(row, None, ["row must be a JSON object"])
    try:
        return Item.model_validate(record)
    except ValidationError as exc:
        item_id = record.get("id")
        return RowError(row, str(item_id) if item_id is not None else None,
                        describe_validation_error(exc))


def _csv_record(raw: dict[str, str | None]) -> dict[str, Any]:
    """CSV cells are strings; attributes come as `attr.color` columns or a JSON column."""
    record: dict[str, Any] = {}
    attributes: dict[str, Any] = {}
    for key, value in raw.items():
        if key is None:
            continue
        key = key.strip()
        if value is None or value.strip() == "":
            continue
        value = value.strip()
        if key.startswith("attr."):
            attributes[key[5:]] = [v for v in value.split(";")]
        elif key == "attributes":
            try:
                attributes.update(json.loads(value))
            except json.JSONDecodeError:
                record["attributes"] = value  # let validation explain it
        elif key == "active":
            record[key] = value.lower() in {"1", "true", "yes", "y"}
        else:
            record[key] = value
    if attributes and "attributes" not in record:
        record["attributes"] = attributes
    return record


def iter_csv(text: Iterable[str]) -> Iterator[ParseResult]:
    reader = csv.DictReader(text)
    if not reader.fieldnames or "id" not in [f.strip() for f in reader.fieldnames]:
        yield RowError(1, None, ["CSV header must include at least: id, title, category, price"])
        return
    for n, raw in enumerate(reader, start=2):  # row 1 is the header
        if None in raw:
            yield RowError(n, raw.get("id"), ["row has more cells than the header"])
            continue
        yield parse_record(n, _csv_record(raw))


def iter_jsonl(lines: Iterable[str]) -> Iterator[ParseResult]:
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            yield RowError(n, None, [f"invalid JSON: {exc.msg} at column {exc.colno}"])
            continue
        yield parse_record(n, record)


def detect_format(name: str) -> FileFormat:
    lower = name.lower()
    if lower.endswith(".csv"):
        return "csv"
    if lower.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    raise ValueError(f"cannot tell the format of {name!r}: use a .csv or .jsonl file")


def iter_text(text: str, fmt: FileFormat) -> Iterator[ParseResult]:
    buf = io.StringIO(text)
    return iter_csv(buf) if fmt == "csv" else iter_jsonl(buf)


def iter_file(path: str | Path, fmt: FileFormat | None = None) -> Iterator[ParseResult]:
    p = Path(path)
    fmt = fmt or detect_format(p.name)
    with p.open(encoding="utf-8-sig", newline="") as fh:
        yield from (iter_csv(fh) if fmt == "csv" else iter_jsonl(fh))
