"""creatives and audiences (segments, personas) for the creative studio

Revision ID: 0005c_creatives
Revises: 0004_ingest
Create Date: 2026-12-01 19:30:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.db.types import UTCDateTime

revision: str = "0005c_creatives"
down_revision: str | None = "0004_ingest"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "creatives",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("job_id", sa.String(64), nullable=False),
        sa.Column("variant", sa.Integer(), nullable=False),
        sa.Column("audience_kind", sa.String(12), nullable=False),
        sa.Column("audience_ref", sa.String(128), nullable=False),
        sa.Column("profile_id", sa.String(40), nullable=True),
        sa.Column("item_id", sa.String(128), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(128), nullable=False),
        sa.Column("brief", sa.JSON(), nullable=False),
        sa.Column("copy_text", sa.JSON(), nullable=False),
        sa.Column("formats", sa.JSON(), nullable=False),
        sa.Column("impressions", sa.Integer(), nullable=False),
        sa.Column("clicks", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("job_id", "variant", name="uq_creatives_job_variant"),
    )
    op.create_index("ix_creatives_job_id", "creatives", ["job_id"])
    op.create_index("ix_creatives_profile_id", "creatives", ["profile_id"])
    op.create_table(
        "audiences",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("audiences")
    op.drop_index("ix_creatives_profile_id", "creatives")
    op.drop_index("ix_creatives_job_id", "creatives")
    op.drop_table("creatives")
