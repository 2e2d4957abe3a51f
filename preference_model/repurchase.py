"""Buy it again: each customer's repeat propensity per item, as one more logit term.

Two things are learned, both from the events' own timestamps (never the wall clock):

- per customer and item, a compact `PurchaseLog` (purchase occasions, quantities, first and
  last time); lines of one order (within `merge_hours`) count as one occasion;
- per item and per category, from everyone's purchases (`fit_repeat_stats`, run by
  `pretrain`): the share of buyers who bought again and their typical re-order interval.
  Item figures are shrunk towards their category's, and categories towards the shop's, so a
  rarely bought item borrows from its category ("consumables repeat, a sofa does not").

The term for an item the customer bought is hazard-shaped::

    p      = (k r + (n - 1)) / (k + n - 1)      repeat propensity: prior rate r, n occasions
    I      = exp(((n-1) log g + m log I0) / (n - 1 + m))   interval: own mean gap g, prior I0
             x sqrt(last quantity / own average quantity)    (stocked up: later)
    x      = (now - last purchase + horizon) / I       (horizon: "due within H days")
    timing = 2 min(x, 1)^2 - 1  before due (-1 right after purchase, +1 when due),
             1 / (1 + (x - 1) / overdue)  after (fades back to neutral when long overdue)
    term   = weight p log(1 + n) timing,  or -never_penalty when r < never_below

A shop can override the learned rate per item id, attribute ("repurchase=never") or
category (`PreferenceConfig.repurchase_overrides`): "repeat", "never" or a rate in [0, 1].
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from preference_model.errors import InvalidSignalError

DAY = 86_400.0
REPEAT_FLOOR = 0.9  # the rate an item overridden as "repeat" gets at least
# Rate assumed for a shop with no fitted statistics: neither pushes nor demotes much.
DEFAULT_RATE = 0.3
DEFAULT_INTERVAL_DAYS = 30.0


@dataclass
class PurchaseLog:
    """One customer's purchases of one item (for one role)."""

    n: int  # purchase occasions (lines of one order count once)
    qty: float  # total quantity
    first_at: float  # POSIX seconds
    last_at: float
    last_qty: float

    def add(self, at: float, qty: float, merge_s: float) -> None:
        """Count a purchase; events may arrive out of order (a backfill)."""
        if abs(at - self.last_at) <= merge_s:  # the same order
            self.qty += qty
            self.last_qty += qty
            return
        if abs(at - self.first_at) <= merge_s:  # a late line of the first order
            self.qty += qty
            return
        self.n += 1
        self.qty += qty
        if at > self.last_at:
            self.last_at, self.last_qty = at, qty
        self.first_at = min(self.first_at, at)

    def mean_gap_days(self) -> float | None:
        """The customer's own mean re-order interval, None before a second occasion."""
        if self.n < 2:
            return None
        return max(1.0, (self.last_at - self.first_at) / DAY / (self.n - 1))

    def to_json(self) -> list[float]:
        return [self.n, self.qty, self.first_at, self.last_at, self.last_qty]

    @classmethod
    def from_json(cls, raw: Sequence[Any]) -> PurchaseLog:
        n, q, f, la, lq = raw
        return cls(int(n), float(q), float(f), float(la), float(lq))


def record(logs: dict[str, PurchaseLog], item_id: str, at: float, qty: float, *,
           merge_s: float, cap: int) -> None:
    """Add one purchase to a customer's logs, keeping the `cap` most recently bought."""
    qty = qty if math.isfinite(qty) and qty > 0 else 1.0
    log = logs.get(item_id)
    if log is None:
        logs[item_id] = PurchaseLog(1, qty, at, at, qty)
        if len(logs) > cap:
            oldest = min(logs, key=lambda k: logs[k].last_at)
            del logs[oldest]
    else:
        log.add(at, qty, merge_s)


@dataclass(frozen=True)
class RepeatPrior:
    """How an item (or category) is re-bought across customers."""

    rate: float  # share of buyers who bought it on another occasion
    interval_days: float  # typical (geometric mean) re-order interval
    buyers: int = 0

    def to_json(self) -> list[float]:
        return [self.rate, self.interval_days, self.buyers]

    @classmethod
    def from_json(cls, raw: Sequence[Any]) -> RepeatPrior:
        r, i, b = raw
        return cls(float(r), float(i), int(b))


@dataclass
class RepeatStats:
    """Learned repeat rates and intervals per item id and category (shrunk, see module)."""

    items: dict[str, RepeatPrior]
    categories: dict[str, RepeatPrior]
    overall: RepeatPrior

    @classmethod
    def default(cls) -> RepeatStats:
        return cls({}, {}, RepeatPrior(DEFAULT_RATE, DEFAULT_INTERVAL_DAYS))

    def prior(self, item_id: str, category: str) -> RepeatPrior:
        item = self.items.get(item_id)
        if item is not None:
            return item
        return self.categories.get(category, self.overall)

    def to_json(self) -> dict[str, Any]:
        return {"items": {k: v.to_json() for k, v in self.items.items()},
                "categories": {k: v.to_json() for k, v in self.categories.items()},
                "overall": self.overall.to_json()}

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> RepeatStats:
        return cls({str(k): RepeatPrior.from_json(v) for k, v in raw["items"].items()},
                   {str(k): RepeatPrior.from_json(v) for k, v in raw["categories"].items()},
                   RepeatPrior.from_json(raw["overall"]))


def _shrunk(repeat: int, buyers: int, log_gaps: list[float], parent: RepeatPrior,
            strength: float) -> RepeatPrior:
    rate = (repeat + strength * parent.rate) / (buyers + strength)
    m = len(log_gaps)
    log_i = (sum(log_gaps) + strength * math.log(parent.interval_days)) / (m + strength)
    return RepeatPrior(rate, math.exp(log_i), buyers)


def fit_repeat_stats(purchases: Iterable[tuple[str, str, float, float]],
                     categories: Mapping[str, str], *, merge_hours: float = 12.0,
                     strength: float = 5.0) -> RepeatStats:
    """Repeat rates and intervals from (customer, item, POSIX time, quantity) purchases.

    `strength` is the pseudo-count of the shrinkage towards the parent (category, then
    the whole shop). Customers' logs are built as `record` builds them online."""
    logs: dict[tuple[str, str], PurchaseLog] = {}
    merge_s = merge_hours * 3600.0
    for customer, item, at, qty in sorted(purchases, key=lambda p: p[2]):
        key = (customer, item)
        log = logs.get(key)
        if log is None:
            logs[key] = PurchaseLog(1, qty, at, at, qty)
        else:
            log.add(at, qty, merge_s)
    if not logs:
        return RepeatStats.default()
    by_item: dict[str, list[PurchaseLog]] = defaultdict(list)
    for (_c, item), log in logs.items():
        by_item[item].append(log)

    def tally(group: Iterable[PurchaseLog]) -> tuple[int, int, list[float]]:
        group = list(group)
        gaps = [math.log(g) for g in (lg.mean_gap_days() for lg in group) if g is not None]
        return sum(lg.n >= 2 for lg in group), len(group), gaps

    rep, buyers, gaps = tally(logs.values())
    overall = RepeatPrior(rep / buyers, math.exp(sum(gaps) / len(gaps)) if gaps
                          else DEFAULT_INTERVAL_DAYS, buyers)
    by_cat: dict[str, list[PurchaseLog]] = defaultdict(list)
    for item, group in by_item.items():
        by_cat[categories.get(item, "")].extend(group)
    cats = {c: _shrunk(*tally(g), overall, strength) for c, g in by_cat.items() if c}
    items = {i: _shrunk(*tally(g), cats.get(categories.get(i, ""), overall), strength)
             for i, g in by_item.items()}
    return RepeatStats(items, cats, overall)


def parse_overrides(raw: Mapping[str, object]) -> dict[str, float]:
    """{"item id", "attr=value" or "category": "repeat" | "never" | rate} -> {key: rate};
    "repeat" becomes -1 (meaning: at least REPEAT_FLOOR)."""
    out: dict[str, float] = {}
    for key, value in raw.items():
        if not isinstance(key, str) or not key:
            raise InvalidSignalError(f"repurchase override key must be a non-empty string, "
                                     f"got {key!r}")
        if value == "repeat":
            out[key] = -1.0
        elif value == "never":
            out[key] = 0.0
        elif isinstance(value, int | float) and not isinstance(value, bool) \
                and math.isfinite(value) and 0 <= value <= 1:
            out[key] = float(value)
        else:
            raise InvalidSignalError(f"repurchase override for {key!r} must be 'repeat', "
                                     f"'never' or a rate in [0, 1], got {value!r}")
    return out


def overridden_rate(learned: float, overrides: Mapping[str, float],
                    keys: Sequence[str]) -> float:
    """The rate after the first matching override in `keys` (most specific first)."""
    for key in keys:
        rate = overrides.get(key)
        if rate is not None:
            return max(learned, REPEAT_FLOOR) if rate < 0 else rate
    return learned


@dataclass(frozen=True)
class RepeatParams:
    """The knobs of the term (from PreferenceConfig)."""

    weight: float = 3.0
    never_penalty: float = 4.0
    never_below: float = 0.03
    shrink: float = 2.0  # pseudo-occasions of the item's rate in the customer's propensity
    interval_shrink: float = 1.0  # pseudo-gaps of the item's interval
    overdue: float = 3.0  # intervals overdue for the push to halve
    horizon_days: float = 0.0  # count as due what falls due within this many days


@dataclass(frozen=True)
class Due:
    """Why an item the customer bought is (or is not) due again; `term` is its logit."""

    item_id: str
    term: float
    rate: float  # this customer's propensity to buy it again
    item_rate: float  # the item's (override applied) rate across customers
    interval_days: float  # expected interval for this customer
    elapsed_days: float
    n: int
    qty: float
    last_at: float
    own_interval: bool  # True when the interval comes from the customer's own re-orders


def due(item_id: str, log: PurchaseLog, prior: RepeatPrior, rate: float, now: float,
        params: RepeatParams) -> Due:
    """The repurchase term of one bought item at time `now` (POSIX seconds)."""
    n = log.n
    elapsed = max(0.0, now - log.last_at) / DAY
    gap = log.mean_gap_days()
    m = params.interval_shrink
    log_i = math.log(max(prior.interval_days, 1.0))
    if gap is not None:
        log_i = ((n - 1) * math.log(gap) + m * log_i) / (n - 1 + m)
    interval = math.exp(log_i)
    avg_qty = log.qty / n
    if avg_qty > 0 and log.last_qty > 0:
        interval *= min(2.0, max(0.5, log.last_qty / avg_qty)) ** 0.5
    if rate < params.never_below:
        return Due(item_id, -params.never_penalty, rate, rate, interval, elapsed, n, log.qty,
                   log.last_at, gap is not None)
    p = (params.shrink * rate + (n - 1)) / (params.shrink + n - 1)
    x = (elapsed + params.horizon_days) / interval
    timing = 2.0 * x * x - 1.0 if x < 1.0 else 1.0 / (1.0 + (x - 1.0) / params.overdue)
    term = params.weight * p * math.log1p(n) * timing
    return Due(item_id, term, p, rate, interval, elapsed, n, log.qty, log.last_at,
               gap is not None)


def _period(days: float) -> str:
    if days < 1.5:
        return "day"
    if days < 10:
        return f"{round(days)} days"
    if days < 7 * 8:
        weeks = round(days / 7)
        return "week" if weeks == 1 else f"{weeks} weeks"
    months = round(days / 30.4)
    return "month" if months == 1 else f"{months} months"


def reason_text(d: Due) -> str:
    """Plain words consistent with the sign of `d.term`."""
    times = "once" if d.n == 1 else "twice" if d.n == 2 else f"{d.n} times"
    if d.rate < 1e-9 or d.term <= -1e-9 and d.item_rate < 0.03:
        return "you already bought this"
    if d.term < 0:
        return f"you bought this {_ago(d.elapsed_days)}; not due again yet"
    if d.own_interval:
        text = f"you usually re-order this every {_period(d.interval_days)}"
        return f"{text} (you bought it {times})" if d.n >= 3 else text
    return (f"you bought this {_ago(d.elapsed_days)}; it is often re-ordered every "
            f"{_period(d.interval_days)}")


def _ago(days: float) -> str:
    if days < 1:
        return "today"
    if days < 2:
        return "yesterday"
    return f"{_period(days)} ago"
