"""The person a request is about, found once.

Routes name a person by the caller's id: a shop customer id, a widget's visitor id, or a
profile id. `find_profile` resolves it to the root profile (the person after merges);
`subject` adds the consent in force. A first sight creates a profile only where the
product says so: for a widget's own visitor (its signed token proves it) and, in the chat,
for a shop customer id a staff key names (as events do).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy.orm import Session

from app.db.models import Profile
from app.errors import NotFound
from app.services.consent import ConsentFlags, flags
from app.services.events import resolve_subjects
from app.services.identity import resolve

Create = Literal["visitor", "customer"] | None


@dataclass(frozen=True)
class Subject:
    customer_id: str  # the id the caller used: responses echo this one, never profile_id
    profile_id: str  # the root profile (internal `p_...` id)
    consent: ConsentFlags
    visitor: bool  # the widget's own anonymous visitor


def find_profile(db: Session, ref: str, *, create: Create = None) -> Profile:
    """The root profile `ref` names; with `create`, a first-seen id of that kind gets a new
    profile (flushed, not committed). Unknown otherwise: NotFound; erased: NotFound or, when
    creating, Erased."""
    if create == "visitor":
        return resolve(db, resolve_subjects(db, {("visitor", ref)})[("visitor", ref)])
    try:
        return resolve(db, ref)
    except NotFound:
        if create is None:
            raise
        return resolve(db, resolve_subjects(db, {(create, ref)})[(create, ref)])


def subject(db: Session, ref: str, *, create: Create = None,
            personalization_default: bool = True) -> Subject:
    profile = find_profile(db, ref, create=create)
    return Subject(customer_id=ref, profile_id=profile.id,
                   consent=flags(db, profile, personalization_default),
                   visitor=create == "visitor")
