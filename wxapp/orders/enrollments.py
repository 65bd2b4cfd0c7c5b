"""Enrollments: the one way a trainee becomes entitled to learn a plan.

`grant_enrollment` is called by payment success (orders) and by tests and seed-demo; it
adds to the caller's transaction and never commits (the use case owns the transaction).
A course the trainee already learned under another plan that this plan also offers
counts toward the new enrollment at once.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache

import sqlalchemy as sa

from models import CourseCompletion, Enrollment, EnrollmentStatus, PlanCourse, db
from wxapp.infra.dbutil import dialect_insert, execute
from wxapp.progress.completion import recount_enrollment


def grant_enrollment(
    trainee_id: int, plan_id: int, now: datetime, order_id: int | None = None
) -> bool:
    """Create the paid enrollment of `trainee_id` in `plan_id` unless it exists.

    Returns True when this call created it. Safe under concurrency: the unique
    (trainee_id, plan_id) constraint and ON CONFLICT DO NOTHING make a second grant a no-op.
    """
    return grant_enrollments([trainee_id], plan_id, now, order_id=order_id) == 1


def paid_plan_ids(trainee_id: int) -> set[int]:
    return set(execute(_paid_plan_ids_statement(), {"trainee": trainee_id}).scalars())


@cache
def _paid_plan_ids_statement() -> sa.Select:
    # Built once, like the other statements on the buying path: building one cost more CPU
    # than PostgreSQL's running it (docs/performance.md).
    return sa.select(Enrollment.plan_id).where(
        Enrollment.trainee_id == sa.bindparam("trainee"),
        Enrollment.status == EnrollmentStatus.PAID,
    )


def grant_enrollments(
    trainee_ids: list[int], plan_id: int, now: datetime, order_id: int | None = None
) -> int:
    """`grant_enrollment` for many trainees at once (a group order), in one executemany.

    Same rule and same idempotence; a group order of thousands must be applied within
    WeChat Pay's 5 s notification timeout, which one statement per trainee does not meet.
    Returns how many enrollments this call created or made paid again. Never commits.
    """
    return len(enroll_paid(trainee_ids, plan_id, now, order_id))


def enroll_paid(
    trainee_ids: list[int], plan_id: int, now: datetime, order_id: int | None = None
) -> list[int]:
    """The trainees this call entitled to the plan: new paid enrollments, and refunded ones
    made paid again (what they learned is kept and counted again). Those left out already
    held a paid enrollment: for a paid order, members who paid twice. Never commits."""
    if not trainee_ids:
        return []
    statement = _enroll_statement(db.session.get_bind().dialect.name)
    rows = [
        {
            "trainee_id": tid,
            "plan_id": plan_id,
            "status": EnrollmentStatus.PAID,
            "order_id": order_id,
            "hours_done": 0,
            "created_at": now,
        }
        for tid in trainee_ids
    ]
    entitled = [row[0] for row in execute(statement, rows)]
    recount_learned(entitled, plan_id, now)
    return entitled


@cache
def _enroll_statement(dialect: str) -> sa.Insert:
    """The upsert of `enroll_paid`, built once per dialect (`dialect_insert` picks it)."""
    table = Enrollment.__table__
    insert = dialect_insert(table)
    return insert.on_conflict_do_update(
        index_elements=["trainee_id", "plan_id"],
        set_={"status": EnrollmentStatus.PAID, "order_id": insert.excluded.order_id},
        where=table.c.status != EnrollmentStatus.PAID,
    ).returning(table.c.trainee_id)


def recount_learned(trainee_ids: list[int], plan_id: int, now: datetime) -> None:
    """Count courses learned before the grant toward the plan (one query when there are none)."""
    if not trainee_ids:
        return
    learned_before = execute(
        _learned_before_statement(), {"plan": plan_id, "trainees": trainee_ids}
    )
    for trainee_id in list(learned_before.scalars()):
        recount_enrollment(trainee_id, plan_id, now)


@cache
def _learned_before_statement() -> sa.Select:
    return (
        sa.select(CourseCompletion.trainee_id)
        .join(PlanCourse, PlanCourse.course_id == CourseCompletion.course_id)
        .where(
            PlanCourse.plan_id == sa.bindparam("plan"),
            CourseCompletion.trainee_id.in_(sa.bindparam("trainees", expanding=True)),
        )
        .distinct()
    )
