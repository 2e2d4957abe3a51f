"""learn_pending: events stored but not learned yet (durable learning retry)

Revision ID: 0004_ingest
Revises: 0003_catalog
Create Date: 2026-11-24 10:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.db.types import UTCDateTime

revision: str = "0004_ingest"
down_revision: str | None = "0003_catalog"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "learn_pending",
        sa.Column("event_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  autoincrement=False, nullable=False),
        sa.Column("retry_at", UTCDateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["event_id"], ["events.id"],
                                name=op.f("fk_learn_pending_event_id_events"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_learn_pending")),
    )
    with op.batch_alter_table("learn_pending", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_learn_pending_retry_at"), ["retry_at"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("learn_pending", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_learn_pending_retry_at"))
    op.drop_table("learn_pending")
