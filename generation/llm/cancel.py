"""``CancelToken``: one reply's "stop now", shared by whoever may abandon it.

A reply is abandoned when the shopper closes the page, a deadline passes, or the caller
stops reading. Every backend must then stop spending on it at once: llama.cpp frees its
slot at the next token, an HTTP stream has its socket shut down (a blocked read returns
immediately instead of waiting for its timeout). Backends register what to do with
:meth:`CancelToken.on_cancel`; callers call :meth:`CancelToken.cancel`, from any thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

__all__ = ["CANCEL_KWARG", "CancelToken"]

CANCEL_KWARG = "cancel_token"
"""The keyword our chat models take from ``stream(..., cancel_token=token)``; it never
reaches the backend's request body."""

logger = logging.getLogger(__name__)


class CancelToken:
    """A thread-safe, one-way switch with callbacks run once when it flips."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._callbacks: list[Callable[[], None]] = []

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def wait(self, timeout: float | None) -> bool:
        """Sleep up to ``timeout`` seconds, waking early (True) if cancelled."""
        return self._event.wait(timeout)

    def cancel(self) -> None:
        """Flip the switch and run the registered callbacks (only the first call does)."""
        with self._lock:
            if self._event.is_set():
                return
            self._event.set()
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            _run(callback)

    def on_cancel(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Run ``callback`` when cancelled (at once if already); returns an unregister."""
        with self._lock:
            if not self._event.is_set():
                self._callbacks.append(callback)
                return lambda: self._discard(callback)
        _run(callback)
        return lambda: None

    def _discard(self, callback: Callable[[], None]) -> None:
        with self._lock:
            if callback in self._callbacks:
                self._callbacks.remove(callback)


def _run(callback: Callable[[], None]) -> None:
    try:
        callback()
    except Exception:  # a failing cleanup must not stop the others
        logger.exception("cancel callback failed")
