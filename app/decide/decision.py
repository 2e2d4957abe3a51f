"""`Decider.decide(person, context, surface, constraints) -> Decision`: the one path every
surface takes.

    candidates  recommendations: the preference model's generators (taste ANN, item-to-item
                neighbours, repurchase, trending by event time, popular, exploration);
                search / similar / chat: the caller's relevant items ("relevance")
    rules       constraints, stock (unknown = available), dismissed, bought and not
                repeatable, sensitive topics without consent (rules.py)
    ranking     the preference model (exploration seeded per customer + session + surface:
                the same request twice in a session gives the same list)
    diversity   no more than `max_near_duplicates` near-duplicates in the list
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy.orm import Session, sessionmaker

from app.decide.rules import ASKED, Outcome, PersonFacts, Rules, diversify
from app.decide.trending import Trending
from app.settings import Settings
from preference_model import Reason
from preference_model.candidates import session_seed
from retrieval import CatalogIndex, Filters

log = logging.getLogger(__name__)

Surface = Literal["recommendations", "similar", "search", "chat"]
POPULATION = "__population__"
TRENDING = Reason("popular right now", 0.0, "popularity")


@dataclass(frozen=True)
class Person:
    """Who the decision is for. `pid` None: nobody known (population view, no rules about
    a person); `personalized` False: known but no consent to personalization."""

    pid: str | None
    personalized: bool = False
    sensitive_ok: bool = False
    role: str = "self"
    session: str = ""


@dataclass
class Decision:
    items: list[str]
    reasons: dict[str, tuple[Reason, ...]] = field(default_factory=dict)
    scores: dict[str, tuple[float, float]] = field(default_factory=dict)  # (p, uncertainty)
    question: dict[str, Any] | None = None
    why_empty: str | None = None
    sources: dict[str, set[str]] = field(default_factory=dict)


class Decider:
    def __init__(self, settings: Settings, sessions: sessionmaker[Session], prefs: Any) -> None:
        self.settings = settings
        self.sessions = sessions
        self.prefs = prefs  # app.services.personalization.Personalization
        self.rules = Rules(settings.non_repeatable_categories)
        self.trending = Trending(sessions, settings.trending_window_hours,
                                 settings.trending_refresh_seconds)

    def decide(self, person: Person, context: Mapping[str, Any] | None, surface: Surface,
               constraints: Filters | None, index: CatalogIndex, *, k: int,
               relevant: Sequence[str] | None = None) -> Decision:
        """Up to `k` items, best first. `relevant` (search, similar, chat) are the items the
        caller's ask found, in relevance order; None (recommendations) means: generate.
        The whole decision reads the person's preference state at one version."""
        with self.prefs.store.snapshot():
            return self._decide(person, context, surface, constraints, index, k=k,
                                relevant=relevant)

    def _decide(self, person: Person, context: Mapping[str, Any] | None, surface: Surface,
                constraints: Filters | None, index: CatalogIndex, *, k: int,
                relevant: Sequence[str] | None) -> Decision:
        ctx = {k_: str(v) for k_, v in (context or {}).items() if v is not None}
        seed = session_seed(person.pid or "", person.session, surface)
        if relevant is None:
            sources = self._generate(person, ctx, seed)
        else:
            sources = {i: {ASKED} for i in relevant}
        facts = PersonFacts()
        if person.pid is not None:
            with self.sessions() as db:
                facts = PersonFacts.load(db, person.pid)
        outcome = self.rules.apply(index, list(sources), sources, constraints, facts,
                                   sensitive_ok=person.sensitive_ok)
        if relevant is None and len(outcome.kept) < k and constraints is not None \
                and not constraints.is_empty:
            # A narrow filter the generators missed: everything matching is ranked exactly.
            for item_id in index.matching(constraints):
                sources.setdefault(item_id, {"constraints"})
            outcome = self.rules.apply(index, list(sources), sources, constraints, facts,
                                       sensitive_ok=person.sensitive_ok)
        return self._rank(person, ctx, surface, index, outcome, sources, k, seed,
                          keep_order=relevant is not None and not person.personalized)

    def _generate(self, person: Person, ctx: dict[str, str], seed: int) -> dict[str, set[str]]:
        model = self.prefs.model
        pid = person.pid if person.pid is not None and person.personalized else POPULATION

        def repurchase(customer_id: str, _t: float, k: int) -> list[str]:
            # The repurchase model's own clock (the customer's newest event time) decides
            # what is due, so historical replays and live shops agree.
            return [due.item_id for due in model.repurchase_candidates(
                customer_id, k, role=person.role)]

        proposal = model.propose(pid, ctx, role=person.role, seed=seed,
                                 trending=self.trending.top(ctx),
                                 repurchase=repurchase if person.personalized else None)
        return proposal.sources

    def _rank(self, person: Person, ctx: dict[str, str], surface: Surface,
              index: CatalogIndex, outcome: Outcome, sources: dict[str, set[str]], k: int,
              seed: int, *, keep_order: bool) -> Decision:
        ids = outcome.kept
        if not ids:
            return Decision([], why_empty=outcome.why_empty(), sources=sources)
        if keep_order:  # unpersonalized search / similar: relevance decides
            ranked_ids, reasons, scores = ids, {}, {}
        else:
            pid = person.pid if person.personalized and person.pid else POPULATION
            ranked = self.prefs.rank(pid, ids, ctx, sensitive_ok=person.sensitive_ok,
                                     role=person.role if pid != POPULATION else "self",
                                     exploration=None if pid != POPULATION else 0.0,
                                     seed=seed)
            ranked_ids = [r.item_id for r in ranked]
            scores = {r.item_id: (r.score, r.uncertainty) for r in ranked}
            reasons = {r.item_id: self._reasons(r.reasons, sources.get(r.item_id, set()))
                       for r in ranked[:k * 2]} if pid != POPULATION else {}
        s = self.settings
        chosen = diversify(ranked_ids, index.item_vector, k, cosine=s.near_duplicate_cosine,
                           max_similar=s.max_near_duplicates)[:k]
        question = None
        if surface == "recommendations" and person.personalized and person.pid:
            question = self.prefs.question(person.pid, ranked_ids[:20])
        return Decision(chosen, {i: reasons[i] for i in chosen if i in reasons},
                        {i: scores[i] for i in chosen if i in scores}, question, None,
                        {i: sources.get(i, set()) for i in chosen})

    @staticmethod
    def _reasons(reasons: tuple[Reason, ...], sources: set[str]) -> tuple[Reason, ...]:
        """The model's reasons, plus "popular right now" for items trending by event time
        (it pushes up, so it only joins reasons that push up too)."""
        if "trending" not in sources or any(r.weight < 0 for r in reasons):
            return reasons
        return (*reasons, TRENDING)[:3] if len(reasons) < 3 else reasons
