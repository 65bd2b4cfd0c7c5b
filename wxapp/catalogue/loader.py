"""Loading the catalogue (`flask --app wsgi catalogue load FILE.json`): idempotent by `code`.

Plans and courses are created or updated by their `code`; a course's chapters by their
order; a plan's course list becomes exactly the file's, in its order. Only what differs
is written, so loading the same file again changes nothing and says so. The whole file
is checked first (`wxapp.catalogue.spec`); then everything is written in one transaction.
A file's warnings (courses with too little video for their 学时) do not stop a load
unless it is strict; they come back in the summary for the operator to read.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased, selectinload

from models import (
    Chapter,
    ChapterProgress,
    Course,
    Enrollment,
    Order,
    OrderStatus,
    PlanCourse,
    PlanKind,
    TrainingPlan,
    db,
)
from wxapp.catalogue.load_summary import Counts, LoadSummary
from wxapp.catalogue.plan_hours import hours_shortfall
from wxapp.catalogue.plans import KIND_NAMES
from wxapp.catalogue.spec import (
    Catalogue,
    CatalogueFileError,
    CatalogueWarningError,
    ChapterSpec,
    CourseSpec,
    PlanSpec,
    parse_catalogue,
)
from wxapp.infra.dbutil import serialize
from wxapp.infra.transaction import transaction


def _assign(obj: Any, values: dict[str, Any]) -> bool:
    """Set the attributes that differ; True when any did."""
    changed = False
    for name, value in values.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed = True
    return changed


def _chapters(course: Course, specs: tuple[ChapterSpec, ...], counts: Counts) -> bool:
    """Make the course's chapters the specs, by order; True when anything changed."""
    existing = {chapter.position: chapter for chapter in course.chapters}
    changed = False
    for position, spec in enumerate(specs, start=1):
        values = {"title": spec.title, "duration_s": spec.duration_s, "video_url": spec.video_url}
        chapter = existing.pop(position, None)
        if chapter is None:
            course.chapters.append(Chapter(position=position, **values))
            counts.created += 1
            changed = True
        elif _assign(chapter, values):
            counts.updated += 1
            changed = True
        else:
            counts.unchanged += 1
    for chapter in existing.values():
        course.chapters.remove(chapter)
        counts.deleted += 1
        changed = True
    return changed


def _course(course: Course | None, spec: CourseSpec, summary: LoadSummary) -> Course:
    values = {
        "title": spec.title,
        "category": spec.category,
        "hours": spec.hours,
        "teacher": spec.teacher,
        "description": spec.description,
    }
    if course is None:
        course = Course(code=spec.code, **values)
        db.session.add(course)
        _chapters(course, spec.chapters, summary.chapters)
        summary.courses.created += 1
        return course
    fields_changed = _assign(course, values)
    if _chapters(course, spec.chapters, summary.chapters) or fields_changed:
        summary.courses.updated += 1
    else:
        summary.courses.unchanged += 1
    return course


def _plan(
    plan: TrainingPlan | None,
    spec: PlanSpec,
    courses: dict[str, Course],
    now: datetime,
    summary: LoadSummary,
) -> TrainingPlan:
    values = {
        "year": spec.year,
        "kind": spec.kind,
        "title": spec.title,
        "provider": spec.provider,
        "required_hours": spec.required_hours,
        "price_per_hour_fen": spec.price_per_hour_fen,
        "sale_start": spec.sale_start,
        "sale_end": spec.sale_end,
    }
    created = plan is None
    if plan is None:
        plan = TrainingPlan(code=spec.code, created_at=now, **values)
        db.session.add(plan)
        changed = True
    else:
        changed = _assign(plan, values)
    wanted = [courses[code] for code in spec.course_codes]
    current = [link.course for link in plan.courses]
    if current != wanted:
        links = {link.course_id: link for link in plan.courses if link.course_id is not None}
        plan.courses = [
            _link(links.get(course.id) if course.id else None, course, position)
            for position, course in enumerate(wanted)
        ]
        changed = True
        if not created and {c.code for c in current} != {c.code for c in wanted}:
            summary.relinked_plan_ids.append(plan.id)  # not a mere reordering
    if created:
        summary.plans.created += 1
    elif changed:
        summary.plans.updated += 1
    else:
        summary.plans.unchanged += 1
    return plan


def _link(link: PlanCourse | None, course: Course, position: int) -> PlanCourse:
    if link is None:
        return PlanCourse(course=course, position=position)
    link.position = position
    return link


def _shared_across_years_or_kinds(catalogue: Catalogue) -> list[tuple[str, str]]:
    """A course in plans of two years, or of 公需 and 专业: refused.

    A learned course counts toward every plan holding it, so such a course would give its
    学时 once learned to two years (a 补学 year too) or to both kinds. The same lectures
    offered again in another year are another course (another code), learned again. The
    plans the file does not name keep their year and kind from the database."""
    named = {plan.code for plan in catalogue.plans}
    uses: dict[str, set[tuple[int, str]]] = {}
    for plan in catalogue.plans:
        for code in plan.course_codes:
            uses.setdefault(code, set()).add((plan.year, plan.kind))
    others = db.session.execute(
        sa.select(Course.code, TrainingPlan.year, TrainingPlan.kind)
        .join(PlanCourse, PlanCourse.course_id == Course.id)
        .join(TrainingPlan, TrainingPlan.id == PlanCourse.plan_id)
        .where(Course.code.in_(list(uses)), TrainingPlan.code.not_in(list(named)))
    ).all()
    for code, year, kind in others:
        uses[code].add((year, kind))
    errors = []
    for code, pairs in sorted(uses.items()):
        if len(pairs) > 1:
            where = "、".join(f"{y}年{KIND_NAMES[PlanKind(k)]}" for y, k in sorted(pairs))
            errors.append(
                (
                    catalogue.course_paths[code],
                    f"课程 {code} 同时属于{where}的培训项目：一门课程的学时只计入一个年度的一类"
                    "科目，请为其他年度或科目另建课程（另用课程代码）",
                )
            )
    return errors


def courses_shared_elsewhere(plan_id: int, year: int, kind: str) -> list[str]:
    """The codes of the plan's courses that plans of another year or kind hold too: what an
    edit of the plan's year or kind must not bring about (as a catalogue file must not)."""
    other = aliased(PlanCourse)
    return list(
        db.session.execute(
            sa.select(Course.code)
            .join(PlanCourse, PlanCourse.course_id == Course.id)
            .join(other, other.course_id == Course.id)
            .join(TrainingPlan, TrainingPlan.id == other.plan_id)
            .where(
                PlanCourse.plan_id == plan_id,
                other.plan_id != plan_id,
                sa.or_(TrainingPlan.year != year, TrainingPlan.kind != kind),
            )
            .distinct()
            .order_by(Course.code)
        ).scalars()
    )


# What a plan someone bought keeps (its buyers' 学时, certificates and reports count by them).
FIXED_ONCE_BOUGHT = {"year": "年度", "kind": "类别", "required_hours": "要求学时"}


def sold_plans(plan_ids: list[int]) -> set[int]:
    """Those of `plan_ids` someone holds a place in (paid, or since refunded) or is paying
    for (an order not yet paid, its price and 学时 already fixed)."""
    if not plan_ids:
        return set()
    held = sa.select(Enrollment.plan_id).where(Enrollment.plan_id.in_(plan_ids))
    paying = sa.select(Order.plan_id).where(
        Order.plan_id.in_(plan_ids), Order.status == OrderStatus.NOTPAY
    )
    return set(db.session.execute(sa.union(held, paying)).scalars())


def learned_chapters(chapter_ids: list[int]) -> set[int]:
    """Those of `chapter_ids` some trainee has progress in: they stay in their course (its
    completion and 学时 count them)."""
    if not chapter_ids:
        return set()
    return set(
        db.session.execute(
            sa.select(ChapterProgress.chapter_id)
            .where(ChapterProgress.chapter_id.in_(chapter_ids))
            .distinct()
        ).scalars()
    )


def _bought_plan_changes(
    catalogue: Catalogue, plans: dict[str, TrainingPlan]
) -> list[tuple[str, str]]:
    """A plan sold (`sold_plans`) keeps its year, kind and required hours."""
    changing = {
        spec.code: [
            f for f in FIXED_ONCE_BOUGHT if getattr(spec, f) != getattr(plans[spec.code], f)
        ]
        for spec in catalogue.plans
        if spec.code in plans
    }
    ids = [plans[code].id for code, fields in changing.items() if fields]
    if not ids:
        return []
    bought = sold_plans(ids)
    return [
        (
            f"{spec.path}.{field}",
            f"已有学员购买培训项目 {spec.code}，不能修改{FIXED_ONCE_BOUGHT[field]}；如需调整请另建培训项目",
        )
        for spec in catalogue.plans
        if spec.code in plans and plans[spec.code].id in bought
        for field in changing[spec.code]
    ]


def _check_against_database(
    catalogue: Catalogue, courses: dict[str, Course], plans: dict[str, TrainingPlan]
) -> None:
    """References to courses the file does not define, plan 学时, chapters with progress,
    bought plans."""
    errors: list[tuple[str, str]] = _bought_plan_changes(catalogue, plans)
    for code, path in catalogue.course_paths.items():
        if code not in catalogue.courses and code not in courses:
            errors.append((path, f"课程 {code} 既未在文件中定义，也不在数据库中"))
    for plan in catalogue.plans:
        offered = sum(
            (
                catalogue.courses[c].hours if c in catalogue.courses else courses[c].hours
                for c in plan.course_codes
                if c in catalogue.courses or c in courses
            ),
            start=Decimal(0),
        )
        shortfall = hours_shortfall(offered, plan.required_hours)
        if shortfall is not None:
            errors.append((f"{plan.path}.courses", shortfall))
    errors += _shared_across_years_or_kinds(catalogue)
    dropped: dict[int, str] = {}
    for code, spec in catalogue.courses.items():
        course = courses.get(code)
        if course is not None:
            for chapter in course.chapters:
                if chapter.position > len(spec.chapters):
                    dropped[chapter.id] = f"{catalogue.course_paths[code]}.chapters"
    for chapter_id in sorted(learned_chapters(list(dropped))):
        errors.append((dropped[chapter_id], "要删除的章节已有学员的学习记录，不能删除"))
    if errors:
        raise CatalogueFileError(errors)


def _existing(catalogue: Catalogue) -> tuple[dict[str, Course], dict[str, TrainingPlan]]:
    """The courses and plans of the database the catalogue names, by code."""
    courses = {
        course.code: course
        for course in db.session.execute(
            db.select(Course)
            .where(Course.code.in_(set(catalogue.course_paths)))
            .options(selectinload(Course.chapters))
        ).scalars()
    }
    plans = {
        plan.code: plan
        for plan in db.session.execute(
            db.select(TrainingPlan)
            .where(TrainingPlan.code.in_([p.code for p in catalogue.plans]))
            .options(selectinload(TrainingPlan.courses).selectinload(PlanCourse.course))
        ).scalars()
    }
    return courses, plans


def check_catalogue(data: Any) -> list[tuple[str, str]]:
    """Every check a load makes, nothing written: its warnings, or CatalogueFileError."""
    catalogue = parse_catalogue(data)
    _check_against_database(catalogue, *_existing(catalogue))
    return catalogue.warnings


def apply_catalogue(data: Any, now: datetime, *, strict: bool = False) -> LoadSummary:
    """Write the catalogue `data` describes into the session; the caller's transaction commits,
    after recounting the enrollments of `summary.relinked_plan_ids` (wxapp.progress.relink).

    `strict` refuses a file with warnings (CatalogueWarningError) before anything is written."""
    catalogue = parse_catalogue(data)
    # One load at a time (two 确认载入 at once): the second reads what the first wrote and
    # updates it, where both would insert the same codes and the second fail.
    serialize("catalogue.load")
    courses, plans = _existing(catalogue)
    _check_against_database(catalogue, courses, plans)
    if strict and catalogue.warnings:
        raise CatalogueWarningError(catalogue.warnings)
    summary = LoadSummary(warnings=catalogue.warnings)
    for code, spec in catalogue.courses.items():
        courses[code] = _course(courses.get(code), spec, summary)
    written = [_plan(plans.get(p.code), p, courses, now, summary) for p in catalogue.plans]
    db.session.flush()
    summary.plan_ids = {plan.code: plan.id for plan in written}
    summary.course_ids = {code: course.id for code, course in courses.items()}
    return summary


def load_catalogue(data: Any, now: datetime, *, strict: bool = False) -> LoadSummary:
    """Load or update the catalogue: one transaction, nothing written if anything is wrong
    (or, when `strict`, if anything is doubtful)."""
    with transaction():
        return apply_catalogue(data, now, strict=strict)


def read_catalogue_file(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise CatalogueFileError([("$", "文件应为 UTF-8 编码的 JSON")]) from None
    except json.JSONDecodeError as exc:
        raise CatalogueFileError(
            [("$", f"JSON 格式错误：第 {exc.lineno} 行第 {exc.colno} 列（{exc.msg}）")]
        ) from None
