"""Rate limits kept in Redis, so they hold across every gunicorn worker and machine."""

from __future__ import annotations

import ipaddress
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
    round trip, and no EXPIRE NX, which the embedded Redis 6.2 of `make run` lacks. The two
    run as one MULTI, on Redis Cluster too (whose pipelines are not transactions unless
    asked): else a window ending between them would leave a counter without an expiry,
    refusing that caller for good.
    """
    pipe = r.pipeline(transaction=True)
    pipe.set(key, 0, ex=window_s, nx=True)
    pipe.incr(key)
    _, count = pipe.execute()
    return count


def counted_address(address: str) -> str:
    """What per-address limits count for a client address: an IPv6 client's /64 (one
    subscriber holds the whole network, 2^64 addresses), an IPv4 address (also one mapped
    into IPv6) as it is."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address  # "-" when unknown
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def _key(limit: Limit, who: str) -> str:
    return f"rl:{limit.name}:{who}"


def _refuse(r: redis.Redis, limit: Limit, key: str) -> TooManyRequests:
    return TooManyRequests(limit.message, code="rate_limited", retry_after=max(r.ttl(key), 1))


def hit(r: redis.Redis, limit: Limit, who: str) -> None:
    """Count one call of `who` against `limit` (a fixed window); raise 429 past the limit."""
    key = _key(limit, who)
    if count_in_window(r, key, limit.window_s) > limit.count:
        raise _refuse(r, limit, key)


# Take back one count, unless the window (and its counter) ended meanwhile: a DECR then
# would start a counter without an expiry, and one on the next window's counter would give
# a call counted in the last window back to the next. ARGV: the window and the time since
# the call was counted (ms); the counter is that window's only if it is at least that old
# (SLACK_MS for the two clocks' rounding).
_GIVE_BACK = """
local left = redis.call('PTTL', KEYS[1])
if left < 0 then return 0 end
if tonumber(ARGV[1]) - left + tonumber(ARGV[3]) < tonumber(ARGV[2]) then return 0 end
if tonumber(redis.call('GET', KEYS[1]) or '0') > 0 then return redis.call('DECR', KEYS[1]) end
return 0
"""
SLACK_MS = 50


def give_back(r: redis.Redis, limit: Limit, who: str, counted_s_ago: float) -> None:
    """Take back one call `hit` counted `counted_s_ago` seconds ago, for a limit that counts
    only failures: the call is counted before it runs (else a burst sent at once would all
    pass before the first failure was counted) and given back when it did not fail, to the
    window it was counted in only."""
    r.register_script(_GIVE_BACK)(
        keys=[_key(limit, who)],
        args=[limit.window_s * 1000, int(counted_s_ago * 1000), SLACK_MS],
    )
