"""Delivery slots (JSON + snippet) and omnichannel: events from web, app, email and the
store update one profile, and one channel shapes the next touchpoint on another."""

from __future__ import annotations

from typing import Any

from tests.nba.helpers import ADMIN, consents, events, nba, offer, status
from tests.support import auth, new_key


def slot(client: Any, name: str, who: str, headers: dict[str, str] = ADMIN, **q: Any
         ) -> dict[str, Any]:
    r = client.get(f"/v1/slots/{name}", params={"customer_id": who} | q, headers=headers)
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_slots(shop: Any) -> None:
    events(shop, "s1",
           {"type": "purchase", "item_id": "sock-1", "value": 3,
            "occurred_at": "2026-03-01T10:00:00Z"},
           {"type": "purchase", "item_id": "shoe-2", "occurred_at": "2026-03-01T10:00:00Z"},
           {"type": "purchase", "item_id": "sock-1", "occurred_at": "2026-03-05T10:00:00Z"},
           {"type": "view", "item_id": "shoe-1", "occurred_at": "2026-03-06T10:00:00Z"})
    again = slot(shop, "buy_again", "s1")
    assert [i["id"] for i in again["items"]] == ["sock-1", "shoe-2"]
    viewed = slot(shop, "because_you_viewed", "s1")
    assert viewed["title"] == "Because you viewed Trail shoe" and viewed["anchor"] == "shoe-1"
    assert [i["id"] for i in viewed["items"]] == ["shoe-2"]  # same category, not itself
    assert "cost" not in viewed["items"][0]
    assert slot(shop, "for_you", "s1")["items"][0]["id"] == "shoe-1"
    offer(shop, id="banner", items=["shoe-2"], message="10% off road shoes")
    home = slot(shop, "home_row", "s1")
    assert home["offer"]["message"] == "10% off road shoes"
    assert shop.get("/v1/slots/nope", params={"customer_id": "s1"}, headers=ADMIN
                    ).status_code == 404
    assert shop.get("/v1/slots/for_you", headers=ADMIN).status_code == 422
    js = shop.get("/v1/slots/snippet.js")
    assert js.status_code == 200 and "data-tailor-slot" in js.text


def test_slots_honour_consent_and_widget_scope(shop: Any) -> None:
    events(shop, "s2", {"type": "view", "item_id": "shoe-1"})
    consents(shop, "s2", personalization=False)
    out = slot(shop, "for_you", "s2")
    assert out["personalized"] is False and out["title"] == "Popular right now"
    widget = new_key(shop, "widget")
    r = shop.post("/v1/widget/session", headers=auth(widget))
    assert r.status_code in (200, 201), r.text
    body = r.json()
    token, visitor = body["visitor_token"], body["visitor_id"]
    h = auth(widget) | {"X-Visitor-Token": token}
    assert slot(shop, "for_you", visitor, headers=h)["customer_id"]
    assert shop.get("/v1/slots/for_you", params={"customer_id": "s2"}, headers=h
                    ).status_code == 403


def test_home_row_offers_count_against_the_web_cap(app_factory: Any, db_url: str) -> None:
    from tests.nba.conftest import CATALOG

    client = app_factory(db_url, nba_caps_per_day={"web": 1}, nba_repeat_days=0)
    assert client.put("/v1/items", json=CATALOG, headers=ADMIN).status_code == 200
    events(client, "s3", {"type": "view", "item_id": "shoe-1"})
    offer(client, id="banner", items=["shoe-2"])
    assert slot(client, "home_row", "s3")["offer"] is not None
    assert slot(client, "home_row", "s3")["offer"] is None  # capped for today


def test_one_profile_across_channels_store_purchase_shapes_email(shop: Any) -> None:
    dev = auth(shop.developer)
    when = "2026-03-02T15:00:00Z"
    for channel, etype, item in (("web", "view", "shoe-1"), ("app", "add_to_cart", "shoe-1"),
                                 ("email", "click", "shoe-2"), ("store", "purchase", "shoe-2")):
        r = shop.post("/v1/events", headers=dev, json={"events": [{
            "event_id": f"omni-{channel}", "type": etype, "customer_id": "omni",
            "item_id": item, "occurred_at": when, "context": {"channel": channel}}]})
        assert r.status_code == 200, r.text
    consents(shop, "omni", marketing=True)
    # One profile holds all four channels' events.
    export = shop.get("/v1/customers/omni/export", headers=ADMIN).json()
    assert {e["context"]["channel"] for e in export["events"]} == {"web", "app", "email",
                                                                   "store"}
    # An offer for customers whose last touch was the shop floor: the store purchase makes
    # the email the next best action; a web-only customer does not qualify.
    offer(shop, id="in-store-thanks", items=["sock-1"], channels=["email"],
          eligibility=[{"field": "channel_last", "op": "==", "value": "store"}])
    d = nba(shop, "omni", at="2026-03-02T16:00:00Z", channels=["email"], include_items=False)
    assert status(d, "offer:in-store-thanks", "email")[0] == "chosen"
    events(shop, "webonly", {"type": "view", "item_id": "shoe-1",
                             "occurred_at": when, "context": {"channel": "web"}})
    consents(shop, "webonly", marketing=True)
    d = nba(shop, "webonly", at="2026-03-02T16:00:00Z", channels=["email"],
            include_items=False)
    assert status(d, "offer:in-store-thanks", "email")[1] == "eligibility"
    # The store purchase fills the web page's "buy it again" and the app's cart shows as
    # the freshest interest in "for you".
    assert [i["id"] for i in slot(shop, "buy_again", "omni")["items"]] == ["shoe-2"]
    assert slot(shop, "for_you", "omni")["items"][0]["id"] == "shoe-1"


def test_rendered_email_honours_consent_and_escapes(app_factory: Any, db_url: str) -> None:
    from tests.nba.conftest import CATALOG

    # Quiet hours off: the email is rendered at the test's own clock time.
    shop = app_factory(db_url, nba_quiet_start=0, nba_quiet_end=0)
    assert shop.put("/v1/items", json=CATALOG, headers=ADMIN).status_code == 200
    events(shop, "em", {"type": "purchase", "item_id": "sock-1",
                        "occurred_at": "2026-03-01T10:00:00Z"},
           {"type": "view", "item_id": "shoe-1"})
    offer(shop, id="mail", items=["shoe-2"], channels=["email"],
          message="<b>Spring</b> sale")
    r = shop.get("/v1/customers/em/email", headers=ADMIN)
    assert r.status_code == 200, r.text
    assert r.json()["sendable"] is False and r.json()["reason"].startswith("consent")
    consents(shop, "em", marketing=True)
    body = shop.get("/v1/customers/em/email", params={"send": "true"}, headers=ADMIN).json()
    assert body["sendable"] is True, body
    assert "&lt;b&gt;Spring&lt;/b&gt; sale" in body["html"] and "Trail shoe" in body["html"]
    assert body["offer"]["offer_id"] == "mail"
    again = shop.get("/v1/customers/em/email", headers=ADMIN).json()  # cap: 1 email a day
    assert again["sendable"] is False and again["reason"].startswith("frequency_cap")


def test_prefilled_form(shop: Any) -> None:
    r = shop.post("/v1/identify", headers=ADMIN, json={
        "customer_id": "form-1", "email": "Jane.Doe@example.com", "phone": "(555) 123-4567"})
    assert r.status_code in (200, 201), r.text
    out = shop.get("/v1/customers/form-1/form", headers=ADMIN)
    assert out.status_code == 200, out.text
    assert out.json()["fields"] == {"email": "Jane.Doe@example.com", "phone": "(555) 123-4567"}
    assert shop.get("/v1/customers/nobody/form", headers=ADMIN).status_code == 404


def test_the_email_carries_the_approved_creative_for_the_offer_item(
        app_factory: Any, db_url: str, tmp_path: Any) -> None:
    """The creatives issue's email hero: the newest approved creative made for this person
    heads the email (the offer's item first) with its subject line; drafts never do."""
    from app.creatives.models import CreativeRow
    from app.services import identity
    from tests.nba.conftest import CATALOG

    shop = app_factory(db_url, nba_quiet_start=0, nba_quiet_end=0)
    assert shop.put("/v1/items", json=CATALOG, headers=ADMIN).status_code == 200
    events(shop, "hero", {"type": "view", "item_id": "shoe-1"})
    consents(shop, "hero", marketing=True)
    offer(shop, id="hero-offer", items=["shoe-2"], channels=["email"], message="Trail week")
    assert shop.get("/v1/customers/hero/email", headers=ADMIN).json()["creative"] is None
    rt = shop.app.state.runtime
    png = tmp_path / "email.png"
    png.write_bytes(b"\x89PNG")
    with rt.sessions() as db:
        pid = identity.resolve(db, "hero").id
        for cid, item, status, headline in (
                ("cr-other", "sock-1", "approved", "Socks <for> you"),
                ("cr-offer", "shoe-2", "approved", "Trail shoes, your pace"),
                ("cr-draft", "shoe-2", "draft", "Not yet")):
            db.add(CreativeRow(
                id=cid, job_id=f"job-{cid}", variant=0, audience_kind="customer",
                audience_ref="hero", profile_id=pid, item_id=item, status=status, seed=1,
                model="tiny", brief={}, copy_text={"headline": headline,
                                                   "subject": f"{headline}!"},
                formats={"email": {"width": 600, "height": 300,
                                   "files": {"png": str(png), "webp": str(png)}}},
                version=2 if cid == "cr-offer" else 1))
        db.commit()
    body = shop.get("/v1/customers/hero/email", headers=ADMIN).json()
    assert body["sendable"] is True and body["offer"]["offer_id"] == "hero-offer", body
    assert body["creative"]["id"] == "cr-offer"  # the offer's item, not the draft
    assert body["subject"] == "Trail shoes, your pace!"
    assert body["creative"]["image"].endswith("/v1/creatives/cr-offer/image/email.png?v=2")
    assert body["creative"]["image"].startswith("http")  # absolute, for mail clients
    assert 'alt="Trail shoes, your pace"' in body["html"]
    assert body["creative"]["image"].replace("&", "&amp;") in body["html"]
