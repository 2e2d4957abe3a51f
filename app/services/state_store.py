"""The preference model's `StateStore` protocol on the service database (SQLite or
PostgreSQL), so every worker process reads and writes the same customer states.

A state is written only for a profile that exists, checked under a lock in the same
transaction (`tombstones.hold`): a learner that finishes after the person was erased must not
bring their state back."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import CustomerState
from app.services import tombstones
from preference_model.errors import StaleStateError

log = logging.getLogger(__name__)
# What `save` answers for an erased profile. The protocol has no "gone" outcome and raising
# would stop a batch learning many people; no stored row ever has this version, so the
# model drops its cached copy at its next read.
REFUSED_VERSION = 0


class SqlStateStore:
    """`on_save(db, customer_id)` runs inside the transaction that writes a state, so work
    that must commit with it (marking events learned) does, or rolls it back by raising."""

    def __init__(self, sessions: sessionmaker[Session],
                 on_save: Callable[[Session, str], None] | None = None) -> None:
        self.sessions = sessions
        self.on_save = on_save
        self._local = threading.local()

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """One decision sees each customer's state at one version: inside the block a
        customer's stored version is read once per thread (the model checks it before every
        read, several times per decision: one round trip each) and follows this thread's own
        saves. Another worker's write during the block is seen by the next request, as if
        it had landed a few milliseconds later. Nested blocks share the outer one."""
        if getattr(self._local, "versions", None) is not None:
            yield
            return
        self._local.versions = {}
        try:
            yield
        finally:
            self._local.versions = None

    def _memo(self) -> dict[str, int | None] | None:
        memo: dict[str, int | None] | None = getattr(self._local, "versions", None)
        return memo

    def load(self, customer_id: str) -> tuple[int, bytes] | None:
        with self.sessions() as db:
            row = db.execute(select(CustomerState.version, CustomerState.data)
                             .where(CustomerState.profile_id == customer_id)).first()
        return None if row is None else (int(row[0]), bytes(row[1]))

    def version(self, customer_id: str) -> int | None:
        memo = self._memo()
        if memo is not None and customer_id in memo:
            return memo[customer_id]
        with self.sessions() as db:
            v = db.scalar(select(CustomerState.version)
                          .where(CustomerState.profile_id == customer_id))
        out = None if v is None else int(v)
        if memo is not None:
            memo[customer_id] = out
        return out

    def save(self, customer_id: str, data: bytes, expected_version: int | None) -> int:
        memo = self._memo()
        if memo is not None:
            memo.pop(customer_id, None)  # whatever happens, the next check reads the store
        new = self._save(customer_id, data, expected_version)
        if memo is not None and new != REFUSED_VERSION:
            memo[customer_id] = new
        return new

    def _save(self, customer_id: str, data: bytes, expected_version: int | None) -> int:
        now = datetime.now(UTC)
        with self.sessions() as db:
            if not tombstones.hold(db, [customer_id]):
                db.rollback()
                log.info("preference state not saved: the profile was erased",
                         extra={"subject": tombstones.short(db, customer_id)})
                return REFUSED_VERSION
            current = db.scalar(select(CustomerState.version)
                                .where(CustomerState.profile_id == customer_id))
            if expected_version is not None and expected_version != (current or 0):
                raise StaleStateError(f"state of {customer_id!r} is at version {current or 0}, "
                                      f"not {expected_version}")
            if current is None:
                # Microsecond clock: a re-created state never reuses an old version number,
                # so no worker's cache can mistake it for the erased one.
                new = time.time_ns() // 1000
                db.add(CustomerState(profile_id=customer_id, version=new, data=data,
                                     updated_at=now))
                try:
                    db.flush()
                    if self.on_save is not None:
                        self.on_save(db, customer_id)
                    db.commit()
                except IntegrityError as exc:  # another worker created it first
                    raise StaleStateError(f"state of {customer_id!r} was just created") from exc
                return new
            new = int(current) + 1
            result = db.execute(update(CustomerState).where(
                CustomerState.profile_id == customer_id, CustomerState.version == current
            ).values(version=new, data=data, updated_at=now))
            if not getattr(result, "rowcount", 0):
                db.rollback()
                raise StaleStateError(f"state of {customer_id!r} changed while saving")
            if self.on_save is not None:
                self.on_save(db, customer_id)
            db.commit()
            return new

    def delete(self, customer_id: str) -> bool:
        memo = self._memo()
        if memo is not None:
            memo.pop(customer_id, None)
        with self.sessions() as db:
            result = db.execute(delete(CustomerState)
                                .where(CustomerState.profile_id == customer_id))
            db.commit()
        return bool(getattr(result, "rowcount", 0))
