"""Extension points: the preference model and the index plug in here, the service calls them
after its own transaction has committed (so a hook never sees data that could roll back)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from retrieval.catalog import Item

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AcceptedEvent:
    event_id: str
    type: str
    profile_id: str  # the root profile: the person, after merges
    item_id: str | None
    value: float | None
    weight: float
    role: str
    session_id: str | None
    context: dict[str, Any]
    occurred_at: datetime
    seq: int | None = None  # events.id: the row in the learning outbox (learn_pending)


EventHook = Callable[[Sequence[AcceptedEvent]], None]
EraseHook = Callable[[Sequence[str]], None]  # profile ids being erased
MergeHook = Callable[[str, str], None]  # (survivor id, merged id)
CatalogHook = Callable[[Sequence[Item], Sequence[str]], None]  # (upserted items, removed ids)


@dataclass
class Hooks:
    events: list[EventHook] = field(default_factory=list)
    erase: list[EraseHook] = field(default_factory=list)
    merge: list[MergeHook] = field(default_factory=list)
    catalog: list[CatalogHook] = field(default_factory=list)

    def emit_events(self, events: Sequence[AcceptedEvent]) -> None:
        # The events are already durable; a failing learner must not fail the request.
        for hook in self.events:
            try:
                hook(events)
            except Exception:
                log.exception("event hook %r failed", hook)

    def emit_erase(self, profile_ids: Sequence[str]) -> None:
        for hook in self.erase:  # erasure hooks must not be skipped silently: let errors out
            hook(profile_ids)

    def emit_merge(self, survivor: str, merged: str) -> None:
        for hook in self.merge:
            try:
                hook(survivor, merged)
            except Exception:
                log.exception("merge hook %r failed", hook)

    def emit_catalog(self, items: Sequence[Item], removed: Sequence[str]) -> None:
        for hook in self.catalog:
            try:
                hook(items, removed)
            except Exception:
                log.exception("catalog hook %r failed", hook)
