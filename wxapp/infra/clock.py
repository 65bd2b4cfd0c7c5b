"""Time as the app sees it: the system clock, Shanghai's wall clock for what people see.

Domain functions take `now` as an argument; handlers read it from the app's clock
(`wxapp.extensions.app_now`), so a test can swap in a clock of its own (tests/clock.py)
and move time forward without sleeping, even on a live server.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


def local(when: datetime) -> datetime:
    """The Asia/Shanghai wall-clock time people see."""
    return when.astimezone(SHANGHAI)
