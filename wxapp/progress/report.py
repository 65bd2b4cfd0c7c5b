"""我的进度: a year's standing (`wxapp.progress.standing`: 公需 and 专业 each counted up to
its requirement, surplus apart, 还差 per kind), each enrolled plan's 计划完成度 with the
certificate already held for it, the courses started in it with their chapters, and every
year the trainee has plans in.

Two queries whatever the number of plans and courses: the plans the trainee holds (all
years, with their courses, certificates and learned courses: `records.paid_plans`, the read
the beacon caches as entitlements, so 我的进度 caches it too), then the started courses of
the year's plans with their chapters and the trainee's progress. A course counts as
started once one of its chapters is in the database (within PROGRESS_FLUSH_S of the first
beacon); the chapters of started courses are also read from Redis in one pipeline, so
their percentages are never behind the player. 我的进度 is what a trainee opens on
arrival, so this is the year-end rush's cold path (docs/performance.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from typing import Any

import sqlalchemy as sa

from models import Chapter, ChapterProgress, Course, PlanKind
from wxapp.catalogue.plans import KIND_NAMES, hours_text
from wxapp.infra.dbutil import execute
from wxapp.progress import core, records
from wxapp.progress.records import trainee_progress
from wxapp.progress.standing import done_by_kind, year_standing
from wxapp.progress.store import ProgressStore
from wxapp.progress.tracking import remember_entitlements


def my_progress(store: ProgressStore, trainee_id: int, year: int) -> dict[str, Any]:
    generation = store.entitlement_generation(trainee_id)
    plans, learned = records.paid_plans(trainee_id)
    # The first beacon after 我的进度 (a trainee's usual way in) then finds them in Redis.
    remember_entitlements(store, trainee_id, plans, learned, generation=generation)
    shown = [p for p in plans if p.year == year]
    courses = _started_courses(store, trainee_id, {c for p in shown for c in p.course_ids})
    out = []
    for plan in shown:
        out.append(
            {
                "id": plan.plan_id,
                "title": plan.title,
                "kind": plan.kind,
                "kind_name": KIND_NAMES[PlanKind(plan.kind)],
                "required_hours": plan.required_hours,
                "hours_done": float(plan.hours_done),
                "percent": core.plan_percent(plan.hours_done, plan.required_hours),
                "completed": plan.completed,
                "completed_at": _iso(plan.completed_at),
                "certificate": _certificate(plan.certificate),
                "courses": [
                    _course(c, courses[c], learned[c].at if c in learned else None)
                    for c in plan.course_ids
                    if c in courses
                ],
            }
        )
    return {
        "year": year,
        # Each learned course once toward the year, though two of its plans hold it.
        "totals": year_standing(year, _done_by_kind(shown, learned)).to_dict(),
        "years": sorted({*(p.year for p in plans), year}, reverse=True),
        "plans": out,
    }


def _done_by_kind(
    plans: list[records.PaidPlan], learned: dict[int, records.Learned]
) -> dict[str, Decimal]:
    return done_by_kind(
        ((p.kind, p.course_ids) for p in plans), {c: x.hours for c, x in learned.items()}
    )


def _certificate(cert: tuple[int, str] | None) -> dict[str, Any] | None:
    """The certificate held for the plan (serial and its print page), or None."""
    if cert is None:
        return None
    cert_id, serial = cert
    return {"id": cert_id, "serial": serial, "print_url": f"/certificates/{cert_id}"}


@dataclass
class _StartedCourse:
    title: str
    hours: Decimal
    chapters: list[dict[str, Any]] = field(default_factory=list)


def _started_courses(
    store: ProgressStore, trainee_id: int, course_ids: set[int]
) -> dict[int, _StartedCourse]:
    """The courses among `course_ids` the trainee has started (one of their chapters is in
    the database), each with its chapters and the trainee's progress in them, in one query;
    the chapters' hot state is read from Redis in one pipeline, so their percentages are
    never behind the player."""
    if not course_ids:
        return {}
    rows = execute(
        _started_courses_statement(), {"trainee": trainee_id, "courses": sorted(course_ids)}
    ).all()
    hot = store.chapter_states([(trainee_id, r.id) for r in rows])
    courses: dict[int, _StartedCourse] = {}
    for row, state in zip(rows, hot, strict=True):
        course = courses.get(row.course_id)
        if course is None:
            course = courses[row.course_id] = _StartedCourse(row.course_title, row.hours)
        watched = max(row.watched_seconds or 0, state.watched if state else 0)
        course.chapters.append(
            {
                "id": row.id,
                "title": row.title,
                "duration": row.duration_s,
                "watched_seconds": watched,
                "percent": core.percent(watched, row.duration_s),
                "done": row.completed_at is not None,
            }
        )
    return courses


@cache
def _started_courses_statement() -> sa.Select:
    # Built once (records.py says why); the trainee and the courses are bound at execution.
    trainee = sa.bindparam("trainee")
    started = (
        sa.select(Chapter.course_id)
        .join(ChapterProgress, ChapterProgress.chapter_id == Chapter.id)
        .where(ChapterProgress.trainee_id == trainee)
    )
    return (
        sa.select(
            Course.id.label("course_id"),
            Course.title.label("course_title"),
            Course.hours,
            Chapter.id,
            Chapter.title,
            Chapter.duration_s,
            ChapterProgress.watched_seconds,
            ChapterProgress.completed_at,
        )
        .join(Chapter, Chapter.course_id == Course.id)
        .outerjoin(ChapterProgress, trainee_progress(trainee))
        .where(Course.id.in_(sa.bindparam("courses", expanding=True)), Course.id.in_(started))
        .order_by(Course.id, Chapter.position, Chapter.id)
    )


def _course(course_id: int, course: _StartedCourse, learned_at) -> dict[str, Any]:
    chapters = course.chapters
    total = sum(c["duration"] for c in chapters)
    watched = sum(min(c["watched_seconds"], c["duration"]) for c in chapters)
    return {
        "id": course_id,
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
