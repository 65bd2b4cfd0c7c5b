"""Enrollments: the one way a trainee becomes entitled to learn a plan.

`grant_enrollment` is called by payment success (orders) and by tests and seed-demo; it
adds to the caller's transaction and never commits (the use case owns the transaction).
"""

from __future__ import annotations

from datetime import datetime

from models import Enrollment, db
from wxapp.dbutil import insert_ignore


def grant_enrollment(
    trainee_id: int, plan_id: int, now: datetime, order_id: int | None = None
) -> bool:
    """Create the paid enrollment of `trainee_id` in `plan_id` unless it exists.

    Returns True when this call created it. Safe under concurrency: the unique
    (trainee_id, plan_id) constraint and ON CONFLICT DO NOTHING make a second grant a no-op.
    """
    result = db.session.execute(
        insert_ignore(
            Enrollment.__table__,
            {
                "trainee_id": trainee_id,
                "plan_id": plan_id,
                "status": "paid",
                "order_id": order_id,
                "hours_done": 0,
                "created_at": now,
            },
            ["trainee_id", "plan_id"],
        )
    )
    return result.rowcount == 1


def paid_plan_ids(trainee_id: int) -> set[int]:
    rows = db.session.execute(
        db.select(Enrollment.plan_id).where(
            Enrollment.trainee_id == trainee_id, Enrollment.status == "paid"
        )
    )
    return set(rows.scalars())
