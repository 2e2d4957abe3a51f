"""creatives: layout versions (edited copy re-lays out the images; earlier layouts kept)

Revision ID: 0006c_creative_versions
Revises: 0006n_nba2
Create Date: 2026-12-01 22:30:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006c_creative_versions"
down_revision: str | None = "0006n_nba2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("creatives") as batch:
        batch.add_column(sa.Column("version", sa.Integer(), nullable=False,
                                   server_default="1"))
        batch.add_column(sa.Column("versions", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("creatives") as batch:
        batch.drop_column("versions")
        batch.drop_column("version")
