"""Next best action: expected-value ranking, every business rule, stored and explained
decisions; quiet hours and caps in the customer's time zone across daylight-saving days."""

from __future__ import annotations

from typing import Any

from tests.nba.helpers import ADMIN, consents, events, nba, offer, status


def buyer(client: Any, customer: str, tz: str = "UTC", when: str = "2026-03-01T12:00:00Z"
          ) -> None:
    events(client, customer,
           {"type": "purchase", "item_id": "sock-1", "value": 2, "occurred_at": when,
            "context": {"timezone": tz, "channel": "web"}},
           {"type": "view", "item_id": "shoe-1", "occurred_at": when})


def test_ranked_by_expected_value_stored_and_explained(shop: Any) -> None:
    buyer(shop, "c1")
    offer(shop, id="shoe2-10", value=10, items=["shoe-2"])       # margin 50 -> 42
    offer(shop, id="sock-10", value=10, items=["sock-1"])        # margin 7 -> 6
    d = nba(shop, "c1", at="2026-03-02T12:00:00Z", channels=["web"], include_items=False)
    assert [c["key"] for c in d["chosen"]] == ["offer:shoe2-10"]
    evs = {c["key"]: c["score"]["ev"] for c in d["candidates"]}
    assert evs["offer:shoe2-10"] > evs["offer:sock-10"] > 0
    sc = d["chosen"][0]["score"]
    assert abs(sc["ev"] - (sc["p"] * sc["value"] - sc["cost"])) < 1e-3
    assert abs(sc["value"] - (80 * 0.9 - 30)) < 1e-6  # margin, not price
    got = shop.get(f"/v1/decisions/{d['id']}", headers=ADMIN)
    assert got.status_code == 200
    body = got.json()
    assert body["candidates"] == d["candidates"] and body["rules"] == d["rules"]
    assert body["explanation"][0].startswith("Chosen: offer:shoe2-10 on web")
    assert "p(buy within 7 days) driven by" in body["explanation"][0]
    assert set(body["context"]["propensities"]) >= {"buy_7d", "buy_30d", "churn"}
    assert shop.get("/v1/decisions/nope", headers=ADMIN).status_code == 404


def test_consent_per_channel_and_sensitive_guardrail(shop: Any) -> None:
    buyer(shop, "c2")
    offer(shop, id="o-mail", items=["shoe-2"], channels=["email", "web"])
    offer(shop, id="o-vit", items=["vit-1"], sensitive_topics=["pregnancy"])
    d = nba(shop, "c2", at="2026-03-02T12:00:00Z", channels=["email", "web"],
            include_items=False, k=3)
    assert status(d, "offer:o-mail", "email")[1] == "consent"
    assert status(d, "offer:o-mail", "web")[0] == "chosen"
    assert status(d, "offer:o-vit", "web")[1] == "sensitive"
    consents(shop, "c2", marketing=True, sensitive=True)
    d = nba(shop, "c2", at="2026-03-02T12:00:00Z", channels=["email"], include_items=False)
    assert status(d, "offer:o-mail", "email")[0] == "chosen"
    r = shop.put("/v1/customers/c2/channels", json={"email": False}, headers=ADMIN)
    assert r.status_code == 200 and r.json()["channels"]["email"]["granted"] is False
    d = nba(shop, "c2", at="2026-03-02T12:00:00Z", channels=["email"], include_items=False)
    assert status(d, "offer:o-mail", "email")[2] == "the customer refused email"
    assert shop.put("/v1/customers/c2/channels", json={"email": "no"},
                    headers=ADMIN).status_code == 422


def test_quiet_hours_follow_the_customers_zone_across_dst(shop: Any) -> None:
    buyer(shop, "ny", tz="America/New_York")
    consents(shop, "ny", marketing=True)
    offer(shop, id="o-mail", items=["shoe-2"], channels=["email"])
    # 12:30 UTC is 07:30 EST the day before the change (quiet until 08:00) ...
    d = nba(shop, "ny", at="2026-03-07T12:30:00Z", channels=["email"], include_items=False)
    removed = status(d, "offer:o-mail", "email")
    assert removed[1] == "quiet_hours" and "2026-03-07T08:00:00-05:00" in removed[2]
    # ... and 08:30 EDT the day after: the same UTC time is no longer quiet.
    d = nba(shop, "ny", at="2026-03-09T12:30:00Z", channels=["email"], include_items=False)
    assert status(d, "offer:o-mail", "email")[0] == "chosen"
    # Quiet hours never block the web page the customer is looking at.
    offer(shop, id="o-web", items=["shoe-2"], channels=["web"], group=None)
    d = nba(shop, "ny", at="2026-03-07T03:00:00Z", channels=["web"], include_items=False)
    assert status(d, "offer:o-web", "web")[0] == "chosen"


def test_daily_cap_counts_the_local_day_on_a_dst_change(app_factory: Any, db_url: str
                                                        ) -> None:
    from tests.nba.conftest import CATALOG

    client = app_factory(db_url, nba_quiet_start=0, nba_quiet_end=0, nba_repeat_days=0,
                         nba_caps_per_day={"email": 1}, nba_caps_per_week={"email": 10})
    assert client.put("/v1/items", json=CATALOG, headers=ADMIN).status_code == 200
    for who, tz in (("ny", "America/New_York"), ("utc", "UTC")):
        buyer(client, who, tz=tz)
        consents(client, who, marketing=True)
    offer(client, id="o-mail", items=["shoe-2"], channels=["email"])

    def send(who: str, at: str) -> tuple[str, str | None, str]:
        d = nba(client, who, at=at, channels=["email"], include_items=False, deliver=True)
        return status(d, "offer:o-mail", "email")

    # New York, 8 March 2026: 23 hours long (05:00 UTC to 04:00 UTC next day).
    assert send("ny", "2026-03-08T05:30:00Z")[0] == "chosen"       # 00:30 EST, 8 March
    capped = send("ny", "2026-03-09T03:30:00Z")                      # 23:30 EDT, 8 March
    assert capped[1] == "frequency_cap" and "per day" in capped[2]
    assert send("ny", "2026-03-09T04:30:00Z")[0] == "chosen"        # 00:30 EDT, 9 March
    # The same UTC instants for a customer in UTC: 9 March 03:30 and 04:30 share a day.
    assert send("utc", "2026-03-09T03:30:00Z")[0] == "chosen"
    assert send("utc", "2026-03-09T04:30:00Z")[1] == "frequency_cap"


def test_anti_repetition_anti_conflict_and_eligibility(shop: Any) -> None:
    buyer(shop, "c3")
    offer(shop, id="g-a", items=["shoe-2"], value=10, group="shoes")
    offer(shop, id="g-b", items=["shoe-1"], value=5, group="shoes")
    offer(shop, id="solo", items=["sock-1"], value=5, stackable=False)
    offer(shop, id="vip", items=["shoe-2"], value=5, stackable=True,
          eligibility=[{"field": "frequency", "op": ">=", "value": 5}])
    d = nba(shop, "c3", at="2026-03-02T12:00:00Z", k=3, include_items=False, deliver=True)
    assert [c["key"] for c in d["chosen"]] == ["offer:g-a"]
    assert status(d, "offer:g-b", "web")[1] == "anti_conflict"
    assert status(d, "offer:solo", "web")[1] == "anti_conflict"
    assert "not in the offer's segment: frequency >= 5" in status(d, "offer:vip", "web")[2]
    assert {"rule": "anti_conflict", "removed": 2} in d["rules"]
    again = nba(shop, "c3", at="2026-03-03T12:00:00Z", include_items=False)
    assert status(again, "offer:g-a", "web")[1] == "anti_repetition"
    assert again["chosen"][0]["key"] != "offer:g-a"


def test_paused_and_expired_offers_are_not_candidates(shop: Any) -> None:
    buyer(shop, "c4")
    offer(shop, id="later", items=["shoe-2"], valid_from="2026-06-01T00:00:00Z")
    offer(shop, id="off", items=["shoe-2"])
    shop.post("/v1/offers/off/pause", headers=ADMIN)
    d = nba(shop, "c4", at="2026-03-02T12:00:00Z", include_items=False)
    assert status(d, "offer:later", "web")[2] == "outside the offer's validity window"
    assert all(c["key"] != "offer:off" for c in d["candidates"])
    assert d["chosen"] == [] and d["explanation"][0].startswith("Nothing was chosen")


def test_item_candidates_and_unknown_customer(shop: Any) -> None:
    buyer(shop, "c5")
    d = nba(shop, "c5", at="2026-03-02T12:00:00Z")
    assert {c["key"] for c in d["candidates"]} >= {"item:shoe-1"}
    r = shop.post("/v1/customers/ghost/next-best-action", json={"channels": ["web"]},
                  headers=ADMIN)
    assert r.status_code == 404
    r = shop.post("/v1/customers/c5/next-best-action", json={"channels": ["fax"]},
                  headers=ADMIN)
    assert r.status_code == 422


def test_propensities_api_with_drivers(shop: Any) -> None:
    buyer(shop, "c6")
    r = shop.get("/v1/customers/c6/propensities?at=2026-03-02T12:00:00Z", headers=ADMIN)
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body["propensities"]) == {"buy_7d", "buy_30d", "churn", "trade_up",
                                         "discount_response"}
    for p in body["propensities"].values():
        assert 0 < p["p"] < 1 and len(p["drivers"]) == 3
    assert body["features"]["frequency"] == 1.0
    # More recent orders raise p(buy within 30 days): the return channel refreshes it.
    for day in range(2, 9):
        events(shop, "c6", {"type": "purchase", "item_id": "shoe-2",
                            "occurred_at": f"2026-03-0{day}T10:00:00Z"})
    after = shop.get("/v1/customers/c6/propensities?at=2026-03-09T12:00:00Z",
                     headers=ADMIN).json()
    assert after["propensities"]["buy_30d"]["p"] > body["propensities"]["buy_30d"]["p"]
    assert after["propensities"]["churn"]["p"] < body["propensities"]["churn"]["p"]


def test_out_of_range_times_are_422(shop: Any) -> None:
    buyer(shop, "c7")
    r = shop.post("/v1/customers/c7/next-best-action", headers=ADMIN,
                  json={"channels": ["web"], "at": "9999-12-31T23:59:59Z"})
    assert r.status_code == 422
    r = shop.get("/v1/customers/c7/propensities?at=0001-01-01T00:00:00Z", headers=ADMIN)
    assert r.status_code == 422
