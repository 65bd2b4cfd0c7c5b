"""The read replica: a second engine for read-only pages, used only while it is fresh.

With DATABASE_READ_URL set (a PostgreSQL streaming replica), `read_only()` gives the unit
report, the district summary and other read-only pages a session on the replica, so the
heavy grouped reads leave the primary to the writes. Staleness is bounded: each process
checks the replica at most every DATABASE_READ_CHECK_S seconds, and uses it only when it
has replayed everything the primary had written at the check, or its last replayed
commit is at most DATABASE_READ_MAX_LAG_S old. So a page read from the replica misses
at most the commits of the last MAX_LAG_S + CHECK_S seconds; past that bound, or when the
replica cannot be reached, the same pages read the primary.

A replica that fails in the middle of a read (restarted, promoted, its host gone, a query
cancelled by a conflict with recovery) costs that request nothing: `read_only` runs the
same read again on the primary, and the replica is set aside until its next check.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Concatenate, ParamSpec, TypeVar

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from models import db

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

# The replica's position and the age of its last replayed commit, in one statement.
_REPLICA_STATE = sa.text(
    "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text,"
    " EXTRACT(EPOCH FROM (clock_timestamp() - pg_last_xact_replay_timestamp()))"
)
_PRIMARY_LSN = sa.text("SELECT pg_current_wal_lsn()::text")
# A statement cancelled by its own statement_timeout (or by hand): not the replica's fault.
# A conflict with recovery is 40001, and is retried on the primary like a lost connection.
QUERY_CANCELED = "57014"
# How long a request waits for a replica check it started (two one-row queries, normally
# milliseconds) before reading the primary.
CHECK_DEADLINE_S = 2.0


def lsn(text: str | None) -> int:
    """A PostgreSQL LSN ('16/B374D848') as a number; 0 for none."""
    if not text:
        return 0
    high, low = text.split("/")
    return (int(high, 16) << 32) + int(low, 16)


class Reader:
    """The replica's engine and its last freshness verdict (shared by a process's threads)."""

    def __init__(self, engine: sa.Engine, max_lag_s: float, check_s: float):
        self.engine = engine
        self.max_lag_s = max_lag_s
        self.check_s = check_s
        self._checked_at = float("-inf")
        self._fresh = False
        self._lock = threading.Lock()

    def fresh(self, primary: sa.Engine) -> bool:
        """Whether to read the replica now.

        When the verdict is due, one check runs in a thread of its own and the request that
        started it waits at most CHECK_DEADLINE_S for it; every other request reads the
        primary while it runs. A replica that went silent (a hung server, a host gone
        without a reset) holds only that thread, until the connection's TCP timeouts fail
        it (libpq has no read timeout, and statement_timeout is the server's own)."""
        if time.monotonic() - self._checked_at < self.check_s:
            return self._fresh
        if not self._lock.acquire(blocking=False):
            return False  # a check is running
        done = threading.Event()

        def check() -> None:
            try:
                self._fresh = self._check(primary)
                self._checked_at = time.monotonic()
            finally:
                self._lock.release()
                done.set()

        threading.Thread(target=check, name="replica-check", daemon=True).start()
        return self._fresh if done.wait(CHECK_DEADLINE_S) else False

    def set_aside(self) -> None:
        """Read the primary until the next check (the replica just failed a read)."""
        self._fresh = False
        self._checked_at = time.monotonic()

    def _check(self, primary: sa.Engine) -> bool:
        try:
            with primary.connect() as conn:
                written = lsn(conn.execute(_PRIMARY_LSN).scalar_one())
            with self.engine.connect() as conn:
                recovering, replayed, age_s = conn.execute(_REPLICA_STATE).one()
        except sa.exc.SQLAlchemyError as error:
            log.warning("read replica not usable, reading the primary: %s", error)
            return False
        if not recovering:
            log.warning("DATABASE_READ_URL is not a replica in recovery; reading the primary")
            return False
        if lsn(replayed) >= written:
            return True
        lagging = age_s is None or float(age_s) > self.max_lag_s
        if lagging:
            log.warning("read replica %.1fs behind, reading the primary", float(age_s or -1))
        return not lagging


def build_reader(config: Mapping[str, Any]) -> Reader | None:
    url = config.get("DATABASE_READ_URL")
    if not url:
        return None
    options = dict(config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    connect_args = dict(options.pop("connect_args", {}))
    connect_args["application_name"] = "wxapp-read"
    engine = sa.create_engine(url, connect_args=connect_args, **options)
    return Reader(engine, config["DATABASE_READ_MAX_LAG_S"], config["DATABASE_READ_CHECK_S"])


def read_only(query: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
    """`query(session, *args, **kwargs)` on the replica while it is within the bound, else
    on the app's own session (the primary).

    `query` only reads, so when the replica fails under it (the connection lost, the server
    restarting or promoted, a statement cancelled by recovery: an OperationalError or
    InterfaceError) it runs again on the primary, and the replica is set aside until its
    next check instead of failing every request of the next DATABASE_READ_CHECK_S. A read
    that ran past its own statement timeout is the read's doing: it is not run again."""
    reader: Reader | None = current_app.extensions.get("read_db")
    if reader is not None and reader.fresh(db.engine):
        try:
            with Session(reader.engine) as session:
                return query(session, *args, **kwargs)
        except (sa.exc.OperationalError, sa.exc.InterfaceError) as error:
            if getattr(error.orig, "sqlstate", None) == QUERY_CANCELED:
                raise  # the read's own statement timeout: the primary would take as long
            reader.set_aside()
            log.warning("read replica failed a read, reading the primary: %s", error)
    return query(db.session, *args, **kwargs)
