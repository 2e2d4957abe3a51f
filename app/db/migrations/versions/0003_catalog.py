"""catalog: unknown stock is NULL, not 0

Revision ID: 0003_catalog
Revises: 0002_erasure
Create Date: 2026-11-30 10:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003_catalog'
down_revision: str | None = '0002_erasure'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Rows stored before this revision keep their 0: whether it meant "none left" or
    # "the file had no stock column" cannot be told apart any more.
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.alter_column('stock', existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    op.execute("UPDATE items SET stock = 0 WHERE stock IS NULL")
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.alter_column('stock', existing_type=sa.Integer(), nullable=False)
