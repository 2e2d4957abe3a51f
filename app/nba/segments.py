"""Segment filters over profiles: a list of conditions, all of which must hold, over the
facts the NBA layer knows about a person (RFM, propensities, profile attributes, country).

    [{"field": "recency_days", "op": "<=", "value": 30},
     {"field": "attributes.tier", "op": "in", "value": ["gold", "silver"]}]

Protected attributes (age, gender, ethnicity, religion, ...) may not be used where price is
decided: `PROTECTED` is checked when an offer is defined (fairness)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Op = Literal["==", "!=", "<", "<=", ">", ">=", "in", "not_in", "exists"]
# Fields a segment may use besides `attributes.*` (profile attributes).
FACT_FIELDS = frozenset({
    "recency_days", "frequency", "monetary", "avg_order_value", "tenure_days", "orders_30d",
    "buy_7d", "buy_30d", "churn", "trade_up", "discount_response", "channel_last",
    "country", "timezone"})
PROTECTED = frozenset({"age", "birth_year", "birthdate", "gender", "sex", "ethnicity", "race",
                       "religion", "disability", "pregnancy", "sexual_orientation",
                       "marital_status", "nationality"})


class Condition(BaseModel):
    model_config = ConfigDict(extra="forbid")

    field: str = Field(min_length=1, max_length=80, pattern=r"^[a-z_][a-z0-9_.]*$")
    op: Op
    value: Any = None

    def protected(self) -> bool:
        return self.field.removeprefix("attributes.") in PROTECTED

    def known_field(self) -> bool:
        return self.field in FACT_FIELDS or self.field.startswith("attributes.")

    def holds(self, facts: Mapping[str, Any]) -> bool:
        have = _lookup(facts, self.field)
        if self.op == "exists":
            return (have is not None) == bool(self.value if self.value is not None else True)
        if have is None:
            return False
        try:
            if self.op == "in":
                return have in self.value
            if self.op == "not_in":
                return have not in self.value
            if self.op == "==":
                return bool(have == self.value)
            if self.op == "!=":
                return bool(have != self.value)
            a, b = float(have), float(self.value)
        except (TypeError, ValueError):
            return False
        return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[self.op]

    def describe(self) -> str:
        return f"{self.field} {self.op} {self.value!r}"


def _lookup(facts: Mapping[str, Any], path: str) -> Any:
    if path.startswith("attributes."):
        attrs = facts.get("attributes") or {}
        value = attrs.get(path.split(".", 1)[1])
        # Profile attributes may be lists (as item attributes are): the first value counts.
        return value[0] if isinstance(value, list) and value else value
    return facts.get(path)


def matches(conditions: list[Condition], facts: Mapping[str, Any]) -> tuple[bool, str]:
    """(all hold, the first that does not, described)."""
    for c in conditions:
        if not c.holds(facts):
            return False, c.describe()
    return True, ""
