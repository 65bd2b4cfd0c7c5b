"""The learning record (学习记录): every play of every chapter, written and read.

The beacon script keeps each play of a chapter in the trainee's record hash in Redis
(first and last beacon, seconds played within the clock, presence checks passed and missed,
device, address); the flusher writes them here in batches (`play_rows`, `upsert_plays`),
never one row per beacon. Readers: the trainee's 学习记录 page (`record_for`), the operator
console (`course_totals`), and the certificate's verification page, which shows only totals
(`certificate_totals`).

A play's seconds count what it played again: watching a chapter twice plays it twice. What
is credited (计入) is the union of the stretches played, as the progress engine credits it
(`ChapterProgress.watched_seconds`), so the totals say both: `watched_seconds` (the plays
added up) and `credited_seconds` (the union, never more than the chapter).
Kept for LEARNING_RECORD_RETENTION_YEARS; `prune` removes older plays (never the credit).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from models import (
    Certificate,
    Chapter,
    ChapterProgress,
    Course,
    Enrollment,
    EnrollmentStatus,
    LearningPlay,
    PlanCourse,
    db,
)
from wxapp.errors import NotFound
from wxapp.infra.dbutil import dialect_insert
from wxapp.infra.transaction import transaction
from wxapp.progress.store import TraineeRecords

UPSERT_PAGE = 1000
NOT_FOUND_MESSAGE = "没有这门课程的学习记录"


def _at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def play_rows(records: list[TraineeRecords]) -> list[dict[str, Any]]:
    """The rows of `learning_plays` for the plays read from Redis, in a stable order."""
    rows = [
        {
            "trainee_id": r.trainee_id,
            "chapter_id": p.chapter_id,
            "play_id": p.play_id[:64],
            "started_at": _at(p.started_ms),
            "ended_at": _at(max(p.ended_ms, p.started_ms)),
            "credited_seconds": max(p.credited, 0),
            "checks_passed": p.passed,
            "checks_missed": p.missed,
            "device": p.device[:32],
            "address": p.address[:45],
        }
        for r in records
        for p in r.plays
    ]
    # A stable order keeps concurrent flushers from deadlocking on each other's rows.
    rows.sort(key=lambda r: (r["trainee_id"], r["chapter_id"], r["play_id"], r["started_at"]))
    return rows


def upsert_plays(rows: list[dict[str, Any]]) -> None:
    """One multi-row INSERT ... ON CONFLICT DO UPDATE per UPSERT_PAGE plays (no commit).

    A play already written (a flush while it was going) is updated in place, and only
    upwards: a flusher holding an older read never lowers what a newer one wrote.
    """
    if not rows:
        return
    table = LearningPlay.__table__
    stmt = dialect_insert(table)
    new, old = stmt.excluded, table.c
    bigger = sa.func.greatest if db.session.get_bind().dialect.name == "postgresql" else sa.func.max
    stmt = stmt.on_conflict_do_update(
        index_elements=[old.trainee_id, old.chapter_id, old.play_id, old.started_at],
        set_={
            name: bigger(old[name], new[name])
            for name in ("ended_at", "credited_seconds", "checks_passed", "checks_missed")
        },
    )
    db.session.execute(
        stmt.returning(table.c.id).execution_options(insertmanyvalues_page_size=UPSERT_PAGE),
        rows,
    )


@dataclass(frozen=True)
class Totals:
    plays: int
    watched_seconds: int  # the plays' seconds added up: what was played again counts again
    credited_seconds: int  # the union of what was played: what the progress engine credits
    checks_passed: int
    checks_missed: int

    @property
    def hours(self) -> float:
        """Time credited, in hours (one decimal), as the pages show it."""
        return round(self.credited_seconds / 3600, 1)

    def as_dict(self) -> dict[str, Any]:
        return {
            "plays": self.plays,
            "watched_seconds": self.watched_seconds,
            "credited_seconds": self.credited_seconds,
            "hours": self.hours,
            "checks_passed": self.checks_passed,
            "checks_missed": self.checks_missed,
        }


def _totals(plays: list[LearningPlay], credited: int) -> Totals:
    return Totals(
        plays=len(plays),
        # LearningPlay.credited_seconds: what the play credited against the clock, played
        # again or not (the beacon script's per-play count).
        watched_seconds=sum(p.credited_seconds for p in plays),
        credited_seconds=credited,
        checks_passed=sum(p.checks_passed for p in plays),
        checks_missed=sum(p.checks_missed for p in plays),
    )


def _play(p: LearningPlay) -> dict[str, Any]:
    return {
        "started_at": p.started_at.isoformat(),
        "ended_at": p.ended_at.isoformat(),
        "watched_seconds": p.credited_seconds,
        "checks_passed": p.checks_passed,
        "checks_missed": p.checks_missed,
        "device": p.device or "未知设备",
        "address": p.address,
    }


def record_for(trainee_id: int, course_id: int | None = None) -> dict[str, Any]:
    """The trainee's learning record: per course (all of them, or `course_id`'s), each
    chapter in order with its plays (newest first) and totals.

    With `course_id`: 404 unless the trainee has plays in it or a paid enrollment that
    includes it (a course is no one else's business).
    """
    query = (
        sa.select(LearningPlay, Chapter.course_id)
        .join(Chapter, Chapter.id == LearningPlay.chapter_id)
        .where(LearningPlay.trainee_id == trainee_id)
        .order_by(LearningPlay.started_at.desc(), LearningPlay.id.desc())
    )
    if course_id is not None:
        query = query.where(Chapter.course_id == course_id)
    by_chapter: dict[int, list[LearningPlay]] = {}
    course_ids: set[int] = set()
    for play, cid in db.session.execute(query):
        by_chapter.setdefault(play.chapter_id, []).append(play)
        course_ids.add(cid)
    if course_id is not None:
        if not course_ids and not _enrolled_in(trainee_id, course_id):
            raise NotFound(NOT_FOUND_MESSAGE, code="learning_record_not_found")
        course_ids = {course_id}
    courses = db.session.execute(
        sa.select(Course).where(Course.id.in_(course_ids)).order_by(Course.id)
    ).scalars()
    credited = _credited_by_chapter(trainee_id, course_ids)
    shown = []
    for course in courses:
        chapters = []
        every: list[LearningPlay] = []  # the course's plays, for its totals
        course_credited = 0
        for chapter in course.chapters:  # in position order (the relationship's order_by)
            plays = by_chapter.get(chapter.id, [])
            every.extend(plays)
            course_credited += credited.get(chapter.id, 0)
            chapters.append(
                {
                    "id": chapter.id,
                    "title": chapter.title,
                    "duration": chapter.duration_s,
                    "plays": [_play(p) for p in plays],
                    "totals": _totals(plays, credited.get(chapter.id, 0)).as_dict(),
                }
            )
        shown.append(
            {
                "id": course.id,
                "title": course.title,
                "hours": float(course.hours),
                "chapters": chapters,
                "totals": _totals(every, course_credited).as_dict(),
            }
        )
    everything = [p for plays in by_chapter.values() for p in plays]
    return {"courses": shown, "totals": _totals(everything, sum(credited.values())).as_dict()}


def _credited_by_chapter(trainee_id: int, course_ids: set[int]) -> dict[int, int]:
    """The seconds credited in each chapter of these courses (the union of its stretches)."""
    if not course_ids:
        return {}
    return dict(
        db.session.execute(
            sa.select(ChapterProgress.chapter_id, ChapterProgress.watched_seconds)
            .join(Chapter, Chapter.id == ChapterProgress.chapter_id)
            .where(ChapterProgress.trainee_id == trainee_id, Chapter.course_id.in_(course_ids))
        ).all()
    )


def _enrolled_in(trainee_id: int, course_id: int) -> bool:
    return (
        db.session.execute(
            sa.select(Enrollment.id)
            .join(PlanCourse, PlanCourse.plan_id == Enrollment.plan_id)
            .where(
                Enrollment.trainee_id == trainee_id,
                Enrollment.status == EnrollmentStatus.PAID,
                PlanCourse.course_id == course_id,
            )
            .limit(1)
        ).first()
        is not None
    )


def certificate_totals(certificate_id: int) -> Totals:
    """What the public verification page may show of the learning behind a certificate:
    totals over the plays in the chapters of its plan's courses and the time credited in
    them, no device or address."""
    cert = db.session.get(Certificate, certificate_id)
    if cert is None:
        return Totals(0, 0, 0, 0, 0)
    in_plan = sa.and_(PlanCourse.course_id == Chapter.course_id, PlanCourse.plan_id == cert.plan_id)
    plays, watched, passed, missed = db.session.execute(
        sa.select(
            sa.func.count(LearningPlay.id),
            sa.func.coalesce(sa.func.sum(LearningPlay.credited_seconds), 0),
            sa.func.coalesce(sa.func.sum(LearningPlay.checks_passed), 0),
            sa.func.coalesce(sa.func.sum(LearningPlay.checks_missed), 0),
        )
        .join(Chapter, Chapter.id == LearningPlay.chapter_id)
        .join(PlanCourse, in_plan)
        .where(LearningPlay.trainee_id == cert.trainee_id)
    ).one()
    credited = db.session.execute(
        sa.select(sa.func.coalesce(sa.func.sum(ChapterProgress.watched_seconds), 0))
        .join(Chapter, Chapter.id == ChapterProgress.chapter_id)
        .join(PlanCourse, in_plan)
        .where(ChapterProgress.trainee_id == cert.trainee_id)
    ).scalar_one()
    return Totals(int(plays), int(watched), int(credited), int(passed), int(missed))


def retention_cutoff(now: datetime, years: int) -> datetime:
    """The moment `years` calendar years before `now` (29 Feb falls back to 28 Feb)."""
    try:
        return now.replace(year=now.year - years)
    except ValueError:
        return now.replace(year=now.year - years, day=28)


def prune(now: datetime, years: int) -> int:
    """Delete the plays that ended more than `years` years before `now`, in one
    transaction; the count deleted. Chapter progress, completions and certificates (and so
    the 学时) are never touched."""
    with transaction():
        result = db.session.execute(
            sa.delete(LearningPlay)
            .where(LearningPlay.ended_at < retention_cutoff(now, years))
            .execution_options(synchronize_session=False)
        )
    return int(result.rowcount or 0)


def course_totals(trainee_id: int) -> list[dict[str, Any]]:
    """The totals per course the trainee has played, in one query (the operator console's
    trainee page shows no single play)."""
    credited = (
        sa.select(sa.func.coalesce(sa.func.sum(ChapterProgress.watched_seconds), 0))
        .join(Chapter, Chapter.id == ChapterProgress.chapter_id)
        .where(ChapterProgress.trainee_id == trainee_id, Chapter.course_id == Course.id)
        .correlate(Course)
        .scalar_subquery()
    )
    rows = db.session.execute(
        sa.select(
            Course.title,
            sa.func.count(LearningPlay.id),
            sa.func.sum(LearningPlay.credited_seconds),
            credited,
            sa.func.sum(LearningPlay.checks_passed),
            sa.func.sum(LearningPlay.checks_missed),
        )
        .join(Chapter, Chapter.course_id == Course.id)
        .join(LearningPlay, LearningPlay.chapter_id == Chapter.id)
        .where(LearningPlay.trainee_id == trainee_id)
        .group_by(Course.id, Course.title)
        .order_by(Course.id)
    ).all()
    return [{"title": row[0], "totals": Totals(*(int(v) for v in row[1:]))} for row in rows]
