"""The business rules, each in one place, applied identically on every surface. Each rule
removes candidates and counts what it removed, so an empty result can say why."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import Event
from app.services.identity import cluster_ids
from retrieval import CatalogIndex, Filters, Item

# Sources that are the caller's own ask (a query, an item page): a sensitive item stays
# there (unpersonalized); the other sources are the shop proposing something unasked.
ASKED = "relevance"

WHY = {
    "constraints": "nothing in the catalog matches these filters",
    "stock": "everything matching is out of stock",
    "dismissed": "everything matching was dismissed by the customer",
    "bought": "everything matching was already bought and is not bought twice",
    "sensitive": "everything matching concerns a sensitive topic the customer has not "
                 "consented to personalization on",
}


@dataclass(frozen=True)
class PersonFacts:
    """What the rules need to know about one person (their whole identity cluster)."""

    dismissed: frozenset[str] = frozenset()
    bought: frozenset[str] = frozenset()

    @classmethod
    def load(cls, db: Session, pid: str) -> PersonFacts:
        ids = cluster_ids(db, pid)
        rows = db.execute(select(Event.type, Event.item_id).where(
            Event.profile_id.in_(ids), Event.type.in_(("dismiss", "purchase")),
            Event.item_id.is_not(None))).all()
        return cls(frozenset(str(i) for t, i in rows if t == "dismiss"),
                   frozenset(str(i) for t, i in rows if t == "purchase"))


@dataclass
class Outcome:
    kept: list[str]
    removed: dict[str, int] = field(default_factory=dict)

    def why_empty(self) -> str:
        """The rule that removed the last remaining items (rules run in order, so earlier
        ones only thinned the candidates: "out of stock" means everything matching)."""
        last = [rule for rule, n in self.removed.items() if n]
        return WHY[last[-1]] if last else "the catalog has no items to choose from yet"


class Rules:
    """Rules for one shop (settings) applied to candidate ids for one person."""

    def __init__(self, non_repeatable_categories: Sequence[str]) -> None:
        self.non_repeatable = tuple(c.strip().lower() for c in non_repeatable_categories)

    def repeatable(self, item: Item) -> bool:
        """An item's own `repeatable` attribute wins; else its category decides; else yes
        (consumables dominate repeat purchases: a shop lists what is bought once)."""
        own = [v.lower() for v in item.attributes.get("repeatable", [])]
        if own:
            return own[0] in ("yes", "true", "1")
        cat = item.category.lower()
        return not any(cat == c or cat.startswith(f"{c} >") for c in self.non_repeatable)

    def apply(self, index: CatalogIndex, ids: Sequence[str], sources: dict[str, set[str]],
              constraints: Filters | None, facts: PersonFacts, *, sensitive_ok: bool
              ) -> Outcome:
        ok = index.admits(ids, constraints)
        out = Outcome([i for i, good in zip(ids, ok, strict=True) if good])
        out.removed["constraints"] = len(ids) - len(out.kept)
        items = {i: index.get(i) for i in out.kept}
        checks: list[tuple[str, Callable[[Item], bool]]] = [
            # unknown stock (None) counts as available
            ("stock", lambda it: it.stock is None or it.stock > 0),
            ("dismissed", lambda it: it.id not in facts.dismissed),
            ("bought", lambda it: it.id not in facts.bought or self.repeatable(it)),
            ("sensitive", lambda it: sensitive_ok or not it.sensitive_topics
             or ASKED in sources.get(it.id, set())),
        ]
        for name, check in checks:
            before = len(out.kept)
            out.kept = [i for i in out.kept if check(items[i])]
            out.removed[name] = before - len(out.kept)
        return out


def diversify(ranked: Sequence[str], vectors: Callable[[str], np.ndarray], k: int, *,
              cosine: float, max_similar: int) -> list[str]:
    """At most `max_similar` near-duplicates (content cosine >= `cosine`) of one another in
    the list; the extra ones move below everything else, so diversity never empties a list."""
    chosen: list[str] = []
    embs: list[np.ndarray] = []
    later: list[str] = []
    for n, item_id in enumerate(ranked):
        if len(chosen) >= k:  # only the list shown needs to be diverse
            return chosen + later + list(ranked[n:])
        v = vectors(item_id)
        if embs and int((np.stack(embs) @ v >= cosine).sum()) >= max_similar:
            later.append(item_id)
            continue
        chosen.append(item_id)
        embs.append(v)
    return chosen + later
