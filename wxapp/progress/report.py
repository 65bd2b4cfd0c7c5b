"""我的进度: a year's standing (`wxapp.progress.standing`: 公需 and 专业 each counted up to
its requirement, surplus apart, 还差 per kind), each enrolled plan's 计划完成度 with the
certificate already held for it, the courses started in it with their chapters, and every
year the trainee has plans in.

A bounded number of queries whatever the number of courses: the years, plans (with
their certificates; the standing is summed from them), started courses, their chapters with the trainee's progress, completions. A course counts as
started once one of its chapters is in the database (within PROGRESS_FLUSH_S of the first
beacon); the chapters of started courses are also read from Redis in one pipeline, so
their percentages are never behind the player.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from models import (
    Certificate,
    Chapter,
    ChapterProgress,
    Course,
    CourseCompletion,
    Enrollment,
    EnrollmentStatus,
    PlanCourse,
    PlanKind,
    TrainingPlan,
    db,
)
from wxapp.catalogue.plans import KIND_NAMES, hours_text
from wxapp.progress import core
from wxapp.progress.records import trainee_progress
from wxapp.progress.standing import year_standing
from wxapp.progress.store import ProgressStore


def my_progress(store: ProgressStore, trainee_id: int, year: int) -> dict[str, Any]:
    enrolled = db.session.execute(
        sa.select(Enrollment, TrainingPlan, Certificate)
        .join(TrainingPlan, TrainingPlan.id == Enrollment.plan_id)
        .outerjoin(
            Certificate,
            sa.and_(
                Certificate.trainee_id == Enrollment.trainee_id,
                Certificate.plan_id == Enrollment.plan_id,
            ),
        )
        .where(
            Enrollment.trainee_id == trainee_id,
            Enrollment.status == EnrollmentStatus.PAID,
            TrainingPlan.year == year,
        )
        .order_by(TrainingPlan.kind, TrainingPlan.id)
    ).all()
    plan_ids = [plan.id for _, plan, _ in enrolled]
    courses_by_plan: dict[int, list[Course]] = defaultdict(list)
    chapters_by_course: dict[int, list[dict[str, Any]]] = defaultdict(list)
    learned: dict[int, Any] = {}
    if plan_ids:
        started = (
            sa.select(Chapter.course_id)
            .join(ChapterProgress, ChapterProgress.chapter_id == Chapter.id)
            .where(ChapterProgress.trainee_id == trainee_id)
        )
        for plan_id, course in db.session.execute(
            sa.select(PlanCourse.plan_id, Course)
            .join(Course, Course.id == PlanCourse.course_id)
            .where(PlanCourse.plan_id.in_(plan_ids), PlanCourse.course_id.in_(started))
            .order_by(PlanCourse.plan_id, PlanCourse.position, Course.id)
        ):
            courses_by_plan[plan_id].append(course)
        course_ids = {c.id for cs in courses_by_plan.values() for c in cs}
        if course_ids:
            _chapters(store, trainee_id, course_ids, chapters_by_course)
            learned = dict(
                db.session.execute(
                    sa.select(CourseCompletion.course_id, CourseCompletion.completed_at).where(
                        CourseCompletion.trainee_id == trainee_id,
                        CourseCompletion.course_id.in_(course_ids),
                    )
                ).all()
            )
    plans = []
    done_by_kind: dict[str, Decimal] = defaultdict(Decimal)
    for enrollment, plan, certificate in enrolled:
        done = Decimal(enrollment.hours_done or 0)
        done_by_kind[plan.kind] += done
        plans.append(
            {
                "id": plan.id,
                "title": plan.title,
                "kind": plan.kind,
                "kind_name": KIND_NAMES[PlanKind(plan.kind)],
                "required_hours": plan.required_hours,
                "hours_done": float(done),
                "percent": core.plan_percent(done, plan.required_hours),
                "completed": enrollment.completed_at is not None,
                "completed_at": _iso(enrollment.completed_at),
                "certificate": _certificate(certificate),
                "courses": [
                    _course(c, chapters_by_course[c.id], learned.get(c.id))
                    for c in courses_by_plan[plan.id]
                ],
            }
        )
    return {
        "year": year,
        "totals": year_standing(year, done_by_kind).to_dict(),
        "years": _years(trainee_id, year),
        "plans": plans,
    }


def _years(trainee_id: int, year: int) -> list[int]:
    """Every year the trainee has paid plans in, and the year shown, newest first."""
    years = db.session.scalars(
        sa.select(TrainingPlan.year)
        .distinct()
        .join(Enrollment, Enrollment.plan_id == TrainingPlan.id)
        .where(Enrollment.trainee_id == trainee_id, Enrollment.status == EnrollmentStatus.PAID)
    ).all()
    return sorted({*years, year}, reverse=True)


def _certificate(cert: Certificate | None) -> dict[str, Any] | None:
    """The certificate held for the plan (serial and its print page), or None."""
    if cert is None:
        return None
    return {"id": cert.id, "serial": cert.serial, "print_url": f"/certificates/{cert.id}"}


def _chapters(
    store: ProgressStore,
    trainee_id: int,
    course_ids: set[int],
    out: dict[int, list[dict[str, Any]]],
) -> None:
    rows = db.session.execute(
        sa.select(
            Chapter.id,
            Chapter.course_id,
            Chapter.title,
            Chapter.duration_s,
            ChapterProgress.watched_seconds,
            ChapterProgress.completed_at,
        )
        .outerjoin(ChapterProgress, trainee_progress(trainee_id))
        .where(Chapter.course_id.in_(course_ids))
        .order_by(Chapter.course_id, Chapter.position)
    ).all()
    hot = store.chapter_states([(trainee_id, r.id) for r in rows])
    for row, state in zip(rows, hot, strict=True):
        watched = max(row.watched_seconds or 0, state.watched if state else 0)
        out[row.course_id].append(
            {
                "id": row.id,
                "title": row.title,
                "duration": row.duration_s,
                "watched_seconds": watched,
                "percent": core.percent(watched, row.duration_s),
                "done": row.completed_at is not None,
            }
        )


def _course(course: Course, chapters: list[dict[str, Any]], learned_at) -> dict[str, Any]:
    total = sum(c["duration"] for c in chapters)
    watched = sum(min(c["watched_seconds"], c["duration"]) for c in chapters)
    return {
        "id": course.id,
        "title": course.title,
        "hours": float(course.hours),
        "hours_text": hours_text(course.hours),
        "state": "learned" if learned_at is not None else "learning",
        "state_name": "已学完" if learned_at is not None else "学习中",
        "completed_at": _iso(learned_at),
        "percent": 100 if learned_at is not None else core.percent(watched, total),
        "chapters": chapters,
    }


def _iso(when) -> str | None:
    return when.isoformat() if when is not None else None
