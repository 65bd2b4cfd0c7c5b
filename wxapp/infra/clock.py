"""Time as the app sees it: a system clock in production, a settable one in tests.

Domain functions take `now` as an argument; handlers read it from the app's clock, so a
test (even one driving a live server) can move time forward without sleeping.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app

SHANGHAI = ZoneInfo("Asia/Shanghai")


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self, start: datetime | None = None):
        self._now = start or datetime.now(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> datetime:
        with self._lock:
            self._now += timedelta(seconds=seconds)
            return self._now

    def set(self, when: datetime) -> None:
        with self._lock:
            self._now = when


def now() -> datetime:
    """The current time from the app's clock (aware, UTC)."""
    return current_app.extensions["clock"].now()


def local(when: datetime) -> datetime:
    """The Asia/Shanghai wall-clock time people see."""
    return when.astimezone(SHANGHAI)
