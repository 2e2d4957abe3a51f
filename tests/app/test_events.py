"""Return channel: batches, idempotency, precise 422s, atomic mode, 413, durability, hook."""

from __future__ import annotations

from typing import Any

from sqlalchemy import create_engine, func, select

from app.db.models import Event
from tests.support import auth, new_key, sample_items


def _setup(client: Any) -> str:
    dev = new_key(client, "developer")
    assert client.put("/v1/items", json=sample_items(5), headers=auth(dev)).status_code == 200
    return dev


def ev(i: int, **kw: Any) -> dict[str, Any]:
    base = {"event_id": f"e-{i}", "type": "click", "visitor_id": "v-1", "item_id": "sku-1"}
    base.update(kw)
    return base


def _count(client: Any) -> int:
    # A separate engine: proves the rows are committed, not just visible to the request.
    engine = create_engine(client.app.state.settings.resolved_database_url)
    with engine.connect() as conn:
        n = conn.execute(select(func.count()).select_from(Event)).scalar_one()
    engine.dispose()
    return int(n)


def test_batch_accepted_durable_and_idempotent(client: Any) -> None:
    dev = _setup(client)
    seen: list[Any] = []
    client.app.state.runtime.hooks.events.append(lambda events: seen.extend(events))
    batch = [ev(i) for i in range(100)]
    r = client.post("/v1/events", json={"events": batch}, headers=auth(dev))
    assert r.status_code == 200, r.text
    assert r.json() == {"accepted": 100, "duplicates": 0, "rejected": [], "atomic": False}
    assert _count(client) == 100
    assert len(seen) == 100 and seen[0].weight == 0.5 and seen[0].item_id == "sku-1"
    # Re-sent: nothing counted twice, nothing handed to the model twice.
    r = client.post("/v1/events", json={"events": batch[:10] + [ev(500)]}, headers=auth(dev))
    assert r.json()["accepted"] == 1 and r.json()["duplicates"] == 10
    assert _count(client) == 101 and len(seen) == 101
    # Same id twice inside one batch.
    r = client.post("/v1/events", json={"events": [ev(900), ev(900)]}, headers=auth(dev))
    assert r.json()["accepted"] == 1 and r.json()["duplicates"] == 1


def test_every_event_type_and_weights(client: Any) -> None:
    dev = _setup(client)
    seen: list[Any] = []
    client.app.state.runtime.hooks.events.append(lambda events: seen.extend(events))
    types = ["impression", "view", "zoom", "click", "add_to_cart", "purchase", "dismiss"]
    batch = [ev(i, type=t) for i, t in enumerate(types)]
    batch += [ev(20, type="rating", value=1), ev(21, type="rating", value=5),
              ev(22, type="dwell", value=12.5), ev(23, type="purchase", value=2, role="child")]
    r = client.post("/v1/events", json={"events": batch}, headers=auth(dev))
    assert r.status_code == 200, r.text
    weights = {e.event_id: e.weight for e in seen}
    assert weights["e-1"] < weights["e-2"] < weights["e-3"] < weights["e-4"] < weights["e-5"]
    assert weights["e-6"] < 0 and weights["e-20"] == -1.0 and weights["e-21"] == 1.0
    assert next(e for e in seen if e.event_id == "e-23").role == "child"


def test_custom_event_types_via_settings(app_factory: Any, db_url: str) -> None:
    client = app_factory(db_url, event_weights={"wishlist": 0.6})
    dev = _setup(client)
    r = client.post("/v1/events", json={"events": [ev(1, type="wishlist")]}, headers=auth(dev))
    assert r.status_code == 200 and r.json()["accepted"] == 1


def test_bad_events_get_precise_errors_and_good_ones_stay(client: Any) -> None:
    dev = _setup(client)
    batch = [
        ev(0),
        ev(1, type="clack"),                          # unknown type
        ev(2, item_id="nope"),                        # not in catalog
        ev(3, type="rating", value=9),                # rating out of range
        {"event_id": "e-4", "type": "click", "item_id": "sku-1"},  # no subject
        ev(5, value="NaN"),                           # not finite
        ev(6, occurred_at="2999-01-01T00:00:00Z"),    # future
        ev(7, colour="red"),                          # unknown field
        ev(8, occurred_at="2026-01-01T10:00:00"),     # naive time
        "not an object",
        ev(10, type="view", item_id=None),            # item event without item
        ev(11, context={"device": "toaster"}),        # bad context value
        ev(12),
    ]
    r = client.post("/v1/events", json={"events": batch}, headers=auth(dev))
    assert r.status_code == 422
    body = r.json()
    assert body["accepted"] == 2
    by_index = {x["index"]: x for x in body["rejected"]}
    assert sorted(by_index) == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]
    fields = {i: by_index[i]["errors"][0]["field"] for i in by_index}
    assert fields[1] == "type" and "unknown event type 'clack'" in by_index[1]["errors"][0][
        "message"]
    assert fields[2] == "item_id" and "not in the catalog" in by_index[2]["errors"][0]["message"]
    assert fields[3] == "value" and fields[4] == "customer_id" and fields[5] == "value"
    assert fields[6] == "occurred_at" and fields[7] == "colour" and fields[8] == "occurred_at"
    assert fields[10] == "item_id" and fields[11] == "context.device"
    assert by_index[2]["event_id"] == "e-2" and by_index[9]["event_id"] is None
    assert _count(client) == 2


def test_atomic_mode_stores_nothing_on_error(client: Any) -> None:
    dev = _setup(client)
    r = client.post("/v1/events?atomic=true", json={"events": [ev(0), ev(1, type="x")]},
                    headers=auth(dev))
    assert r.status_code == 422 and r.json()["accepted"] == 0 and r.json()["atomic"]
    assert _count(client) == 0
    r = client.post("/v1/events?atomic=true", json={"events": [ev(0), ev(1)]},
                    headers=auth(dev))
    assert r.status_code == 200 and r.json()["accepted"] == 2


def test_malformed_bodies_and_limits(client: Any) -> None:
    dev = _setup(client)
    h = auth(dev)
    assert client.post("/v1/events", content=b"{oops", headers=h).status_code == 422
    assert client.post("/v1/events", json=[ev(0)], headers=h).status_code == 422
    assert client.post("/v1/events", json={"events": []}, headers=h).status_code == 422
    r = client.post("/v1/events", json={"events": [ev(0)], "extra": 1}, headers=h)
    assert r.status_code == 422 and "extra" in r.json()["error"]["message"]
    r = client.post("/v1/events", json={"events": [ev(i) for i in range(1001)]}, headers=h)
    assert r.status_code == 413 and "1000" in r.json()["error"]["message"]
    big = {"events": [ev(0, context={"page": "x" * 1999})] * 1000}
    r = client.post("/v1/events", json=big, headers=h)
    assert r.status_code == 413 and "bytes" in r.json()["error"]["message"]
    assert _count(client) == 0


def test_widget_key_only_for_its_own_visitor(client: Any) -> None:
    _setup(client)
    widget = new_key(client, "widget")
    session = client.post("/v1/widget/session", headers=auth(widget)).json()
    visitor, token = session["visitor_id"], session["visitor_token"]
    h = {**auth(widget), "X-Visitor-Token": token}
    r = client.post("/v1/events", json={"events": [ev(0, visitor_id=visitor)]}, headers=h)
    assert r.status_code == 200 and r.json()["accepted"] == 1
    r = client.post("/v1/events", json={"events": [ev(1, visitor_id="someone-else")]},
                    headers=h)
    assert r.status_code == 422
    assert r.json()["rejected"][0]["errors"][0]["field"] == "visitor_id"
    r = client.post("/v1/events", json={"events": [ev(2, visitor_id=visitor)]},
                    headers=auth(widget))
    assert r.status_code == 403 and "X-Visitor-Token" in r.json()["error"]["message"]
    bad = {**auth(widget), "X-Visitor-Token": token[:-2] + "00"}
    assert client.post("/v1/events", json={"events": [ev(3, visitor_id=visitor)]},
                       headers=bad).status_code == 403
    # The token resumes the same visitor.
    again = client.post("/v1/widget/session", json={"visitor_token": token},
                        headers=auth(widget)).json()
    assert again["visitor_id"] == visitor


def test_a_failing_hook_does_not_lose_the_events(client: Any) -> None:
    dev = _setup(client)

    def broken(_: Any) -> None:
        raise RuntimeError("model crashed")

    client.app.state.runtime.hooks.events.append(broken)
    r = client.post("/v1/events", json={"events": [ev(0)]}, headers=auth(dev))
    assert r.status_code == 200 and _count(client) == 1


def _widget(client: Any) -> tuple[str, dict[str, str]]:
    widget = new_key(client, "widget")
    session = client.post("/v1/widget/session", headers=auth(widget)).json()
    return session["visitor_id"], {**auth(widget), "X-Visitor-Token": session["visitor_token"]}


def test_widget_event_ids_never_shadow_server_events(client: Any) -> None:
    dev = _setup(client)
    visitor, wh = _widget(client)
    # The browser claims the id the shop's server will use for the real event.
    r = client.post("/v1/events", json={"events": [ev(0, event_id="order-X-1",
                                                       visitor_id=visitor)]}, headers=wh)
    assert r.status_code == 200 and r.json()["accepted"] == 1
    real = ev(0, event_id="order-X-1", visitor_id=visitor, type="purchase")
    r = client.post("/v1/events", json={"events": [real]}, headers=auth(dev))
    assert r.json() == {"accepted": 1, "duplicates": 0, "rejected": [], "atomic": False}
    # Each source still gets its own re-sends counted once.
    r = client.post("/v1/events", json={"events": [real]}, headers=auth(dev))
    assert r.json()["accepted"] == 0 and r.json()["duplicates"] == 1
    r = client.post("/v1/events", json={"events": [ev(0, event_id="order-X-1",
                                                       visitor_id=visitor)] * 2}, headers=wh)
    assert r.json()["accepted"] == 0 and r.json()["duplicates"] == 2
    # Another visitor's widget events have their own space too.
    other, wh2 = _widget(client)
    r = client.post("/v1/events", json={"events": [ev(0, event_id="order-X-1",
                                                       visitor_id=other)]}, headers=wh2)
    assert r.json()["accepted"] == 1
    # Server ids keep their raw form (re-sends from before the upgrade stay idempotent), so
    # the widget scope's prefix is reserved.
    engine = create_engine(client.app.state.settings.resolved_database_url)
    with engine.connect() as conn:
        keys = set(conn.execute(select(Event.idempotency_key)).scalars())
    engine.dispose()
    assert "order-X-1" in keys and f"wv:{visitor}:order-X-1" in keys and len(keys) == 3
    r = client.post("/v1/events", json={"events": [ev(1, event_id=f"wv:{visitor}:e-1")]},
                    headers=auth(dev))
    assert r.status_code == 422
    err = r.json()["rejected"][0]["errors"][0]
    assert err["field"] == "event_id" and "reserved" in err["message"]


def test_over_long_scoped_event_ids_are_rejected_precisely(db_url: str, tmp_path: Any) -> None:
    from app.db.base import make_engine, make_session_factory
    from app.db.migrate import upgrade
    from app.services import tombstones
    from app.services.catalog import import_rows
    from app.services.events import event_weights, ingest
    from app.settings import Settings
    from retrieval.catalog import Item

    upgrade(db_url)
    engine = make_engine(db_url)
    sessions = make_session_factory(engine, info=tombstones.session_info("test-secret"))
    visitor = "v-" + "a" * 60  # a long visitor id leaves less room in the 160-char key
    with sessions() as db:
        import_rows(db, [Item.model_validate(sample_items(1)[0])])
        result = ingest(db, [ev(0, event_id="x" * 128, visitor_id=visitor, item_id="sku-0"),
                             ev(1, event_id="y" * 90, visitor_id=visitor, item_id="sku-0")],
                        weights=event_weights(Settings()), widget_visitor=visitor)
    engine.dispose()
    assert len(result.accepted) == 1 and [r.index for r in result.rejected] == [0]
    err = result.rejected[0].errors[0]
    assert err.field == "event_id" and "at most 94" in err.message


def test_widget_keys_send_only_browser_event_types(app_factory: Any, db_url: str) -> None:
    client = app_factory(db_url)
    dev = _setup(client)
    visitor, wh = _widget(client)
    batch = [ev(0, visitor_id=visitor, type="purchase"), ev(1, visitor_id=visitor),
             ev(2, visitor_id=visitor, type="add_to_cart")]
    r = client.post("/v1/events", json={"events": batch}, headers=wh)
    assert r.status_code == 422 and r.json()["accepted"] == 2
    err = r.json()["rejected"][0]
    assert err["index"] == 0 and err["errors"][0]["field"] == "type"
    assert "may not send 'purchase'" in err["errors"][0]["message"]
    assert "TAILOR_WIDGET_EVENT_TYPES" in err["errors"][0]["message"]
    # The shop's server reports purchases.
    r = client.post("/v1/events", json={"events": [ev(3, visitor_id=visitor, type="purchase")]},
                    headers=auth(dev))
    assert r.status_code == 200 and r.json()["accepted"] == 1
    # A shop that reports purchases from the browser says so.
    shop = app_factory(db_url, widget_event_types=["click", "purchase"])
    visitor, wh = _widget(shop)
    r = shop.post("/v1/events", json={"events": [ev(4, visitor_id=visitor, type="purchase"),
                                                 ev(5, visitor_id=visitor, type="view")]},
                  headers=wh)
    assert r.json()["accepted"] == 1 and r.json()["rejected"][0]["index"] == 1


def test_the_api_weighs_events_with_the_models_table() -> None:
    """One table of weights (the library's); the service adds which types it accepts."""
    from app.services.events import event_weights
    from app.settings import DEFAULT_EVENT_TYPES, Settings
    from preference_model.signals import DEFAULT_EVENT_WEIGHTS as MODEL

    weights = event_weights(Settings(event_weights={"gift_wrap": 0.4, "click": 0.6}))
    assert set(weights) == {*DEFAULT_EVENT_TYPES, "gift_wrap"}
    assert {t: weights[t] for t in DEFAULT_EVENT_TYPES if t not in ("rating", "click")} == \
        {t: MODEL[t] for t in DEFAULT_EVENT_TYPES if t not in ("rating", "click")}
    assert weights["click"] == 0.6 and weights["gift_wrap"] == 0.4
    assert weights["impression"] == 0.0  # exposure is not preference
