"""Consent by purpose. `has_consent` is the one check every other part calls."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import Consent, Profile
from app.services.identity import cluster_ids, root_of
from preference_model import Consent as ModelConsent

Purpose = Literal["personalization", "marketing", "sensitive", "demographics"]
PURPOSES: tuple[Purpose, ...] = ("personalization", "marketing", "sensitive", "demographics")
PURPOSE_TEXT = {
    "personalization": "Use my activity to personalize recommendations and chat.",
    "marketing": "Send me marketing messages (email, push, ads).",
    "sensitive": "Use sensitive categories (health, pregnancy, religion, ...) for suggestions.",
    "demographics": "Use my age, gender and similar demographics for suggestions.",
}


@dataclass(frozen=True)
class ConsentFlags:
    """The consent in force for one person, by purpose."""

    personalization: bool
    sensitive: bool
    demographics: bool
    marketing: bool

    def model(self) -> ModelConsent:
        """What the preference model needs to know (demographic and sensitive signals)."""
        return ModelConsent(demographic=self.demographics, sensitive=self.sensitive)


def defaults(personalization_default: bool) -> dict[str, bool]:
    return {"personalization": personalization_default, "marketing": False,
            "sensitive": False, "demographics": False}


def current(db: Session, profile: Profile, personalization_default: bool = True
            ) -> dict[str, dict[str, object]]:
    """Purpose -> {granted, at, source}; the newest decision across merged profiles wins."""
    ids = cluster_ids(db, root_of(db, profile).id)
    rows = db.scalars(select(Consent).where(Consent.profile_id.in_(ids))
                      .order_by(Consent.at, Consent.id)).all()
    out: dict[str, dict[str, object]] = {
        p: {"granted": g, "at": None, "source": "default"}
        for p, g in defaults(personalization_default).items()}
    for row in rows:
        out[row.purpose] = {"granted": row.granted, "at": row.at, "source": row.source}
    return out


def current_many(db: Session, root_ids: Iterable[str], personalization_default: bool = True
                 ) -> dict[str, dict[str, bool]]:
    """Root profile id -> purpose -> granted, for many people in a few queries (the return
    channel learns from batches of events about hundreds of people)."""
    roots = list(set(root_ids))
    owner = {r: r for r in roots}
    frontier = roots
    while frontier:  # profiles merged into these roots, level by level
        rows = db.execute(select(Profile.id, Profile.merged_into)
                          .where(Profile.merged_into.in_(frontier))).all()
        frontier = [pid for pid, _ in rows if pid not in owner]
        for pid, parent in rows:
            if parent is not None:
                owner.setdefault(pid, owner[parent])
    out = {r: dict(defaults(personalization_default)) for r in roots}
    ids = list(owner)
    for start in range(0, len(ids), 900):
        decisions = db.execute(select(Consent.profile_id, Consent.purpose, Consent.granted)
                               .where(Consent.profile_id.in_(ids[start:start + 900]))
                               .order_by(Consent.at, Consent.id)).all()
        for pid, purpose, granted in decisions:
            out[owner[pid]][purpose] = bool(granted)
    return out


def flags(db: Session, profile: Profile, personalization_default: bool = True
          ) -> ConsentFlags:
    state = current(db, profile, personalization_default)
    return ConsentFlags(**{p: bool(state[p]["granted"]) for p in PURPOSES})


def has_consent(db: Session, profile: Profile, purpose: Purpose,
                personalization_default: bool = True) -> bool:
    if purpose not in PURPOSES:
        raise ValueError(f"unknown consent purpose {purpose!r}")
    return bool(current(db, profile, personalization_default)[purpose]["granted"])


def record(db: Session, profile: Profile, decisions: dict[str, bool], source: str,
           at: datetime | None = None) -> None:
    root = root_of(db, profile)
    for purpose, granted in decisions.items():
        row = Consent(profile_id=root.id, purpose=purpose, granted=granted, source=source)
        if at is not None:
            row.at = at
        db.add(row)
    db.flush()
