"""API keys (stored as SHA-256 hashes, looked up by a public prefix) and visitor tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from cachetools import TTLCache
from itsdangerous import BadData, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db.base import savepoint
from app.db.models import ApiKey, AuditLog
from app.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized

Role = Literal["widget", "marketer", "developer", "admin"]
ROLES: tuple[Role, ...] = ("widget", "marketer", "developer", "admin")
PREFIX_LEN = 16


@dataclass(frozen=True)
class Principal:
    key_id: int
    role: Role
    name: str

    def require(self, *roles: Role) -> None:
        if self.role not in roles:
            raise Forbidden(
                f"this endpoint needs a key with role {' or '.join(roles)}; "
                f"your key has role {self.role}")


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def generate_key(role: Role) -> str:
    # The role is visible in the key so a leaked one is easy to triage.
    return f"tlr_{role[:3]}_{secrets.token_urlsafe(24)}"


def create_key(db: Session, role: Role, name: str = "", plaintext: str | None = None
               ) -> tuple[ApiKey, str]:
    if role not in ROLES:
        raise InvalidInput(f"unknown role {role!r}; allowed: {', '.join(ROLES)}")
    key = plaintext or generate_key(role)
    if len(key) < 24:
        raise InvalidInput("an API key must be at least 24 characters long")
    row = ApiKey(prefix=key[:PREFIX_LEN], key_hash=_hash(key), role=role, name=name)
    db.add(row)
    db.flush()
    return row, key


def list_keys(db: Session) -> list[ApiKey]:
    return list(db.scalars(select(ApiKey).order_by(ApiKey.id)))


def revoke_key(db: Session, key_id: int, actor: str) -> ApiKey:
    """Revoke a key (idempotent: a revoked key keeps its first revocation time). The last
    live admin key is refused: nobody could manage keys through the API afterwards."""
    row = db.get(ApiKey, key_id)
    if row is None:
        raise NotFound(f"no API key with id {key_id}")
    if row.revoked_at is None and row.role == "admin":
        admins = db.scalar(select(func.count()).select_from(ApiKey).where(
            ApiKey.role == "admin", ApiKey.revoked_at.is_(None))) or 0
        if admins <= 1:
            raise Conflict("this is the last admin key: create another admin key before "
                           "revoking it")
    row.revoked_at = row.revoked_at or datetime.now(UTC)
    db.add(AuditLog(actor=actor, action="key.revoke", subject=None, details={"key_id": key_id}))
    db.flush()
    return row


def ensure_key(db: Session, plaintext: str, role: Role, name: str) -> ApiKey:
    """Create the key unless it exists. Safe when several workers start at once: the loser
    of the race finds the winner's row."""
    for _attempt in range(2):
        row = db.scalars(select(ApiKey).where(ApiKey.prefix == plaintext[:PREFIX_LEN])).first()
        if row is not None and hmac.compare_digest(row.key_hash, _hash(plaintext)):
            return row
        if row is not None:
            raise InvalidInput("bootstrap key collides with an existing key prefix; pick another")
        try:
            with savepoint(db):
                return create_key(db, role, name, plaintext)[0]
        except IntegrityError:
            continue  # another worker inserted it a moment ago
    raise InvalidInput("could not create the bootstrap key")


class KeyCache:
    """Per-process cache so the hot path does not hit the database for every request;
    a revoked key stops working within `ttl` seconds in every worker. Unknown keys are
    cached too (as None), so a flood of bad keys costs one query per key and `ttl`."""

    def __init__(self, ttl: float = 10.0, maxsize: int = 10_000) -> None:
        self.ttl = ttl
        # cachetools caches are not thread-safe; requests authenticate on many threads.
        self._lock = threading.Lock()
        self._entries: TTLCache[str, Principal | None] = TTLCache(maxsize, ttl,
                                                                 timer=time.monotonic)

    def authenticate(self, db: Session, key: str | None) -> Principal:
        if not key:
            raise Unauthorized("missing API key: send 'Authorization: Bearer <key>' "
                               "or 'X-API-Key: <key>'")
        digest = _hash(key)
        with self._lock:
            cached = digest in self._entries
            principal = self._entries.get(digest)
        if not cached:
            row = db.scalars(select(ApiKey).where(ApiKey.prefix == key[:PREFIX_LEN])).first()
            if (row is not None and row.revoked_at is None
                    and hmac.compare_digest(row.key_hash, digest)):
                principal = Principal(row.id, row.role, row.name)  # type: ignore[arg-type]
            with self._lock:
                self._entries[digest] = principal
        if principal is None:
            raise Unauthorized("unknown or revoked API key")
        return principal

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


class VisitorTokens:
    """Signed widget visitor tokens: `{visitor, widget key id}` with the time of issue
    (itsdangerous), so a token proves one visitor for one widget key and expires.

    Verification accepts `previous` too, so rotating the secret does not log every visitor
    out; a token older than half its life (or signed with the previous secret) comes back
    with a fresh one for the caller to keep."""

    SALT = "tailor.visitor-token.v2"

    def __init__(self, secret: str, *, max_age: int, previous: str | None = None) -> None:
        # itsdangerous signs with the last key and verifies with any of them.
        keys = [previous, secret] if previous else [secret]
        self._serializer = URLSafeTimedSerializer(keys, salt=self.SALT)
        self._current = URLSafeTimedSerializer(secret, salt=self.SALT)
        self._rotating = bool(previous)
        self.max_age = max_age

    def issue(self, visitor_id: str, key_id: int) -> str:
        return self._current.dumps({"v": visitor_id, "k": key_id})

    def verify(self, token: str | None, key_id: int) -> tuple[str, str | None]:
        """(visitor id, refreshed token or None); Forbidden with the reason otherwise."""
        if not token:
            raise Forbidden("a widget key must send the visitor token from POST "
                            "/v1/widget/session in the X-Visitor-Token header")
        try:
            payload, issued = self._serializer.loads(token, max_age=self.max_age,
                                                     return_timestamp=True)
        except SignatureExpired as exc:
            raise Forbidden("visitor token expired; start a new visitor session with "
                            "POST /v1/widget/session") from exc
        except BadData as exc:
            raise Forbidden("invalid visitor token") from exc
        if not (isinstance(payload, dict) and isinstance(payload.get("v"), str)
                and isinstance(payload.get("k"), int)):
            raise Forbidden("invalid visitor token")
        if payload["k"] != key_id:
            raise Forbidden("this visitor token was issued for another widget key")
        visitor: str = payload["v"]
        age = (datetime.now(UTC) - issued).total_seconds()
        old_secret = self._rotating and not _signed_by(self._current, token)
        refresh = self.issue(visitor, key_id) if old_secret or age > self.max_age / 2 else None
        return visitor, refresh


def _signed_by(serializer: URLSafeTimedSerializer, token: str) -> bool:
    try:
        serializer.loads(token)
    except BadData:
        return False
    return True
