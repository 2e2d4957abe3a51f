"""Reading likes and dislikes: negation scope, contrast, several items in one message,
opinions without a subject. The chat learns dislikes from these (issue 9, item 7)."""

from __future__ import annotations

import pytest

from app.chat.extract import ShownItem, extract
from app.chat.opinion import blend, clauses, elliptical, lexicon, lexicon_score

SHOWN = [
    ShownItem("sku-1", "Fjordline Merino Sweater", "Fjordline", {"color": ["red"]}, 0),
    ShownItem("sku-2", "Classic Leather Chelsea Boots", "Oakridge", {"color": ["brown"]}, 1),
    ShownItem("sku-3", "Breeze Linen Summer Shirt", "Breeze", {"color": ["blue"]}, 2),
]


def opinions(text: str, focus: str | None = None) -> dict[str, float]:
    return {s.item_id: s.score for s in extract(text, SHOWN, focus=focus).item_sentiments}


@pytest.mark.parametrize("text", [
    "I'm not really a fan of it",           # "not really" negates "fan", not a lukewarm no
    "I wasn't a huge fan of it",            # the negator reaches over "a huge"
    "honestly not a big fan",
    "I didn't care for it",                 # past tense
    "I didnt care for it",                  # no apostrophe
    "I couldn't get into it",
    "had a hard time getting into it",
    "it's not my type",
    "I was let down a little",
    "it was too long",                      # "too" + any word is a complaint
    "too much going on",
    "it was boring",
    "totally overrated",
    "yes, and I did not like it",           # "yes" answers; "not like" is the opinion
    "not as good as I hoped",
])
def test_dislikes(text: str) -> None:
    assert lexicon_score(text) < -0.2, (text, lexicon_score(text))


@pytest.mark.parametrize("text", [
    "I liked it too",                       # "too" at the end means "also"
    "me too, loved it",
    "not bad at all",
    "I'm interested in that one",
    "yes",
])
def test_likes(text: str) -> None:
    assert lexicon_score(text) > 0, (text, lexicon_score(text))


def test_answer_words_alone_still_count_but_give_way_to_opinions() -> None:
    assert lexicon("no")[0] < 0 < lexicon("ok")[0]
    assert lexicon("ok, it is ugly")[0] == lexicon("it is ugly")[0]
    # An opening "no" answers a question: no opinion on the item; "it is ok" is one.
    assert opinions("No, I haven't seen it", focus="sku-2") == {}
    assert opinions("the first one is ok")["sku-1"] > 0


def test_clauses_weigh_the_part_after_a_contrast_word() -> None:
    assert clauses("it was good but too long. I liked the idea though.") == [
        ("it was good", 0.5), ("too long.", 1.5), ("I liked the idea", 1.5)]
    # A sentence ending in "though" answers the sentence before it.
    assert clauses("Lovely. Too pricey though") == [("Lovely.", 0.5), ("Too pricey", 1.5)]
    assert clauses("Nice. Cheap.") == [("Nice.", 1.0), ("Cheap.", 1.0)]


def test_a_contrast_decides_the_verdict_on_one_item() -> None:
    assert opinions("the red one is nice but way too itchy")["sku-1"] < 0
    assert opinions("the red one is a bit pricey but gorgeous")["sku-1"] > 0


def test_each_title_gets_its_own_clause() -> None:
    got = opinions("I liked the Fjordline Merino Sweater but the Breeze Linen Summer Shirt "
                   "was boring")
    assert got["sku-1"] > 0 > got["sku-3"]
    got = opinions("I loved Classic Leather Chelsea Boots, didn't care for Breeze Linen "
                   "Summer Shirt")
    assert got["sku-2"] > 0 > got["sku-3"]


def test_it_means_the_item_the_message_last_named() -> None:
    text = ("My favourite is the Classic Leather Chelsea Boots. Last week I bought the Breeze "
            "Linen Summer Shirt. Wasn't a huge fan of that one though")
    got = opinions(text, focus="sku-1")  # the focus is the older item in the conversation
    assert got["sku-3"] < 0 < got["sku-2"]
    assert "sku-1" not in got


def test_an_opinion_without_subject_is_about_the_item_in_focus() -> None:
    assert opinions("Boring.", focus="sku-2")["sku-2"] < 0
    assert opinions("yeah, wasn't a fan", focus="sku-2")["sku-2"] < 0
    assert opinions("The first one is lovely. Too pricey though")["sku-1"] < 0
    assert opinions("looks great!", focus="sku-3")["sku-3"] > 0
    # With a subject of its own it is a taste, not an item opinion.
    assert opinions("I love linen", focus="sku-3") == {}
    assert opinions("horror movies are boring", focus="sku-3") == {}
    # No focus and several items: no guess.
    assert opinions("Boring.") == {}


def test_elliptical() -> None:
    assert elliptical("Boring.") and elliptical("oh god no, not my type")
    assert elliptical("too silly for my tastes") and elliptical("a bit dull")
    assert not elliptical("I love linen") and not elliptical("the blue one is nice")
    assert not elliptical("yes")


def test_blend_uses_the_lexicon_only_where_it_has_an_opinion_word() -> None:
    assert blend(0.8, 0.0, 0) == 0.8
    assert blend(0.8, -0.4, 1) == pytest.approx(0.2)


def test_the_yardstick_of_a_comparison_gets_no_opinion() -> None:
    got = opinions("I like the blue one more than the red one")
    assert got["sku-3"] > 0 and "sku-1" not in got
    got = opinions("I bought the Breeze Linen Summer Shirt. Not as good as the Fjordline "
                   "Merino Sweater")
    assert got["sku-3"] < 0 and "sku-1" not in got
    # Both are still what the message talks about (a comparison question needs them).
    assert set(extract("is the blue one warmer than the red one?", SHOWN).referenced) == {
        "sku-1", "sku-3"}


def test_sentences_do_not_end_at_titles_or_initials() -> None:
    assert [c for c, _ in clauses("Mr. Bean is great. L.A. Confidential was bad. I haven't. "
                                  "I will check it out")] == [
        "Mr. Bean is great.", "L.A. Confidential was bad.", "I haven't.", "I will check it out"]


def test_questions_and_idioms_are_no_opinion() -> None:
    assert opinions("is the red one comfortable?") == {}
    assert opinions("do you think the first one will be good?") == {}
    assert opinions("too bad, thanks anyway", focus="sku-2") == {}
    assert opinions("have a good one!", focus="sku-2") == {}
    assert opinions("I wasn't a big fan", focus="sku-2")["sku-2"] < 0  # no object: the focus
    assert opinions("I'm not a huge sci-fi fan", focus="sku-2")["sku-2"] < 0


def test_it_after_and_is_the_item_named_before_it() -> None:
    got = opinions("I bought the Breeze Linen Summer Shirt and really loved it!", focus="sku-2")
    assert got == {"sku-3": got["sku-3"]} and got["sku-3"] > 0
