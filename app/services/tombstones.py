"""What an erasure leaves behind so that it stays done, and the locks that make it win races.

Erasure records every strong identifier of the person (`customer`, `visitor`, `email`,
`phone`, `loyalty`) and each of their profile ids as a *tombstone*: an HMAC-SHA256 of
`kind:value` under a key derived from the service secret, with the time of erasure. The
plain value is never stored, and without the secret a leaked table cannot be tested against
a list of emails or phone numbers. Weak identifiers (address, device) are not tombstoned: a
household shares them, so they never stand for one person.

Every write path that can create or revive data about a person checks here:

* `erased_at(db, keys)`: which identities are tombstoned, and since when;
* `hold(db, profile_ids)`: which profiles still exist, locked against a concurrent erasure
  until the caller's transaction ends. PostgreSQL: `SELECT ... FOR KEY SHARE`, which
  conflicts with the `FOR UPDATE` that `lock_for_erasure` takes before erasure deletes a
  row. SQLite has one writer at a time: taking the write lock before the check makes the
  check and the caller's insert one atomic step. Either way an insert that checked a profile
  commits before the erasure starts deleting (and is deleted with the rest), or it sees the
  profile gone;
* `require_live(db, profile_id)`: `hold` for one profile, raising `Erased`.

Checks that can run before an erasure commits (a token check, an event batch's first look)
are repeated after the caller's own writes, where they see the erasure's result.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app.db.models import Profile, Tombstone
from app.db.upsert import upsert
from app.errors import Erased, Forbidden
from app.logging import pseudonym

log = logging.getLogger(__name__)

# `Session.info` entry holding the hashing key: every session the runtime opens carries it,
# so code deep in a service (event ingest, the state store) hashes without new parameters.
KEY_INFO = "tailor.tombstone_key"

Identity = tuple[str, str]  # (kind, normalized value)


@functools.lru_cache(maxsize=8)
def derive_key(secret: str) -> str:
    """The tombstone key: derived, so the visitor-token secret is never used twice as is."""
    return hmac.new(secret.encode(), b"tailor.tombstones.v1", hashlib.sha256).hexdigest()


def session_info(secret: str) -> dict[str, str]:
    return {KEY_INFO: derive_key(secret)}


def _key(db: Session) -> str:
    key = db.info.get(KEY_INFO)
    if not key:
        raise RuntimeError("this database session has no tombstone key: open sessions from "
                           "Runtime.sessions (make_session_factory(engine, info=...))")
    return str(key)


def digest(key: str, kind: str, value: str) -> str:
    return hmac.new(key.encode(), f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def short(db: Session, value: str) -> str:
    """A log-safe stand-in for an identifier (see `app.logging.pseudonym`)."""
    return pseudonym(str(db.info.get(KEY_INFO, "")), value)


def erased_at(db: Session, keys: Iterable[Identity]) -> dict[Identity, datetime]:
    """The tombstoned identities among `keys`, with the time of their (latest) erasure."""
    secret = _key(db)
    by_digest = {digest(secret, kind, value): (kind, value) for kind, value in keys}
    out: dict[Identity, datetime] = {}
    digests = list(by_digest)
    for start in range(0, len(digests), 500):
        rows = db.execute(select(Tombstone.digest, Tombstone.erased_at)
                          .where(Tombstone.digest.in_(digests[start:start + 500])))
        for d, at in rows:
            out[by_digest[d]] = at
    return out


def record(db: Session, keys: Iterable[Identity], at: datetime | None = None) -> int:
    """Tombstone these identities (a second erasure moves the time forward)."""
    secret = _key(db)
    when = at or datetime.now(UTC)
    rows = {digest(secret, kind, value): kind for kind, value in keys}
    if rows:
        upsert(db, Tombstone, [{"digest": d, "kind": kind, "erased_at": when}
                               for d, kind in rows.items()], ["digest"])
    return len(rows)


def _take_sqlite_write_lock(db: Session) -> None:
    # A write that changes nothing still takes SQLite's single write lock (and opens the
    # transaction): from here to commit no erasure can interleave, and what we read is current.
    db.execute(text("UPDATE profiles SET id = id WHERE 0 = 1"))


def hold(db: Session, profile_ids: Iterable[str]) -> set[str]:
    """The profiles among `profile_ids` that still exist, kept from erasure until the
    caller's transaction ends."""
    ids = sorted(set(profile_ids))  # one lock order everywhere: no deadlock between holders
    if not ids:
        return set()
    if db.get_bind().dialect.name == "sqlite":
        _take_sqlite_write_lock(db)
        stmt = select(Profile.id).where(Profile.id.in_(ids))
    else:
        stmt = (select(Profile.id).where(Profile.id.in_(ids)).order_by(Profile.id)
                .with_for_update(read=True, key_share=True))
    return set(db.scalars(stmt).all())


def lock_for_erasure(db: Session, profile_ids: Iterable[str]) -> set[str]:
    """Lock these profiles for deletion (waiting for writers holding them); returns those
    that still exist: a concurrent erasure of the same person may have won."""
    ids = sorted(set(profile_ids))
    if not ids:
        return set()
    if db.get_bind().dialect.name == "sqlite":
        _take_sqlite_write_lock(db)
        stmt = select(Profile.id).where(Profile.id.in_(ids))
    else:
        stmt = select(Profile.id).where(Profile.id.in_(ids)).order_by(Profile.id) \
            .with_for_update()
    return set(db.scalars(stmt).all())


def require_live(db: Session, profile_id: str) -> None:
    """Raise `Erased` unless the profile exists (and hold it until commit)."""
    if profile_id not in hold(db, [profile_id]):
        log.info("write refused: profile erased", extra={"subject": short(db, profile_id)})
        raise Erased("this customer was erased; nothing more is recorded about them")


def refuse_erased_visitor(db: Session, visitor_id: str) -> None:
    """A widget token names a visitor who was erased: refused (the widget then starts a new
    visitor), whatever the token's signature says."""
    if erased_at(db, {("visitor", visitor_id)}):
        log.info("visitor token refused: the visitor was erased",
                 extra={"subject": short(db, visitor_id)})
        raise Forbidden("this visitor was erased; start a new widget session "
                        "(POST /v1/widget/session without visitor_token)")
