"""Time: stored in UTC, shown and entered in the academy's zone (Asia/Shanghai by default)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context

DEFAULT_TZ = "Asia/Shanghai"


def local_zone() -> ZoneInfo:
    """Return the academy's zone from ``app.config['TIMEZONE']`` (Asia/Shanghai by default)."""
    name = current_app.config.get("TIMEZONE", DEFAULT_TZ) if has_app_context() else DEFAULT_TZ
    return ZoneInfo(name)


def now_utc() -> datetime:
    """Return the current time, aware, in UTC."""
    return datetime.now(UTC)


def to_local(value: datetime) -> datetime:
    """Convert an aware datetime to the academy's zone (naive values are taken as UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(local_zone())


def local_datetime(day: date, at: time) -> datetime:
    """Combine a local date and wall-clock time into an aware UTC datetime."""
    return datetime.combine(day, at, tzinfo=local_zone()).astimezone(UTC)


def local_today(now: datetime | None = None) -> date:
    """Return today's date in the academy's zone (``now`` defaults to the current time)."""
    return to_local(now or now_utc()).date()


WEEKDAYS_ZH = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")


def format_local(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """Format an aware datetime in the academy's zone; ``None`` gives ``""``."""
    if value is None:
        return ""
    return to_local(value).strftime(fmt)
