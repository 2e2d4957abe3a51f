"""Candidate actions: what the shop could do for a person on a channel right now. An offer
on each of its channels, an item recommendation (from the one decision path), or content.
`key` names the action across decisions (anti-repetition counts it)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from app.nba.offer_spec import OfferSpec


@dataclass(frozen=True)
class Action:
    key: str
    kind: str                      # offer | item | content
    channel: str
    offer_id: str | None = None
    offer_kind: str | None = None
    items: tuple[str, ...] = ()
    discount: float = 0.0          # fraction of price
    topics: tuple[str, ...] = ()   # sensitive topics it touches
    group: str | None = None       # anti-conflict group
    stackable: bool = True
    message: str = ""
    affinity: float = 0.0          # log-odds from the preference model (items)
    pricing: dict[str, Any] = field(default_factory=dict)

    def with_discount(self, discount: float, pricing: dict[str, Any]) -> Action:
        return replace(self, discount=discount, pricing=pricing)


def offer_actions(offers: Sequence[tuple[str, OfferSpec]], channels: Sequence[str]
                  ) -> list[Action]:
    out = []
    for status, spec in offers:
        if status != "active":
            continue
        for channel in channels:
            out.append(Action(
                key=f"offer:{spec.id}", kind="offer", channel=channel, offer_id=spec.id,
                offer_kind=spec.kind, items=tuple(spec.item_ids()), discount=spec.percent(),
                topics=tuple(spec.sensitive_topics), group=spec.group,
                stackable=spec.stackable, message=spec.message or spec.name))
    return out


def item_actions(items: Sequence[tuple[str, float, tuple[str, ...]]], channels: Sequence[str]
                 ) -> list[Action]:
    """(item id, affinity log-odds, sensitive topics) from the decision path."""
    return [Action(key=f"item:{item_id}", kind="item", channel=channel, items=(item_id,),
                   topics=topics, affinity=affinity)
            for item_id, affinity, topics in items for channel in channels]
