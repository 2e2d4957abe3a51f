"""Query understanding: free-text constraints -> `Filters` plus the text to embed.

`parse_query` is a pure function (no index, no model) so the chat pipeline can
reuse it on each message and tests can pin its behaviour. It recognizes:

- prices: "under $50", "below 50 dollars", "less than 30", "over $20", "at least 20",
  "between 20 and 40 dollars", "$20-$40", "$20 to $40"
- sizes: "size M", "in size 10"
- negations: "no leather", "not leather", "without leather", "leather-free", "non-leather"
- positive requirements: "vegan", "vegetarian", "organic", "gluten-free", ...
- stock: "in stock", "available now"
- recipient age: "for a 6-year-old", "for my 6 year old", "aged 6", "for age 6"
- category words, when `categories` (the catalog's category paths) is given

Constraint phrases that the filters fully capture (price, size, stock, age,
negations) are removed from the embedded text: "no leather" embeds close to
leather, the opposite of what the customer wants. Positive words stay, they
help ranking too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from retrieval.catalog import CATEGORY_SEP
from retrieval.filters import Filters

# Words that are hard requirements when they appear on their own.
REQUIRE_WORDS: tuple[str, ...] = (
    "vegan", "vegetarian", "organic", "gluten-free", "cruelty-free", "halal", "kosher",
    "fair-trade", "recycled", "lactose-free", "sugar-free", "nut-free",
)

_NUM = r"(\d{1,7}(?:[.,]\d{1,2})?)"
_CUR_PRE = r"(?:\$|usd\s*|€|eur\s*|£|gbp\s*)?"
_CUR_POST = r"(?:\s*(?:dollars?|usd|bucks|euros?|eur|€|pounds?|gbp|\$))?"
_PRICE = _CUR_PRE + _NUM + _CUR_POST
_NOT_UNIT = r"(?!\s*(?:-?\s*(?:years?|yrs?|y/?o|months?|kg|g|lbs?|cm|mm|m|inch(?:es)?|%|pcs?)\b))"

_BETWEEN = re.compile(
    rf"\b(?:between|from)\s+{_PRICE}\s+(?:and|to|-)\s+{_PRICE}{_NOT_UNIT}", re.I
)
_RANGE = re.compile(
    rf"(?:\$|usd\s*|€|£)\s*{_NUM}\s*(?:-|–|to)\s*(?:\$|usd\s*|€|£)?\s*{_NUM}{_CUR_POST}"
    rf"|\b{_NUM}\s*(?:-|–|to)\s*{_NUM}\s*(?:dollars?|usd|bucks|euros?)\b",
    re.I,
)
_MAX = re.compile(
    rf"\b(?:under|below|less\s+than|cheaper\s+than|max(?:imum)?|at\s+most|up\s+to|"
    rf"no\s+more\s+than|within)\s+{_PRICE}{_NOT_UNIT}|<\s*{_PRICE}",
    re.I,
)
_MIN = re.compile(
    rf"\b(?:over|above|more\s+than|at\s+least|min(?:imum)?|starting\s+at)\s+{_PRICE}{_NOT_UNIT}"
    rf"|>\s*{_PRICE}",
    re.I,
)
_SIZE = re.compile(r"\b(?:in\s+)?size\s*[:=]?\s*(xxs|xs|s|m|l|xl|xxl|xxxl|\d{1,2}(?:\.5)?)\b", re.I)
_NEG = re.compile(
    r"\b(?:no|not|without|free\s+of|avoid(?:ing)?|non)[\s-]+(?:any\s+|real\s+)?([a-z][a-z-]{1,30})\b"
    r"|\b([a-z][a-z]{1,30})-free\b",
    re.I,
)
_STOCK = re.compile(r"\b(?:in[\s-]stock|available\s+now|ships?\s+today)\b", re.I)
_AGE = re.compile(
    r"\b(?:for\s+(?:a|an|my|our|the)?\s*)?(\d{1,2})[\s-]*(?:years?|yrs?)[\s-]*old\b"
    r"|\b(?:for\s+)?(?:a\s+|my\s+)?(\d{1,2})\s*y/?o\b"
    r"|\b(?:aged?|for\s+age)\s+(\d{1,2})\b",
    re.I,
)
_REQUIRE = re.compile(r"\b(" + "|".join(re.escape(w) for w in REQUIRE_WORDS) + r")\b", re.I)
# Words after "no"/"not" that are not product constraints ("not sure", "no idea").
_NEG_STOP = frozenset(
    ("sure", "idea", "more", "less", "longer", "problem", "thanks", "thank", "way", "one", "clue",
     "rush")
)


@dataclass(frozen=True)
class ParsedQuery:
    """The result of `parse_query`.

    Attributes:
        query_text: what to embed / match lexically (constraint phrases removed).
        filters: hard constraints found in the text.
        original: the input text, unchanged.
        constraints: the phrases recognized, in order, for explanations and logs.
    """

    query_text: str
    filters: Filters = field(default_factory=Filters)
    original: str = ""
    constraints: tuple[str, ...] = ()


def _price(raw: str) -> float:
    return float(raw.replace(",", "."))


def parse_query(text: str, categories: Iterable[str] = ()) -> ParsedQuery:
    """Split free text into the searchable part and hard `Filters`. Pure."""
    spans: list[tuple[int, int]] = []
    found: list[str] = []
    lo: float | None = None
    hi: float | None = None

    def take(m: re.Match[str]) -> None:
        spans.append(m.span())
        found.append(m.group(0).strip())

    def free(m: re.Match[str]) -> bool:  # a phrase already consumed by another rule
        return not any(s < m.end() and m.start() < e for s, e in spans)

    for m in list(_BETWEEN.finditer(text)) + list(_RANGE.finditer(text)):
        if free(m):
            nums = [g for g in m.groups() if g is not None]
            a, b = sorted((_price(nums[0]), _price(nums[1])))
            lo, hi = max(lo or 0.0, a), b if hi is None else min(hi, b)
            take(m)
    for m in _MAX.finditer(text):
        if free(m):
            value = _price(next(g for g in m.groups() if g is not None))
            hi = value if hi is None else min(hi, value)
            take(m)
    for m in _MIN.finditer(text):
        if free(m):
            value = _price(next(g for g in m.groups() if g is not None))
            lo = value if lo is None else max(lo, value)
            take(m)

    require: list[str] = []
    exclude: list[str] = []
    for m in _SIZE.finditer(text):
        if free(m):
            require.append(f"size={m.group(1).lower()}")
            take(m)
    age: int | None = None
    for m in _AGE.finditer(text):
        if free(m):
            age = int(next(g for g in m.groups() if g is not None))
            take(m)
    in_stock = False
    for m in _STOCK.finditer(text):
        if free(m):
            in_stock = True
            take(m)
    for m in _NEG.finditer(text):
        word = (m.group(1) or m.group(2) or "").lower()
        if free(m) and word not in _NEG_STOP and m.group(0).lower() not in REQUIRE_WORDS:
            exclude.append(word)
            take(m)
    for m in _REQUIRE.finditer(text):
        word = m.group(1).lower()
        if free(m) and word not in exclude:
            require.append(word)
            found.append(m.group(0))  # kept in the text: it helps ranking as well

    category = _match_category(text, categories, spans)
    if category:
        found.append(category)
    if lo is not None and hi is not None and lo > hi:
        lo, hi = hi, lo  # "over 50 under 20" is a typo, not an empty result
    filters = Filters(
        category=category,
        min_price=lo,
        max_price=hi,
        in_stock=in_stock,
        require=tuple(require),
        exclude=tuple(w for w in exclude if w not in require),
        age=age,
    )
    return ParsedQuery(_strip(text, spans), filters, text, tuple(found))


def _strip(text: str, spans: list[tuple[int, int]]) -> str:
    out, pos = [], 0
    for start, end in sorted(spans):
        if start >= pos:
            out.append(text[pos:start])
            pos = end
    out.append(text[pos:])
    cleaned = re.sub(r"\s+", " ", " ".join(out))
    cleaned = re.sub(r"\s+([,.!?])", r"\1", cleaned)
    cleaned = re.sub(r"^(?:\s*(?:and|or|but|,)\s+)+|(?:\s+(?:and|or|but|,|for|in))+\s*$", "",
                     cleaned.strip(" ,"), flags=re.I)
    return cleaned.strip(" ,")


def _match_category(
    text: str, categories: Iterable[str], spans: list[tuple[int, int]]
) -> str | None:
    """The deepest category path whose level name appears in the text as words.

    A level name shared by several paths ('Shoes' under Men and Women) maps to
    their common ancestor, or to nothing when they share none.
    """
    lowered = text.lower()
    matched: set[tuple[str, ...]] = set()
    for path in set(categories):
        levels = [p.strip() for p in path.split(CATEGORY_SEP)]
        for depth in range(len(levels), 0, -1):
            name = levels[depth - 1].lower()
            m = _level_pattern(name).search(lowered)
            if m and not any(s < m.end() and m.start() < e for s, e in spans):
                matched.add(tuple(levels[:depth]))
                break
    # Keep the deepest matches: an ancestor adds nothing once a descendant matched.
    deepest = [
        p for p in matched if not any(len(o) > len(p) and o[: len(p)] == p for o in matched)
    ]
    if not deepest:
        return None
    common = list(deepest[0])
    for other in deepest[1:]:
        common = _common_prefix(common, list(other))
    return f" {CATEGORY_SEP} ".join(common) if common else None


@lru_cache(maxsize=8192)
def _level_pattern(name: str) -> re.Pattern[str]:
    """'Puzzles' matches 'puzzle', 'puzzles'; cached: called per level per query."""
    stem = name[:-1] if name.endswith("s") and len(name) > 3 else name
    return re.compile(rf"\b{re.escape(stem)}(?:s|es)?\b")


def _common_prefix(a: list[str], b: list[str]) -> list[str]:
    out = []
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        out.append(x)
    return out
