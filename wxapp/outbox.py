"""Writing outbox events in the caller's transaction; the notification worker sends them.

An event is one of the typed classes of `wxapp.events`; its row holds the event's type,
subject and `events.to_payload(event)`, which the worker parses back into the same class.

When a transaction that added events commits, idle workers are woken through Redis
(`wxapp.notifications.signal`), so a push does not wait for their fallback poll. The
wake-up is sent only after the commit, when the rows are visible to the workers; so are
the Prometheus counts of completions and payments, which therefore count each once.
"""

from __future__ import annotations

import logging
from datetime import datetime
from functools import cache
from typing import Any

import redis
import sqlalchemy as sa
from flask import current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from models import Outbox, OutboxStatus, db
from wxapp import events
from wxapp.infra.dbutil import dialect_insert, execute
from wxapp.infra.observability import COMPLETIONS, PAYMENTS
from wxapp.notifications import signal

log = logging.getLogger(__name__)
_WAKE = "outbox_wake"  # session.info: the event types this transaction added
_COMPLETION_LEVELS = {
    events.ChapterLearned.event_type: "chapter",
    events.CourseLearned.event_type: "course",
    events.PlanCompleted.event_type: "plan",
}


def add_event(event: events.Event, trainee_id: int, now: datetime) -> bool:
    """Add one event unless the same (type, trainee, subject) exists; True if added.

    Never commits. The unique key makes retries and races write the event once.
    """
    result = execute(
        _insert_statement(db.session.get_bind().dialect.name), _row(event, trainee_id, now)
    )
    # A row comes back only when inserted (rowcount is -1 with psycopg's implicit RETURNING).
    added = result.first() is not None
    if added:
        db.session.info.setdefault(_WAKE, []).append(event.event_type)
    return added


def add_events(items: list[tuple[events.Event, int]], now: datetime) -> int:
    """`add_event` for many (event, trainee id) pairs in one statement (multi-row on
    PostgreSQL); how many were added. Never commits."""
    if not items:
        return 0
    result = execute(
        _insert_statement(db.session.get_bind().dialect.name),
        [_row(event, trainee_id, now) for event, trainee_id in items],
    )
    added = [row.event_type for row in result]
    db.session.info.setdefault(_WAKE, []).extend(added)
    return len(added)


def _row(event: events.Event, trainee_id: int, now: datetime) -> dict[str, Any]:
    if not isinstance(event, events.Event):
        raise TypeError(f"an outbox event must be a wxapp.events class, got {type(event)!r}")
    return {
        "event_type": event.event_type,
        "trainee_id": trainee_id,
        "subject": event.subject,
        "payload": events.to_payload(event),
        "status": OutboxStatus.PENDING,
        "attempts": 0,
        "created_at": now,
        "next_attempt_at": now,
    }


@cache
def _insert_statement(dialect: str) -> sa.Insert:
    """`add_event`'s INSERT ... ON CONFLICT DO NOTHING RETURNING id, built once per dialect
    (the values are bound at execution): building it cost more CPU than running it."""
    table = Outbox.__table__
    insert = dialect_insert(table)  # the session's, which `dialect` names
    return insert.on_conflict_do_nothing(
        index_elements=["event_type", "trainee_id", "subject"]
    ).returning(table.c.id, table.c.event_type)


def requeue_given_up(outbox_id: int, now: datetime) -> bool:
    """Send a given-up row again (an operator's retry): pending, attempts reset, due now.

    Never commits; the workers are woken after the caller's commit. False unless the row
    exists and was given up.
    """
    result = db.session.execute(
        sa.update(Outbox)
        .where(Outbox.id == outbox_id, Outbox.status == OutboxStatus.GIVEN_UP)
        .values(status=OutboxStatus.PENDING, attempts=0, next_attempt_at=now, claimed_until=None)
    )
    if result.rowcount != 1:
        return False
    db.session.info.setdefault(_WAKE, []).append("requeued")  # wakes; counts nothing
    return True


def _count(event_types: list[str]) -> None:
    for event_type in event_types:
        if event_type in _COMPLETION_LEVELS:
            COMPLETIONS.labels(level=_COMPLETION_LEVELS[event_type]).inc()
        elif event_type == events.PaymentSucceeded.event_type:
            PAYMENTS.labels(outcome="paid").inc()


@event.listens_for(Session, "after_commit")
def _wake_workers(session: Session) -> None:
    added = session.info.pop(_WAKE, None)
    if not added:
        return
    _count(added)
    if not has_app_context():
        return
    try:
        signal.wake(current_app.extensions["redis"])
    except redis.RedisError as err:  # the commit stands; the workers' poll picks it up
        log.warning("could not wake the notification workers: %s", err)


@event.listens_for(Session, "after_rollback")
def _forget_wake(session: Session) -> None:
    session.info.pop(_WAKE, None)
