"""Tables of the next-best-action layer: offers, decisions, touches (what was sent where),
experiments and their assignments, journeys and their runs, webhooks and their outbox.

Rows about a person carry `profile_id` (the root profile at the time), so erasure finds them
(`app/services/privacy.py` lists them)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base
from app.db.models import BigId, utcnow
from app.db.types import UTCDateTime


class OfferRow(Base):
    __tablename__ = "nba_offers"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(24))
    status: Mapped[str] = mapped_column(String(12), default="draft")  # draft|active|paused
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)  # the validated OfferSpec
    spent: Mapped[float] = mapped_column(Float, default=0.0)  # budget used (currency)
    redemptions: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class DecisionRow(Base):
    """One next-best-action decision with everything needed to explain it later."""

    __tablename__ = "nba_decisions"
    __table_args__ = (Index("ix_nba_decisions_profile_session", "profile_id", "session"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    profile_id: Mapped[str] = mapped_column(String(40), index=True)
    session: Mapped[str] = mapped_column(String(128), default="")
    channel: Mapped[str] = mapped_column(String(60))
    chosen: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    candidates: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    rules: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    context: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class TouchRow(Base):
    """A touchpoint delivered to a person (shown, sent): frequency caps and anti-repetition
    count these."""

    __tablename__ = "nba_touches"
    __table_args__ = (Index("ix_nba_touches_profile_at", "profile_id", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    profile_id: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(120))  # the action key ("offer:o1", ...)
    offer_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    decision_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ExperimentRow(Base):
    __tablename__ = "nba_experiments"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(12), default="running")  # running|stopped
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AssignmentRow(Base):
    """First exposure of a person to an experiment, with the arm they saw; later exposures
    only count up (`exposures`)."""

    __tablename__ = "nba_assignments"
    __table_args__ = (UniqueConstraint("experiment_id", "profile_id",
                                       name="uq_nba_assignments_experiment_profile"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    experiment_id: Mapped[str] = mapped_column(String(64), index=True)
    profile_id: Mapped[str] = mapped_column(String(40), index=True)
    arm: Mapped[str] = mapped_column(String(64))
    exposures: Mapped[int] = mapped_column(Integer, default=1)
    first_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class JourneyRow(Base):
    __tablename__ = "nba_journeys"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(12), default="active")  # active|paused
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class JourneyRunRow(Base):
    """One person in one journey: the state the monitor page shows."""

    __tablename__ = "nba_journey_runs"
    __table_args__ = (Index("ix_nba_journey_runs_journey_state", "journey_id", "state"),)

    id: Mapped[str] = mapped_column(String(120), primary_key=True)  # = workflow id
    journey_id: Mapped[str] = mapped_column(String(64))
    profile_id: Mapped[str] = mapped_column(String(40), index=True)
    state: Mapped[str] = mapped_column(String(16), default="running")  # running|done|stopped
    step: Mapped[int] = mapped_column(Integer, default=0)
    detail: Mapped[str] = mapped_column(String(300), default="")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class JourneyStepRow(Base):
    """Ledger of executed journey steps: the unique key makes each step happen once."""

    __tablename__ = "nba_journey_steps"
    __table_args__ = (UniqueConstraint("run_id", "step", name="uq_nba_journey_steps_run_step"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(120))
    profile_id: Mapped[str] = mapped_column(String(40), index=True)
    step: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(120))
    outcome: Mapped[str] = mapped_column(String(200), default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class WebhookRow(Base):
    __tablename__ = "nba_webhooks"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    channel: Mapped[str] = mapped_column(String(16))  # push | sms | email | any
    secret: Mapped[str] = mapped_column(String(128))
    active: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class DeliveryRow(Base):
    """Webhook outbox: written with the decision, sent with retries and backoff."""

    __tablename__ = "nba_deliveries"
    __table_args__ = (Index("ix_nba_deliveries_status_next", "status", "next_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    webhook_id: Mapped[str] = mapped_column(String(64))
    profile_id: Mapped[str] = mapped_column(String(40), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(12), default="pending")  # pending|sent|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_error: Mapped[str] = mapped_column(Text, default="")


class RedemptionRow(Base):
    """One redemption of an offer by a person (the shop's checkout reports it): purchases of
    the offer's items around it were made below the list price, which the discount-response
    propensity reads."""

    __tablename__ = "nba_redemptions"
    __table_args__ = (Index("ix_nba_redemptions_profile_at", "profile_id", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    offer_id: Mapped[str] = mapped_column(String(64))
    profile_id: Mapped[str] = mapped_column(String(40))
    items: Mapped[list[str]] = mapped_column(JSON, default=list)  # discounted; [] = basket
    basket_value: Mapped[float] = mapped_column(Float)
    discount_amount: Mapped[float] = mapped_column(Float)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


PERSONAL = ("nba_decisions", "nba_touches", "nba_assignments", "nba_journey_runs",
            "nba_journey_steps", "nba_deliveries", "nba_redemptions")
NON_PERSONAL = ("nba_offers", "nba_experiments", "nba_journeys", "nba_webhooks")
