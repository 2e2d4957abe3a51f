"""The journey workflow on the job engine. Every process that runs jobs imports this module
(app/jobs WORKFLOW_MODULES); `setup(rt)` gives its steps the database and the NBA rules.

    run_journey(run_id, spec, profile_id, started_at)
        for each step: durable sleep -> stop check (a stop event since the start?) ->
        contact rules (consent, caps, quiet hours: a quiet-hours block sleeps until they
        end) -> the effect, once (ledger row + touch + webhook outbox, one transaction)
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app import jobs
from app.db.models import Event, utcnow
from app.nba import webhooks
from app.nba.journeys.spec import JourneySpec, Step
from app.nba.tables import JourneyRunRow, JourneyStepRow, TouchRow
from app.services.identity import cluster_ids

# No concurrency limit: a run spends nearly all its life in a durable sleep, and a sleeping
# workflow would hold a slot of a limited queue.
QUEUE = jobs.declare_queue("journeys")
# A step that hits a busy database (SQLite's single writer) is retried, not the journey
# lost: every step is idempotent (the ledger makes `perform` happen once).
def _step() -> Any:
    return jobs.step(retries_allowed=True, max_attempts=8, interval_seconds=0.5,
                     backoff_rate=2.0)


def setup(rt: Any) -> None:
    from app.nba.engine import NextBestAction
    from app.nba.propensities import Propensities

    jobs.provide("journeys", NextBestAction(rt.settings, rt.sessions, Propensities()))


def _nba() -> Any:
    return jobs.resource("journeys")


@_step()
def stopped_by(profile_id: str, stop_on: list[str], since_iso: str) -> str | None:
    """The stop event that happened since the run started, if any."""
    nba = _nba()
    since = datetime.fromisoformat(since_iso)
    with nba.sessions() as db:
        ids = cluster_ids(db, profile_id)
        row = db.execute(select(Event.type).where(
            Event.profile_id.in_(ids), Event.type.in_(stop_on),
            Event.occurred_at >= since).limit(1)).first()
    return None if row is None else str(row[0])


@_step()
def contact_check(profile_id: str, key: str, channel: str, offer_id: str | None
                  ) -> dict[str, Any]:
    """The NBA's contact rules for this one message: {"ok"} or the rule and reason, with
    `retry_at` (ISO) when quiet hours will end."""
    nba = _nba()
    return dict(nba.check(profile_id, key, channel, offer_id, datetime.now(UTC)))


@_step()
def perform(run_id: str, n: int, profile_id: str, step: dict[str, Any], outcome: str
            ) -> str:
    """The step's effect, exactly once: the ledger's unique (run, step) key commits with it."""
    nba = _nba()
    s = Step.model_validate(step)
    key = f"journey:{run_id.split(':')[0]}:{n}"
    with nba.sessions() as db:
        try:
            db.add(JourneyStepRow(run_id=run_id, profile_id=profile_id, step=n,
                                  action=key, outcome=outcome))
            db.flush()
        except IntegrityError:
            db.rollback()
            return "already done"
        if outcome == "sent":
            db.add(TouchRow(profile_id=profile_id, channel=s.channel, action=key,
                            offer_id=s.offer_id))
            if s.channel in ("email", "push", "sms"):
                webhooks.enqueue(db, profile_id, s.channel, {
                    "journey_run": run_id, "step": n, "customer_id": profile_id,
                    "channel": s.channel, "message": s.message, "offer_id": s.offer_id})
        _progress(db, run_id, n + 1, "running", f"step {n + 1}: {outcome}")
        db.commit()
    return outcome


@_step()
def finish(run_id: str, state: str, detail: str) -> None:
    nba = _nba()
    with nba.sessions() as db:
        run = db.get(JourneyRunRow, run_id)
        if run is not None:
            run.state, run.detail, run.updated_at = state, detail[:300], utcnow()
            db.commit()


def _progress(db: Any, run_id: str, step: int, state: str, detail: str) -> None:
    run = db.get(JourneyRunRow, run_id)
    if run is not None:
        run.step, run.state, run.detail, run.updated_at = step, state, detail[:300], utcnow()


@jobs.workflow()
def run_journey(run_id: str, spec_json: dict[str, Any], profile_id: str, started_at: str
                ) -> str:
    spec = JourneySpec.model_validate(spec_json)
    outcomes: list[str] = []
    for n, step in enumerate(spec.steps):
        if step.wait_seconds:
            jobs.sleep(step.wait_seconds)
        stop = stopped_by(profile_id, spec.stop_on, started_at)
        if stop is not None:
            finish(run_id, "stopped", f"stopped before step {n + 1}: {stop}")
            return "stopped"
        key = f"journey:{spec.id}:{n}"
        check = contact_check(profile_id, key, step.channel, step.offer_id)
        if check.get("retry_at"):  # quiet hours: wait for the morning, then look again
            wait = (datetime.fromisoformat(check["retry_at"]) - datetime.now(UTC))
            jobs.sleep(max(wait.total_seconds(), 0.0))
            check = contact_check(profile_id, key, step.channel, step.offer_id)
        outcome = "sent" if check.get("ok") else f"skipped: {check.get('reason')}"
        outcomes.append(perform(run_id, n, profile_id, step.model_dump(mode="json"), outcome))
    finish(run_id, "done", "; ".join(f"step {i + 1} {o}" for i, o in enumerate(outcomes)))
    return "done"


