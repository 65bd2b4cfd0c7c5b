"""Database reads and writes of the progress engine (no commit here: the use case commits)."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from models import (
    Certificate,
    Chapter,
    ChapterProgress,
    CourseCompletion,
    Enrollment,
    EnrollmentStatus,
    PlanCourse,
    TrainingPlan,
    db,
)
from wxapp.infra.dbutil import dialect_insert, execute


@dataclass(frozen=True)
class StoredChapter:
    """A chapter's catalogue facts and the trainee's durable progress in it."""

    duration: int
    course_id: int
    intervals: list[list[int]]
    position: int
    completed: bool


def trainee_progress(trainee_id: int | sa.BindParameter) -> sa.ColumnElement[bool]:
    """Join condition: each chapter with this trainee's progress row, if there is one."""
    return sa.and_(
        ChapterProgress.chapter_id == Chapter.id, ChapterProgress.trainee_id == trainee_id
    )


def load_chapter(trainee_id: int, chapter_id: int) -> StoredChapter | None:
    """The chapter and the trainee's row for it, in one query; None for an unknown chapter."""
    row = execute(_load_chapter_statement(), {"trainee": trainee_id, "chapter": chapter_id}).first()
    if row is None:
        return None
    return StoredChapter(
        duration=row.duration_s,
        course_id=row.course_id,
        intervals=row.intervals or [],
        position=row.position or 0,
        completed=row.completed_at is not None,
    )


@cache
def _load_chapter_statement() -> sa.Select:
    # Built once: on the cold paths of the rush, building a statement cost more CPU than
    # running it (docs/performance.md); the values are bound at execution.
    return (
        sa.select(
            Chapter.duration_s,
            Chapter.course_id,
            ChapterProgress.intervals,
            ChapterProgress.position,
            ChapterProgress.completed_at,
        )
        .outerjoin(ChapterProgress, trainee_progress(sa.bindparam("trainee")))
        .where(Chapter.id == sa.bindparam("chapter"))
    )


UPSERT_COLUMNS = (
    "trainee_id",
    "chapter_id",
    "intervals",
    "watched_seconds",
    "position",
    "updated_at",
    "completed_at",
)


def upsert_chapters(rows: list[dict[str, Any]]) -> list[tuple[int, int]]:
    """One multi-row INSERT ... ON CONFLICT DO UPDATE that never lowers coverage; returns
    the (trainee, chapter) pairs whose row has no completion time after it.

    Rows: trainee_id, chapter_id, intervals, watched_seconds, position, updated_at and
    optionally completed_at. The stored intervals are replaced only by ones covering at
    least as much; a completion time, once set, stays. The pairs come back with the rows
    written (RETURNING): the flusher's backstop asks no query of its own.

    On PostgreSQL the rows go as one array per column into `INSERT ... SELECT FROM
    unnest(...)`: one short statement whatever the batch size, so psycopg parses it once
    and PostgreSQL can prepare it (a VALUES list of 500 rows is 3,500 parameters in a
    statement psycopg has to parse anew every time: half the flusher's CPU). Elsewhere
    (SQLite, make run) SQLAlchemy's "insertmanyvalues" renders one multi-row VALUES
    statement per UPSERT_PAGE rows.
    """
    if not rows:
        return []
    # A stable order keeps concurrent flushers from deadlocking on each other's rows.
    rows = sorted(rows, key=lambda r: (r["trainee_id"], r["chapter_id"]))
    rows = [{"completed_at": None, **r} for r in rows]
    if db.session.get_bind().dialect.name == "postgresql":
        columns = {name: [r[name] for r in rows] for name in UPSERT_COLUMNS}
        columns["intervals"] = [
            json.dumps(iv, separators=(",", ":")) for iv in columns["intervals"]
        ]
        written = db.session.execute(_unnest_upsert_statement(), columns)
    else:
        written = db.session.execute(_values_upsert_statement(), rows)
    return [(row.trainee_id, row.chapter_id) for row in written if row.completed_at is None]


UPSERT_PAGE = 1000
# Of each row written, whether it holds a completion (for the flusher's backstop).
_RETURNED = (
    ChapterProgress.__table__.c.trainee_id,
    ChapterProgress.__table__.c.chapter_id,
    ChapterProgress.__table__.c.completed_at,
)


def _monotone(stmt):
    """ON CONFLICT: wider coverage replaces the stored one; a completion time stays."""
    table = ChapterProgress.__table__
    new, old = stmt.excluded, table.c
    wider = new.watched_seconds >= old.watched_seconds
    return stmt.on_conflict_do_update(
        index_elements=[old.trainee_id, old.chapter_id],
        set_={
            "intervals": sa.case((wider, new.intervals), else_=old.intervals),
            "watched_seconds": sa.case((wider, new.watched_seconds), else_=old.watched_seconds),
            "position": new.position,
            "updated_at": new.updated_at,
            "completed_at": sa.func.coalesce(old.completed_at, new.completed_at),
        },
    )


def _values_upsert_statement():
    table = ChapterProgress.__table__
    return (
        _monotone(dialect_insert(table))
        .returning(*_RETURNED)
        .execution_options(insertmanyvalues_page_size=UPSERT_PAGE)
    )


@cache
def _unnest_upsert_statement():
    table = ChapterProgress.__table__
    array_of = {"intervals": postgresql.ARRAY(sa.Text)}  # JSON text, cast below
    source = (
        sa.func.unnest(
            *[
                sa.bindparam(name, type_=array_of.get(name, postgresql.ARRAY(table.c[name].type)))
                for name in UPSERT_COLUMNS
            ]
        )
        .table_valued(*UPSERT_COLUMNS)
        .render_derived(name="batch")
    )
    values = [
        sa.cast(source.c[name], postgresql.JSONB) if name == "intervals" else source.c[name]
        for name in UPSERT_COLUMNS
    ]
    return _monotone(
        postgresql.insert(table).from_select(UPSERT_COLUMNS, sa.select(*values))
    ).returning(*_RETURNED)


@dataclass(frozen=True)
class PaidPlan:
    """A plan the trainee holds (paid enrollment), with its courses in the plan's order and
    the certificate issued for it, if any."""

    plan_id: int
    year: int
    kind: str
    title: str
    required_hours: int
    hours_done: Decimal
    completed_at: datetime | None
    certificate: tuple[int, str] | None  # (id, serial)
    course_ids: tuple[int, ...]

    @property
    def completed(self) -> bool:
        return self.completed_at is not None


class Learned(NamedTuple):
    """A course the trainee learned: when, and the 学时 it earned."""

    at: datetime
    hours: Decimal


def paid_plans(trainee_id: int) -> tuple[list[PaidPlan], dict[int, Learned]]:
    """Every plan the trainee holds (all years, ordered by kind then id) and the courses of
    those plans already learned (course -> when, 学时), in one query: what the beacon caches
    as entitlements and what 我的进度 shows of plans come from the same read.
    """
    rows = execute(_paid_plans_statement(), {"trainee": trainee_id}).all()
    plans: dict[int, PaidPlan] = {}
    courses: dict[int, list[int]] = {}
    learned: dict[int, Learned] = {}
    for row in rows:
        if row.plan_id not in plans:
            plans[row.plan_id] = PaidPlan(
                plan_id=row.plan_id,
                year=row.year,
                kind=row.kind,
                title=row.title,
                required_hours=row.required_hours,
                hours_done=Decimal(row.hours_done or 0),
                completed_at=row.completed_at,
                certificate=(
                    (row.certificate_id, row.serial) if row.certificate_id is not None else None
                ),
                course_ids=(),
            )
            courses[row.plan_id] = []
        if row.course_id is not None:
            courses[row.plan_id].append(row.course_id)
            if row.learned_at is not None:
                learned[row.course_id] = Learned(row.learned_at, Decimal(row.learned_hours))
    ordered = [replace(p, course_ids=tuple(courses[p.plan_id])) for p in plans.values()]
    return ordered, learned


@cache
def _paid_plans_statement() -> sa.Select:
    return (
        sa.select(
            Enrollment.plan_id,
            TrainingPlan.year,
            TrainingPlan.kind,
            TrainingPlan.title,
            TrainingPlan.required_hours,
            Enrollment.hours_done,
            Enrollment.completed_at,
            Certificate.id.label("certificate_id"),
            Certificate.serial,
            PlanCourse.course_id,
            CourseCompletion.completed_at.label("learned_at"),
            CourseCompletion.hours.label("learned_hours"),
        )
        .join(TrainingPlan, TrainingPlan.id == Enrollment.plan_id)
        .outerjoin(
            Certificate,
            sa.and_(
                Certificate.trainee_id == Enrollment.trainee_id,
                Certificate.plan_id == Enrollment.plan_id,
                Certificate.revoked_at.is_(None),  # revoked: 申请证书 again once paid again
            ),
        )
        .outerjoin(PlanCourse, PlanCourse.plan_id == Enrollment.plan_id)
        .outerjoin(
            CourseCompletion,
            sa.and_(
                CourseCompletion.trainee_id == Enrollment.trainee_id,
                CourseCompletion.course_id == PlanCourse.course_id,
            ),
        )
        .where(
            Enrollment.trainee_id == sa.bindparam("trainee"),
            Enrollment.status == EnrollmentStatus.PAID,
        )
        .order_by(TrainingPlan.kind, TrainingPlan.id, PlanCourse.position, PlanCourse.course_id)
    )
