"""A rendered marketing email for one person: the next best email offer (the NBA decides,
so consent, quiet hours, caps and anti-repetition apply) above the person's "for you"
items. Jinja2 with autoescaping: no catalog or offer text is trusted as HTML."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from jinja2 import Environment, select_autoescape
from sqlalchemy.orm import Session

from app.db.models import Profile
from app.nba import slots
from app.nba.engine import NextBestAction

_ENV = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
TEMPLATE = _ENV.from_string("""<!doctype html>
<html><body style="font-family:sans-serif;max-width:600px;margin:auto">
<h1 style="font-size:20px">{{ shop }}</h1>
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
           ranker: slots.Ranker | None, now: datetime, send: bool) -> dict[str, Any]:
    """{"html", "decision_id", "offer", "sendable", "reason"}. `send` records the touch."""
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
    html = TEMPLATE.render(shop=shop, offer=offer, title=fill["title"] or "For you",
                           items=fill["items"])
    return {"html": html, "sendable": True, "decision_id": decision["id"], "offer": offer,
            "reason": None}
