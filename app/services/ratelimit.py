"""Fixed-window rate limits: in process by default, shared through Redis when configured
(so several workers enforce one budget). A Redis outage fails open: we would rather serve
the shop's customers than reject them because the limiter is down."""

from __future__ import annotations

import logging
import math
import threading
import time
from typing import Any

from app.errors import RateLimited

log = logging.getLogger(__name__)


class RateLimiter:
    def __init__(self, per_minute: int, redis_url: str | None = None,
                 window: float = 60.0) -> None:
        self.limit = per_minute
        self.window = window
        self._lock = threading.Lock()
        self._counts: dict[str, tuple[int, int]] = {}
        self._redis: Any = None
        if redis_url:
            import redis

            self._redis = redis.Redis.from_url(redis_url, socket_timeout=0.2)

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
        rkey = f"tailor:rl:{key}:{bucket}"
        try:
            pipe = self._redis.pipeline()
            pipe.incr(rkey)
            pipe.expire(rkey, int(self.window) + 1)
            return int(pipe.execute()[0])
        except Exception as exc:  # redis down: fall back to the local window
            log.warning("rate limiter: redis unavailable (%s); using local counts", exc)
            return None
