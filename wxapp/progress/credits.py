"""A trainee's 学时 for a year: 公需 and 专业 done vs required (the notice: 30 and 60).

Done is the sum of `Enrollment.hours_done` over the year's plans of each kind, which the
progress engine keeps current at each course completion. One query per call.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from models import Enrollment, EnrollmentStatus, PlanKind, TrainingPlan, db

REQUIRED_HOURS = {PlanKind.PUBLIC.value: 30, PlanKind.SPECIALIST.value: 60}
TOTAL_REQUIRED = 90


def year_totals(trainee_id: int, year: int) -> dict[str, Any]:
    """{"public": {"done", "required"}, "specialist": {...}, "total": {...}, "met": bool}."""
    rows = db.session.execute(
        sa.select(TrainingPlan.kind, sa.func.coalesce(sa.func.sum(Enrollment.hours_done), 0))
        .join(TrainingPlan, TrainingPlan.id == Enrollment.plan_id)
        .where(
            Enrollment.trainee_id == trainee_id,
            TrainingPlan.year == year,
            Enrollment.status == EnrollmentStatus.PAID,
        )
        .group_by(TrainingPlan.kind)
    ).all()
    done = {kind: Decimal(hours) for kind, hours in rows}
    return summarize(done)


def summarize(done: dict[str, Decimal]) -> dict[str, Any]:
    """Totals and the 达标 verdict from 学时 done per kind (pure)."""
    result: dict[str, Any] = {}
    for kind, required in REQUIRED_HOURS.items():
        hours = done.get(kind, Decimal(0))
        result[kind] = {"done": float(hours), "required": required, "met": hours >= required}
    total = sum(done.values(), Decimal(0))
    result["total"] = {"done": float(total), "required": TOTAL_REQUIRED}
    result["met"] = all(result[k]["met"] for k in REQUIRED_HOURS)
    return result
