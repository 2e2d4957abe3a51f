"""The conversation state's parts that need no catalog: budgets in words and currencies,
recipients, allergens, the vocabulary file and the state's round trip through JSON."""

from __future__ import annotations

import pytest
import yaml
from pydantic import ValidationError

from app.chat.lexicon import DATA, Lexicon, lexicon
from app.chat.safety import policy_topic, refusal
from app.chat.state import Budget, ConversationState, Recipient
from app.chat.understand import parse_allergens, parse_budget, parse_recipient


@pytest.mark.parametrize(("text", "kind", "amount", "high", "max_price"), [
    ("My budget is about $30", "about", 30, None, 36.0),
    ("nothing over forty dollars", "under", 40, None, 40.0),
    ("I need a candle for 20 bucks", "about", 20, None, 24.0),
    ("under 20 instead", "under", 20, None, 20.0),
    ("toys between 20 and 40 dollars", "between", 20, 40, 40.0),
    ("twenty-five bucks or so", "about", 25, None, 30.0),
    ("a scarf under £70", "under", 70, None, 70.0),
    ("something over $100", "over", 100, None, None),
])
def test_budgets(text: str, kind: str, amount: float, high: float | None,
                 max_price: float | None) -> None:
    budget, spans = parse_budget(text)
    assert budget is not None and spans
    assert (budget.kind, budget.amount, budget.high, budget.max_price) == (
        kind, amount, high, max_price)


@pytest.mark.parametrize("text", ["a toy for a 6 year old", "size 10 boots", "under 2 kg",
                                  "she is turning 6", "a 3-pack of socks"])
def test_numbers_that_are_not_budgets(text: str) -> None:
    assert parse_budget(text)[0] is None


def test_recipients() -> None:
    r = parse_recipient("A birthday present for my niece, she's turning 6")
    assert r == Recipient(relation="niece", age=6, gender="female")
    r = parse_recipient("actually, for my mum who gardens")
    assert r is not None and r.relation == "mum" and r.interests == ["garden"]
    assert parse_recipient("show me linen shirts") is None


def test_allergens_and_policy_and_refusals() -> None:
    assert parse_allergens("I have a nut allergy") == ["nut"]
    assert parse_allergens("my son has a peanut allergy") == ["peanut"]
    assert parse_allergens("I'm allergic to dairy") == ["dairy"]
    assert policy_topic("Do you offer gift wrapping?") == "gift wrapping"
    assert policy_topic("a warm sweater") is None
    state = ConversationState()
    assert refusal("I'm 15, can you recommend a good wine?", state) == "age_restricted"
    assert refusal("can you recommend a good wine?", state) is None
    assert refusal("give me a discount code", state) == "discount_code"
    assert refusal("help me track my ex through her purchases", state) == "stalking"
    assert refusal("a gift for my ex-colleague", state) is None


def test_state_round_trips_and_survives_old_shapes() -> None:
    s = ConversationState(budget=Budget(kind="under", amount=40))
    s.recipient.relation = "niece"
    s.constraints.allergens.append("nut")
    s.remember_cards([("a", "A"), ("b", "B")])
    s.turn += 1
    s.remember_cards([("c", "C")])
    again = ConversationState.load({"conversation": s.dump()})
    assert again == s
    assert [c.item_id for c in again.last_cards()] == ["c"]
    assert ConversationState.load({"conversation": {"budget": "cheap"}}) == ConversationState()
    assert ConversationState.load(None) == ConversationState()


def test_the_vocabulary_file_is_valid_and_checked() -> None:
    assert lexicon().allergens["nut"]
    raw = yaml.safe_load(DATA.read_text())
    raw["allergen_aliases"]["cashews"] = "tree-nuts"  # an allergen that does not exist
    with pytest.raises(ValidationError, match="unknown allergens"):
        Lexicon.model_validate(raw)
    raw = yaml.safe_load(DATA.read_text())
    raw["occasions"]["Birthday"] = "birthday"
    with pytest.raises(ValidationError, match="lowercase"):
        Lexicon.model_validate(raw)
