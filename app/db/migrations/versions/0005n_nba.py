"""next best action: offers, decisions, touches, experiments, assignments, journeys,
journey runs and steps, webhooks and their delivery outbox

Revision ID: 0005n_nba
Revises: 0005c_creatives
Create Date: 2026-12-01 19:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.db.types import UTCDateTime

revision: str = "0005n_nba"
down_revision: str | None = "0005c_creatives"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _id() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column("id", BIG, autoincrement=True, nullable=False)


def upgrade() -> None:
    op.create_table(
        "nba_offers",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("spent", sa.Float(), nullable=False),
        sa.Column("redemptions", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nba_offers")))
    op.create_table(
        "nba_decisions",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("profile_id", sa.String(40), nullable=False),
        sa.Column("session", sa.String(128), nullable=False),
        sa.Column("channel", sa.String(60), nullable=False),
        sa.Column("chosen", sa.JSON(), nullable=True),
        sa.Column("candidates", sa.JSON(), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("context", sa.JSON(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nba_decisions")))
    op.create_index(op.f("ix_nba_decisions_profile_id"), "nba_decisions", ["profile_id"])
    op.create_index("ix_nba_decisions_profile_session", "nba_decisions",
                    ["profile_id", "session"])
    op.create_table(
        "nba_touches", _id(),
        sa.Column("profile_id", sa.String(40), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("action", sa.String(120), nullable=False),
        sa.Column("offer_id", sa.String(64), nullable=True),
        sa.Column("decision_id", sa.String(40), nullable=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nba_touches")))
    op.create_index("ix_nba_touches_profile_at", "nba_touches", ["profile_id", "at"])
    op.create_table(
        "nba_experiments",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nba_experiments")))
    op.create_table(
        "nba_assignments", _id(),
        sa.Column("experiment_id", sa.String(64), nullable=False),
        sa.Column("profile_id", sa.String(40), nullable=False),
        sa.Column("arm", sa.String(64), nullable=False),
        sa.Column("exposures", sa.Integer(), nullable=False),
        sa.Column("first_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nba_assignments")),
        sa.UniqueConstraint("experiment_id", "profile_id",
                            name="uq_nba_assignments_experiment_profile"))
    op.create_index(op.f("ix_nba_assignments_experiment_id"), "nba_assignments",
                    ["experiment_id"])
    op.create_index(op.f("ix_nba_assignments_profile_id"), "nba_assignments", ["profile_id"])
    op.create_table(
        "nba_journeys",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nba_journeys")))
    op.create_table(
        "nba_journey_runs",
        sa.Column("id", sa.String(120), nullable=False),
        sa.Column("journey_id", sa.String(64), nullable=False),
        sa.Column("profile_id", sa.String(40), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("detail", sa.String(300), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nba_journey_runs")))
    op.create_index("ix_nba_journey_runs_journey_state", "nba_journey_runs",
                    ["journey_id", "state"])
    op.create_index(op.f("ix_nba_journey_runs_profile_id"), "nba_journey_runs", ["profile_id"])
    op.create_table(
        "nba_journey_steps", _id(),
        sa.Column("run_id", sa.String(120), nullable=False),
        sa.Column("profile_id", sa.String(40), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(120), nullable=False),
        sa.Column("outcome", sa.String(200), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nba_journey_steps")),
        sa.UniqueConstraint("run_id", "step", name="uq_nba_journey_steps_run_step"))
    op.create_index(op.f("ix_nba_journey_steps_profile_id"), "nba_journey_steps",
                    ["profile_id"])
    op.create_table(
        "nba_webhooks",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("secret", sa.String(128), nullable=False),
        sa.Column("active", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nba_webhooks")))
    op.create_table(
        "nba_deliveries", _id(),
        sa.Column("webhook_id", sa.String(64), nullable=False),
        sa.Column("profile_id", sa.String(40), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_at", UTCDateTime(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nba_deliveries")))
    op.create_index("ix_nba_deliveries_status_next", "nba_deliveries", ["status", "next_at"])
    op.create_index(op.f("ix_nba_deliveries_profile_id"), "nba_deliveries", ["profile_id"])


def downgrade() -> None:
    for name in ("nba_deliveries", "nba_webhooks", "nba_journey_steps", "nba_journey_runs",
                 "nba_journeys", "nba_assignments", "nba_experiments", "nba_touches",
                 "nba_decisions", "nba_offers"):
        op.drop_table(name)
