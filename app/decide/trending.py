"""Trending: what customers chose in a window before the newest event, by the events' own
timestamps (a replayed or imported history trends as it did then, not as the clock says),
overall and per context value (device, channel...)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Mapping
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import Event

# Choosing counts, browsing does not: a click is weak but real interest.
TRENDING_EVENTS = ("purchase", "add_to_cart", "click")
TOP = 50
MIN_COUNT = 2  # one click is not a trend


class Trending:
    """Counts recomputed at most every `refresh_seconds` per process (one grouped query)."""

    def __init__(self, sessions: sessionmaker[Session], window_hours: float,
                 refresh_seconds: float) -> None:
        self.sessions = sessions
        self.window = timedelta(hours=window_hours)
        self.refresh = refresh_seconds
        self._lock = threading.Lock()
        self._at = float("-inf")
        self._overall: list[str] = []
        self._by_context: dict[str, list[str]] = {}

    def top(self, context: Mapping[str, str] | None = None, k: int = TOP) -> list[str]:
        """The trending items, those trending in this context first."""
        self._maybe_refresh()
        out: dict[str, None] = {}
        for key, value in sorted((context or {}).items()):
            for item_id in self._by_context.get(f"{key}={value}", []):
                out.setdefault(item_id)
        for item_id in self._overall:
            out.setdefault(item_id)
        return list(out)[:k]

    def _maybe_refresh(self) -> None:
        if time.monotonic() - self._at < self.refresh:
            return
        with self._lock:
            if time.monotonic() - self._at < self.refresh:
                return
            self._overall, self._by_context = self._compute()
            self._at = time.monotonic()

    def _compute(self) -> tuple[list[str], dict[str, list[str]]]:
        with self.sessions() as db:
            newest = db.scalar(select(func.max(Event.occurred_at)).where(
                Event.type.in_(TRENDING_EVENTS), Event.item_id.is_not(None)))
            if newest is None:
                return [], {}
            rows = db.execute(select(Event.item_id, Event.context).where(
                Event.type.in_(TRENDING_EVENTS), Event.item_id.is_not(None),
                Event.occurred_at >= newest - self.window)).all()
        overall: Counter[str] = Counter()
        by_context: dict[str, Counter[str]] = {}
        for item_id, context in rows:
            overall[item_id] += 1
            for key, value in (context or {}).items():
                if isinstance(value, str):
                    by_context.setdefault(f"{key}={value}", Counter())[item_id] += 1
        def top(c: Counter[str]) -> list[str]:
            return [i for i, n in c.most_common(TOP) if n >= MIN_COUNT]

        return top(overall), {key: top(c) for key, c in by_context.items()}
