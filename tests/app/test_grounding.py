"""The reply check: only the given products, their real prices, on topic, not gloomy."""

from __future__ import annotations

import pytest

from app.chat.grounding import Allowed, Grounding, fallback_reply, split_sentences
from app.chat.pipeline import fuse

ALLOWED = Allowed(titles=("Merino Wool Crew Sweater", "Organic Cotton Cardigan"),
                  brands=("Fjordline", "Mirelle"), prices=(89.0, 59.0),
                  extra_names=("Larkfield & Co.",),
                  topic=("I need a warm sweater", "Apparel > Women", "wool", "navy"))
OTHERS = ["Leather Hiking Boot", "Cast Iron Skillet", "Merino Wool Crew Sweater"]


@pytest.fixture(scope="module")
def sentiment() -> object:
    from app.services.search import shared_sentiment

    return shared_sentiment()


@pytest.mark.parametrize(("sentence", "ok"), [
    ("The Merino Wool Crew Sweater is a cosy pick for cold days.", True),
    ("Try the Organic Cotton Cardigan for $59.00!", True),
    ("Here are some warm options for you!", True),
    ("Sure!", True),
    ("The Leather Hiking Boot would also suit you.", False),   # another catalog product
    ("It is only $45 today.", False),                           # a price nobody gave
    ("Check out the Nordic Summit Parka by Glacier Works.", False),  # an invented product
    ("I'm so sorry to hear about your friend's injury.", False),     # off topic
])
def test_sentences(sentence: str, ok: bool) -> None:
    assert Grounding(ALLOWED, OTHERS).sentence_ok(sentence) is ok


def test_gloomy_sentences_are_dropped_with_the_classifier(sentiment: object) -> None:
    g = Grounding(ALLOWED, OTHERS, sentiment=sentiment)
    assert not g.sentence_ok("I'm so sorry to hear about your sweater loss, it is terrible.")
    assert g.sentence_ok("The Merino Wool Crew Sweater will keep you lovely and warm.")


def test_split_sentences_keeps_the_unfinished_rest() -> None:
    assert split_sentences("Hi there. This is great! And more") == (
        ["Hi there.", "This is great!"], "And more")
    assert split_sentences("no end yet") == ([], "no end yet")


def test_fallback_reply_is_built_from_the_items() -> None:
    text = fallback_reply(["A", "B", "C"], ["", "", ""], question="For you?")
    assert text == "Here are a few picks for you: A, B and C. For you?"
    assert "couldn't find" in fallback_reply([], [], question=None, no_match=True)


def test_fuse_keeps_both_orders_in_play() -> None:
    assert fuse(["a", "b", "c"], ["b", "c", "a"])[0] == "b"
    assert fuse(["a", "b"], ["a", "b"]) == ["a", "b"]
