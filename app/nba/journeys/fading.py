"""The fading-customer trigger: a scheduled scan (a DBOS cron schedule on the job engine,
`TAILOR_NBA_FADING_SCAN_CRON`) that starts each active `fading_customer` journey for the
customers whose churn propensity has reached the journey's threshold.

    scan_fading(scheduled_at)            one workflow per scheduled time (DBOS's id), so
        fading_people(at) -> [(journey, customer, episode)]        a step, recorded
        start_fading(journey, people)    Journeys.start_many: run ids are idempotency keys

Once per customer per episode: an episode is the stretch without a purchase that follows
the customer's last purchase, and the run id carries that purchase's time, so every scan of
one episode names the same run (started once, by whichever scan gets there first), and only
a new purchase, followed by fading again, starts another. Consent: the scan profiles
behaviour, so it needs `personalization`; a journey made only of outbound messages also
needs `marketing` (each step still runs the full contact rules when it is due).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from app import jobs
from app.db.models import Event, ItemRow
from app.nba.facts import CustomerFacts, discount_fraction, priced
from app.nba.journeys.spec import JourneySpec
from app.nba.journeys.workflow import QUEUE
from app.nba.scoring import OUTBOUND
from app.nba.tables import JourneyRow, RedemptionRow
from app.services import consent
from app.services.identity import roots_of

SCHEDULE = "nba-fading-scan"
HISTORY_DAYS = 730


def setup(rt: Any) -> None:
    jobs.declare_schedule(SCHEDULE, scan_fading, rt.settings.nba_fading_scan_cron, QUEUE)


def _nba() -> Any:
    return jobs.resource("journeys")


def _step() -> Any:  # retried on a busy database; both steps are idempotent
    return jobs.step(retries_allowed=True, max_attempts=8, interval_seconds=0.5,
                     backoff_rate=2.0)


def fading(db: Any, nba: Any, specs: list[JourneySpec], at: datetime
           ) -> list[tuple[str, str, str]]:
    """(journey id, root profile id, episode) for everyone at or above a journey's
    threshold now, with the consent the journey needs."""
    since = at - timedelta(days=HISTORY_DAYS)
    rows = db.execute(select(Event.profile_id, Event.item_id, Event.value,
                             Event.occurred_at, ItemRow.price, Event.context)
                      .join(ItemRow, ItemRow.id == Event.item_id)
                      .where(Event.type == "purchase", Event.occurred_at >= since,
                             Event.occurred_at <= at)).all()
    root = roots_of(db, {r[0] for r in rows})
    lines: dict[str, list[tuple[datetime, str, float, float, float | None]]] = \
        defaultdict(list)
    reference: dict[str, dict[str, float]] = defaultdict(dict)
    for pid, item, qty, when, price, ctx in rows:
        r = root[pid]
        reference[r][item] = float(price)
        lines[r].append((when, item, qty if qty and qty > 0 else 1.0, float(price),
                         (ctx or {}).get("unit_price")))
    redeemed: dict[str, list[tuple[datetime, frozenset[str], float]]] = defaultdict(list)
    for red in db.scalars(select(RedemptionRow).where(RedemptionRow.at >= since)):
        redeemed[red.profile_id].append((red.at, frozenset(red.items or ()),
                                         discount_fraction(red.discount_amount,
                                                           red.basket_value)))
    granted = consent.current_many(db, list(lines), nba.settings.default_consent_personalization)
    out = []
    for pid, ls in lines.items():
        ls.sort()
        facts = CustomerFacts(pid, purchases=priced(ls, redeemed.get(pid, [])),
                              reference=reference[pid])
        churn = nba.propensities.predict(facts, at)[0]["churn"].p
        episode = "fading:" + ls[-1][0].strftime("%Y%m%dT%H%M%S")
        for spec in specs:
            threshold = spec.trigger.threshold or 1.0
            outbound_only = all(s.channel in OUTBOUND for s in spec.steps)
            if (churn >= threshold and granted[pid]["personalization"]
                    and (granted[pid]["marketing"] or not outbound_only)):
                out.append((spec.id, pid, episode))
    return out


@_step()
def fading_people(at_iso: str) -> list[tuple[str, str, str]]:
    nba = _nba()
    with nba.sessions() as db:
        specs = [JourneySpec.model_validate(r.spec) for r in db.scalars(
            select(JourneyRow).where(JourneyRow.status == "active"))]
        specs = [s for s in specs if s.trigger.kind == "fading_customer"]
        return fading(db, nba, specs, datetime.fromisoformat(at_iso)) if specs else []


@_step()
def start_fading(journey_id: str, people: list[tuple[str, str]]) -> int:
    from app.nba.journeys.service import Journeys

    nba = _nba()
    with nba.sessions() as db:
        row = db.get(JourneyRow, journey_id)
        if row is None or row.status != "active":
            return 0
        spec = JourneySpec.model_validate(row.spec)
    return len(Journeys(nba.sessions).start_many(spec, [(p[0], p[1]) for p in people]))


@jobs.workflow()
def scan_fading(scheduled_at: datetime, _context: Any = None) -> int:
    found = fading_people(scheduled_at.isoformat())
    by_journey: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for journey_id, pid, episode in found:
        by_journey[journey_id].append((pid, episode))
    return sum(start_fading(j, people) for j, people in sorted(by_journey.items()))
