"""What the conversation has established so far: one typed `ConversationState` per chat
session, kept in the session's JSON `state` under ``"conversation"`` (no schema change: the
session store already holds a JSON document per session).

Each turn reads it, `app.chat.understand` folds the new message in (a refinement keeps the
slots it does not change; a new recipient or product type resets what no longer applies),
and the pipeline writes it back. Allergens never expire within a session."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

KEY = "conversation"
MAX_SHOWN = 24

BudgetKind = Literal["about", "under", "between", "over"]
ABOUT_SLACK = 1.2  # "about $30" accepts up to $36, never more


class Budget(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: BudgetKind
    amount: float = Field(ge=0)
    high: float | None = Field(default=None, ge=0)  # the upper end of "between"
    currency: str = "USD"

    @property
    def min_price(self) -> float | None:
        return self.amount if self.kind in ("between", "over") else None

    @property
    def max_price(self) -> float | None:
        if self.kind == "under":
            return self.amount
        if self.kind == "about":
            return round(self.amount * ABOUT_SLACK, 2)
        if self.kind == "between":
            return self.high
        return None

    def allows(self, price: float) -> bool:
        lo, hi = self.min_price, self.max_price
        return (lo is None or price >= lo - 0.005) and (hi is None or price <= hi + 0.005)

    def phrase(self) -> str:
        sym = {"USD": "$", "EUR": "€", "GBP": "£"}.get(self.currency, "$")
        if self.kind == "between":
            return f"between {sym}{self.amount:g} and {sym}{(self.high or 0):g}"
        word = {"about": "about", "under": "under", "over": "over"}[self.kind]
        return f"{word} {sym}{self.amount:g}"


class Recipient(BaseModel):
    model_config = ConfigDict(extra="forbid")
    relation: str | None = None  # "niece", "mum", "partner", "self", "friend" ...
    age: int | None = Field(default=None, ge=0, le=120)
    gender: Literal["female", "male"] | None = None
    interests: list[str] = Field(default_factory=list)

    @property
    def is_child(self) -> bool:
        return self.age is not None and self.age < 13


class Constraints(BaseModel):
    """Hard constraints: every recommended item must satisfy all of them."""

    model_config = ConfigDict(extra="forbid")
    materials: list[str] = Field(default_factory=list)  # required ("in linen")
    avoid_materials: list[str] = Field(default_factory=list)  # "no leather", "no wool"
    diets: list[str] = Field(default_factory=list)  # "vegan", "gluten-free"
    allergens: list[str] = Field(default_factory=list)  # "nut", "dairy": never expire
    sizes: list[str] = Field(default_factory=list)
    colors: list[str] = Field(default_factory=list)


class ShownCard(BaseModel):
    """A card the shopper saw, in order (for "the first one", "the blue one", "it")."""

    model_config = ConfigDict(extra="forbid")
    item_id: str
    title: str
    turn: int


class ConversationState(BaseModel):
    model_config = ConfigDict(extra="forbid")
    turn: int = 0
    recipient: Recipient = Field(default_factory=Recipient)
    occasion: str | None = None
    budget: Budget | None = None
    constraints: Constraints = Field(default_factory=Constraints)
    topic: str | None = None  # what they are looking for, in their words ("sweater")
    category: str | None = None  # a catalog category path when one was named
    query: str | None = None  # the last request's own words, for refinements without a topic
    shown: list[ShownCard] = Field(default_factory=list)
    focus: str | None = None  # the item last talked about ("it")
    last_question: str | None = None
    last_act: str | None = None

    @classmethod
    def load(cls, session_state: dict[str, Any] | None) -> ConversationState:
        raw = (session_state or {}).get(KEY)
        if not raw:
            return cls()
        try:
            return cls.model_validate(raw)
        except ValidationError:  # written by an older version: start the slots afresh
            return cls()

    def dump(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_defaults=True)

    def last_cards(self) -> list[ShownCard]:
        """The cards of the latest turn that showed any, in the order shown."""
        if not self.shown:
            return []
        last = self.shown[-1].turn
        return [c for c in self.shown if c.turn == last]

    def remember_cards(self, cards: list[tuple[str, str]]) -> None:
        kept = [c for c in self.shown if c.item_id not in {i for i, _ in cards}]
        self.shown = (kept + [ShownCard(item_id=i, title=t, turn=self.turn)
                              for i, t in cards])[-MAX_SHOWN:]
