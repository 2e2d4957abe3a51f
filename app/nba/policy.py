"""Business rules that override the ranking, in the order they run. Each returns why it
removes an action (or None); the decision records which rule removed what.

    eligibility     the offer is active, live, within budget, on this channel, and the
                    person is in its segment
    consent         outbound channels (email, push, sms) need `marketing` and no refusal of
                    `channel_<name>`; item suggestions need `personalization`
    sensitive       an action about a sensitive topic needs `sensitive` consent
    quiet_hours     no outbound message in the person's local quiet hours
    frequency_cap   touches per channel and overall, per local day and per 7 days
    anti_repetition the same action not again within `nba_repeat_days`
    anti_conflict   (while choosing) one offer per conflict group; a non-stackable offer is
                    never combined with another offer
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from app.nba import clock
from app.nba.actions import Action
from app.nba.facts import CustomerFacts
from app.nba.offer_spec import OfferSpec
from app.nba.scoring import OUTBOUND
from app.nba.segments import matches
from app.nba.tables import OfferRow
from app.settings import Settings


@dataclass
class RuleContext:
    settings: Settings
    facts: CustomerFacts
    now: datetime
    tz: ZoneInfo
    segment: Mapping[str, Any]                  # facts a segment filter reads
    offers: Mapping[str, tuple[OfferRow, OfferSpec]] = field(default_factory=dict)


Rule = Callable[[Action, RuleContext], str | None]


def eligibility(a: Action, c: RuleContext) -> str | None:
    if a.offer_id is None:
        return None
    row, spec = c.offers[a.offer_id]
    if row.status != "active":
        return f"offer is {row.status}"
    if not spec.live(c.now):
        return "outside the offer's validity window"
    if a.channel not in spec.channels:
        return f"offer not available on {a.channel}"
    if spec.budget.max_redemptions is not None and row.redemptions >= spec.budget.max_redemptions:
        return "offer budget exhausted (redemptions)"
    if spec.budget.max_spend is not None and row.spent >= spec.budget.max_spend:
        return "offer budget exhausted (spend)"
    ok, failed = matches(spec.eligibility, c.segment)
    return None if ok else f"not in the offer's segment: {failed}"


def consent(a: Action, c: RuleContext) -> str | None:
    f = c.facts
    if a.channel in OUTBOUND:
        if not f.granted("marketing"):
            return "no marketing consent"
        if f.refused(f"channel_{a.channel}"):
            return f"the customer refused {a.channel}"
    if a.kind == "item" and not f.granted("personalization"):
        return "no consent to personalization"
    return None


def sensitive(a: Action, c: RuleContext) -> str | None:
    if a.topics and not c.facts.granted("sensitive"):
        return f"sensitive topic ({', '.join(a.topics)}) without consent"
    return None


def quiet_hours(a: Action, c: RuleContext) -> str | None:
    s = c.settings
    if a.channel in OUTBOUND and clock.in_quiet_hours(c.now, c.tz, s.nba_quiet_start,
                                                      s.nba_quiet_end):
        until = clock.quiet_until(c.now, c.tz, s.nba_quiet_start, s.nba_quiet_end)
        return f"quiet hours in {c.tz.key} until {until.isoformat()}"
    return None


def frequency_cap(a: Action, c: RuleContext) -> str | None:
    s = c.settings
    today = clock.day_start(c.now, c.tz)
    week = c.now - timedelta(days=7)
    touches = c.facts.touches
    outbound = a.channel in OUTBOUND
    for scope, caps, since in (("day", s.nba_caps_per_day, today),
                               ("7 days", s.nba_caps_per_week, week)):
        same = sum(t.channel == a.channel and t.at >= since for t in touches)
        if a.channel in caps and same >= caps[a.channel]:
            return f"{a.channel} cap reached: {same} per {scope} (cap {caps[a.channel]})"
        if outbound and "any" in caps:
            total = sum(t.channel in OUTBOUND and t.at >= since for t in touches)
            if total >= caps["any"]:
                return f"overall cap reached: {total} messages per {scope} (cap {caps['any']})"
    return None


def anti_repetition(a: Action, c: RuleContext) -> str | None:
    since = c.now - timedelta(days=c.settings.nba_repeat_days)
    last = [t.at for t in c.facts.touches if t.action == a.key and t.at >= since]
    if last:
        return f"already sent {a.key} on {max(last).isoformat()}"
    return None


RULES: tuple[tuple[str, Rule], ...] = (
    ("eligibility", eligibility), ("consent", consent), ("sensitive", sensitive),
    ("quiet_hours", quiet_hours), ("frequency_cap", frequency_cap),
    ("anti_repetition", anti_repetition))


def conflicts(a: Action, chosen: list[Action]) -> str | None:
    for b in chosen:
        if a.key == b.key:
            return f"{a.key} already chosen on {b.channel}"
        if a.kind == b.kind == "offer":
            if a.group and a.group == b.group:
                return f"conflicts with {b.key} (group {a.group})"
            if not (a.stackable and b.stackable):
                return f"does not stack with {b.key}"
    return None
