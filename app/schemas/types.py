"""Field types shared by request schemas."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BeforeValidator


def _wall_clock(value: object) -> object:
    # Lax parsing would read a number (or a numeric string) as a Unix timestamp and a bare
    # date as midnight: neither is the local wall-clock time dayparts are learned from.
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or ":" not in value:
        raise ValueError("must be an ISO 8601 date-time string such as "
                         "2026-11-23T19:05:00+01:00")
    return value


LocalTime = Annotated[datetime, BeforeValidator(_wall_clock)]
