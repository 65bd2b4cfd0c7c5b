"""Enrollments and learning progress: what a trainee may learn and has learned."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from models.base import JSONType, db, utcnow


class EnrollmentStatus(enum.StrEnum):
    PAID = "paid"  # entitles the trainee to learn the plan
    # Its order's share was refunded and no other paid order covers it: no more learning,
    # but what was learned stays (a new paid order makes it PAID again, hours recounted).
    REFUNDED = "refunded"


class Enrollment(db.Model):
    """A paid place of a trainee in a plan; it entitles them to every course of the plan."""

    __tablename__ = "enrollments"

    id: Mapped[int] = mapped_column(primary_key=True)
    trainee_id: Mapped[int] = mapped_column(sa.ForeignKey("trainees.id"), index=True)
    plan_id: Mapped[int] = mapped_column(sa.ForeignKey("training_plans.id"), index=True)
    status: Mapped[str] = mapped_column(sa.String(16), default=EnrollmentStatus.PAID)
    # The order that paid for it; NULL for grants.
    order_id: Mapped[int | None] = mapped_column(sa.ForeignKey("orders.id"), index=True)
    # 学时 of learned courses counted toward this plan, kept current at each completion.
    hours_done: Mapped[Decimal] = mapped_column(sa.Numeric(6, 1), default=Decimal("0"))
    completed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        sa.UniqueConstraint("trainee_id", "plan_id", name="uq_enrollments_trainee_plan"),
    )


class ChapterProgress(db.Model):
    """The durable copy of a trainee's played stretches of one chapter (write-behind from Redis)."""

    __tablename__ = "chapter_progress"

    trainee_id: Mapped[int] = mapped_column(sa.ForeignKey("trainees.id"), primary_key=True)
    chapter_id: Mapped[int] = mapped_column(sa.ForeignKey("chapters.id"), primary_key=True)
    # Union of played seconds as [[from, to], ...], half-open, sorted and disjoint.
    intervals: Mapped[list] = mapped_column(JSONType, default=list)
    watched_seconds: Mapped[int] = mapped_column(default=0)
    position: Mapped[int] = mapped_column(default=0)
    completed_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class CourseCompletion(db.Model):
    """A course learned by a trainee: every chapter learned. Written once."""

    __tablename__ = "course_completions"

    trainee_id: Mapped[int] = mapped_column(sa.ForeignKey("trainees.id"), primary_key=True)
    course_id: Mapped[int] = mapped_column(sa.ForeignKey("courses.id"), primary_key=True)
    hours: Mapped[Decimal] = mapped_column(sa.Numeric(5, 1))
    completed_at: Mapped[datetime] = mapped_column(default=utcnow)
