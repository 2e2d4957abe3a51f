"""One chat turn, end to end (DESIGN.md "One chat turn"; docs/conversation.md):

1. guardrails screen the message (injection, other customers' data, off-topic, sensitive);
2. `understand`: the dialogue act and the slots the message fills, folded into the
   session's typed `ConversationState` (recipient, occasion, budget, constraints with
   allergens that never expire, topic, the cards shown in order); stated preferences and
   item sentiment go to the preference model at once;
3. `decide`: retrieval with every hard constraint, the preference model's ranking, honest
   no-match with labelled nearest alternatives, answers read from item records, refusals
   and policy replies planned before any generation: a `Plan` of reply acts and facts;
4. `compose`: the plan realized by templates (the default with the embedded model) or, for
   a plain recommendation, by the LLM from a versioned prompt grounded in exactly those
   items; each clause is checked (names, prices, topic, claims about people, labels and
   product types) before it is sent, and the planned reply takes over when the LLM strays
   or the backend is down.

`prepare` is the non-LLM path (measured on its own in benchmarks/chat.py); `stream` yields
server-sent events."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from sqlalchemy.orm import Session

from app.chat import extract as extraction
from app.chat import guardrails, style
from app.chat.catalog_words import catalog_words, tokens
from app.chat.grounding import Allowed, CheckedStream, Grounding, TitleIndex
from app.chat.lexicon import lexicon
from app.chat.plan import Plan, decide, update_state
from app.chat.realize import realize
from app.chat.sessions import add_message, open_session, recent, remember_shown, update_summary
from app.chat.state import KEY, ConversationState
from app.chat.understand import Understanding, understand
from app.db.models import ChatSession, Profile
from app.decide import Person
from generation import ResilientChat, load_prompt
from generation.llm import CancelToken
from preference_model import PreferenceModelError
from retrieval import Item

log = logging.getLogger(__name__)
MAX_SENTENCES = 3  # the cards carry the details; the text introduces them


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
                 prompt_products: int = 1, policy_text: str | None = None,
                 realization: str = "template", early_words: bool = False) -> None:
        self.chat = chat
        self.search = search  # app.services.search.SearchRuntime
        self.prefs = prefs  # app.services.personalization.Personalization or None
        self.sentiment = sentiment
        self.shop_name = shop_name
        # Each prompt token costs ~3.5 ms of evaluation before the first word with the
        # embedded model on 2 cores; the cards carry every item whatever the text names.
        self.prompt_products = max(1, prompt_products)
        self.prompt = load_prompt("chat_reply")
        self.policy_text = policy_text
        # "template": the plan's templates are the reply (the embedded 135M model cannot
        # carry a conversation truthfully); "llm": a plain recommendation is introduced by
        # the LLM under the grounding checks, everything else stays planned text.
        self.realization = realization
        # Unchecked words streamed ahead of their clause's check can be taken back (a
        # `retract`); off by default: shoppers should not see words withdrawn.
        self.early_words = early_words
        self._title_cache: tuple[tuple[int, int], TitleIndex] = ((0, -1), TitleIndex(()))

    # -- the non-LLM path: understand -> decide -> compose --------------------------------------
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
        state = ConversationState.load(session.state)
        u = self.understand(message, state, index)
        personalization_ok, st = self._learn(u, pid, context, sensitive_ok, personalization_ok)
        t_understood = time.perf_counter()
        dismissed = frozenset(self.prefs.dismissed(pid)) if self.prefs and personalization_ok \
            else frozenset()
        plan = self.decide(u, state, index, pid, session.id, context, sensitive_ok,
                           personalization_ok, dismissed)
        t_decided = time.perf_counter()
        turn = self.compose(db, session, pid, message, state, plan, index, st)
        state.last_act = u.act
        session.state = {**(session.state or {}), KEY: state.dump()}
        remember_shown(session, [c.item_id for c in turn.cards])
        t_end = time.perf_counter()
        turn.meta.update({
            "intent": u.extraction.intent, "act": u.act, "reply_acts": list(plan.acts),
            "constraints": list(u.extraction.constraints),
            "recipient": state.recipient.relation, "sensitive_topics": screen.sensitive_topics,
            "screen": "allow", "ms_understand": round((t_understood - t0) * 1000, 2),
            "ms_retrieval": round((t_decided - t0) * 1000, 2),
            "ms_prepare": round((t_end - t0) * 1000, 2)})
        return turn

    def understand(self, message: str, state: ConversationState, index: Any) -> Understanding:
        """The message's act and slots, folded into `state` (refinements keep the rest)."""
        u = understand(message, state, index, catalog_words(index), index.categories(),
                       sentiment=self.sentiment)
        update_state(state, u)
        return u

    def _learn(self, u: Understanding, pid: str, context: dict[str, Any], sensitive_ok: bool,
               personalization_ok: bool) -> tuple[bool, style.StyleProfile]:
        """Stated preferences (allergens among them) and item sentiment go to the model;
        the shopper's writing style is updated. Returns whether personalization held."""
        st = style.update(style.StyleProfile(), u.message)
        if not (self.prefs and personalization_ok):
            return personalization_ok, st
        stated = guardrails.filter_signals(u.extraction.stated, sensitive_ok)
        known = {s.attribute for s in stated}
        stated += [extraction.StatedPreference(f"ingredient={a}", None, -1.0, True,
                                               f"{a} allergy") for a in u.allergens
                   if f"ingredient={a}" not in known]
        role = u.extraction.recipient or "self"
        try:
            self.prefs.learn_from_chat(pid, stated, u.extraction.item_sentiments, role, context,
                                       sensitive_ok=sensitive_ok)
            before = self.prefs.style(pid)
            st = style.update(before, u.message)
            self.prefs.set_style(pid, st, before)
        except PreferenceModelError as exc:  # degrade to non-personal, never fail the turn
            log.warning("preference model unavailable for this turn: %s", exc)
            return False, st
        return True, st

    def decide(self, u: Understanding, state: ConversationState, index: Any, pid: str,
               session_id: str, context: dict[str, Any], sensitive_ok: bool,
               personalization_ok: bool, dismissed: frozenset[str]) -> Plan:
        def rank(candidates: list[str]) -> tuple[list[str], dict[str, str], bool]:
            if not (self.prefs and candidates):
                return candidates, {}, False
            # The one decision path (app/decide): the same rules as every other surface,
            # exploration stable within this chat session, then relevance and taste fused.
            role = (u.extraction.recipient or "self") if personalization_ok else "self"
            person = Person(pid, personalized=personalization_ok, sensitive_ok=sensitive_ok,
                            role=role, session=session_id)
            try:
                decision = self.prefs.decider.decide(person, context, "chat", None, index,
                                                     k=len(candidates), relevant=candidates)
            except PreferenceModelError as exc:
                log.warning("ranking fell back to relevance: %s", exc)
                return candidates, {}, False
            if not personalization_ok:
                return [i for i in decision.items if i in set(candidates)] or candidates, {}, \
                    False
            fused = fuse([i for i in candidates if i in decision.scores], decision.items)
            return ([i for i in fused if i in set(candidates)],
                    {i: r[0].text for i, r in decision.reasons.items() if r}, True)

        return decide(u, state, index, catalog_words(index), rank, dismissed)

    def compose(self, db: Session, session: ChatSession, pid: str, message: str,
                state: ConversationState, plan: Plan, index: Any,
                st: style.StyleProfile) -> PreparedTurn:
        """The reply: the plan's template always (the fallback), and LLM messages only for a
        plain recommendation when the LLM realizes replies at all."""
        cards = [_card(it, plan.reasons.get(it.id) or _reason(it, state, plan))
                 for it in plan.items]
        text = realize(plan, state, self.shop_name, self.policy_text)
        question = plan.question if plan.acts != ["greet"] else _greeting_question(index)
        facts = _facts(state)
        summary = update_summary(session, facts)
        use_llm = self.realization == "llm" and plan.acts == ["recommend"] and bool(plan.items)
        if not use_llm:
            return PreparedTurn(session, pid, message, None, text, cards, question, text,
                                None, plan.personalized)
        history: list[BaseMessage] = []
        for m in recent(db, session, 5)[:-1]:
            history.append(HumanMessage(m.content) if m.role == "user" else AIMessage(m.content))
        items = plan.items
        rendered = self.prompt.render(
            message=message, summary=summary, shop_name=self.shop_name,
            products=[{"name": it.title, "price": f"{it.price:.2f}", "currency": it.currency,
                       "description": c.reason}
                      for it, c in zip(items[:self.prompt_products], cards, strict=False)],
            **style.prompt_variables(st))
        topic = [message, *(it.category for it in items),
                 *(v for it in items for vs in it.attributes.values() for v in vs),
                 *(t for it in items for t in it.tags)]
        words = catalog_words(index)
        item_types = {t for it in items for t in tokens(f"{it.title} {it.category}")}
        allowed = Allowed(
            titles=tuple(it.title for it in items), brands=tuple(it.brand for it in items
                                                                 if it.brand),
            prices=tuple(it.price for it in items), extra_names=(self.shop_name,),
            topic=tuple(topic), claims=True,
            people=tuple(p for p in [state.recipient.relation] if p),
            labels=tuple({v for it in items for k in ("diet", "lifestyle")
                          for v in it.attributes.get(k, [])} | {t for it in items
                                                                 for t in it.tags}),
            types=frozenset(item_types | set(tokens(message))),
            all_types=frozenset(words.by_type))
        grounding = Grounding(allowed, self._titles(index), sentiment=self.sentiment)
        return PreparedTurn(session, pid, message, rendered.to_messages(history[-4:]), None,
                            cards, question, text, grounding, plan.personalized)

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
        checked = CheckedStream(turn.grounding, MAX_SENTENCES, early_words=self.early_words)
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


def fuse(relevance: list[str], preference: list[str], k: int = 5) -> list[str]:
    """Reciprocal rank fusion of the retrieval order and the preference order (a small k
    because the lists are short: both orders matter)."""
    score: dict[str, float] = {}
    for order in (relevance, preference):
        for rank, item in enumerate(order):
            score[item] = score.get(item, 0.0) + 1.0 / (k + rank + 1)
    return sorted(score, key=lambda i: -score[i])


def _card(item: Item, reason: str) -> Card:
    return Card(item_id=item.id, title=item.title, brand=item.brand, price=item.price,
                currency=item.currency, image_url=item.image_url, reason=reason,
                in_stock=item.in_stock)


def _reason(item: Item, state: ConversationState, plan: Plan) -> str:
    if plan.alternatives:
        similar = [r.split(":", 1)[1] for r in plan.relaxed if r.startswith("SIMILAR:")]
        return (f"similar to a {similar[0]}" if similar else
                "nearest alternative: relaxes " + ", ".join(plan.relaxed))
    bits = [*state.constraints.diets, *(f"no {m}" for m in state.constraints.avoid_materials)]
    if state.budget:
        bits.append(state.budget.phrase())
    ages = item.attributes.get("age")
    if state.recipient.is_child and ages:
        bits.append("ages " + ", ".join(ages))
    return ("matches " + ", ".join(bits)) if bits else "a good match for what you asked"


def _facts(state: ConversationState) -> list[str]:
    r, c = state.recipient, state.constraints
    facts = []
    if r.relation and r.relation != "self":
        facts.append(f"shopping for: {r.relation}" + (f", {r.age}" if r.age is not None else ""))
    if state.occasion:
        facts.append(f"occasion: {state.occasion}")
    if state.budget:
        facts.append(f"budget: {state.budget.phrase()}")
    facts += [f"diet: {d}" for d in c.diets] + [f"allergy: {a}" for a in c.allergens]
    facts += [f"avoids {m}" for m in c.avoid_materials]
    return facts


def _greeting_question(index: Any) -> dict[str, Any]:
    top = sorted({c.split(" > ")[0] for c in index.categories()})
    return lexicon().questions["greet"].ask(top)
