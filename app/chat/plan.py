"""Decide what this turn does: fold the message into the conversation state, find the
items (hard constraints held, allergens never broken, budgets never broken silently) and
plan the reply as acts with their facts. The plan is all the reply may say."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from app.chat import answers
from app.chat.catalog_words import CatalogWords, tokens
from app.chat.lexicon import lexicon
from app.chat.state import Budget, ConversationState, Recipient
from app.chat.understand import Understanding, contains_allergen
from retrieval import Filters, Item
from retrieval.index import MAX_QUERY_CHARS

CARDS = 4
CANDIDATES = 40
# Items of an asked-for type that search missed join the candidates, up to this many (read
# in chunks of FILL_CHUNK): in the demo store that is every one; at 100k items, enough.
CANDIDATE_FILL = CANDIDATES
FILL_CHUNK = 256
RELEVANCE_MARGIN = 0.2

ReplyAct = Literal["answer", "recommend", "no_match", "clarify", "acknowledge", "refuse",
                   "policy", "greet"]
Ranker = Callable[[list[str]], tuple[list[str], dict[str, str], bool]]


@dataclass
class Plan:
    acts: list[ReplyAct]
    items: list[Item] = field(default_factory=list)
    answers: list[str] = field(default_factory=list)  # sentences read from item records
    alternatives: bool = False  # the items relax a constraint (say which)
    relaxed: list[str] = field(default_factory=list)  # e.g. ["budget under $40", "dinosaurs"]
    missing: list[str] = field(default_factory=list)  # what the shop has nothing for
    not_sold: list[str] = field(default_factory=list)  # of those, kinds sold only as accessories
    question: dict[str, Any] | None = None
    reasons: dict[str, str] = field(default_factory=dict)
    personalized: bool = False
    refusal: str | None = None
    policy: str | None = None


# --------------------------------------------------------------------------- state

def update_state(state: ConversationState, u: Understanding) -> None:
    """Fold the message in: refine keeps the unchanged slots, a switch resets them."""
    state.turn += 1
    c = state.constraints
    for a in u.allergens:  # never expire within the session, whatever else changes
        if a not in c.allergens:
            c.allergens.append(a)
    if u.act not in ("request", "refine"):
        return
    if u.topic_switch:
        keep_allergens, keep_diets = c.allergens, c.diets
        state.recipient = Recipient()
        state.occasion = None
        state.budget = None
        state.category = None
        state.topic = None
        state.query = None
        c.materials, c.avoid_materials, c.sizes, c.colors = [], [], [], []
        c.allergens, c.diets = keep_allergens, keep_diets
    if u.recipient:
        r = u.recipient
        if r.relation and r.relation != state.recipient.relation:
            state.recipient = Recipient(relation=r.relation)
        state.recipient.relation = r.relation or state.recipient.relation
        state.recipient.age = r.age if r.age is not None else state.recipient.age
        state.recipient.gender = r.gender or state.recipient.gender
        state.recipient.interests = list(dict.fromkeys(
            [*state.recipient.interests, *r.interests]))[-3:]
    if u.occasion:
        state.occasion = u.occasion
    if u.budget:
        state.budget = u.budget
    for d in u.diets:
        if d not in c.diets:
            c.diets.append(d)
    for m in u.avoid:
        if m not in c.avoid_materials:
            c.avoid_materials.append(m)
    if u.sizes:
        c.sizes = u.sizes
    if u.colors:
        c.colors = u.colors
    if u.act == "request" or u.types:
        state.query = u.query if u.query.strip() else state.query
    words = [*u.types, *u.unknown, *u.not_sold]
    if words and (u.act == "request" or u.types):
        state.topic = " ".join(dict.fromkeys(words))
        state.category = u.extraction.filters.category
    elif u.extraction.filters.category and u.act == "request":
        state.category = u.extraction.filters.category


# --------------------------------------------------------------------------- decide

def decide(u: Understanding, state: ConversationState, index: Any, words: CatalogWords,
           rank: Ranker, dismissed: frozenset[str] = frozenset()) -> Plan:
    """The reply's plan. `state` must already hold this message (`update_state`)."""
    if u.act == "refuse":
        return Plan(["refuse"], refusal=u.refusal)
    if u.act == "policy":
        return Plan(["policy"], policy=u.policy)
    if u.act == "thanks_bye":
        return Plan(["acknowledge"])
    if u.act == "small_talk":
        return Plan(["greet"])
    if u.act in ("ask_item", "compare"):
        return _answer(u, state, index)
    return _recommend(u, state, index, words, rank, dismissed)


def _answer(u: Understanding, state: ConversationState, index: Any) -> Plan:
    if u.ambiguous or (not u.targets and u.act == "ask_item"):
        return Plan(["clarify"], question=_which_one(state))
    items = [index.get(i) for i in u.targets if i in index]
    if u.act == "compare" and len(items) < 2:
        items = [index.get(c.item_id) for c in state.last_cards() if c.item_id in index]
    if not items:
        return Plan(["clarify"], question=_which_one(state))
    if u.act == "compare" and len(items) == 1:
        only = items[0]
        state.focus = only.id
        return Plan(["answer"], items=[only], answers=[
            f"I only showed you one, the {only.title} "
            f"({answers.money(only.price, only.currency)}), so there's nothing cheaper "
            "to compare it with yet."])
    if u.act == "compare" and len(items) >= 2:
        sentences = [answers.compare(items[:2])]
        sentences += [answers.answer(it, a, u.asked_label) for it in items[:2]
                      for a in u.asked if a not in ("price", "describe")]
        state.focus = items[0].id
        return Plan(["answer"], items=items[:2], answers=sentences)
    item = items[0]
    asked = u.asked or ["describe"]
    state.focus = item.id
    return Plan(["answer"], items=[item],
                answers=[answers.answer(item, a, u.asked_label) for a in asked[:3]])


def _filters(state: ConversationState, dismissed: frozenset[str], *, budget: bool = True,
             soft: bool = True) -> Filters:
    c = state.constraints
    b = state.budget if budget else None
    require = [*c.diets] + ([f"size={'|'.join(c.sizes)}"] if c.sizes and soft else []) + (
        [f"color={'|'.join(c.colors)}"] if c.colors and soft else [])
    return Filters(in_stock=True, exclude_ids=dismissed,
                   min_price=b.min_price if b else None, max_price=b.max_price if b else None,
                   require=tuple(require),
                   age=state.recipient.age if state.recipient.is_child else None)


def _safe(item: Item, state: ConversationState) -> bool:
    """Allergens and avoided materials, checked on the whole record (a "nut allergy"
    excludes Peanut Oat Bars whatever their attributes are called)."""
    c = state.constraints
    if any(contains_allergen(item, a) for a in c.allergens):
        return False
    mats = f"{' '.join(item.attributes.get('material', []))} {item.title}".lower()
    # "no wool" also means no merino, lambswool or cashmere: the material's family.
    family = [w for m in c.avoid_materials for w in lexicon().allergens.get(m, [m])]
    return not any(w in mats for w in family)


def _query(u: Understanding, state: ConversationState) -> str:
    r = state.recipient
    parts = [state.topic or state.query or "", *r.interests]
    if r.is_child:
        kid = {"female": "girl", "male": "boy"}.get(r.gender or "", "child")
        parts.append(f"for a {r.age} year old {kid}")
    elif r.relation and r.relation != "self":
        parts.append(f"gift for my {r.relation}")
    if state.occasion:
        parts.append(state.occasion)
    q = " ".join(p for p in parts if p).strip() or u.query or u.message
    return q[:MAX_QUERY_CHARS]


def _candidates(query: str, state: ConversationState, index: Any, words: CatalogWords,
                filters: Filters, types: list[str]) -> list[str]:
    hits = index.search(query, k=CANDIDATES, filters=filters, parse=False)
    if hits:
        best = max(h.dense_score for h in hits)
        hits = [h for h in hits if h.dense_score >= best - RELEVANCE_MARGIN]
    ids = [h.item_id for h in hits]
    if types:
        # "yoga mat": both words; "a scarf or hat": either.
        sets = [words.items_of_type(t) for t in types]
        typed: set[str] = set.intersection(*sets) or set().union(*sets)
        ids = [i for i in ids if i in typed]
        if len(ids) < CARDS:  # the type is what they asked for: take it from the catalog
            ids += _admitted(sorted(typed - set(ids)), index, filters, state,
                             CANDIDATE_FILL - len(ids))
    elif state.recipient.is_child:
        ids = [i for i in ids if index.get(i).attributes.get("age")] or ids
    return [i for i in ids if _safe(index.get(i), state)]


def _admitted(ids: list[str], index: Any, filters: Any, state: ConversationState,
              wanted: int) -> list[str]:
    """The first `wanted` of `ids` that pass the filters and the shopper's safety checks,
    read in chunks: a type can hold a large part of a big catalog, and a turn needs a few."""
    out: list[str] = []
    for start in range(0, len(ids), FILL_CHUNK):
        chunk = ids[start:start + FILL_CHUNK]
        out += [i for i, ok in zip(chunk, index.admits(chunk, filters), strict=True)
                if ok and _safe(index.get(i), state)]
        if len(out) >= wanted:
            break
    return out[:max(wanted, 0)]


def _recommend(u: Understanding, state: ConversationState, index: Any, words: CatalogWords,
               rank: Ranker, dismissed: frozenset[str]) -> Plan:
    types = [t for t in tokens(state.topic or "") if words.items_of_type(t)] or [
        t for t in state.recipient.interests if words.items_of_type(t)]
    missing = [w for w in [*u.unknown, *u.not_sold] if w in tokens(state.topic or "") or
               u.act == "request"]
    query = _query(u, state)
    if u.cheaper and state.last_cards() and (state.budget is None or state.budget.kind != "under"):
        prices = sorted(index.get(c.item_id).price for c in state.last_cards()
                        if c.item_id in index)
        if prices:
            cap = round(prices[len(prices) // 2] - 0.01, 2)
            if state.budget is None or (state.budget.max_price or cap + 1) > cap:
                state.budget = Budget(kind="under", amount=cap,
                                      currency=state.budget.currency if state.budget else "USD")
    relaxed: list[str] = []
    ids: list[str] = []
    if missing:
        # Nothing is called that: say so, then the nearest items without that word.
        rest = " ".join(w for w in query.split() if w.lower().rstrip("s") not in
                        {m.rstrip("s") for m in missing}) or "gift"
        mentioning = set().union(*(words.items_mentioning(m) for m in u.not_sold)) if \
            u.not_sold else set()
        ids = [i for i in _candidates(rest, state, index, words, _filters(state, dismissed),
                                      types) if not mentioning or i in mentioning]
        if not ids and mentioning:
            ids = [i for i in sorted(mentioning) if _safe(index.get(i), state)]
        relaxed = missing
    else:
        ids = _candidates(query, state, index, words, _filters(state, dismissed), types)
        if not ids:
            ids, relaxed = _nearest(query, state, index, words, dismissed, types)
    ordered, reasons, personalized = rank(ids) if ids else ([], {}, False)
    items = [index.get(i) for i in ordered[:CARDS]]
    if state.budget and not relaxed:
        items = [it for it in items if state.budget.allows(it.price)]
    acts: list[ReplyAct] = ["no_match", "recommend"] if relaxed or missing else ["recommend"]
    if not items:
        acts = ["no_match"]
    plan = Plan(acts, items=items, alternatives=bool(relaxed), relaxed=relaxed,
                missing=missing, not_sold=[w for w in u.not_sold if w in missing],
                reasons=reasons, personalized=personalized)
    if items:
        state.remember_cards([(it.id, it.title) for it in items])
        state.focus = None if len(items) > 1 else items[0].id
    plan.question = _question(u, state, items)
    if plan.question:
        state.last_question = str(plan.question["text"])
    return plan


def _nearest(query: str, state: ConversationState, index: Any, words: CatalogWords,
             dismissed: frozenset[str], types: list[str]) -> tuple[list[str], list[str]]:
    """Relax one constraint at a time (never an allergen): which one is said."""
    if types:  # similar products (the type's own categories) that fit everything else
        sets = [words.items_of_type(t) for t in types]
        typed = set.intersection(*sets) or set().union(*sets)
        cats = {index.get(i).category for i in typed}
        ids = [i for i in _candidates(query, state, index, words, _filters(state, dismissed),
                                      []) if index.get(i).category in cats]
        if ids:
            return ids, [f"SIMILAR:{' '.join(types)}"]
    if state.budget:
        ids = _candidates(query, state, index, words, _filters(state, dismissed, budget=False),
                          types)
        if ids:
            b = state.budget
            ids.sort(key=lambda i: abs(index.get(i).price - (b.max_price or b.amount)))
            return ids, [f"your budget ({b.phrase()})"]
    c = state.constraints
    if c.colors or c.sizes:
        ids = _candidates(query, state, index, words, _filters(state, dismissed, soft=False),
                          types)
        if ids:
            return ids, [" / ".join([*c.colors, *(f"size {s.upper()}" for s in c.sizes)])]
    if types:
        ids = _candidates(query, state, index, words, _filters(state, dismissed), [])
        if ids:
            return ids, [f"SIMILAR:{' '.join(types)}"]
    return [], ["everything you asked for"]


def _question(u: Understanding, state: ConversationState,
              items: list[Item]) -> dict[str, Any] | None:
    r = state.recipient
    gifty = r.relation not in (None, "self") or state.occasion is not None or "gift" in \
        u.message.lower() or "present" in u.message.lower()
    if not gifty or not items:
        return None
    questions = lexicon().questions
    if r.relation in (None, "self") and state.last_question != questions["who_for"].text:
        return questions["who_for"].ask()
    if state.budget is None and state.last_question != questions["budget"].text:
        return questions["budget"].ask()
    return None


def _which_one(state: ConversationState) -> dict[str, Any]:
    return lexicon().questions["which_one"].ask([c.title for c in state.last_cards()])
