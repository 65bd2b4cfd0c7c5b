"""Writing outbox events in the caller's transaction; the notification worker sends them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from models import Outbox, db
from wxapp.dbutil import insert_ignore

EVENT_TYPES = (
    "payment_succeeded",
    "chapter_learned",
    "course_learned",
    "plan_completed",
    "certificate_issued",
)


def add_event(
    event_type: str, trainee_id: int, subject: str, payload: dict[str, Any], now: datetime
) -> bool:
    """Add one event unless the same (type, trainee, subject) exists; True if added.

    Never commits. The unique key makes retries and races write the event once.
    """
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown outbox event type {event_type!r}")
    result = db.session.execute(
        insert_ignore(
            Outbox.__table__,
            {
                "event_type": event_type,
                "trainee_id": trainee_id,
                "subject": subject,
                "payload": payload,
                "status": "pending",
                "attempts": 0,
                "created_at": now,
                "next_attempt_at": now,
            },
            ["event_type", "trainee_id", "subject"],
        )
    )
    return result.rowcount == 1
