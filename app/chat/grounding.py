"""A reply may name only the products it was given. The check runs clause by clause while
the reply streams, so nothing ungrounded ever reaches the customer and the first words go
out as soon as the first clause is checked (not after a whole sentence)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

_AMOUNT = r"\d[\d,]*(?:\.\d{1,2})?"
_PRICE = re.compile(rf"(?:[$€£]\s?{_AMOUNT}|{_AMOUNT}\s?(?:USD|EUR|GBP|dollars?))", re.IGNORECASE)
# A clause ends at , ; : or a sentence end followed by a space ("1,299" and "4.5" stay whole).
_CLAUSE_END = re.compile(r"(?<=[.!?,;:])\s+|\n+")
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
    # Claims (empty: not checked). Who the shopper is shopping for ("niece"): any other
    # relation word is invented. Diet/material labels the named items really carry. The
    # product types the reply may mention (the items' own and the shopper's words) out of
    # all the catalog's types.
    people: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    types: frozenset[str] = frozenset()
    all_types: frozenset[str] = frozenset()
    claims: bool = False


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
fashion outfit outfits look looks wardrobe
""")
_STOP = _wordset("""
the and for with you your our are was were have has had this that these those from into
its it's i'm you're we're they're can could would should will just also very really some any
all about there their them they then than what which when where who how why not but out get
""")


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text.lower()))


class TitleIndex:
    """Catalog titles (of 8+ characters, lowercased) by their first word, so finding which
    titles a sentence contains costs a dict lookup per word, not a scan of the catalog
    (a scan of 100k titles per clause would cost more than the whole turn's budget).
    Build it once per catalog version and share it between turns."""

    def __init__(self, titles: Iterable[str]) -> None:
        self._by_first: dict[str, list[str]] = {}
        for title in titles:
            low = title.lower()
            first = _WORD.search(low)
            if len(low) >= 8 and first:
                self._by_first.setdefault(first.group(), []).append(low)

    def find(self, low: str, exclude: frozenset[str] = frozenset()) -> bool:
        for word in set(_WORD.findall(low)):
            for title in self._by_first.get(word, ()):
                if title in low and title not in exclude:
                    return True
        return False


class Grounding:
    """Decides whether a sentence stays within the allowed products."""

    def __init__(self, allowed: Allowed, catalog_titles: Iterable[str] | TitleIndex = (),
                 sentiment: Any = None) -> None:
        self.allowed = allowed
        self.sentiment = sentiment
        self._allowed_words = set().union(
            *(_words(t) for t in (*allowed.titles, *allowed.brands, *allowed.extra_names)))
        self._topic = self._allowed_words | set().union(*(_words(t) for t in allowed.topic))
        # Titles of other catalog products: naming one is the most obvious way to stray.
        self._titles = catalog_titles if isinstance(catalog_titles, TitleIndex) else \
            TitleIndex(catalog_titles)
        self._allowed_lower = frozenset(t.lower() for t in allowed.titles)

    def names_other(self, text: str) -> bool:
        """Whether `text` contains the title of a catalog product that is not allowed."""
        return self._titles.find(text.lower(), exclude=self._allowed_lower)

    def sentence_ok(self, sentence: str) -> bool:
        return not self.names_other(sentence) and self._content_ok(sentence)

    def clause_ok(self, clause: str, sentence_so_far: str = "") -> bool:
        """`sentence_ok` for one clause; the other-title check runs over the whole sentence
        so far (a title may straddle a comma)."""
        return not self.names_other(f"{sentence_so_far} {clause}") and self._content_ok(clause)

    def _content_ok(self, sentence: str) -> bool:
        """Everything but the other-title check: prices, invented names, topic, tone."""
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
        if not self.on_topic(sentence):
            return False
        if self.allowed.claims and not self.claims_ok(sentence):
            return False
        # Two-word clauses ("No leather,", "Of course!") fool the classifier (it reads "No"
        # as negative); they are judged by the gloom words alone.
        words = _words(sentence)
        if len(words) < 3:
            return not (words & _GLOOM)
        return self.upbeat(sentence)

    def claims_ok(self, sentence: str) -> bool:
        """People, labels and product types the plan did not give are invented."""
        words = _words(sentence)
        if words & (_RELATIONS - set(self.allowed.people)):
            return False
        if _SELF_CLAIM.search(sentence):
            return False  # "I'm a vegan": the assistant has no diet
        if (words & _LABELS) - set(self.allowed.labels):
            return False
        for theme in re.findall(r"\b([a-z]+)[\s-]+themed\b", sentence.lower()):
            if theme not in self._topic and theme.rstrip("s") not in self._topic:
                return False  # "dinosaur-themed books": a theme nothing shown has
        stems = {w[:-1] if w.endswith("s") and len(w) > 3 else w for w in words}
        return not ((stems & self.allowed.all_types) - self.allowed.types)

    def names_a_product(self, text: str) -> bool:
        """Whether `text` names one of the allowed products (by most of its title's words:
        the model shortens titles)."""
        words = _words(text)
        for title in self.allowed.titles:
            need = {w for w in _words(title) if len(w) > 2 and w not in _STOP}
            if need and len(need & words) >= max(1, (2 * len(need) + 2) // 3):
                return True
        return False

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


_RELATIONS = _wordset("""
daughter son niece nephew wife husband girlfriend boyfriend mum mom mother dad father sister
brother grandma grandpa grandmother grandfather aunt uncle granddaughter grandson kids child
""")
_LABELS = _wordset("vegan vegetarian organic halal kosher")
_SELF_CLAIM = re.compile(r"\bi\s*'?\s*a?m\s+(?:a\s+|also\s+)?(?:vegan|vegetarian|allergic|"
                         r"a\s+(?:mum|mom|dad|parent))\b", re.I)


def _is_common(name: str) -> bool:
    return all(w in _COMMON for w in _words(name))


def complete_clauses(buffer: str) -> tuple[list[str], str]:
    """Complete clauses (ending in , ; : . ! ? or a line break) and the unfinished rest."""
    parts = _CLAUSE_END.split(buffer)
    return [p for p in parts[:-1] if p.strip()], parts[-1]


_RISKY_WORD = re.compile(r"[A-Z0-9$€£]")
# Words that often open the gloomy drift the tone check exists for: they wait for their
# clause's check instead of flashing up before a retract.
_GLOOM = _wordset("""
sad sadly sorry loss lost died death dead passed condolences unfortunately terrible awful
hate injury injured sick ill illness cancer grief grieving tragic tragedy pain hurt afraid
fear scared worry worried bad
""")


def _early_word(word: str, *, first_of_sentence: bool) -> bool:
    """May this word go out before its clause is checked? Not a name (a capital, except
    the sentence's first letter), a number, a price, or a gloomy word."""
    if not word or word.lower().strip(".,;:!?'\"") in _GLOOM:
        return False
    rest = word[1:] if first_of_sentence and word[:1].isupper() else word
    return not _RISKY_WORD.search(rest)


class CheckedStream:
    """Raw LLM text in, the reply's events out: ("token", {"text"}) and ("retract",
    {"chars", "text"}): the last `chars` characters (code points), i.e. `text`, taken back.

    Words go out as soon as they are written, provisionally: a clause's leading lowercase
    words cannot name a product or a price, so they are released at once, while anything
    from a capitalized word or a number on waits for the clause's end. When the clause is
    complete it is checked whole (names, prices, topic, tone); if it fails, a `retract`
    event takes back its provisional words and the reply ends there. A clause's trailing
    , ; or : is held back until the next clause passes, so a reply that has to stop
    mid-sentence still ends with a full stop, not a dangling comma."""

    def __init__(self, grounding: Grounding, max_sentences: int, *,
                 early_words: bool = True) -> None:
        self.grounding = grounding
        self.max_sentences = max_sentences
        # False: a clause goes out only once checked whole, so nothing is ever taken back
        # (the first words wait for the first clause's end).
        self.early_words = early_words
        self.sent = ""  # everything released so far (checked + provisional)
        self.strayed = False
        self.finished = False
        self.retracted = 0  # characters taken back over the whole reply
        self._buffer = ""
        self._pending = ""  # held-back punctuation of the last checked clause
        self._provisional = 0  # characters of the open clause released unchecked
        self._released = ""  # the open clause's released words (without the lead space)
        self._lead_pending = ""  # the held punctuation those words carried out
        self._sentence = ""
        self._seen: set[str] = set()

    @property
    def done(self) -> bool:
        return self.strayed or self.finished

    def feed(self, text: str) -> list[tuple[str, dict[str, Any]]]:
        self._buffer += text
        clauses, self._buffer = complete_clauses(self._buffer)
        out: list[tuple[str, dict[str, Any]]] = []
        for clause in clauses:
            if self.done:
                break
            out.extend(self._take(clause.strip()))
        if self.done:
            out.extend(self._close_sentence())
        else:
            out.extend(self._release_words())
        return out

    def close(self, complete: bool) -> list[tuple[str, dict[str, Any]]]:
        """The stream ended; `complete` is False when the backend failed mid-reply. An
        unfinished fragment (cut by the token limit) is taken back."""
        out: list[tuple[str, dict[str, Any]]] = []
        rest = self._buffer.strip()
        self._buffer = ""
        if complete and not self.done and rest and rest[-1] in ".!?":
            out.extend(self._take(rest))
        out.extend(self._retract())
        out.extend(self._close_sentence())
        return out

    def _emit(self, text: str) -> list[tuple[str, dict[str, Any]]]:
        self.sent += text
        return [("token", {"text": text})] if text else []

    def _lead(self) -> str:
        return self._pending + (" " if self.sent.strip() else "")

    def _release_words(self) -> list[tuple[str, dict[str, Any]]]:
        """Release the open clause's complete words up to the first risky one."""
        if not self.early_words:
            return []
        words = self._buffer.lstrip().split(" ")[:-1]  # the last may still be growing
        safe: list[str] = []
        for n, word in enumerate(words):
            if not _early_word(word, first_of_sentence=n == 0 and not self._sentence):
                break
            safe.append(word)
        text = " ".join(safe)
        partial = " ".join(_WORD.findall(text.lower()))
        if partial and any(seen.startswith(partial) for seen in self._seen):
            return []  # it may be a repeat (a looping model): wait for the whole clause
        if len(text) <= len(self._released):
            return []
        extra = text[len(self._released):]
        if self._released:
            piece = " " + extra.lstrip()
        else:  # the clause's first words carry the previous clause's held punctuation
            piece = self._lead() + extra
            self._lead_pending, self._pending = self._pending, ""
        self._released = text
        self._provisional += len(piece)
        return self._emit(piece)

    def _retract(self) -> list[tuple[str, dict[str, Any]]]:
        n = self._provisional
        self._provisional, self._released = 0, ""
        if not n:
            return []
        taken = self.sent[-n:]
        self.sent = self.sent[:-n]
        self.retracted += n
        self._pending = self._lead_pending  # it went out with the words taken back
        return [("retract", {"chars": n, "text": taken})]

    def _take(self, clause: str) -> list[tuple[str, dict[str, Any]]]:
        if not clause:
            return []
        key = " ".join(_WORD.findall(clause.lower()))
        if len(key.split()) > 3 and key in self._seen:  # a small model looping: stop
            self.finished = True
            return self._retract()
        if not self.grounding.clause_ok(clause, self._sentence):
            self.strayed = True
            return self._retract()
        self._seen.add(key)
        hold = clause[-1] if clause[-1] in ",;:" else ""
        body = clause[:-1].rstrip() if hold else clause
        if self._released and body.startswith(self._released):
            out = self._emit(body[len(self._released):])
            self._released, self._provisional = "", 0
        else:  # nothing released yet (or the text was re-spaced): send the clause whole
            out = self._retract()
            out += self._emit(self._lead() + body)
        self._pending = hold
        self._sentence = "" if body[-1] in ".!?" else f"{self._sentence} {clause}"
        if sum(self.sent.count(c) for c in ".!?") >= self.max_sentences:
            self.finished = True
        return out

    def _close_sentence(self) -> list[tuple[str, dict[str, Any]]]:
        self._pending = ""
        if self.sent and (self.sent[-1].isalnum() or self.sent[-1] in "\"')"):
            return self._emit(".")
        return []
