"""Understand one message in the light of the conversation so far: the dialogue act, the
slots it fills (budget, recipient, occasion, constraints, product type), the items it
refers to and what it asks about them. Pure: no I/O, the catalog only through
`CatalogWords` and the index's `get`."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from app.chat import extract as extraction
from app.chat import safety
from app.chat.catalog_words import CatalogWords, tokens
from app.chat.lexicon import lexicon, stem
from app.chat.state import Budget, ConversationState, Recipient

Act = Literal["request", "refine", "ask_item", "compare", "policy", "small_talk", "thanks_bye",
              "off_topic", "refuse"]
Asked = Literal["price", "material", "sizes", "colors", "stock", "age", "diet", "allergen",
                "dimensions", "describe"]


@dataclass
class Understanding:
    act: Act
    message: str
    extraction: extraction.Extraction
    query: str
    budget: Budget | None = None
    recipient: Recipient | None = None
    occasion: str | None = None
    allergens: list[str] = field(default_factory=list)
    diets: list[str] = field(default_factory=list)
    avoid: list[str] = field(default_factory=list)
    materials: list[str] = field(default_factory=list)
    colors: list[str] = field(default_factory=list)
    sizes: list[str] = field(default_factory=list)
    types: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)  # words the catalog has nothing for
    not_sold: list[str] = field(default_factory=list)  # only a modifier here ("laptop" sleeve)
    targets: list[str] = field(default_factory=list)
    asked: list[Asked] = field(default_factory=list)
    asked_label: str | None = None  # the diet or allergen asked about ("vegan", "nut")
    ambiguous: bool = False  # "is it vegan?" with several cards and no focus
    topic_switch: bool = False
    cheaper: bool = False
    refusal: str | None = None  # safety kind, planned before any generation
    policy: str | None = None


# --------------------------------------------------------------------------- numbers, budgets

def normalize_numbers(text: str) -> str:
    """'forty' -> '40', 'twenty-five' -> '25', 'a hundred' -> '100'."""
    nums = lexicon().number_words
    tens = r"twenty|thirty|forty|fourty|fifty|sixty|seventy|eighty|ninety"
    units = r"one|two|three|four|five|six|seven|eight|nine"

    def compound(m: re.Match[str]) -> str:
        return str(nums[m.group(1).lower()] + nums[m.group(2).lower()])

    text = re.sub(rf"\b({tens})[\s-]({units})\b", compound, text, flags=re.I)
    alts = "|".join(sorted((re.escape(w) for w in nums), key=len, reverse=True))
    return re.sub(rf"\b({alts})\b(?=\s*(?:\$|dollars?|bucks|euros?|pounds?|quid|usd|eur|gbp|"
                  rf"years?|yrs?|-year|y/?o|or\s+so|ish)|\s*$|\s*[?.!,])",
                  lambda m: str(nums[m.group(1).lower()]), text, flags=re.I)


_AMT = (r"(?P<cur1>[$€£])?\s*(?P<n>\d{1,6}(?:[.,]\d{1,2})?)\s*"
        r"(?P<cur2>dollars?|bucks|usd|euros?|eur|€|pounds?|quid|gbp)?")
_AMT2 = _AMT.replace("cur1", "cur3").replace("cur2", "cur4").replace("?P<n>", "?P<m>")
_BUDGET_RULES: list[tuple[str, re.Pattern[str]]] = [
    ("between", re.compile(rf"\b(?:between|from)\s+{_AMT}\s+(?:and|to|-)\s+{_AMT2}", re.I)),
    ("between", re.compile(r"(?P<cur1>[$€£])\s*(?P<n>\d{1,6})\s*(?:-|–|to)\s*(?P<cur3>[$€£])?"
                           r"\s*(?P<m>\d{1,6})(?P<cur2>)(?P<cur4>)", re.I)),
    ("under", re.compile(rf"\b(?:nothing|not(?:hing)?\s+anything|not|no)\s+(?:over|above|more"
                         rf"\s+than|higher\s+than|beyond)\s+{_AMT}", re.I)),
    ("under", re.compile(rf"\b(?:under|below|less\s+than|cheaper\s+than|max(?:imum)?|at\s+most|"
                         rf"up\s+to|no\s+more\s+than|within|tops|max\s+of)\s+{_AMT}", re.I)),
    ("over", re.compile(rf"\b(?:over|above|more\s+than|at\s+least|starting\s+at)\s+{_AMT}", re.I)),
    ("about", re.compile(rf"\b(?:about|around|roughly|approximately|approx\.?|circa|~)\s*{_AMT}",
                         re.I)),
    ("about", re.compile(rf"\bbudget\s+(?:is|of|=|:)?\s*(?:about\s+|around\s+)?{_AMT}", re.I)),
    ("about", re.compile(rf"{_AMT}\s*(?:or\s+so|ish|budget)", re.I)),
]
_BARE = re.compile(r"(?P<cur1>[$€£])\s*(?P<n>\d{1,6}(?:[.,]\d{1,2})?)(?P<cur2>)"
                   r"|\b(?P<cur1b>)(?P<nb>\d{1,6})\s*(?P<cur2b>dollars?|bucks|euros?|pounds?|quid)\b",
                   re.I)
_CURRENCY = {"$": "USD", "dollar": "USD", "dollars": "USD", "bucks": "USD", "usd": "USD",
             "€": "EUR", "euro": "EUR", "euros": "EUR", "eur": "EUR",
             "£": "GBP", "pound": "GBP", "pounds": "GBP", "quid": "GBP", "gbp": "GBP"}


def parse_budget(text: str) -> tuple[Budget | None, list[tuple[int, int]]]:
    """The budget a message states, and the spans it took (so the search text drops them)."""
    text = normalize_numbers(text)
    for kind, rx in _BUDGET_RULES:
        m = rx.search(text)
        if not m:
            continue
        groups = {k: v for k, v in m.groupdict().items() if v}
        if "n" not in groups:
            continue
        if kind != "between" and _is_not_money(text, m):
            continue
        cur = next((_CURRENCY.get(groups[k].lower(), "USD") for k in ("cur1", "cur2", "cur3",
                                                                   "cur4") if k in groups), "USD")
        amount = float(groups["n"].replace(",", "."))
        if kind == "between":
            hi = float(groups["m"].replace(",", "."))
            lo, hi = sorted((amount, hi))
            return Budget(kind="between", amount=lo, high=hi, currency=cur), [m.span()]
        return Budget(kind=kind, amount=amount, currency=cur), [m.span()]  # type: ignore[arg-type]
    m = _BARE.search(text)
    if m and not _is_not_money(text, m):
        n = m.group("n") or m.group("nb")
        cur_raw = m.group("cur1") or m.group("cur2b") or "$"
        return Budget(kind="about", amount=float(n.replace(",", ".")),
                      currency=_CURRENCY.get(cur_raw.lower(), "USD")), [m.span()]
    return None, []


def _is_not_money(text: str, m: re.Match[str]) -> bool:
    """'over 6 years old', 'under 2 kg', 'size 10': a number, not a budget."""
    after = text[m.end():m.end() + 12].lower()
    if re.match(r"\s*(?:-?\s*(?:years?|yrs?|y/?o|months?|kg|g\b|lbs?|cm|mm|inch|%|pcs?|"
                r"pieces?|players?|people|pages?|m\b))", after):
        return True
    has_cur = any(m.groupdict().get(k) for k in ("cur1", "cur2", "cur3", "cur4", "cur2b"))
    return not has_cur and bool(re.search(r"\bsize\s*$", text[:m.start()], re.I))


# --------------------------------------------------------------------------- recipient

_AGE = re.compile(r"\b(?:turning|turns|turned|is|she'?s|he'?s|they'?re|aged?|age)\s+(\d{1,2})\b"
                  r"(?!\s*(?:\$|dollars?|bucks|%))"
                  r"|\b(\d{1,2})[\s-]*(?:years?|yrs?)[\s-]*old\b|\b(\d{1,2})\s*y/?o\b"
                  r"|\b(\d{1,2})(?:st|nd|rd|th)\s+birthday\b", re.I)
_PRONOUN_GENDER = [(re.compile(r"\b(?:she|her|hers)\b", re.I), "female"),
                   (re.compile(r"\b(?:he|him|his)\b", re.I), "male")]
_SELF = re.compile(r"\bfor\s+(?:me|myself)\b|\bmyself\b|\bi\s*'?m\s+(?:shopping|looking)\s+"
                   r"for\s+me\b", re.I)
_SELF_AGE = re.compile(r"\bi\s*'?\s*a?m\s+(\d{1,2})\b(?!\s*(?:\$|dollars?|%))", re.I)
_INTEREST = re.compile(r"\b(?:who|she|he|they|and)\s+(?:loves?|likes?|enjoys?|is\s+into|are\s+into|"
                       r"adores?)\s+([a-z][a-z -]{2,30}?)(?=[,.!?]|\s+and\b|\s+but\b|$)"
                       r"|\bwho\s+(gardens|cooks|bakes|runs|reads|hikes|paints|knits|cycles|"
                       r"camps|travels)\b", re.I)


def parse_recipient(text: str) -> Recipient | None:
    lx = lexicon()
    low = text.lower()
    relation = None
    best = len(low) + 1
    for word in lx.relations:
        m = re.search(rf"\b(?:my|our|a|an|the|for)\s+(?:[\w-]+\s+){{0,3}}{re.escape(word)}s?\b",
                      low)
        if m and m.start() < best:
            relation, best = word, m.start()
    age = None
    am = _AGE.search(text)
    if am:
        age = int(next(g for g in am.groups() if g))
    self_age = _SELF_AGE.search(text)
    if relation is None and _SELF.search(text):
        relation = "self"
    if relation is None and self_age and not re.search(r"\bgift|present\b", low):
        relation, age = "self", int(self_age.group(1))
    gender = None
    if relation and relation != "self":
        gender = lx.relations[relation][0]
    if gender is None and relation != "self":
        for rx, g in _PRONOUN_GENDER:
            if rx.search(text):
                gender = g  # type: ignore[assignment]
                break
    interests = [stem((m.group(1) or m.group(2) or "").strip()) for m in _INTEREST.finditer(text)]
    if relation is None and age is None and not interests:
        return None
    explicit_age = bool(am and (am.group(2) or am.group(3) or am.group(4)))  # "8 year old"
    if relation is None and age is not None and not explicit_age and not re.search(
            r"\b(?:she|he|they|her|him|gift|present|birthday|kid|child)\b", low):
        return None  # "under 6" without a person: not a recipient
    return Recipient(relation=relation, age=age, gender=gender,  # type: ignore[arg-type]
                     interests=[i for i in interests if i][:3])


def parse_occasion(text: str) -> str | None:
    low = text.lower().replace("’", "'")
    for word, name in sorted(lexicon().occasions.items(), key=lambda kv: -len(kv[0])):
        if re.search(rf"\b{re.escape(word)}\b", low):
            return name
    return None


# --------------------------------------------------------------------------- constraints

_ALLERGY = re.compile(r"\b(?:allergic\s+to|allergy\s+to|intolerant\s+to|can'?t\s+(?:eat|have)|"
                      r"cannot\s+(?:eat|have))\s+([a-z -]{2,30})"
                      r"|\b([a-z-]+(?:\s+nut)?)\s+(?:allergy|allergies|intolerance)\b"
                      r"|\b(coeliac|celiac)\b", re.I)


def parse_allergens(text: str) -> list[str]:
    lx = lexicon()
    found: list[str] = []
    for m in _ALLERGY.finditer(text):
        span = (m.group(1) or m.group(2) or m.group(3) or "").lower()
        for alias, allergen in sorted(lx.allergen_aliases.items(), key=lambda kv: -len(kv[0])):
            if re.search(rf"\b{re.escape(alias)}\b", span) and allergen not in found:
                found.append(allergen)
                break
    return found


def contains_allergen(item: Any, allergen: str) -> str | None:
    """The word in the item's record that suggests it contains the allergen, or None (the
    longest such word when several appear)."""
    if allergen == "nut" and "nut-free" in _labels(item):
        return None
    text = " ".join([item.title, item.description, *(
        v for k, vs in item.attributes.items() if k not in ("diet", "lifestyle") for v in vs)])
    text = _FREE_FROM.sub(" ", text.lower())  # "nut-free" is not a nut
    found = [m.group(1) for m in _allergen_pattern(allergen).finditer(text)]
    return max(found, key=len) if found else None


_FREE_FROM = re.compile(r"\b[a-z]+-free\b")


@functools.lru_cache(maxsize=256)
def _allergen_pattern(allergen: str) -> re.Pattern[str]:
    """One compiled alternation per allergen (longest words first): a turn screens a few
    hundred candidates, and a search per word and item cost ~60 ms at 100k items."""
    words = sorted(lexicon().allergens.get(allergen, [allergen]), key=len, reverse=True)
    return re.compile(r"(?<![a-z])(" + "|".join(re.escape(w) for w in words)
                      + r")(?:s|es)?(?![a-z])")


def _labels(item: Any) -> set[str]:
    return {v.lower() for k in ("diet", "lifestyle") for v in item.attributes.get(k, [])} | {
        t.lower() for t in item.tags}


_COLORS = ("black", "white", "ivory", "cream", "oat", "camel", "tan", "brown", "chocolate",
           "charcoal", "grey", "gray", "navy", "cobalt", "sky blue", "blue", "teal", "sage",
           "olive", "forest green", "green", "mustard", "yellow", "red", "terracotta", "blush",
           "pink", "coral", "burgundy", "orange", "purple", "lilac", "natural", "multicolour")


def parse_colors(text: str) -> list[str]:
    low = text.lower().replace("gray", "grey")
    out: list[str] = []
    for c in sorted(_COLORS, key=len, reverse=True):
        if re.search(rf"\bin\s+(?:a\s+)?{c}\b|\b{c}\s+(?:one|ones|colou?r|version)\b|"
                     rf"\b(?:a|any|some|the)\s+{c}\s+[a-z]+", low) and not any(c in o for o in out):
            out.append(c)
    return out


# --------------------------------------------------------------------------- acts

_THANKS = re.compile(r"^\W*(?:(?:ok(?:ay)?|great|perfect|lovely|cool|brilliant|awesome|"
                     r"nice)[,!.\s]+)?(?:thanks?(?:\s+(?:you|a\s+lot|so\s+much))?|thank\s+you(?:\s+so\s+much)?|"
                     r"cheers|ta|bye|goodbye|see\s+you|that'?s\s+all|that'?s\s+it|all\s+good|"
                     r"that\s+helps)\b[\w\s,!.']*$", re.I)
_SMALL_TALK = re.compile(r"^\W*(?:hi+|hello+|hey+|hiya|good\s+(?:morning|afternoon|evening))\b"
                         r"[\s!.,]*(?:there)?[\s!.,]*(?:how\s+are\s+you(?:\s+doing)?(?:\s+today)?"
                         r"\??)?[\s!.?]*$|^\W*(?:how\s+are\s+you|who\s+are\s+you|what\s+can\s+you"
                         r"\s+do|are\s+you\s+a\s+(?:bot|robot|human))\b", re.I)
_COMPARE = re.compile(r"\b(?:compare|comparison|difference\s+between|which\s+(?:one\s+)?(?:is|of"
                      r"\s+(?:them|these|the\s+two))\s+(?:\w+\s+)?(?:cheaper|better|warmer|"
                      r"bigger|smaller|lighter|softer)|which\s+(?:is|one\s+is)\s+(?:cheaper|"
                      r"better|warmer)|(?:cheaper|better),\s+the\b|\bor\s+the\s+\w+(?:\s+one)?"
                      r"\s*\?)", re.I)
_CHEAPER = re.compile(r"\b(?:cheaper|less\s+expensive|more\s+affordable|lower\s+price|too\s+"
                      r"(?:expensive|pricey|dear|much))\b", re.I)
_ASK: list[tuple[Asked, re.Pattern[str]]] = [
    ("price", re.compile(r"\bhow\s+much\b|\bprice\b|\bcost(?:s)?\b|\bwhat\s+does\s+\w+\s+"
                         r"cost", re.I)),
    ("material", re.compile(r"\bmade\s+(?:of|from|out\s+of)\b|\bmaterial\b|\bfabric\b|"
                            r"\bwhat\s+is\s+it\s+made\b", re.I)),
    ("sizes", re.compile(r"\bwhat\s+sizes?\b|\bwhich\s+sizes?\b|\bsizes?\s+(?:does|do|is|are|"
                         r"available)|\bcome\s+in\s+(?:size|an?\s+(?:xs|s|m|l|xl|xxl)\b|\d)|"
                         r"\bin\s+(?:a\s+)?size\b|\bavailable\s+in\s+(?:xs|s|m|l|xl|xxl)\b", re.I)),
    ("colors", re.compile(r"\bwhat\s+colou?rs?\b|\bwhich\s+colou?rs?\b|\bcolou?rs?\s+(?:does|do|"
                          r"is|are)|\bwhat\s+colou?r\s+is|\bcome\s+in\s+(?:other\s+)?"
                          r"colou?rs?", re.I)),
    ("stock", re.compile(r"\bin\s+stock\b|\bavailable\b(?!\s+in)|\bsold\s+out\b|\bhow\s+many\s+"
                         r"(?:are\s+)?left\b|\bcan\s+i\s+get\s+it\s+now\b", re.I)),
    ("age", re.compile(r"\bwhat\s+ages?\b|\bage\s+range\b|\bsuitable\s+for\s+(?:a\s+)?\d|\bok\s+"
                       r"for\s+(?:a\s+)?\d|\bfor\s+(?:a\s+)?\d{1,2}[\s-]*(?:years?|yrs?)[\s-]*old\s*"
                       r"\?|\bwhat\s+age\b", re.I)),
    ("allergen", re.compile(r"\b(?:contain|contains|have|has|with|any)\s+(?:any\s+)?(?:nuts?|"
                            r"peanuts?|dairy|milk|gluten|wheat|eggs?|soy|sesame)\b|\bsafe\s+for"
                            r"\s+(?:a\s+|someone\s+with\s+a\s+)?(?:nut|peanut|dairy|gluten)",
                            re.I)),
    ("diet", re.compile(r"\b(?:is|are)\s+(?:it|this|that|they|these|the\s+[\w' -]+?)\s+"
                        r"(?:also\s+)?(?:vegan|vegetarian|gluten[\s-]free|dairy[\s-]free|organic|"
                        r"nut[\s-]free|halal|kosher)\b|\b(?:vegan|vegetarian|gluten[\s-]free|"
                        r"organic)\s*\?", re.I)),
    ("dimensions", re.compile(r"\bhow\s+(?:big|large|small|heavy|long|wide|many\s+pages)\b|"
                              r"\bdimensions?\b|\bweigh", re.I)),
    ("describe", re.compile(r"\btell\s+me\s+(?:more\s+)?about\b|\bwhat\s+is\s+(?:it|that|this)\s+"
                            r"like\b|\bmore\s+(?:details|info)\b|\bdescribe\b|\bwhat'?s\s+(?:it|"
                            r"that|the\s+\w+(?:\s+\w+)?)\s+like\b|\bhow\s+(?:do|should)\s+i\s+"
                            r"(?:wash|care|use)\b|\bwhat\s+is\s+the\b", re.I)),
]
_DIET_WORDS = re.compile(r"\b(vegan|vegetarian|gluten[\s-]free|dairy[\s-]free|organic|"
                         r"nut[\s-]free|halal|kosher)\b", re.I)
_ALLERGEN_ASK = re.compile(r"\b(nuts?|peanuts?|dairy|milk|gluten|wheat|eggs?|soy|sesame)\b", re.I)
_TELL_ME = re.compile(r"\s*(?:please\s+)?(?:tell|show)\s+me\s+(?:more\s+)?about\b|"
                      r"\s*(?:more\s+)?(?:details|info)\s+(?:on|about)\b", re.I)
_SWITCH = re.compile(r"^\W*(?:actually|instead|ok(?:ay)?\s+now|now|also|and\s+now|new\s+"
                     r"question|different\s+question|on\s+another\s+note|what\s+about|how\s+about)"
                     r"\b", re.I)
_QUESTIONY = re.compile(r"\?\s*$|^\s*(?:what|which|how|is|are|does|do|can|could|will)\b", re.I)


def understand(message: str, state: ConversationState, index: Any, words: CatalogWords,
               categories: list[str], sentiment: Any = None) -> Understanding:
    text = message.replace("’", "'").strip()
    budget, spans = parse_budget(text)
    normalized = normalize_numbers(text)
    search_text = _strip(normalized, spans) if spans else text
    cards = state.last_cards()
    shown = [extraction.ShownItem(item_id=c.item_id, title=index.get(c.item_id).title,
                                  brand=index.get(c.item_id).brand,
                                  attributes=index.get(c.item_id).attributes, position=n)
             for n, c in enumerate(cards) if c.item_id in index]
    ex = extraction.extract(search_text, shown, categories=categories, sentiment=sentiment,
                            focus=state.focus)
    u = Understanding(act="request", message=text, extraction=ex, query=ex.query_text or text,
                      budget=budget)
    u.recipient = parse_recipient(normalized)
    u.occasion = parse_occasion(text)
    u.allergens = parse_allergens(text)
    u.diets = [r.split("=", 1)[-1] for r in ex.filters.require
               if r.split("=", 1)[-1] in ("vegan", "vegetarian", "gluten-free", "organic",
                                          "dairy-free", "nut-free", "halal", "kosher",
                                          "lactose-free", "sugar-free")]
    u.diets += [s.attribute.split("=", 1)[1] for s in ex.stated
                if s.attribute and s.attribute.startswith("diet=") and s.hard and s.value > 0
                and s.attribute.split("=", 1)[1] not in u.diets]
    u.avoid = [w for w in ex.filters.exclude if w not in u.allergens]
    u.avoid += [s.attribute.split("=", 1)[1] for s in ex.stated if s.attribute and s.hard
                and s.value < 0 and s.attribute.startswith("material=")
                and s.attribute.split("=", 1)[1] not in u.avoid]
    u.sizes = [r.split("=", 1)[1] for r in ex.filters.require if r.startswith("size=")]
    u.colors = parse_colors(text)
    u.cheaper = bool(_CHEAPER.search(text))
    u.refusal = safety.refusal(text, state)
    u.policy = safety.policy_topic(text)

    # Items the message refers to: full catalog titles first, then the shown cards.
    titled = words.titles_in(text)
    u.targets = titled[:2] if titled else list(ex.referenced)
    u.asked = [name for name, rx in _ASK if rx.search(text)]
    if "diet" in u.asked or "allergen" in u.asked:
        dm = _DIET_WORDS.search(text)
        am = _ALLERGEN_ASK.search(text)
        if "diet" in u.asked and dm:
            u.asked_label = re.sub(r"\s+", "-", dm.group(1).lower())
        elif am:
            u.asked_label = lexicon().allergen_aliases.get(am.group(1).lower().rstrip("s"),
                                                           lexicon().allergen_aliases.get(
                                                               am.group(1).lower(), "nut"))
            asked: list[Asked] = [a for a in u.asked if a != "diet"]
            u.asked = asked if "allergen" in asked else [*asked, "allergen"]
    questiony = bool(_QUESTIONY.search(text) or _TELL_ME.match(text))
    if not u.targets and u.asked and questiony and cards:
        if state.focus and state.focus in {c.item_id for c in cards} | {state.focus}:
            u.targets = [state.focus]
        elif len(cards) == 1:
            u.targets = [cards[0].item_id]
        elif re.search(r"\b(?:it|this|that)\b", text, re.I):
            u.ambiguous = True
    if not u.targets and u.asked and questiony and state.focus and not cards:
        u.targets = [state.focus]

    # Product types and words the catalog has nothing for.
    content = [w for w in tokens(_strip_people(u.query)) if w not in lexicon().generic_words
               and len(w) > 2 and w not in _STOP and not extraction.is_opinion_word(w)]
    syn = lexicon().type_synonyms
    content = [stem(syn.get(w, w)) for w in content]
    colour_words = {t for c in u.colors for t in tokens(c)}
    u.unknown = [w for w in content if not words.known(w) and w not in colour_words
                 and not _is_constraint_word(w, u)]
    u.types = [w for w in content if words.items_of_type(w) and w not in colour_words
               and not _is_constraint_word(w, u)]
    if not u.types:
        u.not_sold = [w for w in content if words.known(w) and words.items_mentioning(w)
                      and w not in words.attribute_words and w not in colour_words
                      and not _is_constraint_word(w, u)]
    u.act = _act(u, state, cards, questiony)
    u.topic_switch = _is_switch(u, state)
    return u


_STOP = frozenset(("the", "and", "for", "with", "you", "your", "any", "some", "can", "what",
                   "that", "this", "have", "has", "are", "was", "she", "he", "her", "his", "our",
                   "does", "did", "not", "but", "too", "how", "which", "who", "its", "it's",
                   "there", "from", "into", "out", "would", "could", "should", "will", "got",
                   "let", "may", "might", "i'd", "i'm", "we're", "she's", "he's", "they", "them",
                   "than", "then", "all", "one", "sell", "stock", "carry", "suggest", "recommend",
                   "something", "looking", "show", "need", "want", "like", "please"))


def _strip_people(text: str) -> str:
    """The recipient's words are no product ("for my niece who paints")."""
    rel = "|".join(re.escape(r) for r in lexicon().relations)
    low = re.sub(rf"\b(?:for|to)\s+(?:my|our|a|an|the)\s+(?:[\w'-]+\s+){{0,3}}(?:{rel})s?\b"
                 rf"(?:\s+who\s+[\w\s]+)?", " ", text, flags=re.I)
    return re.sub(r"\b(?:she|he)\s+(?:is|'s)\s+(?:turning\s+)?\d+\b", " ", low, flags=re.I)


def _is_constraint_word(word: str, u: Understanding) -> bool:
    said = " ".join([*u.diets, *u.avoid, *u.allergens, *u.materials, *u.sizes])
    return word in tokens(said) or word in ("allergy", "allergic", "nut", "intolerant")


def _act(u: Understanding, state: ConversationState, cards: list[Any], questiony: bool) -> Act:
    text = u.message
    if u.refusal:
        return "refuse"
    if u.policy:
        return "policy"
    if _THANKS.match(text):
        return "thanks_bye"
    if _SMALL_TALK.match(text):
        return "small_talk"
    if (_COMPARE.search(text) and (u.targets or cards)) or (len(u.targets) >= 2 and u.asked
                                                             and questiony):
        return "compare"
    if u.asked and (u.targets or u.ambiguous) and questiony:
        return "ask_item"
    has_slots = bool(u.budget or u.diets or u.avoid or u.allergens or u.colors or u.sizes
                     or u.cheaper)
    new_person = bool(u.recipient and u.recipient.relation
                      and u.recipient.relation != state.recipient.relation)
    if cards and not (u.types or u.unknown or u.not_sold or new_person) and (
            has_slots or u.extraction.intent == "refine"):
        return "refine"
    if u.types or u.unknown or u.not_sold or u.recipient or u.occasion or has_slots or \
            u.extraction.intent in ("search", "refine"):
        return "request"
    if u.extraction.intent == "greeting":
        return "small_talk"
    if u.extraction.item_sentiments or u.extraction.intent in ("feedback", "purchase"):
        return "small_talk"
    return "request" if len(tokens(text)) >= 2 else "small_talk"


def _is_switch(u: Understanding, state: ConversationState) -> bool:
    """A new person or a new kind of product: the old slots no longer apply."""
    if u.act != "request":
        return False
    new_person = bool(u.recipient and u.recipient.relation and state.recipient.relation
                      and u.recipient.relation != state.recipient.relation)
    old_types = set(tokens(state.topic or ""))
    new_type = bool(u.types and old_types and not (set(u.types) & old_types))
    return new_person or (new_type and bool(_SWITCH.search(u.message) or u.recipient))


def _strip(text: str, spans: list[tuple[int, int]]) -> str:
    for s, e in sorted(spans, reverse=True):
        text = text[:s] + " " + text[e:]
    return re.sub(r"\s+", " ", text).strip() or text
