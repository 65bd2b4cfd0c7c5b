"""Time as the app sees it: the system clock, Shanghai's wall clock for what people see.

Domain functions take `now` as an argument; handlers read it from the app's clock
(`wxapp.extensions.app_now`), so a test can swap in a clock of its own (tests/clock.py)
and move time forward without sleeping, even on a live server.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


def local(when: datetime) -> datetime:
    """The Asia/Shanghai wall-clock time people see."""
    return when.astimezone(SHANGHAI)


def day_start(day: date) -> datetime:
    """Midnight at the start of `day` in Asia/Shanghai: the day as people in 重庆 count it."""
    return datetime.combine(day, time(0), tzinfo=SHANGHAI)


def local_date(when: datetime) -> str:
    """The Asia/Shanghai date as the pages write it: 2025年6月1日."""
    day = local(when)
    return f"{day.year}年{day.month}月{day.day}日"


def reported_time(value: Any, fallback: datetime) -> datetime:
    """A time another system reports (WeChat Pay's `success_time`, RFC 3339 with its offset),
    or `fallback` when it is missing, malformed or without an offset."""
    try:
        when = datetime.fromisoformat(str(value))
    except ValueError:
        return fallback
    return when if when.tzinfo else fallback
