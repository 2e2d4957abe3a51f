"""Signals from one customer message: stated preferences, item sentiment, intent, recipient.

`extract` is deterministic and pure (no I/O); the only model it may call is the sentiment
scorer it is given. It works clause by clause: a message is split on sentence punctuation
and on contrast words ("but", "though", "however", "whereas"), so "the first is lovely but
the red one is ugly" yields one positive and one negative item sentiment.

What it finds (see docs/chat_signals.md for the full rule list):

- `stated`: explicit likes and dislikes of attribute values and categories ("I love
  linen", "I don't like red", "I'm vegan", "allergic to wool", "no leather", "only
  organic"). Values come from a built-in vocabulary (materials, colours, diets,
  certifications, patterns) extended by the shown items' attributes and by an optional
  catalog vocabulary; the attribute is written ``name=value`` like the preference model's
  keys. Hard constraints (identities, allergies, "no X", "only X") have ``hard=True``.
- `filters` / `query_text` / `constraints`: exactly what `retrieval.parse_query` returns.
- `item_sentiments`: opinions about items shown before, resolved by ordinal ("the first
  one", "#2", "the last one"), by attribute ("the red one", "the leather one"), by brand
  or title words ("the Fjordline sweater"), or by pronoun ("it", "that one") when a single
  item is shown or the caller names the item in focus; "it" after a title in the same
  message is that title, and an opinion without a subject ("Boring.", "wasn't a fan") is
  about the item last talked about. Scores come from `app.chat.opinion`: the negation- and
  contrast-aware lexicon, averaged with the sentiment scorer when one is given; a clause
  with no opinion at all ("tell me about the second one") yields no sentiment, only a
  reference in `referenced`.
- `intent` and `recipient` (``"child"``, ``"partner"``, ``"gift"``, ``"self"`` or None).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal, NamedTuple, Protocol

from app.chat.opinion import (
    blend,
    clauses,
    elliptical,
    is_opinion_word,
    lexicon,
    lexicon_score,
    split_clauses,
)
from app.chat.vocabulary import VOCABULARY, V, load_vocabulary
from retrieval.filters import Filters
from retrieval.query import REQUIRE_WORDS, parse_query

__all__ = [
    "DEFAULT_VOCABULARY",
    "Extraction",
    "Intent",
    "ItemSentiment",
    "SentimentScorer",
    "ShownItem",
    "StatedPreference",
    "VOCABULARY",
    "extract",
    "is_opinion_word",
    "lexicon_score",
    "load_vocabulary",
    "split_clauses",
]

Intent = Literal["search", "refine", "feedback", "question", "greeting", "purchase", "other"]


class SentimentScorer(Protocol):
    """Anything with ``score(texts) -> [-1, 1] scores``, e.g. `SentimentClassifier`."""

    def score(self, texts: Sequence[str]) -> list[float]: ...


@dataclass(frozen=True)
class ShownItem:
    """A product shown in an earlier turn.

    ``position`` orders the list as the customer saw it (0- or 1-based, only the order
    matters): "the first one" is the smallest position, "the last one" the largest. When
    several earlier lists are passed and positions repeat, the later entry wins.
    """

    item_id: str
    title: str
    brand: str = ""
    attributes: Mapping[str, Sequence[str]] = field(default_factory=dict)
    position: int = 0


@dataclass(frozen=True)
class StatedPreference:
    """An explicit like (+1) or dislike (-1) of an attribute (``"material=leather"``) or item.

    ``hard`` marks a constraint ("no leather", "I'm vegan", "allergic to wool", "only
    organic"); ``phrase`` is the text it came from, for explanations and audits.
    """

    attribute: str | None
    item_id: str | None
    value: float
    hard: bool
    phrase: str


class ItemSentiment(NamedTuple):
    """Sentiment in [-1, 1] about one shown item, with the clause it was read from."""

    item_id: str
    score: float
    phrase: str


@dataclass(frozen=True)
class Extraction:
    """Everything `extract` found in one message."""

    stated: list[StatedPreference]
    filters: Filters
    query_text: str
    constraints: tuple[str, ...]
    item_sentiments: list[ItemSentiment]
    intent: Intent
    recipient: str | None
    referenced: list[str] = field(default_factory=list)  # shown items the message points at


# --------------------------------------------------------------------------- vocabulary

_V = V
_MATERIALS, _COLORS, _DIETS = _V.materials, _V.colors, _V.diets
_CERTIFICATIONS, _PATTERNS = _V.certifications, _V.patterns
DEFAULT_VOCABULARY: dict[str, str] = {
    **{v: "material" for v in _MATERIALS},
    **{v: "color" for v in _COLORS},
    **{v: "diet" for v in _DIETS},
    **{v: "certification" for v in _CERTIFICATIONS},
    **{v: "pattern" for v in _PATTERNS},
}
# Spelling variants folded onto one attribute value.
_CANON = dict(_V.canonical)

# Identity statements: "I'm vegan" -> diet=vegan, a hard constraint.
_IDENTITY = re.compile(
    r"\b(?:i\s*'?\s*a?m|i\s+am|we\s*'?\s*re|we\s+are|i\s+eat|i\s+only\s+eat|we\s+eat|"
    r"i\s+follow\s+a|i\s+keep|i\s+went|i\s*'?\s*ve\s+gone|i\s+have\s+gone)\s+"
    r"(?:a\s+|an\s+|strictly\s+|fully\s+|completely\s+|totally\s+|mostly\s+)?"
    r"(vegan|vegetarian|pescatarian|gluten[\s-]free|lactose[\s-]free|dairy[\s-]free|"
    r"halal|kosher|keto|paleo)\b", re.I)
_ALLERGY = re.compile(
    r"\b(?:allergic\s+to|(?:an?\s+)?allergy\s+to|intolerant\s+to|sensitive\s+to|"
    r"can\s*'?\s*n?o?t\s+(?:wear|eat|tolerate|have)|cannot\s+(?:wear|eat|tolerate|have))\s+"
    r"(?P<obj>[^.;!?]+)", re.I)
_ALLERGY_NOUN = re.compile(r"\b(?P<obj>[a-z][a-z-]{1,30})\s+(?:allergy|allergies|intolerance)\b",
                           re.I)
_ONLY = re.compile(
    r"\b(?<!not\s)(?:only|strictly|exclusively)\s+(?P<obj>[^.;!?,]+)"
    r"|\b(?:must|has\s+to|have\s+to|needs?\s+to)\s+be\s+(?P<obj2>[^.;!?,]+)"
    r"|\b(?P<obj3>[a-z-]+)\s+only\b", re.I)

_NEG_WORD = (r"(?:don\s*'?\s*t|do\s+not|doesn\s*'?\s*t|does\s+not|didn\s*'?\s*t|never|"
             r"not\s+really|really\s+don\s*'?\s*t)")
_LIKE_VERB = (r"(?:really\s+|absolutely\s+|just\s+|do\s+|totally\s+|kind\s+of\s+|kinda\s+|"
              r"also\s+|usually\s+|generally\s+|quite\s+)?"
              r"(?:love|adore|like|enjoy|prefer|fancy|dig|go\s+for|"
              r"am\s+(?:a\s+)?(?:big\s+|huge\s+)?fan\s+of|'m\s+(?:a\s+)?(?:big\s+|huge\s+)?fan\s+of|"
              r"am\s+(?:really\s+|so\s+)?into|'m\s+(?:really\s+|so\s+)?into|am\s+fond\s+of|'m\s+fond\s+of|lean\s+towards?|gravitate\s+towards?)")
_DISLIKE_VERB = (r"(?:really\s+|absolutely\s+|just\s+|totally\s+|kind\s+of\s+|kinda\s+|also\s+)?"
                 r"(?:hate|dislike|detest|loathe|despise|avoid|can\s*'?\s*t\s+stand|cannot\s+stand|"
                 r"can\s*'?\s*t\s+bear|am\s+not\s+(?:a\s+)?(?:big\s+)?fan\s+of|"
                 r"'m\s+not\s+(?:a\s+)?(?:big\s+)?fan\s+of|am\s+not\s+into|'m\s+not\s+into|"
                 r"am\s+done\s+with|'m\s+done\s+with|am\s+tired\s+of|'m\s+tired\s+of|"
                 r"steer\s+clear\s+of|stay\s+away\s+from|would\s+rather\s+not\s+have|"
                 r"am\s+against|'m\s+against)")
_SUBJ = r"(?:\bi|\bwe|\bmy\s+(?:\w+\s+)?(?:likes?|loves?))"
_LIKE = re.compile(
    rf"(?:{_SUBJ}\s*(?P<neg>{_NEG_WORD}\s+)?{_LIKE_VERB}|\b(?P<fav>(?:my\s+)?favou?rite\s+"
    rf"(?:colou?r|material|fabric|brand)?\s*(?:is|are|=)))\s+(?P<obj>[^.;!?]+)", re.I)
_DISLIKE = re.compile(
    rf"(?:{_SUBJ}\s*(?P<neg>{_NEG_WORD}\s+)?{_DISLIKE_VERB}|\b(?P<noway>no\s+more|"
    rf"nothing\s+(?:made\s+)?(?:of|in|with)|anything\s+but|please\s+no|never\s+again))\s+"
    rf"(?P<obj>[^.;!?]+)", re.I)
_DONT_MIND = re.compile(r"\b(?:i|we)\s+(?:don\s*'?\s*t|do\s+not)\s+mind\s+(?P<obj>[^.;!?]+)",
                        re.I)
# Words after which an object list stops ("I love linen because it breathes").
_OBJ_STOP = re.compile(r"\b(?:because|since|as\s+it|when|if|so|that|which|for\s+(?:my|a|the)"
                       r"|but|though|although|except)\b", re.I)

# Opinion words also stop a product word list (parse_query's "not bad" is no constraint).
_POS = dict(_V.positive)
_NEG = dict(_V.negative)


# --------------------------------------------------------------------------- references

_ORDINALS = dict(_V.ordinals)
_NUMBER_WORDS = dict(_V.number_words)
_ORDINAL_REF = re.compile(
    r"\b(?:the\s+)?(?P<ord>" + "|".join(_ORDINALS) + r")\b(?!\s+(?:time|place|day|week|"
    r"thing|step|date|half|hand|class|impression|of\s+(?:all|the\s+month)))", re.I)
_NUMBER_REF = re.compile(
    r"(?:#|\bno\.?\s*|\bnumber\s+|\boption\s+|\bitem\s+|\bproduct\s+|\bpick\s+)"
    r"(?P<num>\d{1,2}|one|two|three|four|five|six|seven|eight|nine|ten)\b", re.I)
_LAST_REF = re.compile(r"\b(?:the\s+)?(?:last|final|latter|bottom)\s*(?:one|item|option)?\b"
                       r"(?!\s+(?:time|year|week|month|night|season|order|purchase))", re.I)
_FORMER_REF = re.compile(r"\bthe\s+(?:former|top\s+one)\b", re.I)
_MIDDLE_REF = re.compile(r"\bthe\s+middle\s+(?:one|item|option)\b", re.I)
_ALL_REF = re.compile(r"\b(?:all\s+of\s+(?:them|these|those)|them\s+all|these\s+all|both(?:\s+of"
                      r"\s+(?:them|these|those))?|(?:any|none|either|neither)\s+of\s+(?:them|"
                      r"these|those)|(?:these|those)\s+(?:two\s+|three\s+|four\s+)?(?:ones|"
                      r"options|items|suggestions|picks)|all\s+(?:these|those))\b", re.I)
_PRONOUN_REF = re.compile(r"\b(?:it|this|that|this\s+one|that\s+one|the\s+one\s+(?:you\s+)?"
                          r"(?:showed|suggested|mentioned|recommended))\b", re.I)
_DETERMINER = re.compile(r"\b(?:the|that|this|those|these)\s+(?:[a-z-]+\s+){0,2}$", re.I)
_STOPWORDS = _V.stopwords


def _word_in(word: str, text: str) -> re.Match[str] | None:
    return re.search(rf"(?<![a-z0-9]){re.escape(word)}(?:s|es)?(?![a-z0-9])", text)


class _Resolver:
    """Maps a clause to the shown items it refers to."""

    def __init__(self, shown: Sequence[ShownItem], focus: str | None) -> None:
        latest: dict[int, ShownItem] = {}
        for item in shown:  # later entries win on repeated positions
            latest[item.position] = item
        self.items = [latest[p] for p in sorted(latest)]
        self.focus = focus if focus in {i.item_id for i in self.items} else None
        self.by_id = {i.item_id: i for i in self.items}
        # Words that single out some (not all) of the shown items.
        self.values: dict[str, set[str]] = {}
        self.title_words: dict[str, set[str]] = {}
        for item in self.items:
            for vals in item.attributes.values():
                for v in vals:
                    self.values.setdefault(v.lower(), set()).add(item.item_id)
            for w in re.findall(r"[a-z0-9][a-z0-9'-]+", f"{item.brand} {item.title}".lower()):
                if w not in _STOPWORDS and len(w) > 2:
                    self.title_words.setdefault(w, set()).add(item.item_id)

    def resolve(self, clause: str,
                local: str | None = None) -> tuple[list[str], list[tuple[int, int]]]:
        """Item ids referred to in the clause and the spans of full-title mentions; a bare
        "it" / "that one" is ``local`` (named earlier in the message), else the focus."""
        if not self.items:
            return [], []
        low = clause.lower()
        found: list[str] = []
        title_spans: list[tuple[int, int]] = []

        def add(ids: Iterable[str]) -> None:
            for i in ids:
                if i not in found:
                    found.append(i)

        n = len(self.items)
        for m in _ORDINAL_REF.finditer(low):
            k = _ORDINALS[m.group("ord").lower()]
            if k <= n:
                add([self.items[k - 1].item_id])
        for m in _NUMBER_REF.finditer(low):
            raw = m.group("num").lower()
            k = _NUMBER_WORDS.get(raw) or int(raw)
            if 1 <= k <= n:
                add([self.items[k - 1].item_id])
        if _LAST_REF.search(low) and n > 1:
            add([self.items[-1].item_id])
        if _FORMER_REF.search(low):
            add([self.items[0].item_id])
        if _MIDDLE_REF.search(low) and n % 2 == 1:
            add([self.items[n // 2].item_id])
        # Full titles (longest first), anywhere: "I liked Man on Wire".
        for item in sorted(self.items, key=lambda i: -len(i.title)):
            title = re.sub(r"\s*\(\d{4}\)\s*$", "", item.title).strip().lower()
            if len(title) >= 3:
                m2 = re.search(rf"(?<![a-z0-9]){re.escape(title)}(?![a-z0-9])", low)
                if m2 and not any(s < m2.end() and m2.start() < e for s, e in title_spans):
                    add([item.item_id])
                    title_spans.append(m2.span())
        # Attribute values and title/brand words after a determiner: "the red one".
        scores: dict[str, int] = {}
        for vocab in (self.values, self.title_words):
            for word, ids in vocab.items():
                if len(ids) == n and n > 1:
                    continue  # shared by every shown item: does not single one out
                m3 = _word_in(word, low)
                if not m3:
                    continue
                brand_hit = any(word in self.by_id[i].brand.lower().split() for i in ids)
                if brand_hit or _DETERMINER.search(low[: m3.start()]):
                    for i in ids:
                        scores[i] = scores.get(i, 0) + 1
        if scores:
            best = max(scores.values())
            add(i for i in (it.item_id for it in self.items) if scores.get(i) == best)
        if not found and _ALL_REF.search(low):
            add(i.item_id for i in self.items)
        if not found and _PRONOUN_REF.search(low):
            if n == 1:
                add([self.items[0].item_id])
            else:
                pick = local if local in self.by_id else self.focus
                if pick:
                    add([pick])
        return found, title_spans


# --------------------------------------------------------------------------- intent

_GREETING = re.compile(
    r"^\W*(?:hi+|hello+|hey+|hiya|howdy|yo|greetings|good\s+(?:morning|afternoon|evening|day)|"
    r"bonjour|salut|hallo|hola|ciao|buongiorno|buenos\s+d[ií]as|ol[aá]|hoi|goedendag|moin|"
    r"servus)(?:\s+(?:there|all|everyone|team|guys|folks|friend))?\b[\s!.,:)]*"
    r"(?:how\s+are\s+you(?:\s+doing)?(?:\s+today)?|what'?s\s+up|how'?s\s+it\s+going)?[\s!?.:)]*$",
    re.I)
_PURCHASE = re.compile(
    r"\b(?:i\s*'?ll\s+(?:take|buy|get|order|have)|i\s+will\s+(?:take|buy|get|order)|"
    r"i\s*'?d\s+like\s+to\s+(?:buy|order|purchase)\s+(?:it|this|that|the|them|both)|"
    r"add\s+(?:it|this|that|them|both|the\s+\w+(?:\s+\w+)?|\w+\s+\w+)\s+to\s+(?:my\s+|the\s+)?"
    r"(?:cart|basket|bag|wishlist|order)|add\s+to\s+(?:my\s+)?(?:cart|basket|bag)|"
    r"(?:put|throw)\s+(?:it|this|that|them)\s+in\s+(?:my\s+|the\s+)?(?:cart|basket|bag)|"
    r"(?:buy|order|purchase)\s+(?:it|this\s+one|that\s+one|them|both|the\s+(?:first|second|"
    r"third|last|red|blue|black|white)\b)|check\s*out|proceed\s+to\s+(?:checkout|payment)|"
    r"place\s+(?:the|my|an)\s+order|ready\s+to\s+(?:buy|order|pay)|i\s*'?m\s+sold|"
    r"take\s+my\s+money|i\s+want\s+(?:this|that|it)\s*(?:one)?\s*[.!]*$)", re.I)
_REFINE = re.compile(
    r"\b(?:cheaper|less\s+expensive|more\s+affordable|lower\s+price|smaller|bigger|larger|"
    r"longer|shorter|lighter|darker|warmer|thinner|thicker|simpler|fancier|more\s+(?:formal|"
    r"casual|colou?rful|options|like\s+(?:this|that|it|these|the))|fewer|"
    r"(?:in|with)\s+(?:a\s+)?(?:different|another|other)\s+(?:colou?r|size|style|material|"
    r"pattern)|other\s+colou?rs?|different\s+colou?rs?|another\s+colou?r|(?:any|got|have)\s+(?:it|"
    r"this|that|them|these|one)\s+in\s+\w+|(?:does|do|is|are)\s+(?:it|this|that|they|these)\s+"
    r"come\s+in|what\s+about\s+(?:in\s+|something\s+|a\s+|one\s+)?|how\s+about\s+(?:in\s+|"
    r"something|a\s+|one\s+)|instead|something\s+else|anything\s+else|show\s+me\s+more|more\s+"
    r"like\s+(?:this|that|these)|similar\s+(?:to|ones|items|options)|same\s+but|but\s+in\s+\w+|"
    r"only\s+(?:the\s+)?(?:ones|those)|(?:now|also)\s+(?:under|below|in|without|with)\b|"
    r"narrow|filter|(?:it|this|that|them|these|those|one|ones)\s+in\s+(?:a\s+)?[a-z]+)\b", re.I)
_SEARCH = re.compile(
    r"\b(?:looking\s+for|look(?:ing)?\s+at|search(?:ing)?\s+for|shopping\s+for|i\s+need|we\s+need|"
    r"i\s*'?d\s+like|i\s+would\s+like|i\s+want|we\s+want|i\s*'?m\s+after|i\s+am\s+after|"
    r"find\s+me|find\s+(?:a|an|some)|show\s+me|do\s+you\s+(?:have|sell|carry|stock|got)|"
    r"have\s+you\s+got|got\s+any|any\s+(?:good\s+)?\w+\s+(?:for|under|that|with)|recommend|"
    r"suggest|suggestions?|ideas?\s+for|gift\s+ideas?|what\s+(?:should|could|would|can)\s+i\s+"
    r"(?:buy|get|wear|gift|give)|help\s+me\s+(?:find|choose|pick)|in\s+the\s+market\s+for|"
    r"where\s+(?:can|do)\s+i\s+find|searching|browse|browsing|need\s+(?:a|an|some|new)|"
    r"want\s+(?:a|an|some|new)|can\s+i\s+get\s+(?:a|an|some))\b", re.I)
_QUESTION = re.compile(
    r"\?\s*$|\btell\s+me\s+(?:more\s+)?about\b|\bmore\s+(?:info|information|details)\b|"
    r"\bdetails\s+(?:on|about|of)\b|^\s*(?:what|which|how|why|when|where|who|whose|is|are|does|do|did|can|could|will|"
    r"would|should|has|have)\b", re.I)
_SERVICE = re.compile(
    r"\b(?:return(?:s|ing)?\s+(?:the|my|this|it|an?|policy)|refund|exchange\s+(?:the|my|it|this)|"
    r"cancel\s+(?:my|the|an?)\s+order|track(?:ing)?\s+(?:my\s+)?(?:order|parcel|package)|"
    r"where\s+is\s+my\s+(?:order|parcel|package)|hasn'?t\s+arrived|didn'?t\s+arrive|"
    r"arrived\s+(?:damaged|broken|late)|wrong\s+(?:size|item)\s+(?:arrived|was\s+sent)|"
    r"(?:speak|talk)\s+to\s+(?:a\s+)?(?:human|person|agent|someone))\b", re.I)
# A question is no opinion ("is it comfortable?", "do you think it will be good?").
_ASKED = re.compile(r"\?\s*$|^\s*(?:(?:is|are|was|were|does|do|did|can|could|will|would|should|"
                    r"has|have)\s+(?:it|this|that|they|these|those|you|the|he|she|there|i|we|an?|"
                    r"my|your)|which|why|when|where|who)\b(?!.*!\s*$)", re.I)
_OPINION_CUE = re.compile(
    r"\b(?:is|are|was|were|looks?|looked|seems?|feels?|sounds?)\s+(?:\w+\s+){0,2}\w+|"
    r"\b(?:i|we)\s+(?:\w+\s+){0,2}(?:love|like|hate|dislike|adore|prefer|enjoy|want)|"
    r"\bnot\s+(?:my|for\s+me)|\b(?:ugly|gorgeous|lovely|nice|cute|awful|perfect|meh|yuck)\b",
    re.I)

# --------------------------------------------------------------------------- recipient

_CHILD = re.compile(
    r"\b(?:my|our|a|the|for)\s+(?:little\s+|young\s+|baby\s+|teenage\s+|toddler\s+)?"
    r"(?:\d{1,2}[\s-]*(?:years?|yrs?|y/?o)[\s-]*(?:old)?\s+)?"
    r"(?:son|daughter|kid|kids|child|children|boy|girl|boys|girls|baby|babies|toddler|"
    r"toddlers|newborn|infant|grandson|granddaughter|grandkids?|grandchild(?:ren)?|nephew|"
    r"niece|stepson|stepdaughter|teen|teenager|twins|little\s+one)\b"
    r"|\bfor\s+kids\b|\bkids'?\s+(?:size|sizes|clothes|shoes|toys?)\b|\bchildren'?s\b", re.I)
_PARTNER = re.compile(
    r"\b(?:my|our|for)\s+(?:lovely\s+|dear\s+|future\s+|new\s+)?(?:wife|husband|girlfriend|"
    r"boyfriend|partner|fianc[eé]e?|spouse|hubby|wifey|gf|bf|significant\s+other|better\s+half|"
    r"valentine)\b", re.I)
_GIFT_PERSON = re.compile(
    r"\b(?:my|our|a|for)\s+(?:best\s+|close\s+|old\s+|dear\s+)?(?:friend|friends|bestie|"
    r"colleague|colleagues|coworker|co-worker|boss|mom|mum|mother|dad|father|parents|sister|"
    r"brother|sibling|aunt|uncle|cousin|grandma|grandmother|granny|grandpa|grandfather|"
    r"neighbou?r|teacher|mentor|host|hostess|in-laws?|mother-in-law|father-in-law|"
    r"sister-in-law|brother-in-law|godmother|godfather|roommate|flatmate|client|team)\b", re.I)
_GIFT_WORD = re.compile(r"\b(?:gift|gifts|present|presents|stocking\s+stuffer|birthday\s+for|"
                        r"secret\s+santa|gift\s+for|to\s+give\s+(?:to|as))\b", re.I)
_SELF = re.compile(r"\bfor\s+(?:me|myself|my\s*self|my\s+own)\b|\bmyself\b|\btreat\s+myself\b",
                   re.I)


def _recipient(text: str, age: int | None) -> str | None:
    if _CHILD.search(text) or (age is not None and age < 18):
        return "child"
    if _PARTNER.search(text):
        return "partner"
    if _GIFT_PERSON.search(text) or _GIFT_WORD.search(text):
        return "gift"
    if _SELF.search(text):
        return "self"
    return None


# --------------------------------------------------------------------------- extract


def _vocabulary(shown: Sequence[ShownItem],
                attribute_values: Mapping[str, Iterable[str]] | None) -> dict[str, str]:
    vocab = dict(DEFAULT_VOCABULARY)
    for item in shown:
        for name, values in item.attributes.items():
            for raw in values:
                v = raw.strip().lower()
                if 2 < len(v) <= 30 and v not in vocab and name not in ("size", "age", "sku"):
                    vocab[v] = name
    # The catalog's own attribute names win ("organic" may be diet=organic there), except
    # when the built-in name is among them ("vegan" both in diet and lifestyle -> diet).
    catalog: dict[str, list[str]] = {}
    for name, catalog_values in (attribute_values or {}).items():
        for raw in catalog_values:
            v = raw.strip().lower()
            if 2 < len(v) <= 30 and name not in ("size", "age", "sku"):
                catalog.setdefault(v, []).append(name)
    for v, names in catalog.items():
        if DEFAULT_VOCABULARY.get(v) not in names:
            vocab[v] = names[0]
    return vocab


def _terms(span: str, vocab: Mapping[str, str]) -> list[str]:
    """Attribute keys ``name=value`` for vocabulary words in span (longest match first)."""
    low = span.lower().replace("\u2019", "'")
    taken: list[tuple[int, int]] = []
    out: list[tuple[int, str]] = []
    for word in sorted(vocab, key=len, reverse=True):
        pattern = re.escape(word).replace(r"\-", "[- ]?")
        for m in re.finditer(rf"(?<![a-z0-9-]){pattern}(?![a-z0-9-])", low):
            if not any(s < m.end() and m.start() < e for s, e in taken):
                taken.append(m.span())
                value = _CANON.get(word, word).replace(" ", "-") if vocab[word] == "diet" \
                    else _CANON.get(word, word)
                out.append((m.start(), f"{vocab[word]}={value}"))
    return [t for _, t in sorted(out)]


def _object_span(obj: str) -> str:
    stop = _OBJ_STOP.search(obj)
    return obj[: stop.start()] if stop else obj


def _category_term(span: str, categories: Sequence[str]) -> str | None:
    if not categories:
        return None
    cat = parse_query(span, categories).filters.category
    return f"category={cat}" if cat else None


def _stated(text: str, vocab: Mapping[str, str], categories: Sequence[str],
            parsed_exclude: Sequence[str], parsed_require: Sequence[str],
            constraints: Sequence[str], resolver: _Resolver) -> list[StatedPreference]:
    out: dict[str, StatedPreference] = {}

    def taste_terms(span: str) -> list[str]:
        """Terms of a like/dislike object, unless it points at shown items ("the red one")."""
        if resolver.resolve(span)[0] or re.search(r"\b(?:the|that|this|these|those)\b",
                                                   span, re.I) and re.search(
                                                       r"\bones?\b", span, re.I):
            return []
        return _terms(span, vocab) or [t for t in [_category_term(span, categories)] if t]

    def put(attr: str, value: float, hard: bool, phrase: str) -> None:
        old = out.get(attr)
        # A hard statement beats a soft one; otherwise the last statement wins.
        if old is None or hard or not old.hard:
            out[attr] = StatedPreference(attr, None, value, hard or bool(old and old.hard
                                                                         and old.value == value),
                                         phrase.strip())

    for clause in split_clauses(text):
        for m in _IDENTITY.finditer(clause):
            diet = re.sub(r"\s+", "-", m.group(1).lower())
            put(f"diet={diet}", 1.0, True, m.group(0))
        for m in list(_ALLERGY.finditer(clause)) + list(_ALLERGY_NOUN.finditer(clause)):
            span = _object_span(m.group("obj"))
            for term in _terms(span, vocab):
                put(term, -1.0, True, m.group(0))
            if not _terms(span, vocab):
                word = re.sub(r"[^a-z -]", "", span.lower()).strip()
                word = re.sub(r"^(?:any|all|the|a|an)\s+", "", word)
                if word and len(word.split()) <= 2 and word not in _STOPWORDS:
                    put(f"ingredient={word.replace(' ', '-')}", -1.0, True, m.group(0))
        for m in _ONLY.finditer(clause):
            span = _object_span(m.group("obj") or m.group("obj2") or m.group("obj3") or "")
            for term in _terms(span, vocab):
                put(term, 1.0, True, m.group(0))
        for m in _DISLIKE.finditer(clause):
            span = _object_span(m.group("obj"))
            value = 1.0 if m.group("neg") else -1.0  # "I don't hate linen" -> mild like
            terms = taste_terms(span)
            for term in terms:
                put(term, value * (0.5 if m.group("neg") else 1.0), False, m.group(0))
        for m in _LIKE.finditer(clause):
            if _DISLIKE.match(clause, m.start()):
                continue
            span = _object_span(m.group("obj"))
            # "I like it but not in red": a bare "not X" inside the object is a dislike.
            value = -1.0 if m.group("neg") else 1.0
            terms = taste_terms(span)
            negated = {t for t in _terms(" ".join(re.findall(
                r"\b(?:not|no)\s+(?:in\s+)?([a-z][a-z -]{1,20})", span.lower())), vocab)}
            for term in terms:
                put(term, -value if term in negated else value, False, m.group(0))
        for m in _DONT_MIND.finditer(clause):
            for term in _terms(_object_span(m.group("obj")), vocab):
                put(term, 0.5, False, m.group(0))
    # Constraints parse_query turned into filters: "no leather", "vegan only".
    for word in parsed_exclude:
        terms = _terms(word, vocab) or [f"{_guess_key(word)}={word}"]
        phrase = next((c for c in constraints if word in c.lower()), word)
        for term in terms:
            put(term, -1.0, True, phrase)
    for word in parsed_require:
        if "=" in word:
            continue  # size=m is a filter, not a taste
        terms = _terms(word, vocab)
        if any(t in out for t in terms) or not terms:
            continue
        if re.search(rf"\b(?:only|strictly|must\s+be|100%)\s+{re.escape(word)}\b|"
                     rf"\b{re.escape(word)}\s+only\b", text, re.I):
            for term in terms:
                put(term, 1.0, True, word)
    return list(out.values())


# Words parse_query may read as "not <word>" constraints that are really opinions
# ("not my style", "not really", "not bad"): they are dropped from the filters.
_NOT_CONSTRAINT = _V.not_constraint


def _opinion_word(word: str) -> bool:
    return word in _NOT_CONSTRAINT or word in _POS or word in _NEG


def _clean_filters(filters: Filters, constraints: Sequence[str]) -> tuple[Filters,
                                                                         tuple[str, ...]]:
    dropped = [w for w in filters.exclude if _opinion_word(w)]
    if not dropped:
        return filters, tuple(constraints)
    kept = tuple(c for c in constraints if not any(
        re.fullmatch(rf"(?:no|not|without|non)[\s-]+(?:any\s+|real\s+)?{re.escape(w)}", c, re.I)
        for w in dropped))
    return replace(filters, exclude=tuple(w for w in filters.exclude if w not in dropped)), kept


def _guess_key(word: str) -> str:
    if word in REQUIRE_WORDS:
        return "diet"
    return "attribute"


def _clause_refs(clause: str, resolver: _Resolver,
                 local: str | None = None) -> list[tuple[str, list[str], str]]:
    """Split a clause joined by "and"/"," when each part names its own item. ``local`` is
    what "it" means here: the item this message last named, if any."""
    parts = [p for p in re.split(r"\s*(?:,|\band\b)\s*", clause) if p.strip()]
    resolved, cur = [], local
    for part in parts:  # "I watched Black Panther and loved it": "it" is Black Panther
        resolved.append(resolver.resolve(part, cur))
        if len(resolved[-1][0]) == 1:
            cur = resolved[-1][0][0]
    if len(parts) > 1 and sum(1 for ids, _ in resolved if ids) > 1 and all(
            ids for ids, _ in resolved if ids):
        out = []
        for part, (ids, spans) in zip(parts, resolved, strict=True):
            if ids:
                out.append((part, ids, _mask(part, spans)))
        return out
    ids, spans = resolver.resolve(clause, local)
    if not ids:
        return []
    # "I love action movies, I don't like Transformers flicks": when the one part naming
    # the item carries an opinion of its own, that part alone is scored.
    with_refs = [(p, r) for p, r in zip(parts, resolved, strict=True) if r[0]]
    if len(parts) > 1 and len(with_refs) == 1 and lexicon(with_refs[0][0])[1]:
        part, (ids, spans) = with_refs[0]
        return [(part, ids, _mask(part, spans))]
    return [(clause, ids, _mask(clause, spans))]


# Ends where the yardstick of a comparison starts: "as good |as X", "nicer |than X".
_YARDSTICK = re.compile(r"\bas\s+(?:[a-z'-]+\s+){1,2}(?=as\b)|(?=\bthan\b)", re.I)


class _Opinion(NamedTuple):
    item_id: str
    phrase: str
    scored: str  # the phrase with titles masked
    lex: float
    hits: int
    weight: float  # 0.5 before a contrast word, 1.5 after it, else 1


def _one_per_item(found: Sequence[ItemSentiment],
                  weights: Sequence[float]) -> list[ItemSentiment]:
    """One opinion per item. Across a contrast ("it's good but too long") the clauses are
    averaged with their weights, so the part after "but" decides; otherwise the strongest
    clause wins ("I loved it. It was really good")."""
    by_item: dict[str, list[tuple[ItemSentiment, float]]] = {}
    for s, w in zip(found, weights, strict=True):
        by_item.setdefault(s.item_id, []).append((s, w))
    out = []
    for item, got in by_item.items():
        if len(got) > 1 and any(w != 1.0 for _, w in got):
            score = sum(s.score * w for s, w in got) / sum(w for _, w in got)
            phrase = max(got, key=lambda g: g[1])[0].phrase
            out.append(ItemSentiment(item, score, phrase))
        else:
            out.append(max((s for s, _ in got), key=lambda s: abs(s.score)))
    return out


def _mask(text: str, spans: Sequence[tuple[int, int]]) -> str:
    """Titles replaced by "it", so a title like "Bad Boys" does not colour the score."""
    for start, end in sorted(spans, reverse=True):
        text = text[:start] + "it" + text[end:]
    return text


def extract(
    text: str,
    shown: Sequence[ShownItem] = (),
    *,
    categories: Sequence[str] = (),
    sentiment: SentimentScorer | None = None,
    focus: str | None = None,
    attribute_values: Mapping[str, Iterable[str]] | None = None,
) -> Extraction:
    """All signals in one customer message. Deterministic given the scorer.

    Args:
        text: the customer's message.
        shown: products shown in earlier turns (for "the red one", "the second").
        categories: the catalog's category paths (for category filters and likes).
        sentiment: scores clauses about shown items; the lexicon is used when None.
        focus: the item the conversation is about (what "it"/"that one" means when
            several items are shown), e.g. the last item the assistant described.
        attribute_values: the catalog's attribute vocabulary ``{"material": [...]}``,
            added to the built-in one for stated preferences.
    """
    text = text.replace("\u2019", "'").strip()
    categories = list(categories)
    parsed = parse_query(text, categories)
    filters, constraints = _clean_filters(parsed.filters, parsed.constraints)
    vocab = _vocabulary(shown, attribute_values)
    resolver = _Resolver(shown, focus)
    stated = _stated(text, vocab, categories, filters.exclude, filters.require, constraints,
                     resolver)

    referenced: list[str] = []
    pending: list[_Opinion] = []
    local: str | None = None  # the item this message last named: what a later "it" means
    for clause, weight in clauses(text):
        for i in (i for _, ids, _ in _clause_refs(clause, resolver, local) for i in ids):
            if i not in referenced:
                referenced.append(i)
        # "Not as good as X", "nicer than the red one": the opinion is about the subject;
        # X is the yardstick and gets none.
        yardstick = _YARDSTICK.search(clause)
        opinion = clause[:yardstick.end()].strip() if yardstick else clause
        refs = _clause_refs(opinion, resolver, local)
        target = local or resolver.focus or (resolver.items[0].item_id
                                             if len(resolver.items) == 1 else None)
        if not refs and target and elliptical(opinion) and lexicon(opinion)[1]:
            # "Boring.", "wasn't a fan", "too pricey" (an opinion word, not just "was ...")
            refs = [(opinion, [target], opinion)]
        named = {i for _, ids, _ in refs for i in ids}
        if len(named) == 1:
            local = next(iter(named))
        for phrase, ids, scored in refs:
            lex, hits = lexicon(scored)
            opinionated = hits > 0 or bool(_OPINION_CUE.search(scored))
            question = (bool(_QUESTION.search(phrase)) and not hits) or bool(
                _ASKED.search(phrase))
            if not opinionated or question or (sentiment is None and not hits):
                continue
            pending.extend(_Opinion(i, phrase, scored, lex, hits, weight) for i in ids)
    scores: dict[str, float] = {}
    if pending and sentiment is not None:
        texts = sorted({p.scored for p in pending})
        scores = dict(zip(texts, (float(x) for x in sentiment.score(texts)), strict=True))
    item_sentiments = _one_per_item([
        ItemSentiment(p.item_id, blend(scores[p.scored], p.lex, p.hits) if scores else p.lex,
                      p.phrase) for p in pending], [p.weight for p in pending])

    intent = _intent(text, filters, constraints, stated, item_sentiments, referenced, bool(shown))
    return Extraction(
        stated=stated,
        filters=filters,
        query_text=parsed.query_text,
        constraints=constraints,
        item_sentiments=item_sentiments,
        intent=intent,
        recipient=_recipient(text, filters.age),
        referenced=referenced,
    )


def _intent(text: str, filters: Filters, constraints: Sequence[str],
            stated: Sequence[StatedPreference], sentiments: Sequence[ItemSentiment],
            referenced: Sequence[str], has_shown: bool) -> Intent:
    """First matching rule wins: purchase, refine, feedback, search, question, greeting."""
    explicit = re.search(r"\b(?:cart|basket|bag|checkout|check\s+out|i'?ll\s+take|i\s+will\s+take)"
                         r"\b", text, re.I)
    if _PURCHASE.search(text) and (has_shown or explicit) and (
            explicit or not _REFINE.search(text)):  # "can I order it in blue?" refines
        return "purchase"
    if _GREETING.match(text):
        return "greeting"
    searching = bool(_SEARCH.search(text))
    if has_shown and re.match(r"\s*(?:which|is|are|does|do|how)\b", text, re.I) and \
            not searching and not re.search(r"\b(?:cheaper|other|another|different|"
                                            r"similar|instead)\b|\bin\s+\w+\s*\?\s*$", text,
                                            re.I):
        return "question"
    if has_shown and (_REFINE.search(text) or (constraints and not searching)):
        return "refine"
    if _SERVICE.search(text):
        return "question"  # orders, returns, delivery: customer service, not a search
    if sentiments:
        return "feedback"
    if has_shown and not searching and re.search(
            r"\b(?:not\s+(?:my\s+(?:style|taste|thing)|for\s+me|really)|meh|nah|don'?t\s+like\s+"
            r"(?:any|them|these|those)|none\s+of\s+(?:them|these))\b", text, re.I):
        return "feedback"
    if searching:
        return "search"
    if _QUESTION.search(text):
        return "question"
    if constraints or filters.category or stated or _recipient(text, filters.age) not in (
            None, "self"):
        return "refine" if has_shown else "search"
    if _REFINE.search(text):
        return "refine"
    # A bare noun phrase ("rain jacket for Seattle", "pregnancy pillow") is a search.
    words = [w for w in re.findall(r"[a-z][a-z'-]+", text.lower()) if w not in _SMALL_TALK]
    if not has_shown and len(words) >= 2 and not _SMALL_TALK_RX.search(text):
        return "search"
    return "other"


_SMALL_TALK = _V.small_talk
_SMALL_TALK_RX = re.compile(
    r"\b(?:thanks?|thank\s+you|bye|goodbye|never\s+mind|nevermind|ignore\s+(?:that|my|the\s+"
    r"last)|forget\s+(?:it|that)|human|agent|speak\s+to|talk\s+to|i'?m\s+customer|love\s+your\s+"
    r"(?:shop|store|site)|hasn'?t\s+arrived|didn'?t\s+arrive|my\s+order)\b", re.I)
