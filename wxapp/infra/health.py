"""Liveness of the parts the service cannot work without, answered in bounded time.

Each part is probed on its own thread and the answer waits at most `DEADLINE_S` in all: a
PostgreSQL or Redis that accepts connections and never answers is reported as `timeout`
instead of holding the load balancer's check (and a server thread) until the client's own
timeouts expire. A probe left behind ends by those timeouts (DATABASE_CONNECT_TIMEOUT_S,
REDIS_TIMEOUT_S); at most one probe of each part runs at a time, so a load balancer
polling a hung service does not pile threads up.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future

import redis
import sqlalchemy as sa

DEADLINE_S = 1.5

_running: dict[tuple[str, int], Future] = {}
_lock = threading.Lock()


def _probe_database(engine: sa.Engine) -> None:
    with engine.connect() as conn:  # its own pooled connection, not a request's session
        conn.execute(sa.text("SELECT 1"))


def _start(name: str, target: object, probe: Callable[[], None]) -> Future:
    """The running probe of `name` on `target` (a client or engine), or a new one."""
    key = (name, id(target))
    with _lock:
        for done in [k for k, f in _running.items() if f.done()]:
            del _running[done]
        running = _running.get(key)
        if running is not None:
            return running
        future: Future = Future()
        _running[key] = future

    def run() -> None:
        try:
            probe()
        except BaseException as exc:  # noqa: BLE001 - any failure means "not reachable"
            future.set_exception(exc)
        else:
            future.set_result(None)

    threading.Thread(target=run, name=f"health-{name}", daemon=True).start()
    return future


def check(r: redis.Redis, engine: sa.Engine) -> dict[str, str]:
    """{"database": "ok"|why not, "redis": "ok"|why not}; never raises, within DEADLINE_S."""
    futures = {
        "database": _start("database", engine, lambda: _probe_database(engine)),
        "redis": _start("redis", r, lambda: r.ping() and None),
    }
    deadline = time.monotonic() + DEADLINE_S
    result: dict[str, str] = {}
    for name, future in futures.items():
        try:
            future.result(timeout=max(0.0, deadline - time.monotonic()))
        except TimeoutError:
            result[name] = "timeout"
        except Exception as exc:  # noqa: BLE001
            result[name] = f"unreachable: {type(exc).__name__}"
        else:
            result[name] = "ok"
    return result
