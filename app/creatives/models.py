"""Tables of the creative studio: creatives (one variant each) and saved audiences
(segments and personas). A creative made for a named customer keeps their profile id, so
erasure finds it (app/creatives/service.py registers the erase hook)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base
from app.db.models import utcnow
from app.db.types import UTCDateTime


class CreativeRow(Base):
    __tablename__ = "creatives"
    __table_args__ = (UniqueConstraint("job_id", "variant", name="uq_creatives_job_variant"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    job_id: Mapped[str] = mapped_column(String(64), index=True)
    variant: Mapped[int] = mapped_column(Integer)
    audience_kind: Mapped[str] = mapped_column(String(12))      # customer | segment | persona
    audience_ref: Mapped[str] = mapped_column(String(128))
    profile_id: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)
    item_id: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(12), default="draft")  # draft | approved
    seed: Mapped[int] = mapped_column(Integer)
    model: Mapped[str] = mapped_column(String(128))
    brief: Mapped[dict[str, Any]] = mapped_column(JSON)         # incl. the profile snapshot
    copy_text: Mapped[dict[str, Any]] = mapped_column(JSON)     # headline, body, cta, subject
    formats: Mapped[dict[str, Any]] = mapped_column(JSON)       # name -> {width, height, files}
    # Edited copy re-lays out the images (same background and seed): `version` counts the
    # layouts, `versions` keeps the earlier ones ({version, copy, formats, replaced_at}).
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    versions: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, nullable=True)
    impressions: Mapped[int] = mapped_column(Integer, default=0)
    clicks: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AudienceRow(Base):
    """A segment (a filter over profiles) or a persona (a written profile)."""

    __tablename__ = "audiences"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(12))               # segment | persona
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
