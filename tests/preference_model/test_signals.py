"""Item 1: typed signals, their validation, context features and event weights."""

from __future__ import annotations

import math
from datetime import datetime

import pytest

from preference_model import (
    DEFAULT_EVENT_WEIGHTS,
    Context,
    EventWeights,
    InvalidSignalError,
    Signal,
)
from preference_model.signals import parse_attribute
from tests.preference_model.world import T0


@pytest.mark.parametrize("signal", [
    Signal("c", "stated", attribute="diet=vegan", at=T0, source="chat"),
    Signal("c", "stated", attribute="material=leather", value=-1, event_type="constraint", at=T0),
    Signal("c", "stated", item_id="i01", value=-0.5, at=T0),
    Signal("c", "inferred", item_id="i01", event_type="purchase", at=T0),
    Signal("c", "inferred", item_id="i01", event_type="rating", value=4, at=T0),
    Signal("c", "inferred", item_id="i01", event_type="click", role="child", at=T0),
    Signal("c", "sentiment", item_id="i01", value=-0.8, source="the red one is ugly", at=T0),
    Signal("c", "sentiment", attribute="color=red", value=0.4, at=T0),
    Signal("c", "context", context={"device": "mobile", "local_time": "2026-11-02T19:00:00+01:00"}),
    Signal("*", "external", item_id="i01", value=12.0, at=T0),
    Signal("c", "demographic", attribute="age_band=25-34", at=T0),
])
def test_valid_signals_pass(signal: Signal) -> None:
    signal.validate()


@pytest.mark.parametrize(("kwargs", "needle"), [
    ({"customer_id": "", "kind": "stated", "attribute": "diet=vegan"}, "customer_id"),
    ({"customer_id": 7, "kind": "stated", "attribute": "diet=vegan"}, "customer_id"),
    ({"customer_id": "c", "kind": "liked", "item_id": "i01"}, "kind"),
    ({"customer_id": "c", "kind": "stated"}, "exactly one"),
    ({"customer_id": "c", "kind": "stated", "item_id": "i01", "attribute": "a=b"}, "exactly one"),
    ({"customer_id": "c", "kind": "stated", "attribute": "vegan"}, "name=value"),
    ({"customer_id": "c", "kind": "stated", "item_id": "i01", "value": math.nan}, "finite"),
    ({"customer_id": "c", "kind": "stated", "item_id": "i01", "value": math.inf}, "finite"),
    ({"customer_id": "c", "kind": "stated", "item_id": "i01", "value": "1"}, "number"),
    ({"customer_id": "c", "kind": "stated", "item_id": "i01", "value": True}, "number"),
    ({"customer_id": "c", "kind": "stated", "item_id": "i01", "value": 3}, "[-1, 1]"),
    ({"customer_id": "c", "kind": "stated", "item_id": "i01", "role": "boss"}, "role"),
    ({"customer_id": "c", "kind": "stated", "item_id": 5}, "item_id"),
    ({"customer_id": "c", "kind": "inferred", "item_id": "i01", "event_type": "teleport"},
     "event_type"),
    ({"customer_id": "c", "kind": "inferred", "attribute": "diet=vegan"}, "item_id"),
    ({"customer_id": "c", "kind": "inferred", "item_id": "i01", "event_type": "rating",
      "value": 9}, "rating"),
    ({"customer_id": "c", "kind": "external"}, "item_id"),
    ({"customer_id": "c", "kind": "demographic", "item_id": "i01"}, "attribute"),
    ({"customer_id": "c", "kind": "context"}, "context"),
    ({"customer_id": "c", "kind": "context", "context": {"hour": 31}}, "hour"),
    ({"customer_id": "c", "kind": "context", "context": {"device": 3}}, "device"),
    ({"customer_id": "c", "kind": "stated", "item_id": "i01", "at": datetime(2026, 1, 1)},
     "timezone"),
])
def test_invalid_signals_raise_a_clear_error(kwargs: dict[str, object], needle: str) -> None:
    kwargs.setdefault("at", T0)
    with pytest.raises(InvalidSignalError, match=None) as info:
        Signal(**kwargs).validate()  # type: ignore[arg-type]
    assert needle in str(info.value)


def test_event_weights_order_and_ratings() -> None:
    w = EventWeights()
    order = ["view", "dwell", "click", "add_to_cart", "purchase"]
    weights = [w.weight(e, 1.0) for e in order]
    assert weights == sorted(weights) and weights[0] > 0
    assert w.weight("zoom", 1.0) == w.weight("dwell", 1.0)
    assert w.weight("dismiss", 1.0) < 0
    assert w.weight("rating", 1.0) == -1.0 and w.weight("rating", 5.0) == 1.0
    assert w.weight("rating", 2.0) < 0
    custom = EventWeights({**DEFAULT_EVENT_WEIGHTS, "click": 0.2})
    assert custom.weight("click", 1.0) == 0.2


def test_context_from_local_time() -> None:
    ctx = Context.from_mapping({"local_time": "2026-07-04T20:30:00-04:00", "device": "Mobile",
                                "weather": "rain", "ignored": "x"})
    assert (ctx.hour, ctx.weekday, ctx.season) == (20, 5, "summer")
    assert set(ctx.features()) == {"daypart=evening", "week=weekend", "season=summer",
                                   "device=mobile", "weather=rain"}
    south = Context.from_mapping({"local_time": "2026-07-04T08:00:00+10:00",
                                  "hemisphere": "south"})
    assert south.season == "winter" and "daypart=morning" in south.features()
    assert Context.from_mapping(None).features() == []


def test_parse_attribute_normalises() -> None:
    assert parse_attribute(" Diet = Vegan ") == ("diet", "vegan")
    with pytest.raises(InvalidSignalError):
        parse_attribute("=vegan")
