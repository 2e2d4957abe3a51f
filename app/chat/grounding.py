"""A reply may name only the products it was given. The check runs sentence by sentence
while the reply streams, so nothing ungrounded ever reaches the customer."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

_AMOUNT = r"\d[\d,]*(?:\.\d{1,2})?"
_PRICE = re.compile(rf"(?:[$€£]\s?{_AMOUNT}|{_AMOUNT}\s?(?:USD|EUR|GBP|dollars?))", re.IGNORECASE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
_WORD = re.compile(r"[a-z0-9]+")
# Capitalized runs that look like a product or brand name ("Alpine Trail Jacket").
_NAME = re.compile(r"\b(?:[A-Z][a-zA-Z'&-]+\s+){1,5}[A-Z][a-zA-Z'&-]+\b")


@dataclass(frozen=True)
class Allowed:
    titles: tuple[str, ...]
    brands: tuple[str, ...]
    prices: tuple[float, ...]
    extra_names: tuple[str, ...] = ()
    # What the conversation is about: the customer's words, the products' categories and
    # attributes. A sentence sharing none of them (nor the shop vocabulary) is off topic.
    topic: tuple[str, ...] = ()


def _wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Words a shop assistant's on-topic sentence may be made of besides the products' own.
_SHOP_WORDS = _wordset("""
find found pick picks suggest suggestion suggestions recommend recommendation options option
choice choices look looking great perfect love like lovely nice help happy glad here these
those this that item items product products fit fits style stylish comfortable comfy quality
price prices budget gift gifts idea ideas shop store collection range selection match matches
matching size sizes colour color colours colors material materials check out browse cart
order buy favourite favorite favourites popular bestseller new fresh great good best ideal
enjoy want need needs looking wear wearing use using day everyday perfect warm cosy cozy
""")
_STOP = _wordset("""
the and for with you your our are was were have has had this that these those from into
its it's i'm you're we're they're can could would should will just also very really some any
all about there their them they then than what which when where who how why not but out get
""")


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text.lower()))


class Grounding:
    """Decides whether a sentence stays within the allowed products."""

    def __init__(self, allowed: Allowed, catalog_titles: Iterable[str] = (),
                 sentiment: Any = None) -> None:
        self.allowed = allowed
        self.sentiment = sentiment
        self._allowed_words = set().union(
            *(_words(t) for t in (*allowed.titles, *allowed.brands, *allowed.extra_names)))
        self._topic = self._allowed_words | set().union(*(_words(t) for t in allowed.topic))
        allowed_lower = {t.lower() for t in allowed.titles}
        # Titles of other catalog products: naming one is the most obvious way to stray.
        self._others = [t.lower() for t in catalog_titles
                        if t.lower() not in allowed_lower and len(t) >= 8]

    def sentence_ok(self, sentence: str) -> bool:
        low = sentence.lower()
        if any(other in low for other in self._others):
            return False
        for match in _PRICE.finditer(sentence):
            value = float(re.sub(r"[^\d.]", "", match.group()) or "nan")
            if not any(abs(value - p) < 0.011 for p in self.allowed.prices):
                return False
        for name in _NAME.findall(sentence):
            words = _words(name)
            # A multi-word proper name mostly made of words from no allowed product is an
            # invented product (or a hallucinated brand).
            unknown = [w for w in words if w not in self._allowed_words and len(w) > 2]
            if len(words) >= 2 and len(unknown) > len(words) / 2 and not _is_common(name):
                return False
        return self.on_topic(sentence) and self.upbeat(sentence)

    def upbeat(self, sentence: str) -> bool:
        """A shop assistant does not volunteer condolences or gloom: the small model's
        favourite drift ("so sorry to hear about your loss"). Judged by the sentiment
        classifier when there is one."""
        if self.sentiment is None:
            return True
        return float(self.sentiment.score([sentence])[0]) > -0.6

    def on_topic(self, sentence: str) -> bool:
        """A small model sometimes drifts ("sorry to hear about your friend's injury"): a
        sentence of more than a few words must touch the products, the customer's words or
        the shop's vocabulary."""
        content = {w for w in _words(sentence) if len(w) > 2 and w not in _STOP}
        if len(content) <= 2:
            return True
        return bool(content & (self._topic | _SHOP_WORDS))


_COMMON = {"i", "you", "we", "they", "it", "hello", "hi", "hey", "thanks", "thank", "sure",
           "great", "of", "the", "a", "an", "here", "these", "this", "that", "yes", "no",
           "okay", "ok", "happy", "good", "dear", "please", "welcome", "let", "me", "my",
           "our", "your", "if", "and", "or", "for", "with", "is", "are", "would", "could",
           "can", "do", "does", "what", "how", "why", "absolutely", "certainly", "course",
           "shopping", "shop", "store", "day", "holiday", "holidays", "christmas", "season",
           "weekend", "morning", "evening", "friday", "customer", "service", "team", "sale",
           "new", "year", "best", "wishes", "regards", "enjoy", "have", "nice"}


def _is_common(name: str) -> bool:
    return all(w in _COMMON for w in _words(name))


def split_sentences(buffer: str) -> tuple[list[str], str]:
    """Complete sentences in `buffer`, and the unfinished rest. Whole sentences, not
    clauses, are the unit: when a later sentence strays, what was sent still reads well."""
    parts = _SENTENCE_END.split(buffer)
    done, rest = [p for p in parts[:-1] if p.strip()], parts[-1]
    return done, rest


def fallback_reply(titles: Sequence[str], reasons: Sequence[str], *, question: str | None,
                   no_match: bool = False) -> str:
    """The reply built from the items alone, used when the LLM is down or strays."""
    if no_match or not titles:
        base = "I couldn't find a good match for that in our catalog."
        return f"{base} {question}" if question else (
            base + " Could you tell me a bit more about what you're looking for?")
    if len(titles) == 1:
        text = f"I'd suggest the {titles[0]}"
        text += f" ({reasons[0]})." if reasons and reasons[0] else "."
    else:
        text = "Here are a few picks for you: " + ", ".join(titles[:-1]) + f" and {titles[-1]}."
    return f"{text} {question}" if question else text
