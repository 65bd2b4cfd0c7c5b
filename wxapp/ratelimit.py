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


def hit(r: redis.Redis, limit: Limit, who: str) -> None:
    """Count one call of `who` against `limit` (a fixed window); raise 429 past the limit."""
    key = f"rl:{limit.name}:{who}"
    pipe = r.pipeline()
    pipe.incr(key)
    pipe.expire(key, limit.window_s, nx=True)
    count, _ = pipe.execute()
    if count > limit.count:
        raise TooManyRequests(limit.message, code="rate_limited", retry_after=max(r.ttl(key), 1))
