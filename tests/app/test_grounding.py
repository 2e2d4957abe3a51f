"""The reply check: only the given products, their real prices, on topic, not gloomy."""

from __future__ import annotations

import pytest

from app.chat.grounding import (
    Allowed,
    CheckedStream,
    Grounding,
    TitleIndex,
    complete_clauses,
)
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
    # Two-word clauses are judged by gloom words, not by the classifier ("No" reads negative).
    assert g.sentence_ok("No leather,") and not g.sentence_ok("So sorry!")


def test_split_clauses_keeps_the_unfinished_rest() -> None:
    assert complete_clauses("Hi there, this is great! It costs $1,299.50 and more") == (
        ["Hi there,", "this is great!"], "It costs $1,299.50 and more")
    assert complete_clauses("no end yet") == ([], "no end yet")


def stream(text: str, step: int = 3, others: list[str] = OTHERS,
           ) -> tuple[CheckedStream, list[tuple[str, dict[str, object]]], str]:
    """Feed `text` in small chunks like a model would; returns what a client would show."""
    checked = CheckedStream(Grounding(ALLOWED, others), max_sentences=3)
    events: list[tuple[str, dict[str, object]]] = []
    for i in range(0, len(text), step):
        events += checked.feed(text[i:i + step])
        if checked.done:
            break
    events += checked.close(complete=True)
    shown = ""
    for name, data in events:
        if name == "token":
            shown += str(data["text"])
        else:
            assert name == "retract" and shown.endswith(str(data["text"]))
            shown = shown[: -int(data["chars"])]  # type: ignore[call-overload]
    assert shown == checked.sent
    return checked, events, shown


def test_words_go_out_before_their_clause_is_complete() -> None:
    checked, events, shown = stream("Sure, the Merino Wool Crew Sweater is a cosy pick for "
                                    "cold days. It is $89.00!")
    assert shown == "Sure, the Merino Wool Crew Sweater is a cosy pick for cold days. It is $89.00!"
    assert events[0] == ("token", {"text": "Sure"})  # its comma waits for the next clause
    assert not checked.strayed and checked.retracted == 0
    # Word by word; from a name or a price on, the rest of its clause waits for the check.
    assert [str(d["text"]) for e, d in events if e == "token"] == [
        "Sure", ", the", " Merino Wool Crew Sweater is a cosy pick for cold days.", " It", " is",
        " $89.00!"]


def test_a_straying_clause_is_taken_back_and_the_sentence_closed() -> None:
    checked, events, shown = stream("Great choice, but the Leather Hiking Boot would also "
                                    "suit you. More.")
    assert shown == "Great choice." and checked.strayed
    assert ("retract", {"chars": 9, "text": ", but the"}) in events
    # The other product's name was never sent, not even provisionally.
    assert not any("Leather" in str(d.get("text")) for e, d in events if e == "token")


def test_an_invented_price_is_never_sent() -> None:
    checked, events, shown = stream("Here are some warm options for you, and it is only $45 "
                                    "today.")
    assert shown == "Here are some warm options for you." and checked.strayed
    assert not any("$45" in str(d["text"]) for e, d in events if e == "token")


def test_an_unfinished_fragment_is_taken_back() -> None:
    checked, _, shown = stream("I think you will love the Merino Wool Crew Sweater, it is so")
    assert shown == "I think you will love the Merino Wool Crew Sweater."
    assert checked.retracted and not checked.strayed


def test_a_looping_model_is_stopped() -> None:
    checked, _, shown = stream("so you will like it, really you will. so you will like it, "
                               "really you will.")
    assert shown == "so you will like it, really you will." and checked.finished


def test_at_most_max_sentences() -> None:
    checked, _, shown = stream("One nice pick. Two nice picks. Three nice picks. Four nice.")
    assert shown == "One nice pick. Two nice picks. Three nice picks." and checked.finished


def test_fuse_keeps_both_orders_in_play() -> None:
    assert fuse(["a", "b", "c"], ["b", "c", "a"])[0] == "b"
    assert fuse(["a", "b"], ["a", "b"]) == ["a", "b"]


def test_title_index_finds_other_products_by_their_first_word() -> None:
    titles = TitleIndex([*OTHERS, "Mug", *(f"Filler Product {n}" for n in range(5000))])
    g = Grounding(ALLOWED, titles)
    assert g.names_other("You might like the leather hiking boot, too")
    assert not g.names_other("The Merino Wool Crew Sweater is allowed")  # one of ours
    assert not g.names_other("A mug of tea")  # titles under 8 characters are not checked
    assert g.names_other("or Filler Product 4321.") and not g.names_other("a filler product")
    # A title split by a clause boundary is still caught over the sentence so far.
    assert not g.clause_ok("Skillet for eggs.", "You could use the Cast Iron")
