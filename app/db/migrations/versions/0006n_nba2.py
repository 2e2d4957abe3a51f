"""cache versions (per-worker caches of people, offers, experiments and journeys check
them instead of a timer) and offer redemptions per customer (the discount-response
propensity reads them)

Revision ID: 0006n_nba2
Revises: 0005n_nba
Create Date: 2026-12-01 22:30:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.db.types import UTCDateTime

revision: str = "0006n_nba2"
down_revision: str | None = "0005n_nba"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
SCOPES = ("people", "offers", "experiments", "journeys", "catalog")


def upgrade() -> None:
    versions = op.create_table(
        "cache_versions",
        sa.Column("scope", sa.String(32), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("scope", name=op.f("pk_cache_versions")))
    op.bulk_insert(versions, [{"scope": s, "version": 0} for s in SCOPES])
    op.create_table(
        "nba_redemptions",
        sa.Column("id", BIG, autoincrement=True, nullable=False),
        sa.Column("offer_id", sa.String(64), nullable=False),
        sa.Column("profile_id", sa.String(40), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("basket_value", sa.Float(), nullable=False),
        sa.Column("discount_amount", sa.Float(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nba_redemptions")))
    op.create_index("ix_nba_redemptions_profile_at", "nba_redemptions", ["profile_id", "at"])


def downgrade() -> None:
    op.drop_table("nba_redemptions")
    op.drop_table("cache_versions")
