"""Identity, consent, export and erasure."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from app.api.deps import PrincipalDep, RuntimeDep, SessionDep, require
from app.db.models import AuditLog, Event, Identifier, Merge, Profile
from app.errors import InvalidInput, NotFound
from app.schemas.customers import (
    ConsentsIn,
    ConsentsOut,
    CustomerOut,
    EraseOut,
    IdentifierOut,
    IdentifyIn,
    IdentifyOut,
    MergeOut,
)
from app.services import consent, identity, privacy, tombstones

router = APIRouter(tags=["customers"])
STAFF = require("developer", "admin")


def customer_view(db: Session, profile: Profile) -> CustomerOut:
    root = identity.root_of(db, profile)
    ids = identity.cluster_ids(db, root.id)
    idents = db.scalars(select(Identifier).where(Identifier.profile_id.in_(ids))
                        .order_by(Identifier.id)).all()
    merges = db.scalars(select(Merge).where(or_(Merge.survivor_id.in_(ids),
                                                Merge.merged_id.in_(ids))).order_by(Merge.id))
    count = db.scalar(select(func.count()).select_from(Event).where(Event.profile_id.in_(ids)))
    return CustomerOut(
        id=root.id, kind=root.kind, profile_ids=ids,
        identifiers=[IdentifierOut.model_validate(i, from_attributes=True) for i in idents],
        merges=[MergeOut.model_validate(m, from_attributes=True) for m in merges],
        event_count=int(count or 0), created_at=root.created_at)


@router.post("/identify", response_model=IdentifyOut, dependencies=[STAFF],
             summary="Link identifiers to one person (merging profiles they connect)")
def identify_customer(
    body: IdentifyIn, rt: RuntimeDep, db: SessionDep, principal: PrincipalDep,
    allow_erased: Annotated[bool, Query(description="Register again a person who was erased "
                                        "(they signed up again): a fresh profile")] = False,
) -> IdentifyOut:
    """Strong identifiers (customer id, visitor id, email, phone, loyalty number) link
    profiles; weak ones (postal address, device) are recorded but never merge on their own,
    since a household shares them. Two different known customer ids never merge: 409.

    An identifier of an erased person answers 409 (`erased`) unless `allow_erased=true`;
    events from before the erasure stay refused either way. Erased visitor ids never come
    back."""
    idents = body.identifiers()
    result = identity.identify(db, idents, actor=f"key:{principal.key_id}",
                               default_country_code=rt.settings.default_phone_country_code,
                               allow_erased=allow_erased)
    db.commit()
    for m in result.merged:
        rt.hooks.emit_merge(m.survivor_id, m.merged_id)
    return IdentifyOut(customer=customer_view(db, result.profile), created=result.created,
                       merged=[MergeOut.model_validate(m, from_attributes=True)
                               for m in result.merged])


@router.get("/customers/{customer_id}", response_model=CustomerOut, dependencies=[STAFF],
            summary="A person: identifiers, merge history, event count")
def get_customer(customer_id: str, db: SessionDep) -> CustomerOut:
    return customer_view(db, identity.resolve(db, customer_id))


@router.post("/merges/{merge_id}/undo", response_model=MergeOut, dependencies=[STAFF],
             summary="Undo a profile merge")
def undo_merge(merge_id: int, db: SessionDep, principal: PrincipalDep) -> MergeOut:
    row = identity.undo_merge(db, merge_id, actor=f"key:{principal.key_id}")
    db.commit()
    return MergeOut.model_validate(row, from_attributes=True)


def _consents_out(rt: RuntimeDep, db: Session, customer_id: str, profile: Profile
                  ) -> ConsentsOut:
    """`customer_id` is the caller's id for the person, echoed as given (never `p_...`)."""
    state = consent.current(db, profile, rt.settings.default_consent_personalization)
    return ConsentsOut(customer_id=customer_id,
                       purposes=state, descriptions=consent.PURPOSE_TEXT)  # type: ignore[arg-type]


@router.get("/customers/{customer_id}/consents", response_model=ConsentsOut,
            dependencies=[STAFF], summary="Consent in force, by purpose")
def get_consents(customer_id: str, rt: RuntimeDep, db: SessionDep) -> ConsentsOut:
    return _consents_out(rt, db, customer_id, identity.resolve(db, customer_id))


@router.put("/customers/{customer_id}/consents", response_model=ConsentsOut,
            dependencies=[STAFF], summary="Record consent decisions")
def put_consents(customer_id: str, body: ConsentsIn, rt: RuntimeDep, db: SessionDep,
                 principal: PrincipalDep) -> ConsentsOut:
    decisions = body.model_dump(exclude_none=True, exclude={"source"})
    if not decisions:
        raise InvalidInput("give at least one purpose: " + ", ".join(consent.PURPOSES))
    profile = identity.resolve(db, customer_id)
    tombstones.require_live(db, identity.root_of(db, profile).id)  # erased meanwhile: 409
    consent.record(db, profile, decisions, source=body.source)
    db.add(AuditLog(actor=f"key:{principal.key_id}", action="consent.update",
                    subject=identity.root_of(db, profile).id, details=decisions))
    db.commit()
    return _consents_out(rt, db, customer_id, profile)


@router.get("/customers/{customer_id}/export", dependencies=[STAFF],
            summary="Everything held about a person (machine-readable JSON)")
def export_customer(customer_id: str, db: SessionDep) -> dict[str, Any]:
    return privacy.export(db, identity.resolve(db, customer_id))


@router.delete("/customers/{customer_id}", response_model=EraseOut,
               dependencies=[require("admin", "developer")],
               summary="Erase a person everywhere (right to be forgotten)")
def erase_customer(customer_id: str, rt: RuntimeDep, db: SessionDep,
                   principal: PrincipalDep) -> EraseOut:
    """Deletes every row about the person and tombstones their identities, so late events,
    old widget tokens and automatic re-identification cannot bring them back. Safe to
    repeat: once erased, the answer is 200 with `already_erased` and the erasure time; an id
    never known is 404."""
    try:
        profile = identity.resolve(db, customer_id)
        ids, counts = privacy.erase(db, profile, actor=f"key:{principal.key_id}")
    except NotFound:
        db.rollback()
        when = identity.erased_ref(db, customer_id)
        if when is None:
            raise
        return EraseOut(erased_profiles=0, rows={}, already_erased=True, erased_at=when)
    db.commit()
    rt.hooks.emit_erase(ids)
    privacy.scrub(rt.engine)
    return EraseOut(erased_profiles=len(ids), rows=counts,
                    erased_at=identity.erased_ref(db, ids[0]))
