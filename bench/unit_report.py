"""Benchmark: the 应训未训 report of one unit with 20,000 trainees.

Seeds a unit, two 2025 plans with their courses and 20,000 trainees with enrollments and
learned courses (about a third meet the year), then times the unit report (and counts its SQL statements), writing it as xlsx, and
the per-区县 summary; removes what it seeded at the end.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/wxapp_bench .venv/bin/python bench/unit_report.py

Without DATABASE_URL it runs on a temporary SQLite file. Run by hand, not in CI.
"""

from __future__ import annotations

import json
import os
import random
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from models import (  # noqa: E402
    Course,
    CourseCompletion,
    Enrollment,
    PlanCourse,
    Trainee,
    TrainingPlan,
    Unit,
    db,
)
from wxapp.app import create_app  # noqa: E402
from wxapp.reports import districts, xlsx
from wxapp.reports import unit as unit_reports

TRAINEES = int(os.environ.get("BENCH_TRAINEES", "20000"))
TAG = f"bench-{os.getpid()}"
COURSE_HOURS = 3


@contextmanager
def counting(engine):
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)


def seed(now: datetime) -> tuple[int, list[int]]:
    unit = Unit(name=f"基准测试单位 {TAG}", district="垫江县", created_at=now)
    plans = [
        TrainingPlan(
            code=f"{TAG}-{kind}",
            year=2025,
            kind=kind,
            title=f"2025 {kind} {TAG}",
            required_hours=hours,
            price_per_hour_fen=150,
            created_at=now,
        )
        for kind, hours in (("public", 30), ("specialist", 60))
    ]
    db.session.add_all([unit, *plans])
    db.session.flush()
    base = int(time.time()) % 100000
    db.session.execute(
        sa.insert(Trainee.__table__),
        [
            {
                "name": f"学员{i}",
                "id_number": f"99{base:05d}{i:011d}",
                "unit_id": unit.id,
                "must_change_password": True,
                "created_at": now,
                "updated_at": now,
            }
            for i in range(TRAINEES)
        ],
    )
    trainee_ids = list(
        db.session.execute(sa.select(Trainee.id).where(Trainee.unit_id == unit.id)).scalars()
    )
    # Each plan offers courses of 3 学时 (10 公需, 20 专业, as the real catalogue's sizes);
    # what a trainee learned is a run of the plan's courses, written as the progress engine
    # writes it: completions, and the enrollment's 学时 counting them.
    course_ids: dict[int, list[int]] = {}
    for plan in plans:
        courses = [
            Course(
                code=f"{plan.code}-{n}",
                title=f"课程 {n}",
                category="综合",
                hours=Decimal(COURSE_HOURS),
                teacher="",
                description="",
            )
            for n in range(plan.required_hours // COURSE_HOURS)
        ]
        db.session.add_all(courses)
        db.session.flush()
        course_ids[plan.id] = [c.id for c in courses]
        db.session.add_all(
            PlanCourse(plan_id=plan.id, course_id=c.id, position=n) for n, c in enumerate(courses)
        )
    rng = random.Random(42)
    rows, learned = [], []
    for tid in trainee_ids:
        for plan in plans:
            if rng.random() < 0.8:
                offered = course_ids[plan.id]
                done = len(offered) if rng.random() < 0.6 else rng.randrange(0, len(offered))
                rows.append(
                    {
                        "trainee_id": tid,
                        "plan_id": plan.id,
                        "status": "paid",
                        "hours_done": Decimal(done * COURSE_HOURS),
                        "created_at": now,
                    }
                )
                learned += [
                    {"trainee_id": tid, "course_id": c, "hours": COURSE_HOURS, "completed_at": now}
                    for c in offered[:done]
                ]
    db.session.execute(sa.insert(Enrollment.__table__), rows)
    db.session.execute(sa.insert(CourseCompletion.__table__), learned)
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        # As autovacuum would have by the time anyone asks: the planner's row counts.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("ANALYZE"))
    print(f"  {len(rows)} enrollments, {len(learned)} learned courses")
    return unit.id, [p.id for p in plans]


def cleanup(unit_id: int, plan_ids: list[int]) -> None:
    courses = sa.select(PlanCourse.course_id).where(PlanCourse.plan_id.in_(plan_ids))
    db.session.execute(sa.delete(CourseCompletion).where(CourseCompletion.course_id.in_(courses)))
    course_ids = list(db.session.execute(courses).scalars())
    db.session.execute(sa.delete(Enrollment).where(Enrollment.plan_id.in_(plan_ids)))
    db.session.execute(sa.delete(PlanCourse).where(PlanCourse.plan_id.in_(plan_ids)))
    db.session.execute(sa.delete(Course).where(Course.id.in_(course_ids)))
    db.session.execute(sa.delete(Trainee).where(Trainee.unit_id == unit_id))
    db.session.execute(sa.delete(TrainingPlan).where(TrainingPlan.id.in_(plan_ids)))
    db.session.execute(sa.delete(Unit).where(Unit.id == unit_id))
    db.session.commit()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = os.environ.get("DATABASE_URL") or f"sqlite:///{tmp}/bench.sqlite3"
        app = create_app({"DATABASE_URL": url, "WXAPP_SANDBOX": "1", "SECRET_KEY": "bench"})
        with app.app_context():
            from flask_migrate import upgrade

            upgrade()
            now = datetime.now(UTC)
            started = time.perf_counter()
            unit_id, plan_ids = seed(now)
            print(f"seeded {TRAINEES} trainees in {time.perf_counter() - started:.1f} s")
            try:
                db.session.expire_all()
                with counting(db.engine) as statements:
                    started = time.perf_counter()
                    report = unit_reports.unit_report(unit_id, 2025)
                    took = time.perf_counter() - started
                s = report["summary"]
                print(
                    f"unit report: {s['trainees']} trainees ({s['met']} met, {s['unmet']} not) "
                    f"in {took:.2f} s with {len(statements)} SQL statements"
                )
                started = time.perf_counter()
                size = len(json.dumps(report, ensure_ascii=False).encode())
                print(f"JSON body: {size // 1024} KiB in {time.perf_counter() - started:.2f} s")
                out = Path(tmp) / "report.xlsx"
                started = time.perf_counter()
                xlsx.write_unit_report(report, out)
                print(
                    f"xlsx: {out.stat().st_size // 1024} KiB in {time.perf_counter() - started:.2f} s"
                )
                with counting(db.engine) as statements:
                    started = time.perf_counter()
                    rows = districts.district_summary(2025)
                    took = time.perf_counter() - started
                print(
                    f"district summary: {len(rows)} districts in {took:.2f} s "
                    f"with {len(statements)} SQL statements"
                )
            finally:
                cleanup(unit_id, plan_ids)
                db.engine.dispose()
        app.extensions["redis"].close()


if __name__ == "__main__":
    main()
