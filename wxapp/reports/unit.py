"""The unit report (应训未训): every trainee of a unit with the year's 公需 and 专业 学时 done
against the requirement (30 and 60) and a 达标/未达标 verdict.

One grouped query for all the unit's trainees (a per-trainee sum of `Enrollment.hours_done`
over the year's plans, left-joined to the unit's trainees), so 20,000 trainees cost the
same two round trips as twenty.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from models import Enrollment, EnrollmentStatus, Trainee, TrainingPlan, Unit, db
from wxapp.accounts.idnumbers import mask_id_number
from wxapp.errors import NotFound
from wxapp.progress.credits import REQUIRED_HOURS

PUBLIC, SPECIALIST = "public", "specialist"
MET, UNMET = "达标", "未达标"


def year_hours_by_trainee(year: int) -> sa.Subquery:
    """Per trainee: 公需 and 专业 学时 done in the year's paid plans (a subquery to join)."""

    def kind_sum(kind: str) -> sa.ColumnElement:
        return sa.func.coalesce(
            sa.func.sum(sa.case((TrainingPlan.kind == kind, Enrollment.hours_done), else_=0)), 0
        )

    return (
        sa.select(
            Enrollment.trainee_id.label("trainee_id"),
            kind_sum(PUBLIC).label("public_done"),
            kind_sum(SPECIALIST).label("specialist_done"),
        )
        .join(TrainingPlan, TrainingPlan.id == Enrollment.plan_id)
        .where(TrainingPlan.year == year, Enrollment.status == EnrollmentStatus.PAID)
        .group_by(Enrollment.trainee_id)
        .subquery("year_hours")
    )


def verdict(public_done: Decimal, specialist_done: Decimal) -> dict[str, Any]:
    """A row's numbers and verdict (pure): 达标 needs both kinds met."""
    public_met = public_done >= REQUIRED_HOURS[PUBLIC]
    specialist_met = specialist_done >= REQUIRED_HOURS[SPECIALIST]
    return {
        "public_done": float(public_done),
        "public_required": REQUIRED_HOURS[PUBLIC],
        "specialist_done": float(specialist_done),
        "specialist_required": REQUIRED_HOURS[SPECIALIST],
        "met": public_met and specialist_met,
        "verdict": MET if public_met and specialist_met else UNMET,
    }


def unit_report(unit_id: int, year: int) -> dict[str, Any]:
    """The report of one unit for one year, trainees in name order."""
    unit = db.session.get(Unit, unit_id)
    if unit is None:
        raise NotFound("单位不存在", code="unit_not_found")
    hours = year_hours_by_trainee(year)
    rows = db.session.execute(
        sa.select(
            Trainee.id,
            Trainee.name,
            Trainee.id_number,
            Trainee.phone,
            sa.func.coalesce(hours.c.public_done, 0),
            sa.func.coalesce(hours.c.specialist_done, 0),
        )
        .outerjoin(hours, hours.c.trainee_id == Trainee.id)
        .where(Trainee.unit_id == unit_id)
        .order_by(Trainee.name, Trainee.id)
    ).all()
    trainees = []
    met = 0
    for trainee_id, name, id_number, phone, public_done, specialist_done in rows:
        row = {
            "trainee_id": trainee_id,
            "name": name,
            "id_number_masked": mask_id_number(id_number),
            "phone": phone,
            **verdict(Decimal(public_done), Decimal(specialist_done)),
        }
        met += row["met"]
        trainees.append(row)
    return {
        "unit": {"id": unit.id, "name": unit.name, "district": unit.district},
        "year": year,
        "summary": {"trainees": len(trainees), "met": met, "unmet": len(trainees) - met},
        "trainees": trainees,
    }
