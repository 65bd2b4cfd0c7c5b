"""Reading the catalogue: plans by year and kind, a plan's courses paged, a course's chapters."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from models import Chapter, Course, PlanCourse, PlanKind, TrainingPlan, db
from wxapp.errors import NotFound
from wxapp.infra.texts import hours_number as hours_text  # noqa: F401 (re-exported)

KIND_NAMES = {PlanKind.PUBLIC: "公需科目", PlanKind.SPECIALIST: "专业科目"}


def on_sale(plan: TrainingPlan, now: datetime) -> bool:
    return (plan.sale_start is None or plan.sale_start <= now) and (
        plan.sale_end is None or now < plan.sale_end
    )


def plan_summary(plan: TrainingPlan, now: datetime) -> dict[str, Any]:
    return {
        "id": plan.id,
        "year": plan.year,
        "kind": plan.kind,
        "kind_name": KIND_NAMES[PlanKind(plan.kind)],
        "title": plan.title,
        "provider": plan.provider,
        "required_hours": plan.required_hours,
        "price_per_hour_fen": plan.price_per_hour_fen,
        "price_fen": plan.price_fen,
        "on_sale": on_sale(plan, now),
        "sale_start": plan.sale_start.isoformat() if plan.sale_start else None,
        "sale_end": plan.sale_end.isoformat() if plan.sale_end else None,
    }


def list_plans(year: int | None, kind: str | None, now: datetime) -> list[dict[str, Any]]:
    query = db.select(TrainingPlan).order_by(
        TrainingPlan.year.desc(), TrainingPlan.kind, TrainingPlan.id
    )
    if year is not None:
        query = query.where(TrainingPlan.year == year)
    if kind is not None:
        query = query.where(TrainingPlan.kind == kind)
    return [plan_summary(p, now) for p in db.session.execute(query).scalars()]


def get_plan(plan_id: int) -> TrainingPlan:
    plan = db.session.get(TrainingPlan, plan_id)
    if plan is None:
        raise NotFound("培训项目不存在", code="plan_not_found")
    return plan


def course_summary(course: Course) -> dict[str, Any]:
    return {
        "id": course.id,
        "title": course.title,
        "category": course.category,
        "hours": float(course.hours),
        "teacher": course.teacher,
    }


def plan_detail(plan_id: int, page: int, per_page: int, now: datetime) -> dict[str, Any]:
    """A plan with one page of its courses and the total 学时 it offers (两次查询, whatever the page)."""
    plan = get_plan(plan_id)
    total_count, total_hours = db.session.execute(
        sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(Course.hours), 0))
        .select_from(PlanCourse)
        .join(Course, Course.id == PlanCourse.course_id)
        .where(PlanCourse.plan_id == plan_id)
    ).one()
    courses = db.session.execute(
        db.select(Course)
        .join(PlanCourse, PlanCourse.course_id == Course.id)
        .where(PlanCourse.plan_id == plan_id)
        .order_by(PlanCourse.position, Course.id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).scalars()
    return {
        **plan_summary(plan, now),
        "hours_on_offer": float(total_hours),
        "courses": {
            "page": page,
            "per_page": per_page,
            "total": total_count,
            "items": [course_summary(c) for c in courses],
        },
    }


def course_detail(course_id: int) -> dict[str, Any]:
    course = db.session.get(Course, course_id)
    if course is None:
        raise NotFound("课程不存在", code="course_not_found")
    chapters = db.session.execute(
        db.select(Chapter).where(Chapter.course_id == course_id).order_by(Chapter.position)
    ).scalars()
    return {
        **course_summary(course),
        "description": course.description,
        "chapters": [
            {
                "id": ch.id,
                "position": ch.position,
                "title": ch.title,
                "duration": ch.duration_s,
                "video_url": ch.video_url,
            }
            for ch in chapters
        ],
    }
