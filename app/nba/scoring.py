"""Expected value of an action for one person:

    EV = p(response | person, context, action) x value (margin, not price) - cost

    p      the person's propensity to buy soon (buy_7d), moved in log-odds by the item's
           affinity (preference model), the discount (scaled by the person's discount
           response) and the offer kind's uplift
    value  the margin of what they would buy, after the discount (items' cost; unknown cost:
           the shop's default margin rate); offers on the whole catalog: the person's
           average order
    cost   sending it (per channel) + message fatigue (per outbound touch in the last 7
           days); the discount's cost is the margin it removes (shown as `discount_cost`)

The response parameters below are assumptions, stated once: a discount of d (fraction)
adds (ELASTICITY_BASE + ELASTICITY_SPAN x discount_response) x d to the log-odds."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from app.nba.actions import Action
from app.nba.offers import Economics

ELASTICITY_BASE = 1.0
ELASTICITY_SPAN = 8.0
UPLIFT = {"free_shipping": 0.35, "loyalty_points": 0.15, "bundle": 0.2, "content": 0.05}
OUTBOUND = frozenset({"email", "push", "sms"})


@dataclass(frozen=True)
class Costs:
    default_margin: float = 0.3
    fatigue: float = 0.05
    channel: Mapping[str, float] | None = None
    shipping: float = 0.0
    point_value: float = 0.01
    points: float = 0.0


@dataclass(frozen=True)
class Score:
    p: float
    value: float
    cost: float
    discount_cost: float
    ev: float

    def as_dict(self) -> dict[str, float]:
        return {k: round(v, 6) for k, v in self.__dict__.items()}


def logit(p: float) -> float:
    p = min(max(p, 1e-4), 1 - 1e-4)
    return math.log(p / (1 - p))


def sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-max(min(x, 30.0), -30.0)))


def elasticity(discount_response: float) -> float:
    return ELASTICITY_BASE + ELASTICITY_SPAN * discount_response


def p_response(base: float, discount: float, discount_response: float, *,
               affinity: float = 0.0, uplift: float = 0.0) -> float:
    return sigmoid(logit(base) + affinity + elasticity(discount_response) * discount + uplift)


def unit_margin(econ: Economics, discount: float, default_margin: float) -> float:
    cost = econ.cost if econ.cost is not None else econ.price * (1 - default_margin)
    return econ.price * (1 - discount) - cost


def score(action: Action, props: Mapping[str, float], econ: Mapping[str, Economics],
          avg_order: float, touches_7d: int, costs: Costs) -> Score:
    base = props.get("buy_7d", 0.05)
    dr = props.get("discount_response", 0.1)
    uplift = UPLIFT.get(action.offer_kind or action.kind, 0.0)
    d = action.discount
    known = [econ[i] for i in action.items if i in econ]
    if known:
        value = sum(unit_margin(e, d, costs.default_margin) for e in known) / len(known)
        price = sum(e.price for e in known) / len(known)
    else:  # the whole catalog: their usual basket at the shop's margin
        price = avg_order
        value = avg_order * (costs.default_margin - d)
    if action.offer_kind == "free_shipping":
        value -= costs.shipping
    if action.offer_kind == "loyalty_points":
        value -= costs.points * costs.point_value
    p = p_response(base, d, dr, affinity=action.affinity, uplift=uplift)
    fatigue = costs.fatigue * touches_7d if action.channel in OUTBOUND else 0.0
    send = (costs.channel or {}).get(action.channel, 0.0)
    cost = fatigue + send
    return Score(p, value, cost, p * price * d, p * value - cost)
