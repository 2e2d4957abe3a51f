"""Hard constraints on a search: what an item must (not) be to be returned.

Filters are plain, frozen and validated at construction, so a bad request fails
with `InvalidFilterError` before any search work. Attribute terms are strings so
they travel through JSON and the chat pipeline unchanged:

- ``"leather"``            any attribute value or tag equal to "leather"
- ``"material=leather"``   the `material` attribute contains "leather"
- ``"size=m|l"``           alternatives: size m or size l

`require` terms are ANDed (each must match); `exclude` terms reject an item if any
matches. "vegan only" -> ``require=("vegan",)``; "no leather" -> ``exclude=("leather",)``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, fields, replace

from retrieval.catalog import normalize_category
from retrieval.errors import InvalidFilterError

_TERM = re.compile(r"^(?:[a-z][a-z0-9_]{0,39}=)?[^=|]+(?:\|[^=|]+)*$")
MAX_TERMS = 50
MAX_EXCLUDED_IDS = 10_000


def normalize_term(term: str) -> str:
    """'Material = Leather ' -> 'material=leather'; raises on malformed terms."""
    if not isinstance(term, str):
        raise InvalidFilterError(f"attribute term must be a string, got {type(term).__name__}")
    cleaned = "=".join(p.strip() for p in term.strip().lower().split("="))
    cleaned = "|".join(p.strip() for p in cleaned.split("|"))
    if not cleaned or not _TERM.fullmatch(cleaned) or "||" in cleaned:
        raise InvalidFilterError(
            f"bad attribute term {term!r}: use 'value', 'name=value' or 'name=a|b'"
        )
    return cleaned


def term_alternatives(term: str) -> list[str]:
    """'size=m|l' -> ['size=m', 'size=l']; 'vegan|vegetarian' -> both values."""
    name, sep, values = term.rpartition("=")
    prefix = f"{name}=" if sep else ""
    return [prefix + v for v in values.split("|")]


@dataclass(frozen=True)
class Filters:
    """Constraints applied inside the vector search (never as a post-filter).

    Attributes:
        category: a category path; matches it and its whole subtree.
        min_price / max_price: inclusive bounds, in the store's currency.
        in_stock: only items in stock (stock > 0 or unknown; a known 0 is out).
        require: attribute terms that must all match (see module docstring).
        exclude: attribute terms none of which may match.
        exclude_ids: item ids never to return (already shown, in the cart...).
        age: a recipient's age in years; items whose `age` attribute ('3-5',
            '8+', '6') does not cover it are dropped, age-neutral items pass.
    """

    category: str | None = None
    min_price: float | None = None
    max_price: float | None = None
    in_stock: bool = False
    require: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    exclude_ids: frozenset[str] = field(default_factory=frozenset)
    age: int | None = None

    def __post_init__(self) -> None:
        # object.__setattr__: normalizing inside a frozen dataclass.
        if self.category is not None:
            try:
                object.__setattr__(self, "category", normalize_category(self.category))
            except ValueError as exc:
                raise InvalidFilterError(f"bad category filter: {exc}") from exc
        for name in ("min_price", "max_price"):
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise InvalidFilterError(f"{name} must be a number")
            if not math.isfinite(value) or value < 0:
                raise InvalidFilterError(f"{name} must be a finite number >= 0, got {value}")
        if (
            self.min_price is not None
            and self.max_price is not None
            and self.min_price > self.max_price
        ):
            raise InvalidFilterError(
                f"min_price {self.min_price} is greater than max_price {self.max_price}"
            )
        for name in ("require", "exclude"):
            terms = getattr(self, name)
            if isinstance(terms, str):
                raise InvalidFilterError(f"{name} must be a list of terms, not one string")
            if len(terms) > MAX_TERMS:
                raise InvalidFilterError(f"{name} has more than {MAX_TERMS} terms")
            object.__setattr__(self, name, _dedupe(normalize_term(t) for t in terms))
        if isinstance(self.exclude_ids, str):
            raise InvalidFilterError("exclude_ids must be a collection of ids, not one string")
        ids = frozenset(self.exclude_ids)
        if len(ids) > MAX_EXCLUDED_IDS:
            raise InvalidFilterError(f"exclude_ids has more than {MAX_EXCLUDED_IDS} ids")
        object.__setattr__(self, "exclude_ids", ids)
        if self.age is not None and (
            isinstance(self.age, bool) or not isinstance(self.age, int) or not 0 <= self.age <= 120
        ):
            raise InvalidFilterError(f"age must be an integer in 0..120, got {self.age!r}")
        if set(self.require) & set(self.exclude):
            both = sorted(set(self.require) & set(self.exclude))
            raise InvalidFilterError(f"terms both required and excluded: {both}")

    @property
    def is_empty(self) -> bool:
        return self == Filters()

    def merged(self, other: Filters | None) -> Filters:
        """Combine two filter sets; both must hold (explicit + parsed from text).

        Ranges intersect, term lists union, and where both set a single value
        (category, age) `other` wins: it is the caller's explicit choice.
        """
        if other is None:
            return self
        lo = [v for v in (self.min_price, other.min_price) if v is not None]
        hi = [v for v in (self.max_price, other.max_price) if v is not None]
        return Filters(
            category=other.category or self.category,
            min_price=max(lo) if lo else None,
            max_price=min(hi) if hi else None,
            in_stock=self.in_stock or other.in_stock,
            require=_dedupe([*self.require, *other.require]),
            exclude=_dedupe([*self.exclude, *other.exclude]),
            exclude_ids=self.exclude_ids | other.exclude_ids,
            age=other.age if other.age is not None else self.age,
        )

    def with_excluded_ids(self, ids: Iterable[str]) -> Filters:
        return replace(self, exclude_ids=self.exclude_ids | frozenset(ids))

    def describe(self) -> dict[str, object]:
        """Only the fields that are set, for logs and API echoes."""
        out: dict[str, object] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value in (None, False, (), frozenset()):
                continue
            out[f.name] = sorted(value) if isinstance(value, frozenset) else value
        return out


def _dedupe(terms: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(terms))
