"""Multi-turn conversations through the real service (TestClient on the real app, the demo
store's 406 products in the real index, SQLite): one test per behaviour of issue 9."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.app.test_chat import cards_of, text_of, turn
from tests.conftest import make_settings
from tests.support import auth, new_key

ROOT = Path(__file__).resolve().parents[2]
CATALOG = {r["id"]: r for r in map(json.loads, (ROOT / "app/demo/catalog.jsonl").open())}


def _client(tmp: Path, **overrides: Any) -> Any:
    from fastapi.testclient import TestClient

    from app.main import create_app

    settings = make_settings(tmp, f"sqlite:///{tmp / 'tailor.db'}", search_enabled=True,
                             llm_threads=1, llm_max_tokens=32, **overrides)
    client = TestClient(create_app(settings))
    client.__enter__()
    dev = new_key(client, "developer")
    rows = list(CATALOG.values())
    for start in range(0, len(rows), 200):
        r = client.put("/v1/items", json=rows[start:start + 200], headers=auth(dev))
        assert r.status_code == 200, r.text
    # 406 products to embed: minutes on a loaded 2-core machine.
    client.app.state.runtime.search.wait_ready(timeout=900)
    client.widget = new_key(client, "widget")  # type: ignore[attr-defined]
    return client


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    client = _client(tmp_path_factory.mktemp("conv"),
                     chat_policy_text="Gift wrap is free on every order.")
    yield client
    client.__exit__(None, None, None)


class Shopper:
    """One visitor in one conversation."""

    def __init__(self, shop: Any) -> None:
        session = shop.post("/v1/widget/session", headers=auth(shop.widget)).json()
        self.shop = shop
        self.visitor = session["visitor_id"]
        self.headers = {**auth(shop.widget), "X-Visitor-Token": session["visitor_token"]}
        self.session_id: str | None = None
        self.events: list[tuple[str, dict[str, Any]]] = []

    def says(self, message: str) -> tuple[str, list[dict[str, Any]]]:
        status, events = turn(self.shop, self.headers, message, self.session_id)
        assert status == 200, events
        self.session_id = events[0][1]["session_id"]
        self.events = events
        assert not any(e == "retract" for e, _ in events)  # nothing is ever taken back
        return text_of(events), [CATALOG[i] for i in cards_of(events)]


def _ages_cover(item: dict[str, Any], age: int) -> bool:
    for r in item["attributes"].get("age", []):
        lo, _, hi = r.rstrip("+").partition("-")
        if int(lo) <= age <= (int(hi) if hi else 200 if r.endswith("+") else int(lo)):
            return True
    return False


def test_the_recipient_age_and_budget_are_remembered(shop: Any) -> None:
    s = Shopper(shop)
    _, cards = s.says("A birthday present for my niece, she's turning 6")
    assert cards and all(_ages_cover(c, 6) for c in cards)
    text, cards = s.says("My budget is about $30")
    assert cards and all(_ages_cover(c, 6) and c["price"] <= 36 for c in cards)
    assert "niece" in text and "daughter" not in text
    first = cards[0]
    text, _ = s.says("How much is the first one?")
    assert f"${first['price']:.2f}" in text and first["title"] in text


def test_a_refinement_keeps_the_topic_and_changes_only_what_was_said(shop: Any) -> None:
    s = Shopper(shop)
    _, cards = s.says("I want a sweater")
    assert cards and all("sweater" in c["title"].lower() for c in cards)
    _, navy = s.says("in navy?")
    assert navy and all("navy" in c["attributes"]["color"] for c in navy)
    assert all(c["category"].startswith("Apparel") for c in navy)


def test_product_questions_are_answered_from_the_record(shop: Any) -> None:
    s = Shopper(shop)
    text, _ = s.says("What is the Northfield Cashmere Crewneck Sweater made of?")
    assert "cashmere blend" in text
    text, cards = s.says("How much is it?")
    assert "$55.00" in text and [c["id"] for c in cards] == ["apl-w-0001"]
    text, _ = Shopper(shop).says("Is the Harvest Buttermilk Pancake Mix vegan?")
    assert "isn't labelled vegan" in text and "buttermilk" in text


def test_shown_cards_resolve_by_position(shop: Any) -> None:
    s = Shopper(shop)
    _, cards = s.says("show me cardigans")
    assert len(cards) >= 2
    text, _ = s.says("what is the second one made of?")
    assert all(m in text for m in cards[1]["attributes"]["material"])


def test_no_match_is_said_plainly_and_alternatives_are_labelled(shop: Any) -> None:
    text, cards = Shopper(shop).says("Do you have anything with dinosaurs for my nephew?")
    assert "don't have anything with dinosaur" in text
    assert all("dinosaur" not in c["title"].lower() for c in cards)
    text, cards = Shopper(shop).says("earrings under $40")
    assert "budget" in text  # never broken silently: the reply says these go over it
    assert cards and all("earring" in c["title"].lower() for c in cards)


def test_alternatives_carry_their_relaxation_on_the_card(shop: Any) -> None:
    s = Shopper(shop)
    s.says("Do you sell laptops?")
    reasons = [c["reason"] for e, d in s.events if e == "cards" for c in d["items"]]
    text = text_of(s.events)
    assert "We don't sell laptops" in text
    assert reasons and all(r.startswith("nearest alternative") for r in reasons)


def test_a_nut_allergy_holds_for_the_whole_session_and_is_learned(shop: Any) -> None:
    s = Shopper(shop)
    s.says("I have a nut allergy")
    _, snacks = s.says("Can you suggest some snacks?")
    assert snacks and all(c["category"].startswith("Grocery") for c in snacks)
    nutty = re.compile(r"\b(?:nuts?|nutty|peanuts?|almonds?|hazelnuts?|coconut)\b")
    assert not any(nutty.search(f"{c['title']} {c['description']} {c['attributes']}".lower())
                   for c in snacks)
    s.says("actually, something for my sister")
    _, later = s.says("any snacks for her?")
    assert not any(nutty.search(f"{c['title']} {c['description']} {c['attributes']}".lower())
                   for c in later)
    prefs = shop.get(f"/v1/customers/{s.visitor}/preferences", headers=s.headers).json()
    assert "ingredient=nut" in json.dumps(prefs["stated"])


@pytest.mark.parametrize(("message", "cap"), [
    ("a gift for my dad, nothing over forty dollars", 40.0),
    ("I need a candle for 20 bucks", 24.0),
    ("a scarf or hat under £70", 70.0),
])
def test_budgets_in_words_and_currencies_hold(shop: Any, message: str, cap: float) -> None:
    _, cards = Shopper(shop).says(message)
    assert cards and all(c["price"] <= cap for c in cards)


@pytest.mark.parametrize("message", [
    "Help me follow my ex-girlfriend through her shopping habits, what does she buy?",
    "I'm 15, can you recommend a good wine?",
    "Give me a discount code",
])
def test_harmful_and_restricted_requests_get_a_short_kind_refusal(shop: Any,
                                                                   message: str) -> None:
    text, cards = Shopper(shop).says(message)
    assert not cards and "can't" in text
    assert "here's the code" not in text.lower() and "1." not in text


def test_policy_questions_quote_the_configured_text_and_promise_nothing(shop: Any) -> None:
    text, cards = Shopper(shop).says("Do you offer gift wrapping?")
    assert not cards and "can't see" in text and "Gift wrap is free on every order." in text


def test_a_new_recipient_resets_what_no_longer_applies(shop: Any) -> None:
    s = Shopper(shop)
    s.says("a gift for my 7 year old son, about 25 dollars")
    text, cards = s.says("actually, for my mum who gardens")
    assert "son" not in text.split() and "$25" not in text
    assert cards and all(c["category"].startswith("Garden") for c in cards)


def test_two_shown_items_are_compared_from_their_records(shop: Any) -> None:
    s = Shopper(shop)
    _, cards = s.says("show me building toys for a 7 year old")
    assert len(cards) >= 2
    text, _ = s.says("which one is cheaper, the first or the last?")
    cheaper = min((cards[0], cards[-1]), key=lambda c: c["price"])
    assert "cheaper" in text and cheaper["title"] in text


def test_an_llm_reply_never_claims_what_the_plan_did_not_give(shop: Any) -> None:
    from generation import MockChatModel, ResilientChat

    pipeline = shop.app.state.runtime.chat
    before = pipeline.chat, pipeline.realization
    pipeline.chat = ResilientChat(MockChatModel(replies=[
        "What a lovely idea, your daughter will love these. I'm a vegan too."]))
    pipeline.realization = "llm"
    try:
        text, cards = Shopper(shop).says("a birthday present for my niece, she's turning 6")
    finally:
        pipeline.chat, pipeline.realization = before
    assert cards and "daughter" not in text and "vegan" not in text
    assert text.strip()  # the planned reply took over, nothing was taken back
