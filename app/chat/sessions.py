"""Conversation memory: one chat session per visitor conversation, its messages, what it
showed, and a rolling summary. Sessions belong to a profile; after a login merges the
visitor into the customer, the session follows (ownership is checked on the root)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import ChatSession, Message, Profile
from app.errors import Forbidden, InvalidInput, NotFound
from app.services import tombstones
from app.services.identity import root_of

MAX_SHOWN = 40  # items remembered per session (for "the red one" and anti-repetition)


def open_session(db: Session, profile: Profile, session_id: str | None) -> ChatSession:
    root = root_of(db, profile)
    if session_id is None:
        row = ChatSession(id="s-" + secrets.token_hex(10), profile_id=root.id,
                          state={"shown": [], "turns": 0, "facts": []})
        db.add(row)
        db.flush()
        return row
    if not (3 <= len(session_id) <= 80) or not session_id.replace("-", "").isalnum():
        raise InvalidInput("session_id is malformed")
    found = db.get(ChatSession, session_id)
    if found is None:
        raise NotFound(f"no chat session {session_id!r}; start a new one without session_id")
    row = found
    owner = db.get(Profile, row.profile_id)
    if owner is None or root_of(db, owner).id != root.id:
        raise Forbidden("this chat session belongs to someone else")
    if row.profile_id != root.id:  # joined on login: the customer's profile owns it now
        row.profile_id = root.id
    return row


def add_message(db: Session, session: ChatSession, role: str, content: str,
                meta: dict[str, Any] | None = None) -> Message:
    # A reply that finishes after the person was erased must not bring the session back.
    tombstones.require_live(db, session.profile_id)
    msg = Message(session_id=session.id, profile_id=session.profile_id, role=role,
                  content=content, meta=meta or {})
    db.add(msg)
    session.updated_at = datetime.now(UTC)
    db.flush()
    return msg


def recent(db: Session, session: ChatSession, n: int = 6) -> list[Message]:
    rows = db.scalars(select(Message).where(Message.session_id == session.id)
                      .order_by(Message.id.desc()).limit(n)).all()
    return list(reversed(rows))


def remember_shown(session: ChatSession, item_ids: list[str]) -> None:
    state = dict(session.state or {})
    shown = [i for i in state.get("shown", []) if i not in item_ids] + item_ids
    state["shown"] = shown[-MAX_SHOWN:]
    state["last_shown"] = item_ids
    state["turns"] = int(state.get("turns", 0)) + 1
    session.state = state


def update_summary(session: ChatSession, facts: list[str]) -> str:
    """A rolling summary built from what the turns established (stated preferences,
    constraints, recipients). Deterministic and cheap: the embedded 135M model is too weak
    to summarize reliably, and the summary must never invent facts about the customer."""
    state = dict(session.state or {})
    kept = [f for f in state.get("facts", []) if f not in facts] + facts
    state["facts"] = kept[-12:]
    session.state = state
    session.summary = "; ".join(state["facts"])
    return session.summary
