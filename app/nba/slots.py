"""Personalized page slots (the forward channel on the shop's own pages):

    for_you              the decision path's recommendations for the person
    because_you_viewed   items like the last one they viewed (same category), ranked
    buy_again            what they bought before that is bought again, most bought first
    new_in_style         the newest items in the categories they buy and view
    home_row             for_you with the next best on-site offer as a banner

Candidates go through the one decision path (`ItemSource`/`Ranker` from app/decide) when a
preference model runs; otherwise they keep their own order (labelled). Without consent to
personalization every slot is the popular items. Offers shown count against the web caps
(the NBA's rules run); quiet hours do not apply to a page the customer is looking at."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db.models import Event, ItemRow, Profile
from app.nba.engine import NextBestAction
from app.nba.facts import CustomerFacts, load

Slot = Literal["for_you", "because_you_viewed", "buy_again", "new_in_style", "home_row"]
SLOTS: tuple[str, ...] = ("for_you", "because_you_viewed", "buy_again", "new_in_style",
                          "home_row")
# (pid, candidate ids in their own order, session, k) -> ranked ids (decision path rules)
Ranker = Callable[[str, list[str], str, int], list[str]]


def card(row: ItemRow) -> dict[str, Any]:
    return {"id": row.id, "title": row.title, "price": row.price, "currency": row.currency,
            "category": row.category, "image_url": row.image_url}


def _popular(db: Session, k: int, exclude: frozenset[str] | set[str] = frozenset()
             ) -> list[str]:
    rows = db.execute(select(Event.item_id, func.count()).where(
        Event.type == "purchase", Event.item_id.is_not(None)).group_by(Event.item_id)
        .order_by(func.count().desc()).limit(k + len(exclude))).all()
    ids = [str(i) for i, _ in rows if i is not None and i not in exclude]
    if len(ids) < k:  # a new shop: in-stock items fill the rest
        more = db.scalars(select(ItemRow.id).where(ItemRow.active.is_(True))
                          .order_by(ItemRow.updated_at.desc()).limit(k * 3))
        ids += [i for i in more if i not in ids and i not in exclude]
    return ids[:k]


def _in_stock(db: Session, ids: Sequence[str]) -> dict[str, ItemRow]:
    rows = db.scalars(select(ItemRow).where(ItemRow.id.in_(list(ids)),
                                            ItemRow.active.is_(True))).all()
    return {r.id: r for r in rows if r.stock is None or r.stock > 0}


def fill(db: Session, engine: NextBestAction, profile: Profile, slot: str, *, k: int,
         session: str | None, ranker: Ranker | None, now: datetime | None = None
         ) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    facts = load(db, profile, now,
                 personalization_default=engine.settings.default_consent_personalization)
    session_key = session or now.strftime("%Y-%m-%d")
    out: dict[str, Any] = {"slot": slot, "customer_id": facts.pid, "personalized": True,
                           "title": "", "anchor": None, "offer": None, "ranked_by": None}
    if not facts.granted("personalization"):
        ids = _popular(db, k)
        out.update(personalized=False, title="Popular right now",
                   note="not personalized: no consent to personalization")
    else:
        ids, title, anchor = _candidates(db, facts, slot, k)
        out.update(title=title, anchor=anchor)
        if ranker is not None and slot in ("for_you", "home_row"):
            ids = ranker(facts.pid, [], session_key, k)
            out["ranked_by"] = "decision path"
        elif ranker is not None and ids:
            ids = ranker(facts.pid, ids, session_key, k)
            out["ranked_by"] = "decision path"
        else:
            out["ranked_by"] = "own order (no preference model running)"
    rows = _in_stock(db, ids)
    out["items"] = [card(rows[i]) for i in ids if i in rows][:k]
    if slot == "home_row" and out["personalized"]:
        decision = engine.decide(facts.pid, ["web"], k=1, session=session_key, now=now,
                                 deliver=True, include_items=False,
                                 context={"slot": slot})
        chosen = decision["chosen"]
        if chosen:
            out["offer"] = {"offer_id": chosen[0]["offer_id"], "message": chosen[0]["message"],
                            "discount": chosen[0]["discount"], "decision_id": decision["id"]}
    return out


def _candidates(db: Session, facts: CustomerFacts, slot: str, k: int
                ) -> tuple[list[str], str, str | None]:
    if slot == "buy_again":
        counts = Counter(p.item_id for p in facts.purchases)
        return [i for i, _ in counts.most_common()], "Buy it again", None
    if slot == "because_you_viewed":
        if not facts.viewed:
            return _popular(db, k), "Popular right now", None
        anchor = facts.viewed[0]
        cat = db.scalar(select(ItemRow.category).where(ItemRow.id == anchor))
        title = db.scalar(select(ItemRow.title).where(ItemRow.id == anchor)) or anchor
        ids = list(db.scalars(select(ItemRow.id).where(ItemRow.category == cat,
                                                       ItemRow.id != anchor).limit(200)))
        return ids, f"Because you viewed {title}", anchor
    if slot == "new_in_style":
        seen = {*facts.viewed, *facts.bought()}
        cats = list(db.scalars(select(ItemRow.category).where(ItemRow.id.in_(seen))))
        ids = list(db.scalars(select(ItemRow.id).where(ItemRow.category.in_(cats))
                              .order_by(ItemRow.updated_at.desc()).limit(200)))
        return [i for i in ids if i not in seen], "New in your style", None
    # for_you / home_row: the person's own recent interest, then popular items
    own = list(dict.fromkeys([*facts.carted, *facts.viewed]))
    return own + _popular(db, k, set(own)), "For you", None
