"""Catalog item schema and file parsing (CSV and JSONL).

The schema lives here, not in `app`, because retrieval indexes items and the
preference model reads their attributes; the service only stores them.
Parsing never raises on a bad row: it yields a `RowError` with the line number
and the reasons, so an import can report every rejected row and keep the rest.
Every data row of a file ends up as exactly one `Item` or one `RowError`: an
unbalanced quote in one row costs that row, not the rows after it.

The same `Item` validates what comes in (API, files) and what is read back from
storage, so anything accepted can be read again.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import math
import re
from collections import deque
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

ITEM_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]*$"
ItemId = Annotated[str, Field(min_length=1, max_length=64, pattern=ITEM_ID_PATTERN)]
CATEGORY_SEP = ">"
MAX_PRICE = 10_000_000
MAX_STOCK = 2_147_483_647  # the database column is a 32-bit integer


def is_item_id(value: str) -> bool:
    """Whether `value` could be an item id at all (lets lookups skip the database)."""
    return 0 < len(value) <= 64 and re.fullmatch(ITEM_ID_PATTERN, value) is not None


def text_problem(value: str) -> str | None:
    """Why a string cannot be stored, or None. PostgreSQL refuses NUL in text and JSON,
    and a lone surrogate cannot be encoded as UTF-8 by any driver or JSON response."""
    if "\x00" in value:
        return "contains a NUL character"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "contains invalid Unicode (an unpaired surrogate)"
    return None


def _check_text(value: str) -> str:
    problem = text_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def safe_text(value: object, limit: int = 80) -> str:
    """A printable, encodable rendering of a client's value for an error report."""
    text = str(value)
    if text_problem(text):
        text = text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")
    return text if len(text) <= limit else text[:limit] + "..."


def normalize_category(value: str | list[str]) -> str:
    """'Home >kitchen> Cookware' or ['Home','Kitchen'] -> 'Home > Kitchen > Cookware'."""
    parts = value if isinstance(value, list) else str(value).split(CATEGORY_SEP)
    cleaned = [re.sub(r"\s+", " ", p).strip() for p in parts]
    cleaned = [p for p in cleaned if p]
    if not cleaned:
        raise ValueError("category path is empty")
    return f" {CATEGORY_SEP} ".join(cleaned)


class Item(BaseModel):
    """One product. Prices are in the store's currency, as floats with 2 decimals.

    Numbers must be finite (no Infinity/NaN). A cost above the price is legal (a clearance
    item): the margin is then negative. Stock is optional: null means unknown and counts as
    available; 0 means out of stock."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, allow_inf_nan=False)

    id: ItemId
    title: str = Field(min_length=1, max_length=300)
    description: str = Field(default="", max_length=10_000)
    category: str = Field(max_length=300, description="Category path, levels separated by '>'.")
    brand: str = Field(default="", max_length=120)
    price: float = Field(ge=0, le=MAX_PRICE)
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    cost: float | None = Field(default=None, ge=0, le=MAX_PRICE)
    margin: float | None = Field(default=None, le=1, description="(price - cost) / price; "
                                 "negative when the item sells below cost")
    stock: int | None = Field(default=None, ge=0, le=MAX_STOCK,
                              description="Units available; null = unknown (counts as "
                              "available), 0 = out of stock.")
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

    @field_validator("title", "description", "category", "brand", "image_url")
    @classmethod
    def _text(cls, v: str | None) -> str | None:
        return v if v is None else _check_text(v)

    @field_validator("tags", "sensitive_topics")
    @classmethod
    def _text_list(cls, v: list[str]) -> list[str]:
        for x in v:
            _check_text(x)
        return v

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
            for x in vals:
                if isinstance(x, float) and not math.isfinite(x):
                    raise ValueError(f"attribute {name!r} must be a finite number, not {x}")
                problem = text_problem(str(x))
                if problem:
                    raise ValueError(f"attribute {name!r} {problem}")
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
        # Computed after field validation, so it must meet the field's own rules here:
        # a value that skipped them would fail when the row is read back.
        if self.margin is None and self.cost is not None and self.price > 0:
            margin = round((self.price - self.cost) / self.price, 4)
            if not math.isfinite(margin):
                raise ValueError("margin cannot be computed: the price is too small for the cost")
            self.margin = margin
        return self

    @property
    def in_stock(self) -> bool:
        """Unknown stock counts as available; only a known 0 is out of stock."""
        return self.stock is None or self.stock > 0

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
    """A rejected row: the 1-based line of the file where it starts (CSV: the header is
    line 1; an API array: index + 1), its id if readable, one reason per problem."""

    row: int
    item_id: str | None
    reasons: list[str]


ParseResult = Item | RowError
FileFormat = Literal["csv", "jsonl"]
# csv's own default field_size_limit: no real cell comes near it, and raising it is
# process-wide. A longer cell is reported on its row instead of failing the file.
MAX_CSV_CELL = 131_072


class CatalogFileError(ValueError):
    """The file as a whole cannot be read (unknown format or encoding, undecodable bytes)."""


def describe_validation_error(exc: ValidationError) -> list[str]:
    out = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(row)"
        out.append(f"{loc}: {err['msg']}")
    return out


def parse_record(row: int, record: Any) -> ParseResult:
    if not isinstance(record, dict):
        return RowError(row, None, ["row must be a JSON object"])
    item_id = record.get("id")
    shown_id = safe_text(item_id) if item_id is not None else None
    try:
        return Item.model_validate(record)
    except ValidationError as exc:
        return RowError(row, shown_id, describe_validation_error(exc))
    except RecursionError:
        return RowError(row, shown_id, ["row is nested too deeply"])


def _csv_record(raw: dict[str, str]) -> dict[str, Any]:
    """CSV cells are strings; attributes come as `attr.color` columns or a JSON column."""
    record: dict[str, Any] = {}
    attributes: dict[str, Any] = {}
    for key, value in raw.items():
        if value.strip() == "":
            continue
        value = value.strip()
        if key.startswith("attr."):
            attributes[key[5:]] = [v for v in value.split(";")]
        elif key == "attributes":
            try:
                attributes.update(json.loads(value))
            except (json.JSONDecodeError, TypeError, ValueError, RecursionError):
                record["attributes"] = value  # let validation explain it
        elif key == "active":
            record[key] = value.lower() in {"1", "true", "yes", "y"}
        else:
            record[key] = value
    if attributes and "attributes" not in record:
        record["attributes"] = attributes
    return record


class _Lines:
    """Physical lines with their numbers, for csv.reader. Remembers the lines of the
    record being read, and can put lines back to be read again (after an unbalanced
    quote swallowed them into one record)."""

    def __init__(self, lines: Iterable[str]) -> None:
        self._it = iter(lines)
        self._next = 1
        self._back: deque[tuple[int, str]] = deque()
        self.taken: list[tuple[int, str]] = []

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        if self._back:
            number, line = self._back.popleft()
        else:
            line = next(self._it)
            number = self._next
            self._next += 1
        self.taken.append((number, line))
        return line

    def begin(self) -> None:
        self.taken = []

    def put_back(self, lines: list[tuple[int, str]]) -> None:
        self._back.extendleft(reversed(lines))


def _is_whole_row(line: str, width: int) -> bool:
    """Whether a line read on its own is a complete row of `width` cells."""
    try:
        cells = next(csv.reader([line], strict=True), [])
    except csv.Error:
        return False
    return len(cells) == width


def _swallowed(lines: list[tuple[int, str]], width: int) -> bool:
    """A multi-line record whose later lines are rows in their own right came from a quote
    that never closed (a real multi-line cell, like a long description, rarely has a line
    with exactly the header's number of cells)."""
    return any(_is_whole_row(line, width) for _, line in lines[1:])


def _csv_error_reason(exc: csv.Error) -> str:
    if "field larger than field limit" in str(exc):
        return f"a cell is longer than {MAX_CSV_CELL} characters"
    return f"unreadable CSV: {exc}"


def iter_csv(text: Iterable[str]) -> Iterator[ParseResult]:
    lines = _Lines(text)
    reader = csv.reader(lines)
    header: list[str] | None = None
    while True:
        lines.begin()
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if header is None:
                yield RowError(1, None, [f"unreadable CSV header: {exc}"])
                return
            taken = lines.taken
            reason = _csv_error_reason(exc)
            if _swallowed(taken, len(header)):
                reason = (f"unbalanced quote: a quoted cell opened on line {taken[0][0]} never "
                          f"closes ({reason})")
                lines.put_back(taken[1:])
            yield RowError(taken[0][0], None, [reason])
            reader = csv.reader(lines)  # the old one stopped mid-record
            continue
        if not cells:
            continue  # a blank line
        line_no = lines.taken[0][0]
        if header is None:
            header = [c.strip() for c in cells]
            if "id" not in header:
                yield RowError(line_no, None,
                               ["CSV header must include at least: id, title, category, price"])
                return
            continue
        id_cell = header.index("id")
        item_id = safe_text(cells[id_cell].strip()) if len(cells) > id_cell else None
        if len(lines.taken) > 1 and _swallowed(lines.taken, len(header)):
            last = lines.taken[-1][0]
            yield RowError(line_no, item_id, [
                f"unbalanced quote: a quoted cell opened on line {line_no} runs to line "
                f"{last}; close the quote (a quote inside a quoted cell is written \"\")"])
            lines.put_back(lines.taken[1:])
            continue
        if len(cells) > len(header):
            yield RowError(line_no, item_id, [
                f"row has {len(cells)} cells but the header has {len(header)}"])
            continue
        yield parse_record(line_no, _csv_record(dict(zip(header, cells, strict=False))))


def iter_jsonl(lines: Iterable[str]) -> Iterator[ParseResult]:
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            yield RowError(n, None, [f"invalid JSON: {exc.msg} at column {exc.colno}"])
            continue
        except RecursionError:
            yield RowError(n, None, ["invalid JSON: nested too deeply"])
            continue
        yield parse_record(n, record)


def detect_format(name: str) -> FileFormat:
    lower = name.lower()
    if lower.endswith(".csv"):
        return "csv"
    if lower.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    raise CatalogFileError(f"cannot tell the format of {name!r}: use a .csv or .jsonl file")


def check_encoding(encoding: str) -> str:
    """The codec to read files with ("utf-8" reads an optional BOM too)."""
    try:
        b"a".decode(encoding)  # not b"": that skips the lookup (and rot13 is no text codec)
    except UnicodeDecodeError:
        pass  # a real text codec (utf-16, say) that wants more than one byte
    except (LookupError, ValueError) as exc:  # ValueError: a NUL in the name
        raise CatalogFileError(f"unknown text encoding {safe_text(encoding)!r}") from exc
    name = codecs.lookup(encoding).name
    return "utf-8-sig" if name in {"utf-8", "utf-8-sig"} else name


def _decode_error(data: bytes, exc: UnicodeDecodeError, encoding: str, offset: int = 0,
                  line_base: int = 1) -> CatalogFileError:
    """Where the bad bytes are, as a person opening the file would look for them."""
    pos = exc.start
    line = line_base + data.count(b"\n", 0, pos)
    col = pos - (data.rfind(b"\n", 0, pos) + 1) + 1
    bad = data[exc.start:exc.end][:4].hex(" ")
    return CatalogFileError(
        f"the file is not valid {encoding.removesuffix('-sig').upper()} text: line {line}, "
        f"column {col} (byte {offset + pos}: {bad}); save it as UTF-8, or give its "
        "encoding (e.g. latin-1 or cp1252)")


def decode(data: bytes, encoding: str = "utf-8") -> str:
    """Bytes of a catalog file to text, or a CatalogFileError saying where it breaks."""
    codec = check_encoding(encoding)
    try:
        return data.decode(codec)
    except UnicodeDecodeError as exc:
        raise _decode_error(data, exc, codec) from exc


def check_file(path: str | Path, encoding: str = "utf-8") -> int:
    """Decode the whole file once before importing anything (so a bad byte at the end does
    not leave half a catalog behind); returns its number of lines."""
    codec = check_encoding(encoding)
    decoder = codecs.getincrementaldecoder(codec)()
    newlines, offset, last = 0, 0, b""
    with Path(path).open("rb") as fh:
        while True:
            chunk = fh.read(1 << 20)
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                # exc.object is what the decoder saw: bytes it held back, then this chunk.
                held = len(exc.object) - len(chunk)
                raise _decode_error(exc.object, exc, codec, offset - held,
                                    newlines + 1 - exc.object[:held].count(b"\n")) from exc
            if not chunk:
                break
            newlines += chunk.count(b"\n")
            offset += len(chunk)
            last = chunk
    return newlines + (1 if last and not last.endswith(b"\n") else 0)


def iter_text(text: str, fmt: FileFormat) -> Iterator[ParseResult]:
    buf = io.StringIO(text, newline="")
    return iter_csv(buf) if fmt == "csv" else iter_jsonl(buf)


def iter_file(path: str | Path, fmt: FileFormat | None = None,
              encoding: str = "utf-8") -> Iterator[ParseResult]:
    """Items and rejected rows of a file; call `check_file` first to fail early on bytes
    that are not text in `encoding`."""
    p = Path(path)
    fmt = fmt or detect_format(p.name)
    codec = check_encoding(encoding)
    with p.open(encoding=codec, newline="") as fh:
        yield from (iter_csv(fh) if fmt == "csv" else iter_jsonl(fh))
