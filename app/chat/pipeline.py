"""One chat turn, end to end (DESIGN.md "One chat turn"):

1. guardrails screen the message (injection, other customers' data, off-topic, sensitive);
2. signals are extracted (stated preferences and constraints, sentiment about items shown
   before, intent, recipient, style) and fed to the preference model at once;
3. retrieval searches the catalog with the constraints as hard filters;
4. the preference model ranks the candidates for this person (with consent), business rules
   drop what was dismissed or is out of stock, and an uncertain model asks a question;
5. the LLM writes the reply from a versioned prompt, grounded in exactly those items; words
   stream as they come, each clause is checked as it completes (names and prices wait for
   that check; a failing clause is retracted), and a reply built from the items takes over
   when the LLM strays or the backend is down.

`prepare` is the non-LLM path (measured on its own in benchmarks/chat.py); `stream` yields
server-sent events."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from sqlalchemy.orm import Session

from app.chat import extract as extraction
from app.chat import guardrails, style
from app.chat.grounding import Allowed, CheckedStream, Grounding, TitleIndex, fallback_reply
from app.chat.sessions import (
    add_message,
    open_session,
    recent,
    remember_shown,
    update_summary,
)
from app.db.models import ChatSession, Profile
from app.decide import Person
from generation import ResilientChat, load_prompt
from generation.llm import CancelToken
from preference_model import PreferenceModelError
from retrieval import Filters, Item
from retrieval.index import MAX_QUERY_CHARS

log = logging.getLogger(__name__)
CARDS = 4
CANDIDATES = 40
RERANK_POOL = 16
MAX_SENTENCES = 3  # the cards carry the details; the text introduces them
RELEVANCE_MARGIN = 0.2  # cosine below the best hit beyond which an item is off topic


@dataclass
class Card:
    item_id: str
    title: str
    brand: str
    price: float
    currency: str
    image_url: str | None
    reason: str
    in_stock: bool

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


@dataclass
class PreparedTurn:
    session: ChatSession
    profile_id: str
    message: str
    messages: list[BaseMessage] | None  # None: answer with `fixed_reply`, no LLM
    fixed_reply: str | None
    cards: list[Card]
    question: dict[str, Any] | None
    fallback_text: str
    grounding: Grounding | None
    personalized: bool
    meta: dict[str, Any] = field(default_factory=dict)
    cancel: CancelToken = field(default_factory=CancelToken)
    """Triggered when the shopper goes away: the LLM stops writing this reply at once."""
    first_words_by: float | None = None
    """``time.monotonic()`` time by which the LLM must have started writing (slot wait and
    first token), else the item-built reply; None: only the LLM's own deadlines."""


class TurnPipeline:
    def __init__(self, *, chat: ResilientChat | None, search: Any, prefs: Any,
                 sentiment: Any = None, shop_name: str = "the shop",
                 prompt_products: int = 1) -> None:
        self.chat = chat
        self.search = search  # app.services.search.SearchRuntime
        self.prefs = prefs  # app.services.personalization.Personalization or None
        self.sentiment = sentiment
        self.shop_name = shop_name
        # Each prompt token costs ~3.5 ms of evaluation before the first word with the
        # embedded model on 2 cores; the cards carry every item whatever the text names.
        self.prompt_products = max(1, prompt_products)
        self.prompt = load_prompt("chat_reply")
        self._title_cache: tuple[tuple[int, int], TitleIndex] = ((0, -1), TitleIndex(()))

    # -- the non-LLM path ---------------------------------------------------------------------
    def prepare(self, db: Session, profile: Profile, message: str, session_id: str | None,
                context: dict[str, Any]) -> PreparedTurn:
        t0 = time.perf_counter()
        session = open_session(db, profile, session_id)
        pid = session.profile_id
        consent = self.prefs.consent(db, profile) if self.prefs else None
        sensitive_ok = bool(consent and consent.sensitive)
        personalization_ok = bool(consent and consent.personalization)

        screen = guardrails.screen(message, sensitive_consent=sensitive_ok)
        add_message(db, session, "user", message, {"screen": screen.action,
                                                   "category": screen.category})
        # Commit now: the model's learning below writes through its own connections, and
        # SQLite allows one writer at a time.
        db.commit()
        if screen.action != "allow":
            return PreparedTurn(session, pid, message, None, screen.reply or "", [], None,
                                screen.reply or "", None, False,
                                {"screen": screen.action, "category": screen.category})

        index = self.search.require()
        state = session.state or {}
        shown_ids = [i for i in state.get("last_shown", []) if i in index]
        shown = [extraction.ShownItem(item_id=it.id, title=it.title, brand=it.brand,
                                      attributes=it.attributes, position=n)
                 for n, it in enumerate(index.get(i) for i in shown_ids)]
        ex = extraction.extract(message, shown, categories=index.categories(),
                                sentiment=self.sentiment)
        stated = guardrails.filter_signals(ex.stated, sensitive_ok)
        role = ex.recipient or "self"
        facts: list[str] = []
        st = style.update(style.StyleProfile(), message)
        if self.prefs and personalization_ok:
            try:
                self.prefs.learn_from_chat(pid, stated, ex.item_sentiments, role, context,
                                           sensitive_ok=sensitive_ok)
                before = self.prefs.style(pid)
                st = style.update(before, message)
                self.prefs.set_style(pid, st, before)
            except PreferenceModelError as exc:  # degrade to non-personal, never fail the turn
                log.warning("preference model unavailable for this turn: %s", exc)
                personalization_ok = False
        facts += [f"{'likes' if s.value > 0 else 'avoids'} {s.attribute or s.item_id}"
                  for s in stated]
        if ex.recipient and ex.recipient != "self":
            facts.append(f"shopping for: {ex.recipient}")
        facts += [f"constraint: {c}" for c in ex.constraints]

        # Hard constraints from earlier turns still hold ("vegan" stays vegan).
        dismissed = self.prefs.dismissed(pid) if self.prefs and personalization_ok else set()
        filters = ex.filters.merged(Filters(exclude_ids=frozenset(dismissed), in_stock=True))
        state = _remember_constraints(session, ex.filters)
        filters = filters.merged(_session_filters(state))
        query = ex.query_text or message
        if ex.intent in {"feedback", "purchase"} and shown_ids and not ex.constraints:
            query = " ".join(index.get(i).title for i in shown_ids[:2])
        elif ex.intent == "refine" and state.get("topic"):
            # "something cheaper", "in blue?": still about what they were looking for.
            query = f"{state['topic']} {query}"
            if _CHEAPER.search(message) and shown_ids and filters.max_price is None:
                prices = sorted(index.get(i).price for i in shown_ids)
                filters = filters.merged(Filters(max_price=prices[len(prices) // 2] - 0.01))
        elif ex.intent == "search":
            session.state = {**(session.state or {}), "topic": query}
            state = session.state
        if ex.recipient == "child":
            query += " for kids"  # "a gift for my daughter" means toys and kids' things
        greeting = ex.intent == "greeting" and not ex.constraints and not stated
        # A message may hold 4,000 characters, a search query 2,000: search on its start.
        hits = [] if greeting else index.search(query[:MAX_QUERY_CHARS], k=CANDIDATES,
                                                filters=filters, parse=False)
        if hits:
            # Stay on topic: personal taste re-orders relevant items, it never promotes a
            # skillet for "warm sweater".
            best = max(h.dense_score for h in hits)
            hits = [h for h in hits if h.dense_score >= best - RELEVANCE_MARGIN][:RERANK_POOL]
        candidates = [h.item_id for h in hits]
        t_retrieve = time.perf_counter()

        reasons: dict[str, str] = {}
        personalized = False
        if self.prefs and candidates:
            # The one decision path (app/decide): the same rules as every other surface,
            # exploration stable within this chat session, then relevance and taste fused.
            person = Person(pid, personalized=personalization_ok, sensitive_ok=sensitive_ok,
                            role=role if personalization_ok else "self", session=session.id)
            try:
                decision = self.prefs.decider.decide(person, context, "chat", None, index,
                                                     k=len(candidates), relevant=candidates)
                if personalization_ok:
                    candidates = fuse([i for i in candidates if i in decision.scores],
                                      decision.items)
                    reasons = {i: r[0].text for i, r in decision.reasons.items() if r}
                    personalized = True
                else:
                    candidates = decision.items
            except PreferenceModelError as exc:
                log.warning("ranking fell back to relevance: %s", exc)
        chosen = candidates[:CARDS]
        items = [index.get(i) for i in chosen]
        cards = [_card(it, reasons.get(it.id) or _default_reason(it, ex.constraints))
                 for it in items]

        question = None
        if greeting:
            top = sorted({c.split(" > ")[0] for c in index.categories()})[:4]
            question = {"text": "What are you shopping for today?", "options": top}
        elif not items:
            question = {"text": "Could you tell me more: what is it for, and any budget?",
                        "options": ["It's a gift", "For me", "Under $50"]}
        elif self.prefs and personalization_ok and ex.intent in {"search", "greeting"}:
            try:
                question = self.prefs.question(pid, candidates[:20])
            except PreferenceModelError as exc:
                log.info("no clarifying question: %s", exc)
        if ex.recipient is None and not state.get("asked_recipient") and items and any(
                "gift" in it.tags or "gift-idea" in it.tags for it in items):
            question = question or {"text": "Is this for you or for someone else?",
                                    "options": ["For me", "A gift", "For my child"]}
            state = {**state, "asked_recipient": True}
            session.state = state

        remember_shown(session, chosen)
        summary = update_summary(session, facts)
        history: list[BaseMessage] = []
        for m in recent(db, session, 5)[:-1]:
            history.append(HumanMessage(m.content) if m.role == "user" else AIMessage(m.content))
        rendered = self.prompt.render(
            message=message, summary=summary, shop_name=self.shop_name,
            products=[{"name": it.title, "price": f"{it.price:.2f}", "currency": it.currency,
                       "description": reasons.get(it.id, "")}
                      for it in items[:self.prompt_products]],
            **style.prompt_variables(st))
        topic = [message, *(it.category for it in items),
                 *(v for it in items for vs in it.attributes.values() for v in vs),
                 *(t for it in items for t in it.tags)]
        allowed = Allowed(titles=tuple(it.title for it in items),
                          brands=tuple(it.brand for it in items if it.brand),
                          prices=tuple(it.price for it in items),
                          extra_names=(self.shop_name,), topic=tuple(topic))
        grounding = Grounding(allowed, self._titles(index), sentiment=self.sentiment)
        qtext = str(question["text"]) if question else None
        fallback = ("Hello! I'm the shopping assistant of " + self.shop_name + ". " + (qtext or "")
                    if greeting else
                    fallback_reply([c.title for c in cards], [c.reason for c in cards],
                                   question=qtext, no_match=not items))
        t_end = time.perf_counter()
        return PreparedTurn(
            session, pid, message, rendered.to_messages(history[-4:]), None, cards, question,
            fallback, grounding, personalized,
            {"intent": ex.intent, "constraints": list(ex.constraints), "recipient": ex.recipient,
             "sensitive_topics": screen.sensitive_topics, "screen": "allow",
             "ms_retrieval": round((t_retrieve - t0) * 1000, 2),
             "ms_prepare": round((t_end - t0) * 1000, 2)})

    def _titles(self, index: Any) -> TitleIndex:
        """The catalog's titles for the grounding check, rebuilt when the catalog changes."""
        key = (id(index), index.generation)
        if self._title_cache[0] != key:
            self._title_cache = (key, TitleIndex(index.titles()))
        return self._title_cache[1]

    # -- the LLM path ---------------------------------------------------------------------------
    def stream(self, turn: PreparedTurn) -> Iterator[tuple[str, dict[str, Any]]]:
        """(event, data) pairs: token*, cards?, question?, then the caller sends done.

        ``turn.meta["first_words"]`` says where the first token came from ("llm" or
        "template"), for the time-to-first-words metric."""
        if turn.messages is None or self.chat is None:
            text = turn.fixed_reply if turn.fixed_reply is not None else turn.fallback_text
            turn.meta["degraded"] = turn.messages is not None
            turn.meta["first_words"] = "template"
            yield "token", {"text": text}
            turn.meta["reply"] = text
        else:
            yield from self._llm_tokens(turn)
        if turn.cards:
            yield "cards", {"items": [c.as_dict() for c in turn.cards]}
        if turn.question:
            yield "question", turn.question

    def _llm_tokens(self, turn: PreparedTurn) -> Iterator[tuple[str, dict[str, Any]]]:
        assert self.chat is not None and turn.messages is not None and turn.grounding
        checked = CheckedStream(turn.grounding, MAX_SENTENCES)
        degraded = False
        stream = self.chat.stream(turn.messages, fallback=lambda err, partial: "",
                                  cancel=turn.cancel, first_words_by=turn.first_words_by)
        try:
            for chunk in stream:
                if chunk.degraded:
                    degraded = True
                    turn.meta["llm_error"] = type(chunk.error).__name__
                    break
                for event in checked.feed(chunk.text):
                    turn.meta.setdefault("first_words", "llm")
                    yield event
                if checked.done:
                    break
        finally:
            close = getattr(stream, "close", None)
            if close:
                close()
        if turn.cancel.cancelled:  # the shopper left: keep what they saw, write no more
            turn.meta.update(degraded=degraded, strayed=False, reply=checked.sent,
                             abandoned=True)
            return
        yield from checked.close(complete=not degraded)
        sent, strayed = checked.sent, checked.strayed
        turn.meta.setdefault("first_words", "llm" if sent else "template")
        if strayed or degraded or not sent.strip():
            # Whatever was grounded stays; the items speak for the rest.
            piece = (" " if sent else "") + turn.fallback_text
            sent += piece
            yield "token", {"text": piece}
        elif turn.cards and not turn.grounding.names_a_product(sent):
            # The model's words were fine but introduced nothing: the items do it.
            piece = " " + turn.fallback_text
            sent += piece
            yield "token", {"text": piece}
        elif turn.question and turn.question["text"] not in sent:
            piece = " " + turn.question["text"]
            sent += piece
            yield "token", {"text": piece}
        turn.meta.update(degraded=degraded, strayed=strayed, reply=sent,
                         retracted=checked.retracted)

    def finish(self, db: Session, turn: PreparedTurn) -> int:
        msg = add_message(db, turn.session, "assistant", turn.meta.get("reply", ""),
                          {"cards": [c.item_id for c in turn.cards],
                           "degraded": turn.meta.get("degraded", False),
                           "strayed": turn.meta.get("strayed", False)})
        db.commit()
        return msg.id


_CHEAPER = re.compile(r"\b(?:cheaper|less\s+expensive|more\s+affordable|lower\s+price|"
                      r"too\s+(?:expensive|pricey|dear))\b", re.I)


def fuse(relevance: list[str], preference: list[str], k: int = 5) -> list[str]:
    """Reciprocal rank fusion of the retrieval order and the preference order (a small k
    because the lists are short: both orders matter)."""
    score: dict[str, float] = {}
    for order in (relevance, preference):
        for rank, item in enumerate(order):
            score[item] = score.get(item, 0.0) + 1.0 / (k + rank + 1)
    return sorted(score, key=lambda i: -score[i])


def _remember_constraints(session: ChatSession, new: Filters) -> dict[str, Any]:
    """Attribute constraints hold for the rest of the conversation; a newer one wins over an
    older contradicting one ("no leather" ... later "leather is fine")."""
    state = dict(session.state or {})
    require = [t for t in state.get("require", []) if t not in new.exclude]
    exclude = [t for t in state.get("exclude", []) if t not in new.require]
    state["require"] = list(dict.fromkeys([*require, *new.require]))[-10:]
    state["exclude"] = list(dict.fromkeys([*exclude, *new.exclude]))[-10:]
    session.state = state
    return state


def _session_filters(state: dict[str, Any]) -> Filters:
    return Filters(require=tuple(state.get("require", [])),
                   exclude=tuple(state.get("exclude", [])))


def _card(item: Item, reason: str) -> Card:
    return Card(item_id=item.id, title=item.title, brand=item.brand, price=item.price,
                currency=item.currency, image_url=item.image_url, reason=reason,
                in_stock=item.in_stock)


def _default_reason(item: Item, constraints: list[str] | tuple[str, ...]) -> str:
    if constraints:
        return "matches " + ", ".join(constraints[:2])
    return "a good match for what you asked"
