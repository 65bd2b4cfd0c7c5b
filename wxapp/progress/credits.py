"""A trainee's 学时 for a year, by kind (公需科目, 专业科目), read into the yearly standing.

Done is the sum of `Enrollment.hours_done` over the year's paid plans of each kind, which
the progress engine keeps current at each course completion; what counts toward the year
is `wxapp.progress.standing` (each kind up to its requirement). One query per call.
"""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from models import Enrollment, EnrollmentStatus, TrainingPlan, db
from wxapp.progress.standing import YearStanding, year_standing


def trainee_standing(trainee_id: int, year: int) -> YearStanding:
    """The trainee's standing for `year` from the 学时 done in the year's paid plans."""
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
    return year_standing(year, {kind: Decimal(hours) for kind, hours in rows})
