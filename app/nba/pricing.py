"""Dynamic discounts: the level in the offer's range that maximizes expected margin
p(d) x margin(d) for this person, never above what the margin floor allows on any of the
offer's items. Inputs are behavioural only (buy_7d, discount_response, margins): no profile
attribute reaches price, which `fairness.audit` checks on the decisions actually made."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from app.nba.offer_spec import Dynamic
from app.nba.offers import Economics
from app.nba.scoring import p_response, unit_margin

PRICE_INPUTS = ("buy_7d", "discount_response")


def grid(dyn: Dynamic) -> list[float]:
    out, d = [], dyn.min_percent
    while d <= dyn.max_percent + 1e-9:
        out.append(round(d, 4))
        d += dyn.step
    return out


def choose(dyn: Dynamic, items: Sequence[Economics], floor: float,
           props: Mapping[str, float], default_margin: float, avg_order: float
           ) -> tuple[float, dict[str, Any]]:
    """(discount fraction, explanation). Items with unknown cost use the default margin."""
    cap = min((e.max_discount(floor) if e.cost is not None
               else max(0.0, 1 - (1 - default_margin) / (1 - floor)) for e in items),
              default=max(0.0, default_margin - floor))
    inputs = {k: round(float(props.get(k, 0.0)), 4) for k in PRICE_INPUTS}
    tried = []
    best = (-float("inf"), 0.0)
    for pct in grid(dyn):
        d = pct / 100
        if d > cap + 1e-9:
            tried.append({"percent": pct, "refused": "below the margin floor"})
            continue
        p = p_response(inputs["buy_7d"] or 0.05, d, inputs["discount_response"])
        margin = (sum(unit_margin(e, d, default_margin) for e in items) / len(items)
                  if items else avg_order * (default_margin - d))
        value = p * margin
        tried.append({"percent": pct, "p": round(p, 4), "margin": round(margin, 4),
                      "expected_margin": round(value, 4)})
        if value > best[0] + 1e-12:
            best = (value, d)
    return best[1], {"rule": "max expected margin p(d) x margin(d)", "inputs": inputs,
                     "max_percent_by_margin_floor": round(100 * cap, 2), "tried": tried,
                     "chosen_percent": round(100 * best[1], 2)}
