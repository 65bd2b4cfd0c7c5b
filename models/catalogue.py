"""The catalogue: training plans (培训项目), courses and their chapters."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import db, utcnow


class PlanKind(enum.StrEnum):
    PUBLIC = "public"  # 公需科目
    SPECIALIST = "specialist"  # 专业科目


class TrainingPlan(db.Model):
    """A year's plan of one kind; it offers more courses than its required 学时."""

    __tablename__ = "training_plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(64), unique=True)
    year: Mapped[int] = mapped_column(index=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    title: Mapped[str] = mapped_column(sa.String(200))
    provider: Mapped[str] = mapped_column(sa.String(100), default="重庆市人力资源开发服务中心")
    required_hours: Mapped[int]
    price_per_hour_fen: Mapped[int]
    sale_start: Mapped[datetime | None]
    sale_end: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    courses: Mapped[list[PlanCourse]] = relationship(
        back_populates="plan", order_by="PlanCourse.position", cascade="all, delete-orphan"
    )

    __table_args__ = (
        sa.CheckConstraint("kind in ('public', 'specialist')", name="kind"),
        sa.CheckConstraint("required_hours > 0", name="required_hours_positive"),
        sa.CheckConstraint("price_per_hour_fen >= 0", name="price_not_negative"),
    )

    @property
    def price_fen(self) -> int:
        return self.required_hours * self.price_per_hour_fen


class Course(db.Model):
    __tablename__ = "courses"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(64), unique=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    category: Mapped[str] = mapped_column(sa.String(50))
    hours: Mapped[Decimal] = mapped_column(sa.Numeric(5, 1))
    teacher: Mapped[str] = mapped_column(sa.String(100), default="")
    description: Mapped[str] = mapped_column(sa.Text, default="")

    chapters: Mapped[list[Chapter]] = relationship(
        back_populates="course", order_by="Chapter.position", cascade="all, delete-orphan"
    )

    def __str__(self) -> str:
        """How the console names the course (the 章节 list, its 课程 choice)."""
        return f"{self.title}（{self.code}）"


class PlanCourse(db.Model):
    """A course offered in a plan; a course can sit in several plans."""

    __tablename__ = "plan_courses"

    plan_id: Mapped[int] = mapped_column(
        sa.ForeignKey("training_plans.id", ondelete="CASCADE"), primary_key=True
    )
    course_id: Mapped[int] = mapped_column(
        sa.ForeignKey("courses.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    position: Mapped[int] = mapped_column(default=0)

    plan: Mapped[TrainingPlan] = relationship(back_populates="courses")
    course: Mapped[Course] = relationship()


class Chapter(db.Model):
    __tablename__ = "chapters"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(sa.ForeignKey("courses.id", ondelete="CASCADE"))
    position: Mapped[int]
    title: Mapped[str] = mapped_column(sa.String(200))
    duration_s: Mapped[int]
    video_url: Mapped[str] = mapped_column(sa.String(500))

    course: Mapped[Course] = relationship(back_populates="chapters")

    __table_args__ = (
        sa.UniqueConstraint("course_id", "position", name="uq_chapters_course_position"),
        sa.CheckConstraint("duration_s > 0", name="duration_positive"),
    )
