"""Conversational style: register, length, emoji and language learned over messages."""

from __future__ import annotations

import json

import pytest

from app.chat.style import (
    StyleProfile,
    describe,
    detect_language,
    formality_of,
    instructions,
    prompt_variables,
    update,
)


def learn(*messages: str) -> StyleProfile:
    profile = StyleProfile()
    for m in messages:
        profile = update(profile, m)
    return profile


def test_casual_emoji_customer() -> None:
    p = learn("hey!! any cute tops? 😍", "lol thx", "omg yes 😂😂")
    assert p.formality < 0.4 and p.emoji_rate > 0.5 and p.message_count == 3
    assert instructions(p) == "Reply casually, briefly (1-2 sentences), emoji welcome, in English."
    assert prompt_variables(p) == {"language": "English", "register": "casual",
                                   "length": "short", "emoji": True}


def test_formal_customer() -> None:
    p = learn("Good afternoon. I would like to see your linen shirts, please.",
              "Thank you. Could you show me the same model in navy?")
    assert p.formality > 0.6 and p.emoji_rate == 0
    assert instructions(p).startswith("Reply formally and politely")
    assert prompt_variables(p)["register"] == "formal"
    assert prompt_variables(p)["emoji"] is False


def test_verbose_customer_gets_detail() -> None:
    long = ("I am looking for a waterproof hiking jacket for a two week trip to Scotland in "
            "October, ideally something light that packs small, with a hood that fits over a "
            "helmet, and pockets that I can reach while wearing a backpack hip belt.")
    p = learn(long, long)
    assert p.verbosity > 30
    assert "in detail" in instructions(p)
    assert prompt_variables(p)["length"] == "detailed"


def test_french_customer() -> None:
    p = learn("Bonjour, je cherche une veste en lin pour mon mari, s'il vous plaît.",
              "Merci beaucoup. Avez-vous la même en bleu ?")
    assert p.language == "fr"
    assert instructions(p).endswith("in French.")
    assert prompt_variables(p)["language"] == "French"


@pytest.mark.parametrize(("text", "lang"), [
    ("Hi, I'm looking for a jacket for my wife", "en"),
    ("Bonjour, je cherche un cadeau pour ma femme", "fr"),
    ("Hallo, ich suche eine Jacke für meine Frau", "de"),
    ("Hola, busco unos zapatos para mi hijo", "es"),
    ("Ciao, cerco una borsa per mia madre", "it"),
    ("Hoi, ik zoek een jas voor mijn vrouw", "nl"),
    ("Olá, procuro um presente para a minha mãe", "pt"),
])
def test_language_detection(text: str, lang: str) -> None:
    scores = detect_language(text)
    assert max(scores, key=lambda k: scores[k]) == lang
    assert update(None, text).language == lang


def test_language_switch_needs_evidence() -> None:
    p = learn("Hi, I'm looking for a warm jacket for the winter",
              "Do you have it in blue?")
    assert p.language == "en"
    p = update(p, "merci")  # one ambiguous word does not flip the language
    assert p.language == "en"
    for _ in range(3):
        p = update(p, "Je cherche une veste en laine pour mon fils, avez-vous des idées ?")
    assert p.language == "fr"


def test_ema_adapts_over_time() -> None:
    p = learn(*["Good morning. I would like to see your wool coats, please."] * 4)
    formal = p.formality
    for _ in range(6):
        p = update(p, "lol ok cool thx 😎")
    assert p.formality < formal - 0.3
    assert p.emoji_rate > 0.7


def test_first_message_sets_profile_directly() -> None:
    p = update(None, "hey 👋")
    assert p.emoji_rate == 1.0 and p.verbosity == 1.0 and p.message_count == 1


def test_round_trip_and_tolerant_from_dict() -> None:
    p = learn("Bonjour, je cherche une veste en lin", "merci 😊")
    data = json.loads(json.dumps(p.to_dict()))
    assert StyleProfile.from_dict(data) == p
    assert StyleProfile.from_dict(None) == StyleProfile()
    assert StyleProfile.from_dict({"formality": 0.9, "unknown": 1}).formality == 0.9
    assert StyleProfile.from_dict({"language": "xx"}).language == "en"


def test_describe() -> None:
    d = describe(learn("hey!! any cute tops? 😍"))
    assert d["register"] == "casual" and d["emoji"] is True and d["language"] == "en"
    assert d["messages"] == 1 and d["instructions"].startswith("Reply casually")


def test_default_profile_is_neutral() -> None:
    assert instructions(StyleProfile()) == (
        "Reply in a friendly, neutral tone, in 2-3 sentences, no emoji, in English.")


@pytest.mark.parametrize(("formal", "casual"), [
    ("Good evening, could you please recommend a wool scarf?", "yo any scarves lol"),
    ("Guten Tag, könnten Sie mir bitte helfen?", "hey du, hast du schals?"),
    ("Bonjour, pourriez-vous m'aider, s'il vous plaît ?", "salut tu as des écharpes stp"),
])
def test_formality_orders_messages(formal: str, casual: str) -> None:
    assert formality_of(formal) > 0.5 > formality_of(casual)
