"""How much a piece of a customer's message likes or dislikes what it talks about.

Pure functions over the vocabulary of ``data/extract.yaml`` (no model, no I/O):

- `lexicon_score`: weighted opinion words and phrases with negation scope ("not really a
  fan", "wasn't a huge fan", "didn't care for"), intensifiers ("really ugly", "a bit
  pricey") and excess ("too long", "too much talking": a complaint whatever the word);
- `clauses`: sentences split at contrast words, each with its weight: in "good but too long"
  the part after "but" is the verdict (x1.5) and the part before it a concession (x0.5), the
  rule sentiment lexicons such as VADER use;
- `elliptical`: an opinion with no subject of its own ("Boring.", "wasn't a fan", "too
  pricey though", "not my type"), which is about what was just talked about;
- `blend`: a sentiment classifier's score averaged with the lexicon's where the lexicon has
  an opinion word (the lexicon knows negation scope and shop slang, the classifier the rest).
"""

from __future__ import annotations

import math
import re

from app.chat.vocabulary import V

__all__ = ["blend", "clauses", "elliptical", "is_opinion_word", "lexicon", "lexicon_score",
           "split_clauses"]

_POS = dict(V.positive)
_NEG = dict(V.negative)
_INTENSIFIERS = dict(V.intensifiers)
_NEGATORS = V.negators
_LIKE_VERB_BEFORE = V.like_verb_before
_TOKEN = re.compile(r"[a-z_]+(?:'[a-z]+)?|[!?]")
# Multi-word entries become one token ("not_a_fan"); the map gives the entry back.
_PHRASE_KEYS = {k.replace(" ", "_").replace("'", ""): k
                for k in {**_POS, **_NEG, **_INTENSIFIERS} if " " in k}
_PHRASE = re.compile(r"(?<![a-z'])(?:" + "|".join(
    re.escape(k) for k in sorted(_PHRASE_KEYS.values(), key=len, reverse=True)) + r")(?![a-z])")
# "not really" alone is a lukewarm no; before an opinion word it negates it.
_NEGATOR_PHRASES = {k.replace(" ", "_").replace("'", "") for k in V.negator_phrases}
# People type contractions without the apostrophe: "didnt", "couldnt", "wasnt".
_CONTRACTION = re.compile(r"\b(do|does|did|is|was|were|are|could|would|should|has|have|had|"
                          r"wo|ca|ai)nt\b")
_AFTER_LOOKS = frozenset({"looks", "look", "looked", "seems", "seem", "seemed", "sounds",
                          "sounded", "feels", "feel", "felt", "is", "was", "it's", "what's",
                          "just"})
# Idioms made of opinion words that say nothing of an item ("too bad", "no worries",
# "have a good one", "nice chatting"): blanked before scoring.
_NO_OPINION = re.compile(r"\b(?:" + "|".join(V.no_opinion) + r")\b")
TOO_EXCESS = -0.5  # "too <anything>" is a complaint: too long, too silly, too much blood


def _normalize(text: str) -> str:
    low = _CONTRACTION.sub(r"\1n't", text.lower().replace("\u2019", "'"))
    return _NO_OPINION.sub(" ", low)


def _key(token: str) -> str:
    return _PHRASE_KEYS.get(token, token)


def _is_opinion(token: str) -> bool:
    key = _key(token)
    return (key in _POS or key in _NEG) and key not in _INTENSIFIERS


def lexicon_score(text: str) -> float:
    """Sentiment in [-1, 1] from the lexicon; 0.0 when no opinion word is present.

    A negator within the five tokens before an opinion word flips and damps it ("not
    great" -> -0.75 of great, "not bad" -> -0.3 of bad); an intensifier or diminisher just
    before scales it; "too" before any word is a complaint unless it intensifies an opinion
    word ("too expensive"); '!' adds emphasis. The sum is squashed as ``x / sqrt(x^2 + 1)``.
    """
    return lexicon(text)[0]


def lexicon(text: str) -> tuple[float, int]:
    """(`lexicon_score`, number of opinion words it counted). Answer words opening the text
    are not counted: "No, I haven't seen it" answers a question and says nothing of the item."""
    low = _PHRASE.sub(lambda m: m.group(0).replace(" ", "_").replace("'", ""), _normalize(text))
    found = list(_TOKEN.finditer(low))
    tokens = [m.group(0) for m in found]
    # The next token when nothing but spaces separates it ("too long", not "it too. Long").
    nexts = [tokens[i + 1] if i + 1 < len(found) and not low[m.end():found[i + 1].start()].strip()
             else None for i, m in enumerate(found)]
    total, hits, weak = 0.0, 0, 0.0
    for i, tok in enumerate(tokens):
        key, nxt = _key(tok), nexts[i]
        if tok in _NEGATOR_PHRASES and any(_is_opinion(t) for t in tokens[i + 1:i + 4]):
            continue  # "not really a fan": counted as the negator of "fan" below
        if key == "too":
            if nxt is None or nxt in V.not_after_too or _is_opinion(nxt):
                continue  # "me too"; "too expensive" is "expensive", intensified
            weight = TOO_EXCESS
        else:
            found_weight = _POS.get(key, _NEG.get(key))
            if found_weight is None or (key in _INTENSIFIERS and key != "pretty"):
                continue  # intensifiers count only through the word they scale
            if key == "pretty" and nxt is not None and _is_opinion(nxt):
                continue
            weight = found_weight
        if key == "like" and i > 0 and tokens[i - 1] not in _LIKE_VERB_BEFORE:
            if tokens[i - 1] in _AFTER_LOOKS:
                continue  # "looks like a sweater": no opinion
            weight = 0.3  # "something like the first one", "movies like Saw": a mild like
        scale = 1.0
        prev = tokens[max(0, i - 5):i]
        if prev and _key(prev[-1]) in _INTENSIFIERS:
            scale *= _INTENSIFIERS[_key(prev[-1])]
        if any((p in _NEGATORS and p != "no") or p in _NEGATOR_PHRASES for p in prev) or (
                "no" in prev[-2:] and (prev[-1] == "no" or _key(prev[-1]) in _INTENSIFIERS)):
            # "no" negates only the word after it ("no good"), not "no, your pick is good"
            scale *= -0.75 if weight > 0 else -0.3  # "not bad" is only mildly positive
        if key in V.answer_words and all(t in V.answer_words or t in V.discourse_markers
                                         for t in tokens[:i]):
            # "Yes, I did not like it", "No, I haven't seen it": an opening "yes"/"ok"
            # answers; "it was ok" is an opinion.
            weak += weight * scale
        else:
            total, hits = total + weight * scale, hits + 1
    if not hits:  # only answer words: a score for "yes"/"no" alone, but no opinion count
        total = weak
    if total and "!" in tokens:
        total *= 1.2
    return total / math.sqrt(total * total + 1.0), hits


def is_opinion_word(word: str) -> bool:
    """A sentiment word, intensifier or negator ("hate", "really", "never"): no product."""
    w = word.lower()
    return any(k in _POS or k in _NEG or k in _INTENSIFIERS or k in _NEGATORS
               for k in (w, w + "s", w + "d", w + "ed"))


# --------------------------------------------------------------------------- clauses

_CONTRAST = r"but|though|however|whereas|while|although|yet"
# A sentence ends at . ! ? ; but not after "Mr.", "Dr.", "St.", "vs." or an initial ("L.A.").
_SENTENCE_END = (r"(?<=[.!?;])(?<!\bmr\.)(?<!\bmrs\.)(?<!\bms\.)(?<!\bdr\.)(?<!\bst\.)"
                 r"(?<!\bjr\.)(?<!\bsr\.)(?<!\bvs\.)(?<![\s.][a-hj-z]\.)(?<!^[a-hj-z]\.)\s+")
_CLAUSE_SPLIT = re.compile(
    rf"({_SENTENCE_END}|\s*[;\n]\s*|\s*(?:,\s*)?\b(?:{_CONTRAST})\b\s*,?\s*)", re.I)
BEFORE_CONTRAST, AFTER_CONTRAST = 0.5, 1.5


def clauses(text: str) -> list[tuple[str, float]]:
    """Sentences split at contrast words, each with its weight: 1.0, or 0.5 just before a
    contrast and 1.5 just after it ("it's good but too long"). A sentence ending in
    "though" is the after-part of a contrast with the sentence before it ("Lovely. Too
    pricey though.")."""
    parts = _CLAUSE_SPLIT.split(text)
    pieces, seps = parts[0::2], [""] + parts[1::2]  # seps[k] comes just before pieces[k]
    kept = [k for k, p in enumerate(pieces) if p.strip(" ,") and p.strip(" ,.")]
    weight = dict.fromkeys(kept, 1.0)
    for n, k in enumerate(kept):
        after = bool(re.search(r"[a-z]", seps[k], re.I))
        trailing = k + 1 < len(pieces) and k + 1 not in weight and bool(
            re.search(r"\bthough\b", seps[k + 1], re.I))
        if after or trailing:
            weight[k] = AFTER_CONTRAST
            if n and weight[kept[n - 1]] == 1.0:
                weight[kept[n - 1]] = BEFORE_CONTRAST
    return [(pieces[k].strip(" ,"), weight[k]) for k in kept]


def split_clauses(text: str) -> list[str]:
    """Sentences, further split at contrast words; empty pieces dropped."""
    return [c for c, _ in clauses(text)]


# --------------------------------------------------------------------------- ellipsis

_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")


def elliptical(clause: str) -> bool:
    """True for an opinion about nothing named: it starts (after "yeah", "oh",
    "honestly"...) with an opinion word, a negation, an intensifier, "too" or a bare verb
    of seeming ("Boring.", "not my type", "wasn't a fan", "too pricey though", "looks
    cheap"), or it is "I/we" + an opinion with no object ("I wasn't a big fan", "I was let
    down a little"). "I love linen" and "horror movies are boring" name what they judge."""
    words = _WORD.findall(_normalize(clause))
    while words and words[0] in V.discourse_markers:
        words.pop(0)
    if not words:
        return False
    if words[0] in V.ellipsis_heads or words[0] in _INTENSIFIERS or _is_opinion(words[0]):
        return True
    if any(" ".join(words[:n]) in _PHRASE_KEYS.values() for n in (2, 3, 4, 5)):
        return True
    if words[0] in ("i", "we", "i'm", "we're"):
        # "I wasn't a big fan", "I was let down a little": the opinion has no object.
        tokens = _TOKEN.findall(_PHRASE.sub(
            lambda m: m.group(0).replace(" ", "_").replace("'", ""), " ".join(words)))
        last = max((n for n, t in enumerate(tokens) if _is_opinion(t)), default=None)
        return last is not None and all(w in V.objectless_tail for t in tokens[last + 1:]
                                        for w in t.split("_"))
    return False


def blend(classifier: float, lexicon_value: float, lexicon_hits: int) -> float:
    """The classifier's score, averaged with the lexicon's where it found an opinion word."""
    return (classifier + lexicon_value) / 2 if lexicon_hits else classifier
