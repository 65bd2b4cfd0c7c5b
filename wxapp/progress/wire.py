"""The beacon's Redis round trip without redis-py's Pipeline and pool bookkeeping.

A beacon sends the same two commands every time (EVALSHA of the beacon script, SADD of the
dirty mark) in one round trip. Through `client.pipeline()` redis-py builds a Pipeline
object, a command stack, response callbacks and, since 8.x, checks a connection out of its
pool with a poll() of the socket, observability counters and event dispatch on the way in
and out: in-process that cost several times the packing and parsing themselves, on the one
call every learner makes every 15 s. `Wire` keeps a free list of connections built
with the client's own pool settings (address, db, timeouts, decoding, hiredis, retry
policy) and writes the packed commands and reads the replies directly.

The commands are packed by hiredis (a dependency: redis-py's C reply parser), which takes
str, bytes, int and float. What stays as redis-py does it: the same connection class and
parser, the health check (PING after `health_check_interval` idle), a connection the
server closed while idle is replaced (the pool finds it with a poll() per checkout; here a
failed call is retried once on a new socket), every reply read before an error reply is
raised, so a connection never goes back to the free list with unread data.
"""

from __future__ import annotations

import os
import weakref
from collections import deque
from typing import Any

import redis
from hiredis import pack_command
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError


def _forget_connections(wire: Wire | None) -> None:
    if wire is not None:
        wire._free = deque()


class Wire:
    """Pipelined calls of a few commands on connections kept for that purpose."""

    def __init__(self, client: redis.Redis):
        self._pool = client.connection_pool
        self._free: deque[redis.connection.AbstractConnection] = deque()
        # A forked child (a gunicorn worker) never uses the parent's sockets. The hook holds
        # the Wire weakly: apps built and dropped (tests) are not kept alive by it.
        wire = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: _forget_connections(wire()))

    def call(self, *commands: tuple[Any, ...]) -> list[Any]:
        """Send `commands` in one write, return their replies; an error reply is raised.

        The commands must be safe to send twice (the beacon's are: a replayed seq is
        stale, SADD is idempotent): a connection error is retried once on a new socket.
        """
        conn = self._take()
        try:
            try:
                replies = self._exchange(conn, commands)
            except RedisConnectionError:
                # A connection that sat in the free list may have been closed by the server
                # (restart, idle timeout, CLIENT KILL). redis-py's pool finds that with a
                # poll() at every checkout; here it costs one retry when it happens.
                conn.disconnect()
                replies = self._exchange(conn, commands)
        except BaseException:
            conn.disconnect()  # its state is unknown: it reconnects on next use
            self._free.append(conn)
            raise
        self._free.append(conn)
        for reply in replies:
            if isinstance(reply, ResponseError):
                raise reply
        return replies

    def _take(self) -> redis.connection.AbstractConnection:
        try:  # deque operations are atomic: no lock between the worker's threads
            return self._free.pop()
        except IndexError:
            return self._pool.connection_class(**self._pool.connection_kwargs)

    @staticmethod
    def _exchange(
        conn: redis.connection.AbstractConnection, commands: tuple[tuple[Any, ...], ...]
    ) -> list[Any]:
        # hiredis packs str, bytes, int and float as redis-py would, without its per-argument
        # type checks; one write for all the commands.
        conn.send_packed_command([b"".join([pack_command(command) for command in commands])])
        replies: list[Any] = []
        for _ in commands:
            try:
                replies.append(conn.read_response())
            except ResponseError as error:  # an error reply: read the others before raising
                replies.append(error)
        return replies
