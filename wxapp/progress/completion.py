"""Completions, written in the beacon's request before the reply: chapter, course, plan.

Each is written once (unique keys, and a lock on the trainee row so two chapters of one
course finishing at the same moment see each other), with its time, and with an outbox
row in the same transaction. A learned course counts toward every paid enrollment whose
plan contains it: its 学时 are added to each such `Enrollment.hours_done`, the plan's own
计划完成度 that its certificate reads. The year's standing counts the course once
(`wxapp.progress.credits`), however many plans hold it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa

from models import (
    Chapter,
    ChapterProgress,
    Course,
    CourseCompletion,
    Enrollment,
    EnrollmentStatus,
    PlanCourse,
    Trainee,
    TrainingPlan,
    db,
)
from wxapp.events import ChapterLearned, CourseLearned, PlanCompleted, PlanProgress
from wxapp.infra.dbutil import insert_ignore
from wxapp.outbox import add_event
from wxapp.progress import core
from wxapp.progress.credits import trainee_standing
from wxapp.progress.records import trainee_progress, upsert_chapters


@dataclass(frozen=True)
class PlanStanding:
    plan_id: int
    hours_done: Decimal
    required_hours: int
    completed: bool


@dataclass
class Completion:
    chapter_newly: bool = False  # this call recorded the chapter (not found learned already)
    course_done: bool = False
    course_newly: bool = False
    plans: dict[int, PlanStanding] = field(default_factory=dict)


def complete_chapter(
    trainee_id: int,
    chapter_id: int,
    course_id: int,
    intervals: list[tuple[int, int]],
    watched: int,
    position: int,
    reply_plan_id: int,
    now: datetime,
) -> Completion:
    """Record a learned chapter and whatever it completes; the caller commits."""
    # Serialise one trainee's completions: the second sees what the first committed. NO KEY
    # UPDATE (key_share): a plain FOR UPDATE also blocks the foreign-key checks of rows
    # being inserted for the trainee, so the flusher inserting this chapter's row waited for
    # this lock while this request waited for that row: a deadlock.
    db.session.execute(
        sa.select(Trainee.id).where(Trainee.id == trainee_id).with_for_update(key_share=True)
    ).first()
    already = db.session.execute(
        sa.select(ChapterProgress.completed_at).where(
            ChapterProgress.trainee_id == trainee_id, ChapterProgress.chapter_id == chapter_id
        )
    ).scalar()
    upsert_chapters(
        [
            {
                "trainee_id": trainee_id,
                "chapter_id": chapter_id,
                "intervals": [list(iv) for iv in intervals],
                "watched_seconds": watched,
                "position": position,
                "updated_at": now,
                "completed_at": now,
            }
        ]
    )
    if already is None:
        add_event(ChapterLearned(chapter_id=chapter_id, course_id=course_id), trainee_id, now)

    chapters = db.session.execute(
        sa.select(Chapter.id, ChapterProgress.completed_at)
        .outerjoin(ChapterProgress, trainee_progress(trainee_id))
        .where(Chapter.course_id == course_id)
    ).all()
    learned = [c.id for c in chapters if c.completed_at is not None]
    result = Completion(chapter_newly=already is None)
    if not core.course_learned([c.id for c in chapters], learned):
        return result
    result.course_done = True
    course = db.session.get(Course, course_id)
    created = db.session.execute(
        insert_ignore(
            CourseCompletion.__table__,
            {
                "trainee_id": trainee_id,
                "course_id": course_id,
                "hours": course.hours,
                "completed_at": now,
            },
            ["trainee_id", "course_id"],
        ).execution_options(preserve_rowcount=True)  # SQLAlchemy >= 2.0.28 drops it otherwise
    )
    if created.rowcount != 1:
        return result  # learned before (a retry after Redis lost its data)
    result.course_newly = True
    # The plans' completions are announced after the course's: the trainee's phone then
    # shows 课程学完 before 项目完成, which ends with what the year still lacks.
    completions: list[PlanCompleted] = []
    result.plans = _credit_plans(trainee_id, course_id, now, completions)
    shown = result.plans.get(reply_plan_id) or next(iter(result.plans.values()), None)
    progress = None
    if shown is not None:
        progress = PlanProgress(
            plan_id=shown.plan_id,
            title=db.session.get(TrainingPlan, shown.plan_id).title,
            hours_done=shown.hours_done,
            required_hours=shown.required_hours,
        )
    add_event(
        CourseLearned(
            course_id=course_id, course_title=course.title, hours=course.hours, plan=progress
        ),
        trainee_id,
        now,
    )
    for completed in completions:
        add_event(completed, trainee_id, now)
    return result


def _credit_plans(
    trainee_id: int, course_id: int, now: datetime, completions: list[PlanCompleted]
) -> dict[int, PlanStanding]:
    """Recount 学时 of every paid enrollment whose plan holds the course; complete plans."""
    enrollments = (
        db.session.execute(
            sa.select(Enrollment)
            .join(PlanCourse, PlanCourse.plan_id == Enrollment.plan_id)
            .where(
                Enrollment.trainee_id == trainee_id,
                Enrollment.status == EnrollmentStatus.PAID,
                PlanCourse.course_id == course_id,
            )
        )
        .scalars()
        .all()
    )
    return _recount(trainee_id, enrollments, now, completions)


def recount_enrollment(trainee_id: int, plan_id: int, now: datetime) -> PlanStanding | None:
    """Count the courses already learned toward a newly granted enrollment (never commits).

    For the orders area to call after `grant_enrollment`: a course learned earlier under
    another plan that this plan also offers counts here too. None without that enrollment.
    """
    enrollment = db.session.execute(
        sa.select(Enrollment).where(
            Enrollment.trainee_id == trainee_id,
            Enrollment.plan_id == plan_id,
            Enrollment.status == EnrollmentStatus.PAID,
        )
    ).scalar()
    if enrollment is None:
        return None
    return _recount(trainee_id, [enrollment], now).get(plan_id)


def _recount(
    trainee_id: int,
    enrollments: list[Enrollment],
    now: datetime,
    completions: list[PlanCompleted] | None = None,
) -> dict[int, PlanStanding]:
    """Set hours_done of these enrollments from the learned courses; complete plans, each
    announced by a PlanCompleted event: added to the outbox, or to `completions` for the
    caller to add after its own event."""
    if not enrollments:
        return {}
    plan_ids = [e.plan_id for e in enrollments]
    # Recounted from the completions, not incremented: a retry can never count twice.
    hours = dict(
        db.session.execute(
            sa.select(PlanCourse.plan_id, sa.func.sum(CourseCompletion.hours))
            .join(CourseCompletion, CourseCompletion.course_id == PlanCourse.course_id)
            .where(CourseCompletion.trainee_id == trainee_id, PlanCourse.plan_id.in_(plan_ids))
            .group_by(PlanCourse.plan_id)
        ).all()
    )
    plans = {
        p.id: p
        for p in db.session.execute(
            sa.select(TrainingPlan).where(TrainingPlan.id.in_(plan_ids))
        ).scalars()
    }
    standings: dict[int, PlanStanding] = {}
    completed: list[tuple[TrainingPlan, Decimal]] = []
    for enrollment in enrollments:
        plan = plans[enrollment.plan_id]
        done = Decimal(hours.get(plan.id) or 0)
        enrollment.hours_done = done
        if enrollment.completed_at is None and core.plan_complete(done, plan.required_hours):
            enrollment.completed_at = now
            completed.append((plan, done))
        standings[plan.id] = PlanStanding(
            plan.id, done, plan.required_hours, enrollment.completed_at is not None
        )
    db.session.flush()
    for plan, done in completed:
        # Read after the flush, so the year's standing holds this plan's 学时.
        year = trainee_standing(trainee_id, plan.year)
        event = PlanCompleted(
            plan_id=plan.id,
            plan_title=plan.title,
            year=plan.year,
            kind=plan.kind,
            hours_done=done,
            required_hours=plan.required_hours,
            year_shortfall=year.brief_shortfall(),
        )
        if completions is None:
            add_event(event, trainee_id, now)
        else:
            completions.append(event)
    return standings
