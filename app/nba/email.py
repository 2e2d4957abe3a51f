"""A rendered marketing email for one person: the next best email offer (the NBA decides,
so consent, quiet hours, caps and anti-repetition apply) above the person's "for you"
items, headed by the newest creative a marketer approved for this person (its 600x300
email hero and its subject line; one for the offer's item first). Jinja2 with
autoescaping: no catalog, offer or copy text is trusted as HTML."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from jinja2 import Environment, select_autoescape
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.creatives.models import CreativeRow
from app.db.models import Profile
from app.nba import slots
from app.nba.engine import NextBestAction
from app.services.identity import cluster_ids

_ENV = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
TEMPLATE = _ENV.from_string("""<!doctype html>
<html><body style="font-family:sans-serif;max-width:600px;margin:auto">
<h1 style="font-size:20px">{{ shop }}</h1>
{% if creative %}<img src="{{ creative.image }}" alt="{{ creative.alt }}" width="600"
style="width:100%;height:auto;display:block">{% endif %}
{% if offer %}<div style="background:#fff3e0;padding:12px;border-radius:6px">
<strong>{{ offer.message }}</strong>{% if offer.discount %} &mdash; {{ (offer.discount * 100)
| round(0) | int }}% off{% endif %}</div>{% endif %}
<h2 style="font-size:16px">{{ title }}</h2>
<table role="presentation" width="100%">{% for it in items %}<tr>
<td>{% if it.image_url %}<img src="{{ it.image_url }}" alt="{{ it.title }}" width="80">
{% endif %}</td><td>{{ it.title }}</td>
<td style="text-align:right">{{ "%.2f"|format(it.price) }} {{ it.currency }}</td>
</tr>{% endfor %}</table>
<p style="font-size:11px;color:#777">You receive this because you agreed to marketing email.</p>
</body></html>""")


def render(db: Session, engine: NextBestAction, profile: Profile, *, shop: str, k: int,
           ranker: slots.Ranker | None, now: datetime, send: bool,
           base_url: str = "") -> dict[str, Any]:
    """{"html", "decision_id", "offer", "creative", "subject", "sendable", "reason"}. `send`
    records the touch. Image URLs are absolute under `base_url` (mail clients need it)."""
    decision = engine.decide(profile.id, ["email"], k=1, now=now, deliver=send,
                             include_items=False, context={"surface": "email"})
    chosen = decision["chosen"]
    blocked = [c for c in decision["candidates"] if c["removed_by"] in
               ("consent", "quiet_hours", "frequency_cap")]
    if not chosen and blocked:
        return {"html": None, "sendable": False, "decision_id": decision["id"],
                "offer": None, "reason": f"{blocked[0]['removed_by']}: {blocked[0]['reason']}"}
    fill = slots.fill(db, engine, profile, "for_you", k=k, session=None, ranker=ranker,
                      now=now)
    offer = ({"offer_id": chosen[0]["offer_id"], "message": chosen[0]["message"],
              "discount": chosen[0]["discount"]} if chosen else None)
    items = [str(i) for i in (chosen[0].get("items") or ())] if chosen else []
    creative = approved_creative(db, profile.id, items, base_url)
    html = TEMPLATE.render(shop=shop, offer=offer, title=fill["title"] or "For you",
                           items=fill["items"], creative=creative)
    return {"html": html, "sendable": True, "decision_id": decision["id"], "offer": offer,
            "creative": creative, "subject": creative["subject"] if creative else None,
            "reason": None}


def approved_creative(db: Session, profile_id: str, offer_items: list[str],
                      base_url: str) -> dict[str, Any] | None:
    """The newest approved creative with an email format made for this person (any profile
    of their merged cluster), preferring one for an item of the chosen offer; None if the
    marketers approved none. Only approved ones: a draft is not for customers' eyes."""
    rows = db.scalars(select(CreativeRow).where(
        CreativeRow.profile_id.in_(cluster_ids(db, profile_id)),
        CreativeRow.status == "approved").order_by(CreativeRow.updated_at.desc()).limit(50)
    ).all()
    rows = [r for r in rows if "email" in (r.formats or {})]
    if not rows:
        return None
    row = next((r for r in rows if r.item_id in offer_items), rows[0])
    copy = row.copy_text or {}
    version = row.version or 1
    suffix = f"?v={version}" if version > 1 else ""
    return {"id": row.id, "item_id": row.item_id, "version": version,
            "image": f"{base_url}/v1/creatives/{row.id}/image/email.png{suffix}",
            "alt": str(copy.get("headline") or ""),
            "subject": copy.get("subject") or None}
