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
# The shared Redis client has a 5 s socket timeout: block in shorter slices than that.
SLICE_S = 2


def wake(r: redis.Redis) -> None:
    pipe = r.pipeline(transaction=False)
    pipe.lpush(WAKE_KEY, "1")
    pipe.ltrim(WAKE_KEY, 0, KEEP - 1)
    pipe.execute()


def wait(r: redis.Redis, timeout_s: float, stop: threading.Event) -> bool:
    """Block until a wake token arrives (True), or `timeout_s` passed or `stop` was set."""
    deadline = time.monotonic() + timeout_s
    while not stop.is_set():
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        # BLPOP takes whole seconds on old servers; a float on Redis >= 6.
        if r.blpop([WAKE_KEY], timeout=min(SLICE_S, max(left, 0.1))):
            return True
    return False
