"""Typed signals: everything the preference model learns from.

A `Signal` is plain data (a frozen dataclass) so the service can build one from an event,
a chat extraction or a preference-centre form. `Signal.validate()` checks it completely
and raises `InvalidSignalError` naming the field; the learner calls it before touching
any state, so a bad signal corrupts nothing.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from numbers import Real
from typing import Literal, get_args

from preference_model.errors import InvalidSignalError

SignalKind = Literal["stated", "inferred", "sentiment", "context", "external", "demographic"]
KINDS: frozenset[str] = frozenset(get_args(SignalKind))

# Who the customer acts for. Purchases for others go to a recipient profile so that
# Jane's toddler shoes do not turn Jane's own feed into toddler shoes.
ROLES: frozenset[str] = frozenset(
    {"self", "child", "partner", "parent", "friend", "family", "gift", "pet", "other"}
)

# Behavioural event weights: view < dwell/zoom < click < add_to_cart < purchase;
# dismiss and low ratings are negative. A rating r in 1..5 maps to (r - 3) / 2.
# An impression is exposure, not preference: 0.0, the value every measured benchmark ran
# with (the service's table, app/settings.py, which must agree with this one on the types
# both know: tests/app/test_events.py checks it).
DEFAULT_EVENT_WEIGHTS: Mapping[str, float] = {
    "view": 0.1,
    "impression": 0.0,
    "dwell": 0.3,
    "zoom": 0.3,
    "click": 0.5,
    "wishlist": 0.6,
    "add_to_cart": 0.8,
    "purchase": 1.0,
    "remove_from_cart": -0.3,
    "dismiss": -0.7,
    "return": -0.8,
}
RATING_EVENT = "rating"
# Stated-only event types: a hard constraint ("no leather", "must be vegan").
CONSTRAINT_EVENT = "constraint"

_ATTR_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}=[^=\s][^=]{0,119}$")
_ID_MAX = 128


def parse_attribute(attribute: str) -> tuple[str, str]:
    """'Diet = Vegan' -> ('diet', 'vegan'); raises InvalidSignalError if not 'name=value'."""
    if not isinstance(attribute, str):
        raise InvalidSignalError(f"attribute must be a 'name=value' string, got {attribute!r}")
    name, sep, value = attribute.partition("=")
    norm = f"{name.strip().lower()}={value.strip().lower()}"
    if not sep or not _ATTR_RE.match(norm):
        raise InvalidSignalError(
            f"attribute {attribute!r} must look like 'name=value' (name: lowercase letters, "
            "digits, _), e.g. 'diet=vegan'"
        )
    n, v = norm.split("=", 1)
    return n, v


def attribute_key(name: str, value: str) -> str:
    return f"{name}={value}"


@dataclass(frozen=True)
class EventWeights:
    """Per-event-type weights for inferred signals; override to tune per shop."""

    weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_EVENT_WEIGHTS))

    def weight(self, event_type: str | None, value: float) -> float:
        """Signed weight in [-1, 1] of an inferred event (value scales it, or is the rating)."""
        if event_type is None:
            return max(-1.0, min(1.0, value))
        if event_type == RATING_EVENT:
            return (value - 3.0) / 2.0
        return max(-1.0, min(1.0, self.weights[event_type] * value))

    def knows(self, event_type: str) -> bool:
        return event_type == RATING_EVENT or event_type in self.weights


def _season(month: int, south: bool) -> str:
    seasons = ("winter", "spring", "summer", "autumn")
    idx = (month % 12) // 3
    return seasons[(idx + 2) % 4] if south else seasons[idx]


def _daypart(hour: int) -> str:
    if 5 <= hour < 12:
        return "morning"
    if 12 <= hour < 17:
        return "afternoon"
    if 17 <= hour < 22:
        return "evening"
    return "night"


@dataclass(frozen=True)
class Context:
    """Where and when the customer is. All fields optional; unknown ones are left out.

    `hour` and `weekday` are *local* (0 = Monday). Use `from_mapping` to derive them from
    a local timestamp ("local_time": ISO 8601 with offset, or a datetime).
    """

    hour: int | None = None
    weekday: int | None = None
    season: str | None = None
    location: str | None = None
    weather: str | None = None
    device: str | None = None
    channel: str | None = None

    _TEXT_FIELDS = ("season", "location", "weather", "device", "channel")

    @classmethod
    def from_mapping(cls, data: Context | Mapping[str, object] | None) -> Context:
        """Build from the loose mapping the widget sends; unknown keys are ignored."""
        if data is None:
            return cls()
        if isinstance(data, Context):
            return data
        if not isinstance(data, Mapping):
            raise InvalidSignalError(f"context must be a mapping, got {type(data).__name__}")
        hour = weekday = None
        season = None
        local = data.get("local_time")
        if local is not None:
            if isinstance(local, str):
                try:
                    local = datetime.fromisoformat(local)
                except ValueError as exc:
                    raise InvalidSignalError(f"context.local_time {local!r}: {exc}") from None
            if not isinstance(local, datetime):
                raise InvalidSignalError("context.local_time must be an ISO 8601 string")
            hour, weekday = local.hour, local.weekday()
            season = _season(local.month, str(data.get("hemisphere", "north")) == "south")
        if "hour" in data:
            hour = _int_field(data["hour"], "hour", 0, 23)
        if "weekday" in data:
            weekday = _int_field(data["weekday"], "weekday", 0, 6)
        texts: dict[str, str | None] = {}
        for name in cls._TEXT_FIELDS:
            raw = data.get(name)
            if raw is None or raw == "":
                texts[name] = season if name == "season" else None
                continue
            if not isinstance(raw, str):
                raise InvalidSignalError(f"context.{name} must be a string, got {raw!r}")
            texts[name] = raw.strip().lower()[:64]
        return cls(hour=hour, weekday=weekday, **texts)

    def features(self) -> list[str]:
        """Coarse categorical features the model learns interactions with."""
        out: list[str] = []
        if self.hour is not None:
            out.append(f"daypart={_daypart(self.hour)}")
        if self.weekday is not None:
            out.append("week=weekend" if self.weekday >= 5 else "week=weekday")
        for name in self._TEXT_FIELDS:
            val = getattr(self, name)
            if val:
                out.append(f"{name}={val}")
        return out


def _int_field(raw: object, name: str, lo: int, hi: int) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        raise InvalidSignalError(f"context.{name} must be an integer {lo}..{hi}, got {raw!r}")
    try:
        val = int(raw)
    except ValueError:
        raise InvalidSignalError(f"context.{name} must be an integer, got {raw!r}") from None
    if not lo <= val <= hi:
        raise InvalidSignalError(f"context.{name} must be in {lo}..{hi}, got {val}")
    return val


@dataclass(frozen=True)
class Consent:
    """What the customer allowed, as checked by the service (the model only obeys it)."""

    demographic: bool = False
    sensitive: bool = False


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Signal:
    """One thing learned about a customer.

    - `stated`: an explicit like (+), dislike (-) or, with `event_type="constraint"`, a hard
      constraint on an item or an attribute ("diet=vegan"); value in [-1, 1].
    - `inferred`: a behavioural event on an item; `event_type` picks the weight
      (see `DEFAULT_EVENT_WEIGHTS`; "rating" takes the 1..5 rating as `value`).
    - `sentiment`: a score in [-1, 1] about an item or attribute, from text.
    - `context`: where/when the customer is (`context` mapping), no item needed.
    - `external`: catalog-wide popularity/trend of `item_id` (customer_id is ignored).
    - `demographic`: `attribute` like "age_band=25-34"; needs `Consent(demographic=True)`.
    """

    customer_id: str
    kind: SignalKind
    item_id: str | None = None
    attribute: str | None = None
    value: float = 1.0
    role: str = "self"
    context: Mapping[str, object] = field(default_factory=dict)
    at: datetime = field(default_factory=_now)
    source: str = ""
    event_type: str | None = None

    def validate(self, event_weights: EventWeights | None = None) -> None:
        """Raise `InvalidSignalError` naming the first bad field; return None if valid."""
        weights = event_weights or EventWeights()
        if not isinstance(self.customer_id, str) or not self.customer_id.strip():
            raise InvalidSignalError(f"customer_id must be a non-empty string, got "
                                     f"{self.customer_id!r}")
        if len(self.customer_id) > _ID_MAX:
            raise InvalidSignalError(f"customer_id is longer than {_ID_MAX} characters")
        if self.kind not in KINDS:
            raise InvalidSignalError(f"kind {self.kind!r} is not one of {sorted(KINDS)}")
        if self.item_id is not None and (
            not isinstance(self.item_id, str) or not self.item_id or len(self.item_id) > _ID_MAX
        ):
            raise InvalidSignalError(f"item_id must be a non-empty string, got {self.item_id!r}")
        if self.attribute is not None:
            parse_attribute(self.attribute)
        if isinstance(self.value, bool) or not isinstance(self.value, Real):
            raise InvalidSignalError(f"value must be a number, got {self.value!r}")
        if not math.isfinite(float(self.value)):
            raise InvalidSignalError(f"value must be finite, got {self.value!r}")
        if not isinstance(self.role, str) or self.role not in ROLES:
            raise InvalidSignalError(f"role {self.role!r} is not one of {sorted(ROLES)}")
        if not isinstance(self.context, Mapping):
            raise InvalidSignalError("context must be a mapping of name -> value")
        Context.from_mapping(self.context)
        if not isinstance(self.at, datetime) or self.at.tzinfo is None:
            raise InvalidSignalError(f"at must be a timezone-aware datetime, got {self.at!r}")
        if not isinstance(self.source, str):
            raise InvalidSignalError(f"source must be a string, got {self.source!r}")
        if self.event_type is not None and not isinstance(self.event_type, str):
            raise InvalidSignalError(f"event_type must be a string, got {self.event_type!r}")
        self._validate_kind(weights, float(self.value))

    def _validate_kind(self, weights: EventWeights, value: float) -> None:
        kind, has_item, has_attr = self.kind, self.item_id is not None, self.attribute is not None
        if kind in ("stated", "sentiment"):
            if has_item == has_attr:
                raise InvalidSignalError(f"a {kind} signal needs exactly one of item_id or "
                                         "attribute")
            if not -1.0 <= value <= 1.0:
                raise InvalidSignalError(f"a {kind} value must be in [-1, 1], got {value}")
            if self.event_type not in (None, CONSTRAINT_EVENT) or (
                kind == "sentiment" and self.event_type is not None
            ):
                raise InvalidSignalError(f"event_type {self.event_type!r} is not valid for a "
                                         f"{kind} signal")
        elif kind == "inferred":
            if not has_item or has_attr:
                raise InvalidSignalError("an inferred signal needs an item_id (and no attribute)")
            if self.event_type is not None and not weights.knows(self.event_type):
                raise InvalidSignalError(
                    f"unknown event_type {self.event_type!r}; known: "
                    f"{sorted([*weights.weights, RATING_EVENT])}"
                )
            if self.event_type == RATING_EVENT and not 0.0 <= value <= 5.0:
                raise InvalidSignalError(f"a rating must be in [0, 5], got {value}")
            if self.event_type is None and not -1.0 <= value <= 1.0:
                raise InvalidSignalError("an inferred value without event_type must be in [-1, 1]")
            if self.event_type not in (None, RATING_EVENT) and not 0.0 <= value <= 10.0:
                raise InvalidSignalError(f"an event value (a multiplier) must be in [0, 10], "
                                         f"got {value}")
        elif kind == "external":
            if not has_item:
                raise InvalidSignalError("an external signal needs an item_id")
            if value < 0:
                raise InvalidSignalError("an external (popularity) value must be >= 0")
        elif kind == "demographic":
            if not has_attr or has_item:
                raise InvalidSignalError("a demographic signal needs an attribute like "
                                         "'age_band=25-34' (and no item_id)")
        elif kind == "context" and not self.context and not has_attr:
            raise InvalidSignalError("a context signal needs a context mapping or an attribute")
