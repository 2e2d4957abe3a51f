"""A reply may name only the products it was given. The check runs sentence by sentence
while the reply streams, so nothing ungrounded ever reaches the customer."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

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


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text.lower()))


class Grounding:
    """Decides whether a sentence stays within the allowed products."""

    def __init__(self, allowed: Allowed, catalog_titles: Iterable[str] = ()) -> None:
        self.allowed = allowed
        self._allowed_words = set().union(
            *(_words(t) for t in (*allowed.titles, *allowed.brands, *allowed.extra_names)))
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
        return True


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


_CLAUSE_END = re.compile(r"(?<=[,;:])\s+")
MIN_CLAUSE_WORDS = 4


def split_sentences(buffer: str) -> tuple[list[str], str]:
    """Complete sentences (or, to stream sooner, clauses of a few words) in `buffer`, and
    the unfinished rest. A product name never spans a comma, so a clause is a safe unit to
    check."""
    parts = _SENTENCE_END.split(buffer)
    done, rest = [p for p in parts[:-1] if p.strip()], parts[-1]
    clauses = _CLAUSE_END.split(rest)
    if len(clauses) > 1 and len(clauses[0].split()) >= MIN_CLAUSE_WORDS:
        done.append(clauses[0])
        rest = rest[len(clauses[0]):].lstrip()
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
