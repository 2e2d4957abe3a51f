"""Identity resolution: normalized identifiers, profile merges with an audit trail, undo.

A merge never moves rows: the merged profile points at the survivor (`merged_into`), events
keep the profile they were recorded under, and every read goes through the cluster of
profiles that share a root. That keeps all history and makes undo exact.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db.base import savepoint
from app.db.models import AuditLog, Identifier, Merge, Profile
from app.errors import Conflict, Erased, InvalidInput, NotFound
from app.services import tombstones

STRONG_KINDS = ("customer", "visitor", "email", "phone", "loyalty")
# A household shares an address and sometimes a device: recorded, never enough to merge.
WEAK_KINDS = ("address", "device")
KINDS = STRONG_KINDS + WEAK_KINDS

_PLUS_TAG_DOMAINS = {"gmail.com", "googlemail.com", "outlook.com", "hotmail.com",
                     "icloud.com", "fastmail.com", "proton.me", "protonmail.com"}
_ADDRESS_ABBREV = {
    "street": "st", "avenue": "ave", "road": "rd", "boulevard": "blvd", "drive": "dr",
    "lane": "ln", "court": "ct", "place": "pl", "apartment": "apt", "suite": "ste",
    "north": "n", "south": "s", "east": "e", "west": "w", "square": "sq", "highway": "hwy",
}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$")


def normalize(kind: str, raw: str, default_country_code: str = "1") -> str:
    """The canonical form two spellings of the same identifier share; raises InvalidInput."""
    value = str(raw).strip()
    if not value:
        raise InvalidInput(f"{kind}: empty value")
    if kind == "email":
        value = value.lower()
        if not _EMAIL.match(value):
            raise InvalidInput(f"email: {raw!r} is not an email address")
        local, domain = value.rsplit("@", 1)
        if domain in _PLUS_TAG_DOMAINS:
            local = local.split("+", 1)[0]
        if domain in {"gmail.com", "googlemail.com"}:
            local, domain = local.replace(".", ""), "gmail.com"
        return f"{local}@{domain}"
    if kind == "phone":
        digits = re.sub(r"\D", "", value)
        if value.startswith("+"):
            pass
        elif value.startswith("00"):
            digits = digits[2:]
        elif len(digits) == 10:
            digits = default_country_code + digits
        elif len(digits) == 11 and digits.startswith(default_country_code):
            pass
        else:
            digits = default_country_code + digits.lstrip("0")
        if not 8 <= len(digits) <= 15:
            raise InvalidInput(f"phone: {raw!r} does not look like a phone number")
        return "+" + digits
    if kind == "address":
        words = re.sub(r"[^\w\s]", " ", value.lower()).split()
        if len(words) < 2:
            raise InvalidInput(f"address: {raw!r} is too short to identify a place")
        return " ".join(_ADDRESS_ABBREV.get(w, w) for w in words)
    if kind == "loyalty":
        value = re.sub(r"[\s-]", "", value).upper()
        if not re.fullmatch(r"[A-Z0-9]{3,40}", value):
            raise InvalidInput(f"loyalty: {raw!r} must be 3-40 letters or digits")
        return value
    if kind in {"customer", "visitor", "device"}:
        if not _ID.match(value):
            raise InvalidInput(
                f"{kind}: {raw!r} must be 1-128 characters of letters, digits and . _ : @ -")
        return value
    raise InvalidInput(f"unknown identifier kind {kind!r}; allowed: {', '.join(KINDS)}")


def new_profile_id() -> str:
    return "p_" + secrets.token_hex(10)


def root_of(db: Session, profile: Profile) -> Profile:
    seen = {profile.id}
    while profile.merged_into:
        nxt = db.get(Profile, profile.merged_into)
        if nxt is None or nxt.id in seen:
            break
        seen.add(nxt.id)
        profile = nxt
    return profile


def roots_of(db: Session, profile_ids: Iterable[str]) -> dict[str, str]:
    """Profile id -> root id for many profiles in a few queries (the ingest hot path)."""
    out: dict[str, str] = {}
    parent: dict[str, str | None] = {}
    frontier = set(profile_ids)
    for _ in range(32):  # merge chains are short; the bound guards against a cycle
        frontier -= parent.keys()
        if not frontier:
            break
        for pid, merged_into in db.execute(select(Profile.id, Profile.merged_into)
                                           .where(Profile.id.in_(list(frontier)))):
            parent[pid] = merged_into
        frontier = {p for p in parent.values() if p is not None}
    for pid in profile_ids:
        cur, hops = pid, 0
        while parent.get(cur) is not None and hops < 32:
            cur, hops = parent[cur], hops + 1  # type: ignore[assignment]
        out[pid] = cur
    return out


def cluster_ids(db: Session, root_id: str) -> list[str]:
    """The root and every profile merged into it, directly or through others."""
    ids, frontier = [root_id], [root_id]
    while frontier:
        rows = db.scalars(select(Profile.id).where(Profile.merged_into.in_(frontier))).all()
        frontier = [r for r in rows if r not in ids]
        ids.extend(frontier)
    return ids


def find_by_identifier(db: Session, kind: str, value: str) -> Profile | None:
    row = db.scalars(
        select(Identifier).where(Identifier.kind == kind, Identifier.value == value)
        .order_by(Identifier.id).limit(1)
    ).first()
    return root_of(db, db.get_one(Profile, row.profile_id)) if row else None


def resolve(db: Session, ref: str) -> Profile:
    """A path id is a profile id, a shop customer id, or a visitor id (in that order)."""
    profile = db.get(Profile, ref)
    if profile is not None:
        return root_of(db, profile)
    for kind in ("customer", "visitor"):
        found = find_by_identifier(db, kind, ref)
        if found is not None:
            return found
    when = erased_ref(db, ref)
    if when is not None:
        raise NotFound(f"no customer, visitor or profile with id {ref!r}: it was erased at "
                       f"{when.isoformat()}", details={"erased_at": when.isoformat()})
    raise NotFound(f"no customer, visitor or profile with id {ref!r}")


def erased_ref(db: Session, ref: str) -> datetime | None:
    """When the person a path id named was erased (None: no erasure on record)."""
    found = tombstones.erased_at(db, {(k, ref) for k in ("profile", "customer", "visitor")})
    return max(found.values()) if found else None


@dataclass
class IdentifyResult:
    profile: Profile
    created: bool
    merged: list[Merge] = field(default_factory=list)
    added: list[str] = field(default_factory=list)


def _customer_ids(db: Session, profile_ids: Iterable[str]) -> set[str]:
    return set(db.scalars(select(Identifier.value).where(
        Identifier.kind == "customer", Identifier.profile_id.in_(list(profile_ids)))).all())


def identify(db: Session, identifiers: Mapping[str, str], *, source: str = "api",
             actor: str = "api", default_country_code: str = "1",
             allow_erased: bool = False, _races_left: int = 2) -> IdentifyResult:
    """Find or create the person these identifiers describe, merging profiles they link.

    An identifier of an erased person is registered again only with `allow_erased` (the
    shop means it: the person signed up again), never a visitor id."""
    if not identifiers:
        raise InvalidInput("give at least one identifier")
    normalized = {k: (normalize(k, v, default_country_code), str(v))
                  for k, v in identifiers.items()}
    roots: dict[str, Profile] = {}
    reasons: dict[str, set[str]] = {}
    for kind, (value, _raw) in normalized.items():
        if kind not in STRONG_KINDS:
            continue
        rows = db.scalars(select(Identifier.profile_id).where(
            Identifier.kind == kind, Identifier.value == value)).all()
        for pid in rows:
            root = root_of(db, db.get_one(Profile, pid))
            roots[root.id] = root
            reasons.setdefault(root.id, set()).add(kind)

    if roots and len(tombstones.hold(db, roots)) < len(roots):
        raise Conflict("a person these identifiers belong to was erased while this request "
                       "ran; repeat it if the person should be registered again")
    clusters = {rid: cluster_ids(db, rid) for rid in roots}
    known = {rid: _customer_ids(db, ids) for rid, ids in clusters.items()}
    wanted = normalized.get("customer", (None, ""))[0]
    distinct = set().union(*known.values()) | ({wanted} if wanted else set())
    if len(distinct) > 1:
        raise Conflict(
            "these identifiers belong to different known customers; merge them explicitly "
            "or correct the data", details={"customer_ids": sorted(distinct)})

    created = False
    if not roots:
        new = _create_profile(db, normalized, "known" if wanted else "anonymous", source)
        if new is None:
            # A concurrent request created this person a moment ago: join that profile.
            if _races_left <= 0:
                raise Conflict("these identifiers are being linked by another request; "
                               "retry", headers={"Retry-After": "1"})
            return identify(db, identifiers, source=source, actor=actor,
                            default_country_code=default_country_code,
                            allow_erased=allow_erased, _races_left=_races_left - 1)
        survivor, created = new, True
    else:
        # The known customer survives; otherwise the oldest profile keeps its id.
        survivor = sorted(roots.values(), key=lambda p: (not known[p.id], p.created_at, p.id))[0]

    merges = []
    for rid, other in roots.items():
        if rid == survivor.id:
            continue
        merges.append(merge(db, survivor, other,
                            reason="shared " + ", ".join(sorted(reasons[rid])), actor=actor))

    existing = {(i.kind, i.value) for i in db.scalars(select(Identifier).where(
        Identifier.profile_id.in_(cluster_ids(db, survivor.id))))}
    added = list(normalized) if created else []
    for kind, (value, raw) in normalized.items():
        if (kind, value) not in existing:
            if not _add_identifier(db, survivor, kind, value, raw, source):
                if _races_left <= 0:
                    raise Conflict("these identifiers are being linked by another request; "
                                   "retry", headers={"Retry-After": "1"})
                # Linked elsewhere a moment ago by a concurrent request: decide again.
                return identify(db, identifiers, source=source, actor=actor,
                                default_country_code=default_country_code,
                                allow_erased=allow_erased, _races_left=_races_left - 1)
            added.append(kind)
    if wanted:
        survivor.kind = "known"
    survivor.updated_at = datetime.now(UTC)
    db.flush()
    # After the inserts: an erasure committed while they waited is visible now.
    _check_erased(db, [(k, normalized[k][0]) for k in added if k in STRONG_KINDS],
                  allow_erased, survivor.id, actor)
    return IdentifyResult(survivor, created, merges, added)


def _check_erased(db: Session, keys: list[tuple[str, str]], allow_erased: bool,
                  profile_id: str, actor: str) -> None:
    erased = tombstones.erased_at(db, keys)
    if not erased:
        return
    kinds = sorted(k for k, _ in erased)
    if "visitor" in kinds:
        raise Erased("this visitor id was erased; visitor ids are never registered again "
                     "(the widget starts a new visitor)")
    if not allow_erased:
        last = max(erased.values()).isoformat()
        raise Erased(f"{', '.join(kinds)} of a person erased at {last}; if they signed up "
                     "again, repeat with allow_erased=true to register them as a new person",
                     details={"erased": kinds, "erased_at": last})
    db.add(AuditLog(actor=actor, action="customer.reregister", subject=profile_id,
                    details={"erased_kinds": kinds}))
    db.flush()


def _create_profile(db: Session, normalized: Mapping[str, tuple[str, str]], kind: str,
                    source: str) -> Profile | None:
    """A new profile holding these identifiers, or None when a concurrent request stored one
    of its strong identifiers first (the unique index decides; the savepoint undoes ours)."""
    try:
        with savepoint(db):
            profile = Profile(id=new_profile_id(), kind=kind)
            db.add(profile)
            db.flush()
            for ident_kind, (value, raw) in normalized.items():
                db.add(Identifier(kind=ident_kind, value=value, raw=raw[:400],
                                  profile_id=profile.id, source=source))
            db.flush()
    except IntegrityError:
        return None
    return profile


def _add_identifier(db: Session, survivor: Profile, kind: str, value: str, raw: str,
                    source: str) -> bool:
    """Link one identifier to the survivor; False when a concurrent request linked it to
    another person first. Linked to this same person by then is fine."""
    try:
        with savepoint(db):
            db.add(Identifier(kind=kind, value=value, raw=raw[:400], profile_id=survivor.id,
                              source=source))
            db.flush()
    except IntegrityError:
        owner = find_by_identifier(db, kind, value)
        return owner is not None and owner.id == root_of(db, survivor).id
    return True


def merge(db: Session, survivor: Profile, other: Profile, *, reason: str,
          actor: str = "api") -> Merge:
    if survivor.id == other.id:
        raise InvalidInput("cannot merge a profile into itself")
    other.merged_into = survivor.id
    if other.kind == "known":
        survivor.kind = "known"
    row = Merge(survivor_id=survivor.id, merged_id=other.id, reason=reason)
    db.add(row)
    db.add(AuditLog(actor=actor, action="profile.merge", subject=survivor.id,
                    details={"merged": other.id, "reason": reason}))
    db.flush()
    return row


def undo_merge(db: Session, merge_id: int, *, actor: str = "api") -> Merge:
    row = db.get(Merge, merge_id)
    if row is None:
        raise NotFound(f"no merge with id {merge_id}")
    if row.undone_at is not None:
        raise Conflict(f"merge {merge_id} was already undone at {row.undone_at.isoformat()}")
    other = db.get(Profile, row.merged_id)
    if other is None or other.merged_into != row.survivor_id:
        raise Conflict(f"merge {merge_id} can no longer be undone: the profiles changed since")
    other.merged_into = None
    row.undone_at = datetime.now(UTC)
    db.add(AuditLog(actor=actor, action="profile.unmerge", subject=row.survivor_id,
                    details={"merge_id": merge_id, "restored": other.id}))
    db.flush()
    return row
