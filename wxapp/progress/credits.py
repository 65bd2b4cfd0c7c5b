"""A trainee's 学时 for a year, by kind (公需科目, 专业科目), read into the yearly standing.

A learned course counts once toward the year, in the kind of the plans that hold it,
however many of the trainee's paid plans of that year hold it: two 专业 plans sharing a
course each count it toward their own 计划完成度 (`Enrollment.hours_done`, what the plan's
certificate needs), but the year gets its 学时 once, so adding up the plans' 学时 alone
would count it twice. What counts toward the year is then `wxapp.progress.standing` (each
kind up to its requirement). One query per call; `year_hours` is the same sum for every
trainee, a subquery the unit report and the district summary join.
"""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from models import CourseCompletion, Enrollment, EnrollmentStatus, PlanCourse, TrainingPlan, db
from wxapp.progress.standing import PUBLIC, SPECIALIST, YearStanding, year_standing


def year_hours(year: int, trainee_id: int | None = None) -> sa.Subquery:
    """Per trainee (one, or all) with a paid plan of `year`: `public_done` and
    `specialist_done`, each learned course counted once.

    The plans' own 学时 (`hours_done`, recounted from the learned courses at each
    completion) added up per kind, less the repeats: a learned course that k of the
    trainee's plans of one kind hold was added k times, so k - 1 of them are taken off.
    Only trainees holding two or more plans of a kind are looked at for repeats, so the
    usual case (one plan per kind) costs what a plain sum does."""

    def paid(query: sa.Select) -> sa.Select:
        query = query.join(TrainingPlan, TrainingPlan.id == Enrollment.plan_id).where(
            TrainingPlan.year == year, Enrollment.status == EnrollmentStatus.PAID
        )
        return query if trainee_id is None else query.where(Enrollment.trainee_id == trainee_id)

    def per_kind(amount: sa.ColumnElement, kind_column, kind: str) -> sa.ColumnElement:
        return sa.func.coalesce(sa.func.sum(sa.case((kind_column == kind, amount), else_=0)), 0)

    sums = (
        paid(
            sa.select(
                Enrollment.trainee_id.label("trainee_id"),
                *(
                    per_kind(Enrollment.hours_done, TrainingPlan.kind, k).label(k)
                    for k in (PUBLIC, SPECIALIST)
                ),
            )
        )
        .group_by(Enrollment.trainee_id)
        .subquery("plan_sums")
    )
    several = (
        paid(sa.select(Enrollment.trainee_id, TrainingPlan.kind))
        .group_by(Enrollment.trainee_id, TrainingPlan.kind)
        .having(sa.func.count() > 1)
        .subquery("several")
    )
    repeated = (
        paid(
            sa.select(
                Enrollment.trainee_id,
                PlanCourse.course_id,
                TrainingPlan.kind,
                (sa.func.count() - 1).label("extra"),
            )
        )
        .join(
            several,
            sa.and_(
                several.c.trainee_id == Enrollment.trainee_id, several.c.kind == TrainingPlan.kind
            ),
        )
        .join(PlanCourse, PlanCourse.plan_id == Enrollment.plan_id)
        .group_by(Enrollment.trainee_id, PlanCourse.course_id, TrainingPlan.kind)
        .having(sa.func.count() > 1)
        .subquery("repeated")
    )
    repeats = (
        sa.select(
            repeated.c.trainee_id,
            *(
                per_kind(repeated.c.extra * CourseCompletion.hours, repeated.c.kind, k).label(k)
                for k in (PUBLIC, SPECIALIST)
            ),
        )
        .join(
            CourseCompletion,
            sa.and_(
                CourseCompletion.trainee_id == repeated.c.trainee_id,
                CourseCompletion.course_id == repeated.c.course_id,
            ),
        )
        .group_by(repeated.c.trainee_id)
        .subquery("repeats")
    )
    return (
        sa.select(
            sums.c.trainee_id.label("trainee_id"),
            *(
                (sums.c[k] - sa.func.coalesce(repeats.c[k], 0)).label(f"{k}_done")
                for k in (PUBLIC, SPECIALIST)
            ),
        )
        .outerjoin(repeats, repeats.c.trainee_id == sums.c.trainee_id)
        .subquery("year_hours")
    )


def trainee_standing(trainee_id: int, year: int) -> YearStanding:
    """The trainee's standing for `year` from the learned courses of the year's paid plans."""
    hours = year_hours(year, trainee_id)
    row = db.session.execute(sa.select(hours.c.public_done, hours.c.specialist_done)).first()
    public, specialist = row if row is not None else (0, 0)
    return year_standing(year, {PUBLIC: Decimal(public), SPECIALIST: Decimal(specialist)})
