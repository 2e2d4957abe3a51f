"""Repurchase: "due again" / "never twice" for what the customer bought.

The maths (purchase logs, inter-purchase rates, the due term) is in `preference_model.
repurchase`; this room applies it to the model's customers and catalog."""

from __future__ import annotations

import time
from datetime import datetime

import numpy as np

from preference_model.errors import InvalidSignalError
from preference_model.model.access import StateAccess
from preference_model.repurchase import (
    Due,
    PurchaseLog,
    RepeatParams,
    RepeatStats,
    due,
    overridden_rate,
    parse_overrides,
    record,
)
from preference_model.state import CustomerState, Taste


class Repurchasing(StateAccess):
    """The repurchase term of the score and the "buy it again" list (see module)."""

    def record_purchase(self, st: CustomerState, role: str, item_id: str, at: float,
                        quantity: float) -> None:
        """Count a purchase in the state's logs (the learner does this for every purchase
        event; `pretrain` for the history it seeds)."""
        cfg = self.config
        record(st.purchases.setdefault(role, {}), item_id, at, quantity,
               merge_s=cfg.repurchase_merge_hours * 3600.0, cap=cfg.repurchase_max_items)
        self.event_clock = max(self.event_clock, min(at, time.time()))

    def _repurchase_now(self, st: CustomerState | None, at: datetime | None) -> float:
        """The time the repurchase term is judged at: `at` if given; else the newest event
        time seen (this process's learning, the trained history, the customer's own),
        capped by the wall clock; the wall clock when no event was ever seen."""
        if at is not None:
            return at.timestamp()
        wall = time.time()
        newest = max(self.event_clock, st.updated_at if st is not None else 0.0)
        return min(wall, newest) if newest > 0 else wall

    def due(self, item_id: str, row: int, log: PurchaseLog, now: float) -> Due:
        """How due a repeat purchase of the item is at `now` (the repurchase term's input,
        and the words explain.py says about it)."""
        items, pop = self.require()
        cfg = self.config
        stats = pop.repeat or RepeatStats.default()
        category = items.categories[row]
        prior = stats.prior(item_id, category)
        rate = overridden_rate(prior.rate, self._parsed_overrides(),
                               [item_id, *items.attr_keys(row), category])
        weight = cfg.repurchase_weight if pop.repeat is not None \
            else cfg.repurchase_untrained_weight
        params = RepeatParams(weight, cfg.repurchase_never_penalty,
                              cfg.repurchase_never_below, cfg.repurchase_shrink,
                              overdue=cfg.repurchase_overdue,
                              horizon_days=cfg.repurchase_horizon_days)
        return due(item_id, log, prior, rate, now, params)

    def _parsed_overrides(self) -> dict[str, float]:
        raw, parsed = self._overrides
        if raw is not self.config.repurchase_overrides:  # the service swapped the config
            raw = self.config.repurchase_overrides
            parsed = parse_overrides(raw)
            self._overrides = (raw, parsed)
        return parsed

    def _repurchase_term(self, st: CustomerState, role: str, rows: np.ndarray,
                         now: float) -> np.ndarray | None:
        """The repurchase logit of `rows` (0 for what the customer never bought)."""
        logs = st.purchases.get(role)
        if not logs:
            return None
        items, _ = self.require()
        bought = {items.index[i]: (i, lg) for i, lg in logs.items() if i in items.index}
        if not bought:
            return None
        hit = np.nonzero(np.isin(rows, np.fromiter(bought, dtype=np.int64)))[0]
        if not len(hit):
            return None
        out = np.zeros(len(rows))
        taste = st.taste(role)
        for j in hit:
            item_id, lg = bought[int(rows[j])]
            term = self.due(item_id, int(rows[j]), lg, now).term
            out[j] = 0.0 if term > 0 and self._repurchase_blocked(taste, int(rows[j])) else term
        return out

    def _repurchase_blocked(self, taste: Taste | None, row: int) -> bool:
        """A habit never outranks what the customer said: no "due again" push for an item
        they disliked, or with an attribute they disliked or deleted from their profile."""
        if taste is None:
            return False
        items, _ = self.require()
        liked = taste.stated_items.get(items.ids[row])
        if liked is not None and liked.value < 0:
            return True
        for key in items.attr_keys(row):
            stated = taste.stated.get(key)
            if key in taste.suppressed or (stated is not None and stated.value < 0):
                return True
        return False

    def repurchase_candidates(self, customer_id: str, k: int = 20, *, role: str = "self",
                              at: datetime | None = None, due_only: bool = True,
                              ) -> list[Due]:
        """The customer's "buy it again" items, most due first, with why (`Due`): what a
        candidate generator feeds to `rank`. `due_only` keeps those with a positive term
        (due or overdue); False lists every bought item still in the catalog."""
        if isinstance(k, bool) or not isinstance(k, int) or k < 0:
            raise InvalidSignalError(f"k must be a non-negative integer, got {k!r}")
        self._args(customer_id, role, None, at)

        def run(st: CustomerState | None) -> list[Due]:
            items, _ = self.require()
            if st is None:
                return []
            now = self._repurchase_now(st, at)
            out = [self.due(i, items.index[i], lg, now)
                   for i, lg in st.purchases.get(role, {}).items()
                   if i in items.index and not items.removed[items.index[i]]]
            taste = st.taste(role)
            out = [d for d in out if not due_only or (
                d.term > 0 and not self._repurchase_blocked(taste, items.index[d.item_id]))]
            out.sort(key=lambda d: (-d.term, d.item_id))
            return out[:k]

        return self._read(customer_id, run)
