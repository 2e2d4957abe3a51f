"""Fixed-window rate limits: in process by default, shared through Redis when configured
(so several workers enforce one budget).

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
from typing import Any

from prometheus_client import Counter

from app.errors import RateLimited

log = logging.getLogger(__name__)

REDIS_ERRORS = Counter("tailor_ratelimit_redis_errors_total",
                       "Rate-limit checks that fell back to the in-process window because "
                       "Redis was unavailable")
WARN_EVERY_SECONDS = 60.0
REDIS_RETRY_SECONDS = 5.0


class RateLimiter:
    def __init__(self, per_minute: int, redis_url: str | None = None,
                 window: float = 60.0) -> None:
        self.limit = per_minute
        self.window = window
        self._lock = threading.Lock()
        self._counts: dict[str, tuple[int, int]] = {}
        self._redis: Any = None
        self._redis_down_until = 0.0  # monotonic; skip Redis until then
        self._last_warning = -math.inf
        self._suppressed = 0  # fallbacks since the last warning
        if redis_url:
            import redis

            self._redis = redis.Redis.from_url(redis_url, socket_timeout=0.2,
                                               socket_connect_timeout=0.2)

    def hit(self, key: str) -> None:
        now = time.time()
        bucket = int(now // self.window)
        retry_after = max(1, math.ceil((bucket + 1) * self.window - now))
        count = self._redis_hit(key, bucket) if self._redis is not None else None
        if count is None:
            with self._lock:
                b, c = self._counts.get(key, (bucket, 0))
                c = c + 1 if b == bucket else 1
                self._counts[key] = (bucket, c)
                if len(self._counts) > 50_000:
                    self._counts = {k: v for k, v in self._counts.items() if v[0] == bucket}
                count = c
        if count > self.limit:
            raise RateLimited(
                f"rate limit of {self.limit} requests per {int(self.window)} s exceeded; "
                f"retry in {retry_after} s", headers={"Retry-After": str(retry_after)})

    def _redis_hit(self, key: str, bucket: int) -> int | None:
        if time.monotonic() < self._redis_down_until:
            self._fell_back(None)
            return None
        rkey = f"tailor:rl:{key}:{bucket}"
        try:
            pipe = self._redis.pipeline()
            pipe.incr(rkey)
            pipe.expire(rkey, int(self.window) + 1)
            return int(pipe.execute()[0])
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
