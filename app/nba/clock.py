"""Local time for contact rules: the customer's zone (zoneinfo, so daylight-saving days have
23 or 25 hours), quiet hours, and the start of their local day and week in UTC."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def zone(name: str | None, default: str = "UTC") -> ZoneInfo:
    for candidate in (name, default, "UTC"):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def day_start(now: datetime, tz: ZoneInfo) -> datetime:
    """Local midnight of `now`'s local day, as an aware datetime (compare it with UTC ones)."""
    local = now.astimezone(tz)
    return datetime.combine(local.date(), time(0), tzinfo=tz)


def in_quiet_hours(now: datetime, tz: ZoneInfo, start: int, end: int) -> bool:
    """Quiet from `start` o'clock to `end` o'clock local time (wrapping past midnight)."""
    hour = now.astimezone(tz).hour
    if start == end:
        return False
    return start <= hour or hour < end if start > end else start <= hour < end


def quiet_until(now: datetime, tz: ZoneInfo, start: int, end: int) -> datetime:
    """When the quiet hours around `now` end (local `end` o'clock, DST-correct)."""
    local = now.astimezone(tz)
    day = local.date() if local.hour < end else local.date() + timedelta(days=1)
    return datetime.combine(day, time(end), tzinfo=tz)
