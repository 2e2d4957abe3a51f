"""Signal extraction from real phrasings: stated preferences, references, intent, recipient."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from app.chat.extract import (
    Extraction,
    ShownItem,
    extract,
    lexicon_score,
    split_clauses,
)

SHOWN = [
    ShownItem("sku-1", "Fjordline Merino Sweater", "Fjordline",
              {"color": ["red"], "material": ["wool"]}, 0),
    ShownItem("sku-2", "Classic Leather Chelsea Boots", "Oakridge",
              {"color": ["brown"], "material": ["leather"]}, 1),
    ShownItem("sku-3", "Breeze Linen Summer Shirt", "Breeze",
              {"color": ["blue"], "material": ["linen"]}, 2),
]
CATEGORIES = ["Clothing > Shirts", "Clothing > Sweaters", "Shoes > Sneakers", "Shoes > Boots",
              "Home > Kitchen"]


class FixedScorer:
    """A stand-in for SentimentClassifier: lexicon sign, fixed magnitude, records calls."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def score(self, texts: Sequence[str]) -> list[float]:
        self.calls.append(list(texts))
        return [0.9 if lexicon_score(t) >= 0 else -0.9 for t in texts]


def prefs(ex: Extraction) -> dict[str, tuple[float, bool]]:
    return {p.attribute or "": (p.value, p.hard) for p in ex.stated}


# --------------------------------------------------------------------------- stated


@pytest.mark.parametrize(("text", "attribute", "value", "hard"), [
    ("I'm vegan", "diet=vegan", 1.0, True),
    ("Im vegan btw", "diet=vegan", 1.0, True),
    ("I am vegetarian, so no meat-based stuff", "diet=vegetarian", 1.0, True),
    ("we're a gluten free household", "diet=gluten-free", 1.0, False),
    ("I eat halal only", "diet=halal", 1.0, True),
    ("I love linen", "material=linen", 1.0, False),
    ("I really love cashmere sweaters", "material=cashmere", 1.0, False),
    ("I hate polyester", "material=polyester", -1.0, False),
    ("I can't stand synthetics", "material=synthetic", -1.0, False),
    ("I don't like red", "color=red", -1.0, False),
    ("I do not like yellow at all", "color=yellow", -1.0, False),
    ("I'm not a fan of floral prints", "pattern=floral", -1.0, False),
    ("I prefer organic", "certification=organic", 1.0, False),
    ("I usually go for navy", "color=navy", 1.0, False),
    ("my favourite colour is green", "color=green", 1.0, False),
    ("no leather", "material=leather", -1.0, True),
    ("No leather please", "material=leather", -1.0, True),
    ("without wool", "material=wool", -1.0, True),
    ("leather-free options only", "material=leather", -1.0, True),
    ("I'm allergic to wool", "material=wool", -1.0, True),
    ("allergic to latex, fyi", "material=latex", -1.0, True),
    ("I have a nickel allergy", "ingredient=nickel", -1.0, True),
    ("I can't wear wool, it itches", "material=wool", -1.0, True),
    ("only vegan", "diet=vegan", 1.0, True),
    ("it has to be organic", "certification=organic", 1.0, True),
    ("cotton only", "material=cotton", 1.0, True),
    ("I avoid plastic", "material=plastic", -1.0, False),
    ("I'm really into pastel colors", "color=pastel", 1.0, False),
    ("I adore silk", "material=silk", 1.0, False),
    ("I don't mind polyester", "material=polyester", 0.5, False),
    ("i dislike grey", "color=grey", -1.0, False),
    ("I love gray", "color=grey", 1.0, False),
])
def test_stated_preferences(text: str, attribute: str, value: float, hard: bool) -> None:
    got = prefs(extract(text))
    assert attribute in got, (text, got)
    got_value, got_hard = got[attribute]
    assert got_value == value
    if hard:
        assert got_hard, (text, got)


def test_stated_coordination_and_contrast() -> None:
    got = prefs(extract("I love linen and cotton but I hate polyester and nylon"))
    assert got["material=linen"][0] == 1.0
    assert got["material=cotton"][0] == 1.0
    assert got["material=polyester"][0] == -1.0
    assert got["material=nylon"][0] == -1.0


def test_stated_categories_when_catalog_paths_given() -> None:
    got = prefs(extract("I love sneakers", categories=CATEGORIES))
    assert got == {"category=Shoes > Sneakers": (1.0, False)}


def test_stated_uses_catalog_vocabulary() -> None:
    vocab = {"material": ["tencel"], "diet": ["vegan", "organic"], "lifestyle": ["vegan"]}
    ex = extract("I love tencel", attribute_values=vocab)
    assert prefs(ex) == {"material=tencel": (1.0, False)}
    assert prefs(extract("I prefer organic", attribute_values=vocab)) == {
        "diet=organic": (1.0, False)}
    assert prefs(extract("only vegan", attribute_values=vocab)) == {"diet=vegan": (1.0, True)}


@pytest.mark.parametrize("text", [
    "I love this shop", "I like it", "show me sweaters", "hello", "I hate waiting",
    "no idea what to get", "not sure yet", "I love the red one",
])
def test_no_stated_preference(text: str) -> None:
    assert extract(text, SHOWN).stated == [], text


def test_stated_carries_phrase() -> None:
    (pref,) = extract("honestly I hate polyester").stated
    assert "hate polyester" in pref.phrase
    assert pref.item_id is None


# --------------------------------------------------------------------------- parse_query reuse


def test_filters_come_from_parse_query() -> None:
    ex = extract("vegan running shoes under $80, no leather, size 9", categories=CATEGORIES)
    assert ex.filters.max_price == 80
    assert "vegan" in ex.filters.require
    assert "size=9" in ex.filters.require
    assert ex.filters.exclude == ("leather",)
    assert "leather" not in ex.query_text
    assert ex.constraints


def test_age_filter_for_a_child() -> None:
    ex = extract("a board game for a 6-year-old")
    assert ex.filters.age == 6
    assert ex.recipient == "child"


# --------------------------------------------------------------------------- item references


@pytest.mark.parametrize(("text", "item", "sign"), [
    ("the red one is ugly", "sku-1", -1),
    ("The first one is lovely", "sku-1", 1),
    ("the second looks great", "sku-2", 1),
    ("I really like the third one", "sku-3", 1),
    ("the last one is meh", "sku-3", -1),
    ("#2 is perfect", "sku-2", 1),
    ("number 3 is gorgeous", "sku-3", 1),
    ("option 1 looks cheap", "sku-1", -1),
    ("the leather one is stunning", "sku-2", 1),
    ("the linen shirt is not my style", "sku-3", -1),
    ("the Fjordline sweater looks itchy", "sku-1", -1),
    ("Oakridge boots are awesome", "sku-2", 1),
    ("I hate the blue one", "sku-3", -1),
    ("the brown boots aren't great", "sku-2", -1),
    ("the 2nd one isn't bad at all", "sku-2", 1),
    ("that blue shirt is really nice!", "sku-3", 1),
    ("the middle one is hideous", "sku-2", -1),
])
def test_item_sentiment_by_reference(text: str, item: str, sign: int) -> None:
    ex = extract(text, SHOWN)
    got = {s.item_id: s.score for s in ex.item_sentiments}
    assert item in got, (text, ex.item_sentiments)
    assert got[item] * sign > 0, (text, got)
    assert ex.intent == "feedback"


def test_two_opinions_in_one_message() -> None:
    ex = extract("I love the second one but the red one is ugly", SHOWN)
    got = {s.item_id: s.score for s in ex.item_sentiments}
    assert got["sku-2"] > 0 > got["sku-1"]
    ex = extract("the first is lovely and the last is awful", SHOWN)
    got = {s.item_id: s.score for s in ex.item_sentiments}
    assert got["sku-1"] > 0 > got["sku-3"]


def test_pronoun_resolves_to_single_item_or_focus() -> None:
    one = [SHOWN[2]]
    ex = extract("I love it!", one)
    assert [s.item_id for s in ex.item_sentiments] == ["sku-3"]
    assert extract("I love it!", SHOWN).item_sentiments == []  # ambiguous: no guess
    ex = extract("that one is ugly", SHOWN, focus="sku-2")
    assert [(s.item_id, s.score < 0) for s in ex.item_sentiments] == [("sku-2", True)]


def test_all_of_them() -> None:
    ex = extract("I don't like any of them", SHOWN)
    assert {s.item_id for s in ex.item_sentiments} == {"sku-1", "sku-2", "sku-3"}
    assert all(s.score < 0 for s in ex.item_sentiments)


def test_ordinals_follow_position_order_not_list_order() -> None:
    shuffled = [SHOWN[2], SHOWN[0], SHOWN[1]]
    ex = extract("the first one is great", shuffled)
    assert [s.item_id for s in ex.item_sentiments] == ["sku-1"]


def test_reference_without_opinion_is_only_referenced() -> None:
    ex = extract("tell me more about the second one", SHOWN)
    assert ex.item_sentiments == []
    assert ex.referenced == ["sku-2"]
    assert ex.intent == "question"


def test_out_of_range_ordinal_is_ignored() -> None:
    assert extract("the fifth one is great", SHOWN).item_sentiments == []


def test_scorer_is_used_when_given() -> None:
    scorer = FixedScorer()
    ex = extract("the red one is ugly", SHOWN, sentiment=scorer)
    assert scorer.calls == [["the red one is ugly"]]
    # The classifier's score is averaged with the lexicon's where it has an opinion word.
    assert ex.item_sentiments[0].score == pytest.approx(
        (-0.9 + lexicon_score("the red one is ugly")) / 2)
    assert ex.item_sentiments[0].phrase == "the red one is ugly"


def test_scorer_sees_titles_masked() -> None:
    shown = [ShownItem("m1", "Bad Boys (1995)", position=0),
             ShownItem("m2", "Good Will Hunting (1997)", position=1)]
    scorer = FixedScorer()
    extract("I loved Bad Boys", shown, sentiment=scorer)
    assert scorer.calls == [["I loved it"]]


def test_no_shown_items_no_item_sentiment() -> None:
    ex = extract("the first one is great")
    assert ex.item_sentiments == [] and ex.referenced == []


# --------------------------------------------------------------------------- lexicon


@pytest.mark.parametrize(("text", "sign"), [
    ("love it", 1), ("not great", -1), ("not bad", 1), ("really ugly", -1),
    ("a bit pricey", -1), ("it's not my style", -1), ("I don't like it", -1),
    ("looks amazing!", 1), ("never liked it", -1), ("too expensive", -1),
    ("it's fine", 1), ("pretty cute", 1), ("so boring", -1), ("hardly comfortable", -1),
])
def test_lexicon_signs(text: str, sign: int) -> None:
    assert lexicon_score(text) * sign > 0, (text, lexicon_score(text))


def test_lexicon_bounds_and_neutral() -> None:
    assert lexicon_score("show me jackets") == 0.0
    assert -1 <= lexicon_score("awful terrible horrible ugly hideous!!!") < -0.9
    assert lexicon_score("really love it") > lexicon_score("love it") > lexicon_score(
        "kinda like it") > 0


def test_split_clauses() -> None:
    assert split_clauses("I like it. But the red one is ugly; the blue is ok") == [
        "I like it.", "the red one is ugly", "the blue is ok"]
    assert split_clauses("nice, though pricey") == ["nice", "pricey"]


# --------------------------------------------------------------------------- intent


@pytest.mark.parametrize(("text", "shown", "intent"), [
    ("hi", False, "greeting"),
    ("Hello there!", False, "greeting"),
    ("hey, how are you?", False, "greeting"),
    ("Good morning", False, "greeting"),
    ("Bonjour !", False, "greeting"),
    ("I'm looking for a rain jacket", False, "search"),
    ("do you have vegan sneakers under $60?", False, "search"),
    ("show me linen shirts", False, "search"),
    ("any gift ideas for my dad?", False, "search"),
    ("red dress size M", False, "search"),
    ("something for my wife", False, "search"),
    ("hi, I need a gift for my sister", False, "search"),
    ("what do you recommend for a 6-year-old?", False, "search"),
    ("cheaper please", True, "refine"),
    ("do you have it in blue?", True, "refine"),
    ("something less expensive", True, "refine"),
    ("what about in green?", True, "refine"),
    ("under $40", True, "refine"),
    ("any other colours?", True, "refine"),
    ("show me more like the second one", True, "refine"),
    ("the red one is ugly", True, "feedback"),
    ("not really my style", True, "feedback"),
    ("meh", True, "feedback"),
    ("What's your return policy?", False, "question"),
    ("how long does shipping take?", False, "question"),
    ("is the first one waterproof?", True, "question"),
    ("which one is warmer?", True, "question"),
    ("I'll take it", True, "purchase"),
    ("add the first to cart", True, "purchase"),
    ("Add it to my basket please", True, "purchase"),
    ("buy the second one", True, "purchase"),
    ("checkout", True, "purchase"),
    ("thanks!", False, "other"),
    ("ok", False, "other"),
])
def test_intent(text: str, shown: bool, intent: str) -> None:
    assert extract(text, SHOWN if shown else ()).intent == intent, text


# --------------------------------------------------------------------------- recipient


@pytest.mark.parametrize(("text", "recipient"), [
    ("something for my son", "child"),
    ("a dress for my daughter", "child"),
    ("toys for the kids", "child"),
    ("for my kid", "child"),
    ("a present for a 6-year-old", "child"),
    ("my 8 year old loves dinosaurs", "child"),
    ("shoes for my toddler", "child"),
    ("for my baby niece", "child"),
    ("a gift for my wife", "partner"),
    ("something for my husband", "partner"),
    ("my girlfriend likes red", "partner"),
    ("my boyfriend's birthday is soon", "partner"),
    ("for my partner", "partner"),
    ("a gift for a friend", "gift"),
    ("a gift for a colleague", "gift"),
    ("something for my mom", "gift"),
    ("secret santa present under $20", "gift"),
    ("birthday present for my brother", "gift"),
    ("for me", "self"),
    ("treating myself to new boots", "self"),
    ("a jacket", None),
    ("I love linen", None),
])
def test_recipient(text: str, recipient: str | None) -> None:
    assert extract(text).recipient == recipient, text


def test_deterministic() -> None:
    a = extract("I love the second one but not the red one, cheaper please", SHOWN)
    b = extract("I love the second one but not the red one, cheaper please", SHOWN)
    assert a == b


# --------------------------------------------------------------------------- real classifier


@pytest.mark.parametrize(("text", "item", "sign"), [
    ("the red one is ugly", "sku-1", -1),
    ("I love the second one", "sku-2", 1),
    ("the last one looks cheap and flimsy", "sku-3", -1),
    ("the Fjordline sweater is gorgeous", "sku-1", 1),
    ("the leather one isn't great", "sku-2", -1),
])
def test_real_sentiment_classifier(sentiment_classifier: Any, text: str, item: str,
                                   sign: int) -> None:
    ex = extract(text, SHOWN, sentiment=sentiment_classifier)
    got = {s.item_id: s.score for s in ex.item_sentiments}
    assert got[item] * sign > 0, (text, got)


@pytest.mark.parametrize(("text", "intent"), [
    ("rain jacket for Seattle weather", "search"),
    ("pregnancy pillow", "search"),
    ("a book about SQL for beginners", "search"),
    ("I want to return the shoes I bought last week", "question"),
    ("my order hasn't arrived", "question"),
    ("I'd like to speak to a human", "question"),
    ("thank you so much!", "other"),
    ("never mind", "other"),
])
def test_intent_fallbacks(text: str, intent: str) -> None:
    assert extract(text).intent == intent, text


@pytest.mark.parametrize(("text", "intent"), [
    ("is it sold out?", "question"),
    ("do you ship it to Canada?", "question"),
    ("can I order it in blue?", "refine"),
    ("I'll take the second one", "purchase"),
])
def test_purchase_needs_an_actual_purchase(text: str, intent: str) -> None:
    assert extract(text, SHOWN).intent == intent, text


def test_just_is_not_only() -> None:
    assert prefs(extract("I just hate red")) == {"color=red": (-1.0, False)}
    assert prefs(extract("I want a red dress")) == {}  # a search, not a lasting taste
