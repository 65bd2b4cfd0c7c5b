"""Per 区县: how many units and trainees have not yet met the year's requirement.

A trainee belongs to the district of their unit, or to their 档案所在区县 when they chose no
unit. A unit is counted as not meeting the year when any of its trainees has not. One query:
the per-trainee sums, a verdict in SQL, then a GROUP BY district.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from models import Trainee, Unit
from wxapp.infra.replica import read_only
from wxapp.progress.credits import year_hours
from wxapp.progress.standing import REQUIRED_HOURS
from wxapp.reports.unit import PUBLIC, SPECIALIST

NO_DISTRICT = "（未填写）"


def district_summary(year: int) -> list[dict[str, Any]]:
    return read_only(_district_summary, year)  # the read replica when configured and fresh


def _district_summary(session: Session, year: int) -> list[dict[str, Any]]:
    hours = year_hours(year)
    unmet = sa.or_(
        sa.func.coalesce(hours.c.public_done, 0) < REQUIRED_HOURS[PUBLIC],
        sa.func.coalesce(hours.c.specialist_done, 0) < REQUIRED_HOURS[SPECIALIST],
    )
    district = sa.func.coalesce(Unit.district, Trainee.archive_district, NO_DISTRICT)
    per_trainee = (
        sa.select(
            district.label("district"),
            Trainee.unit_id.label("unit_id"),
            sa.case((unmet, 1), else_=0).label("unmet"),
        )
        .select_from(Trainee)
        .outerjoin(Unit, Unit.id == Trainee.unit_id)
        .outerjoin(hours, hours.c.trainee_id == Trainee.id)
        .subquery("per_trainee")
    )
    rows = session.execute(
        sa.select(
            per_trainee.c.district,
            sa.func.count(sa.distinct(per_trainee.c.unit_id)),
            sa.func.count(sa.distinct(sa.case((per_trainee.c.unmet == 1, per_trainee.c.unit_id)))),
            sa.func.count(),
            sa.func.sum(per_trainee.c.unmet),
        )
        .group_by(per_trainee.c.district)
        .order_by(per_trainee.c.district)
    ).all()
    return [
        {
            "district": name,
            "units": units,
            "units_unmet": units_unmet,
            "trainees": trainees,
            "trainees_unmet": int(trainees_unmet or 0),
        }
        for name, units, units_unmet, trainees, trainees_unmet in rows
    ]
