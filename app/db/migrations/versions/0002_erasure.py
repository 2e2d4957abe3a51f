"""tombstones: keyed hashes of erased identities

Revision ID: 0002_erasure
Revises: 0001
Create Date: 2026-11-30 10:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.db.types import UTCDateTime

revision: str = '0002_erasure'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('tombstones',
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('erased_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('digest', name=op.f('pk_tombstones'))
    )


def downgrade() -> None:
    op.drop_table('tombstones')
