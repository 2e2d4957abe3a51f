"""Signed webhooks for push / SMS / email providers, through an outbox: a delivery row is
written in the decision's transaction, then sent with retries and exponential backoff by
whichever worker's `Sender` takes it (row locks with SKIP LOCKED on PostgreSQL).

Signature (like Stripe's): header `X-Tailor-Signature: t=<unix seconds>,v1=<hex>` where
hex = HMAC-SHA256(secret, f"{t}." + raw body). Receivers check it with `verify`."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.nba.tables import DeliveryRow, WebhookRow
from app.settings import Settings

log = logging.getLogger(__name__)
HEADER = "X-Tailor-Signature"


def sign(secret: str, body: bytes, ts: int) -> str:
    mac = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={ts},v1={mac}"


def verify(secret: str, header: str, body: bytes, *, tolerance: int = 300,
           now: float | None = None) -> bool:
    try:
        parts = dict(p.split("=", 1) for p in header.split(","))
        ts = int(parts["t"])
    except (ValueError, KeyError):
        return False
    if abs((now or time.time()) - ts) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, body, ts), f"t={ts},v1={parts.get('v1', '')}")


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(24)


def enqueue(db: Session, profile_id: str, channel: str, payload: dict[str, Any]) -> int:
    hooks = db.scalars(select(WebhookRow).where(WebhookRow.active == 1,
                                                WebhookRow.channel.in_((channel, "any"))))
    n = 0
    for hook in hooks:
        db.add(DeliveryRow(webhook_id=hook.id, profile_id=profile_id, payload=payload))
        n += 1
    return n


def send_due(sessions: sessionmaker[Session], settings: Settings, client: httpx.Client,
             now: datetime | None = None, limit: int = 50) -> dict[str, int]:
    now = now or datetime.now(UTC)
    counts = {"sent": 0, "retry": 0, "failed": 0}
    with sessions() as db:
        due = list(db.scalars(select(DeliveryRow).where(
            DeliveryRow.status == "pending", DeliveryRow.next_at <= now)
            .order_by(DeliveryRow.next_at).limit(limit).with_for_update(skip_locked=True)))
        hooks = {h.id: h for h in db.scalars(select(WebhookRow).where(
            WebhookRow.id.in_({d.webhook_id for d in due})))}
        for d in due:
            hook = hooks.get(d.webhook_id)
            d.attempts += 1
            error = "webhook deleted"
            if hook is not None:
                body = json.dumps({"delivery_id": d.id, **d.payload}, sort_keys=True).encode()
                try:
                    r = client.post(hook.url, content=body, headers={
                        "Content-Type": "application/json",
                        HEADER: sign(hook.secret, body, int(time.time())),
                        "X-Tailor-Delivery": str(d.id)})
                    if 200 <= r.status_code < 300:
                        d.status, d.last_error = "sent", ""
                        counts["sent"] += 1
                        continue
                    error = f"HTTP {r.status_code}"
                except httpx.HTTPError as exc:
                    error = f"{type(exc).__name__}: {exc}"[:500]
            d.last_error = error
            if hook is None or d.attempts >= settings.nba_webhook_max_attempts:
                d.status = "failed"
                counts["failed"] += 1
            else:
                d.next_at = now + timedelta(seconds=settings.nba_webhook_backoff_seconds
                                            * 2 ** (d.attempts - 1))
                counts["retry"] += 1
        db.commit()
    return counts


class Sender:
    """Background thread: sends what is due every `nba_webhook_poll_seconds`."""

    def __init__(self, settings: Settings, sessions: sessionmaker[Session]) -> None:
        self.settings, self.sessions = settings, sessions
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="tailor-webhooks")

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        with httpx.Client(timeout=10.0) as client:
            while not self._stop.wait(self.settings.nba_webhook_poll_seconds):
                try:
                    send_due(self.sessions, self.settings, client)
                except Exception:  # a bad row or an outage must not kill the sender
                    log.exception("webhook sending failed; retrying next round")
