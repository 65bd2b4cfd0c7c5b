"""A plan's 学时 rule: the courses it holds offer at least the 学时 it requires, or a trainee
who learns every one of them still cannot complete it. One rule, two callers: the catalogue
loader checks a file by it, the console's 课程 and 培训项目 forms check an edit."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from sqlalchemy.orm import selectinload

from models import PlanCourse, TrainingPlan, db
from wxapp.infra.texts import hours_number


def hours_shortfall(offered: Decimal, required: int) -> str | None:
    """Why courses offering `offered` 学时 in all leave a plan requiring `required` short, or
    None when they do not."""
    if offered >= required:
        return None
    return f"课程学时合计 {hours_number(offered)} 少于要求的 {required} 学时"


def plans_left_short(plans: Iterable[TrainingPlan]) -> list[str]:
    """The shortfall of each of `plans` its courses leave short, naming the plan. The 学时 are
    read from the session, so an edit not yet written counts."""
    found = []
    for plan in plans:
        offered = sum((link.course.hours for link in plan.courses), start=Decimal(0))
        shortfall = hours_shortfall(offered, plan.required_hours)
        if shortfall is not None:
            found.append(f"培训项目「{plan.title}」（{plan.code}）的{shortfall}")
    return found


def plans_holding(course_id: int) -> list[TrainingPlan]:
    """The plans that hold the course, with their courses."""
    return list(
        db.session.execute(
            db.select(TrainingPlan)
            .join(PlanCourse, PlanCourse.plan_id == TrainingPlan.id)
            .where(PlanCourse.course_id == course_id)
            .order_by(TrainingPlan.year, TrainingPlan.code)
            .options(selectinload(TrainingPlan.courses).selectinload(PlanCourse.course))
        ).scalars()
    )
