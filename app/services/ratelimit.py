"""Fixed-window rate limits (the `limits` library): in process by default, shared through
Redis when configured (so several workers enforce one budget).

A Redis outage degrades to the in-process window rather than to no limit: each worker then
enforces the budget on its own (so N workers allow up to N times the budget), which keeps a
flood in check while serving the shop's customers. While Redis is down it is not asked
again for `REDIS_RETRY_SECONDS` (an unreachable host would otherwise cost every request the
socket timeout), one warning is logged per `WARN_EVERY_SECONDS`, and
`tailor_ratelimit_redis_errors_total` counts every request that fell back."""

from __future__ import annotations

import logging
import math
import threading
import time

from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage, RedisStorage
from limits.strategies import FixedWindowRateLimiter
from prometheus_client import Counter

from app.errors import RateLimited

log = logging.getLogger(__name__)

REDIS_ERRORS = Counter("tailor_ratelimit_redis_errors_total",
                       "Rate-limit checks that fell back to the in-process window because "
                       "Redis was unavailable")
WARN_EVERY_SECONDS = 60.0
REDIS_RETRY_SECONDS = 5.0


class RateLimiter:
    """`limits`' fixed-window strategy: on Redis when configured, else (and during a Redis
    outage) in this process's memory."""

    def __init__(self, per_minute: int, redis_url: str | None = None,
                 window: float = 60.0) -> None:
        self.limit = per_minute
        self.window = window
        self._item = RateLimitItemPerSecond(per_minute, max(1, int(window)), namespace="tailor")
        self._local = FixedWindowRateLimiter(MemoryStorage())
        self._shared: FixedWindowRateLimiter | None = None
        self._lock = threading.Lock()
        self._redis_down_until = 0.0  # monotonic; skip Redis until then
        self._last_warning = -math.inf
        self._suppressed = 0  # fallbacks since the last warning
        if redis_url:
            self._shared = FixedWindowRateLimiter(RedisStorage(
                redis_url, socket_timeout=0.2, socket_connect_timeout=0.2))

    def hit(self, key: str) -> None:
        limiter, allowed = self._shared, self._shared_hit(key)
        if allowed is None:
            limiter, allowed = self._local, self._local.hit(self._item, key)
        if allowed:
            return
        assert limiter is not None
        try:
            reset = limiter.get_window_stats(self._item, key).reset_time
        except Exception:  # redis went away between the two calls: a whole window
            reset = time.time() + self.window
        retry_after = max(1, math.ceil(reset - time.time()))
        raise RateLimited(
            f"rate limit of {self.limit} requests per {int(self.window)} s exceeded; "
            f"retry in {retry_after} s", headers={"Retry-After": str(retry_after)})

    def _shared_hit(self, key: str) -> bool | None:
        """The shared window's verdict; None when there is none (no Redis, or it is down)."""
        if self._shared is None:
            return None
        if time.monotonic() < self._redis_down_until:
            self._fell_back(None)
            return None
        try:
            return self._shared.hit(self._item, key)
        except Exception as exc:  # redis down: fall back to the local window
            self._redis_down_until = time.monotonic() + REDIS_RETRY_SECONDS
            self._fell_back(exc)
            return None

    def _fell_back(self, exc: Exception | None) -> None:
        REDIS_ERRORS.inc()
        now = time.monotonic()
        with self._lock:
            self._suppressed += 1
            if now - self._last_warning < WARN_EVERY_SECONDS:
                return
            self._last_warning, n, self._suppressed = now, self._suppressed, 0
        log.warning("rate limiter: redis unavailable (%s); each worker counts on its own "
                    "(%d checks fell back since the last warning)",
                    exc or "still down", n)
