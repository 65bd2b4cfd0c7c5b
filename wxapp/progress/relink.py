"""A catalogue load that changes a sold plan's courses: its enrollments' 学时 recounted.

`Enrollment.hours_done` (a plan's own 学时) is recounted from the learned courses at each
completion and each grant, and the year's 学时 (`wxapp.progress.credits`) add the plans'
counts up, less the repeats the *current* links make. A load that offers a learned course
in a second plan the trainee holds, or takes one out, changed the links and not the counts:
the unit report, 我的进度 and the certificate's year then took a course off that had never
been added twice (30 学时 learned read 0), or counted one twice.

So whoever loads a catalogue (the command, the console's 导入课程目录) recounts here, in the
load's transaction, and forgets the trainees' cached entitlements once it has committed.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

import sqlalchemy as sa

from models import CourseCompletion, Enrollment, EnrollmentStatus, PlanCourse, TrainingPlan, db
from wxapp.catalogue.load_summary import LoadSummary
from wxapp.extensions import get_redis
from wxapp.progress.completion import recount_enrollment
from wxapp.progress.store import drop_entitlements_of


def recount_relinked(summary: LoadSummary, now: datetime) -> list[int]:
    """`recount_plans` for the plans a load relinked, noted in its summary."""
    trainee_ids = recount_plans(summary.relinked_plan_ids, now)
    summary.recounted = len(trainee_ids)
    return trainee_ids


def recount_plans(plan_ids: Collection[int], now: datetime) -> list[int]:
    """Recount the paid enrollments of these plans from the courses learned (never commits).

    One statement sets every count that differs; an enrollment that now reaches its 要求学时
    is completed as a completion would (PlanCompleted, the push). The trainees whose counts
    changed, for `forget_entitlements` after the commit.
    """
    if not plan_ids:
        return []
    enrollments = Enrollment.__table__
    learned = (
        sa.select(sa.func.coalesce(sa.func.sum(CourseCompletion.hours), 0))
        .join(PlanCourse, PlanCourse.course_id == CourseCompletion.course_id)
        .where(
            PlanCourse.plan_id == enrollments.c.plan_id,
            CourseCompletion.trainee_id == enrollments.c.trainee_id,
        )
        .scalar_subquery()
    )
    changed = db.session.execute(
        sa.update(enrollments)
        .where(
            enrollments.c.plan_id.in_(list(plan_ids)),
            enrollments.c.status == EnrollmentStatus.PAID,
            enrollments.c.hours_done != learned,
        )
        .values(hours_done=learned)
        .returning(enrollments.c.trainee_id, enrollments.c.plan_id)
    ).all()
    for obj in list(db.session.identity_map.values()):
        if isinstance(obj, Enrollment):
            db.session.expire(obj)  # the statement above changed rows under them
    reached = db.session.execute(
        sa.select(Enrollment.trainee_id, Enrollment.plan_id)
        .join(TrainingPlan, TrainingPlan.id == Enrollment.plan_id)
        .where(
            Enrollment.plan_id.in_(list(plan_ids)),
            Enrollment.status == EnrollmentStatus.PAID,
            Enrollment.completed_at.is_(None),
            Enrollment.hours_done >= TrainingPlan.required_hours,
        )
    ).all()
    for trainee_id, plan_id in reached:
        recount_enrollment(trainee_id, plan_id, now)
    return sorted({trainee_id for trainee_id, _ in changed})


def forget_entitlements(trainee_ids: list[int]) -> None:
    """After the commit: the next beacon of each reads its plans and their 学时 afresh."""
    drop_entitlements_of(get_redis(), trainee_ids)
