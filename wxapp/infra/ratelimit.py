"""Rate limits kept in Redis, so they hold across every gunicorn worker and machine."""

from __future__ import annotations

from dataclasses import dataclass

import redis

from wxapp.errors import TooManyRequests


@dataclass(frozen=True)
class Limit:
    name: str
    count: int
    window_s: int
    message: str = "操作过于频繁，请稍后再试"


def count_in_window(r: redis.Redis, key: str, window_s: int) -> int:
    """Add one to the counter `key` of a fixed window of `window_s` seconds; the new count.

    The window starts with the first call (SET NX EX, then INCR keeps the expiry): one
    round trip, and no EXPIRE NX, which the embedded Redis 6.2 of `make run` lacks.
    """
    pipe = r.pipeline()
    pipe.set(key, 0, ex=window_s, nx=True)
    pipe.incr(key)
    _, count = pipe.execute()
    return count


def hit(r: redis.Redis, limit: Limit, who: str) -> None:
    """Count one call of `who` against `limit` (a fixed window); raise 429 past the limit."""
    key = f"rl:{limit.name}:{who}"
    count = count_in_window(r, key, limit.window_s)
    if count > limit.count:
        raise TooManyRequests(limit.message, code="rate_limited", retry_after=max(r.ttl(key), 1))
