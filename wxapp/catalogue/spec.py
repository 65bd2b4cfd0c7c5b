"""The catalogue file format (docs/catalogue-format.md), read and checked: pure functions.

`parse_catalogue` checks the whole document before anything is written and reports every
problem with its path in the JSON (`plans[1].courses[3].hours`), so an operator fixes a
file in one pass. `wxapp.catalogue.loader` writes what it returns. What is valid but
doubtful (a course whose videos are too short for its 学时) comes back as warnings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from models import PlanKind
from wxapp.infra.clock import SHANGHAI

CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
HOURS_MAX = Decimal("9999.9")  # the column is NUMERIC(5, 1)
DEFAULT_PROVIDER = "重庆市人力资源开发服务中心"

PLAN_KEYS = {
    "code", "year", "kind", "title", "provider", "required_hours", "price_per_hour_fen",
    "sale_start", "sale_end", "courses",
}  # fmt: skip
COURSE_KEYS = {"code", "title", "category", "hours", "teacher", "description", "chapters"}
CHAPTER_KEYS = {"title", "duration", "video_url"}

MINUTES_PER_HOUR = 45
"""Minutes of video one 学时 stands for: 45 minutes is the usual standard for 网络培训学时
(online continuing education). A course whose chapters add up to less than its 学时 × 45
minutes is suspicious: its 学时 could be earned faster than the standard allows, however
faithfully the progress engine counts the watching (a duration typed in minutes rather
than seconds does it too). Such a course is a warning, not an error."""


class CatalogueFileError(Exception):
    """The file is not a valid catalogue; `errors` are (path, Chinese message) pairs."""

    def __init__(self, errors: list[tuple[str, str]]):
        # "$" names the document itself; inside it, paths read like plans[1].courses[3].hours.
        errors = [(path.removeprefix("$."), message) for path, message in errors]
        self.errors = errors
        super().__init__("\n".join(f"{path}: {message}" for path, message in errors))


class CatalogueWarningError(CatalogueFileError):
    """A strict load refused a valid file for its warnings (`errors` holds them)."""


@dataclass(frozen=True)
class ChapterSpec:
    title: str
    duration_s: int
    video_url: str


@dataclass(frozen=True)
class CourseSpec:
    code: str
    title: str
    category: str
    hours: Decimal
    teacher: str
    description: str
    chapters: tuple[ChapterSpec, ...]


@dataclass
class PlanSpec:
    path: str
    code: str
    year: int
    kind: str
    title: str
    provider: str
    required_hours: int
    price_per_hour_fen: int
    sale_start: datetime | None
    sale_end: datetime | None
    course_codes: list[str] = field(default_factory=list)


@dataclass
class Catalogue:
    plans: list[PlanSpec]
    courses: dict[str, CourseSpec]  # defined in the file, by code
    course_paths: dict[str, str]  # where each code first appears, for messages
    # (path, Chinese message) pairs for what is valid but doubtful; the file still loads.
    warnings: list[tuple[str, str]] = field(default_factory=list)


def _number(value: Decimal) -> str:
    return format(value.normalize(), "f")


def short_video_warning(title: str, hours: Decimal, durations_s: list[int]) -> str | None:
    """Why a course of `hours` 学时 whose chapters last `durations_s` seconds is doubtful, or
    None when its videos last at least `hours` × MINUTES_PER_HOUR minutes."""
    total_s = sum(durations_s)
    bound_min = hours * MINUTES_PER_HOUR
    if total_s >= bound_min * 60:
        return None
    if total_s < 60:
        length = f"{total_s} 秒"
    else:  # rounded down, so the length shown is below the bound too
        length = f"{_number(Decimal(total_s * 10 // 60) / 10)} 分钟"
    return (
        f"课程“{title}”计 {_number(hours)} 学时，视频合计 {length}，少于 {_number(hours)} × "
        f"{MINUTES_PER_HOUR} = {_number(bound_min)} 分钟；请核对章节时长（单位为秒）"
    )


class _Checker:
    """Reads typed fields off JSON objects, collecting (path, message) instead of stopping."""

    def __init__(self) -> None:
        self.errors: list[tuple[str, str]] = []

    def fail(self, path: str, message: str) -> None:
        self.errors.append((path, message))

    def obj(self, value: Any, path: str, keys: set[str]) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            self.fail(path, "应为 JSON 对象")
            return None
        for key in sorted(set(value) - keys):
            self.fail(f"{path}.{key}", f"未知字段（可用字段：{', '.join(sorted(keys))}）")
        return value

    def list(self, obj: dict[str, Any], key: str, path: str, *, required: bool = True) -> list:
        value = obj.get(key)
        if value is None and not required:
            return []
        if not isinstance(value, list) or (required and not value):
            self.fail(f"{path}.{key}", "应为非空列表")
            return []
        return value

    def text(
        self, obj: dict[str, Any], key: str, path: str, max_len: int, default: str | None = None
    ) -> str:
        value = obj.get(key)
        if value is None and default is not None:
            return default
        if not isinstance(value, str) or not value.strip():
            self.fail(f"{path}.{key}", "应为非空字符串")
            return ""
        if len(value.strip()) > max_len:
            self.fail(f"{path}.{key}", f"过长（最多 {max_len} 个字符）")
        return value.strip()

    def code(self, obj: dict[str, Any], path: str) -> str:
        value = obj.get("code")
        if not isinstance(value, str) or not CODE.fullmatch(value):
            self.fail(f"{path}.code", "应为 1～64 位字母、数字、点、下划线或连字符，字母或数字开头")
            return ""
        return value

    def integer(self, obj: dict[str, Any], key: str, path: str, low: int, high: int) -> int:
        value = obj.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.fail(f"{path}.{key}", f"应为 {low}～{high} 的整数")
            return low
        return value

    def hours(self, obj: dict[str, Any], path: str) -> Decimal:
        value = obj.get("hours")
        try:
            if isinstance(value, bool) or not isinstance(value, int | float | str):
                raise InvalidOperation
            hours = Decimal(str(value).strip())
            if not (0 < hours <= HOURS_MAX) or hours.as_tuple().exponent < -1:
                raise InvalidOperation
        except InvalidOperation:
            self.fail(f"{path}.hours", "学时应为大于 0 的数，最多一位小数（如 2 或 1.5）")
            return Decimal("0")
        return hours.quantize(Decimal("0.1"))

    def moment(self, obj: dict[str, Any], key: str, path: str) -> datetime | None:
        """An ISO 8601 date or date-time; without an offset it is Beijing time (Asia/Shanghai)."""
        value = obj.get(key)
        if value is None:
            return None
        try:
            if not isinstance(value, str):
                raise ValueError
            if len(value) == 10:
                day = date.fromisoformat(value)
                moment = datetime(day.year, day.month, day.day)
            else:
                moment = datetime.fromisoformat(value)
        except ValueError:
            self.fail(f"{path}.{key}", "应为日期或时间，如 2025-06-06 或 2025-06-06T08:00:00+08:00")
            return None
        return moment if moment.tzinfo else moment.replace(tzinfo=SHANGHAI)


def _course(check: _Checker, raw: Any, path: str) -> CourseSpec | None:
    obj = check.obj(raw, path, COURSE_KEYS)
    if obj is None:
        return None
    before = len(check.errors)
    chapters = []
    for index, chapter in enumerate(check.list(obj, "chapters", path)):
        cpath = f"{path}.chapters[{index}]"
        cobj = check.obj(chapter, cpath, CHAPTER_KEYS)
        if cobj is None:
            continue
        title = check.text(cobj, "title", cpath, 200)
        duration = check.integer(cobj, "duration", cpath, 1, 24 * 3600)
        url = check.text(cobj, "video_url", cpath, 500)
        if url and not url.startswith(("/", "https://", "http://")):
            check.fail(f"{cpath}.video_url", "应以 / 或 https:// 开头")
        chapters.append(ChapterSpec(title, duration, url))
    spec = CourseSpec(
        code=check.code(obj, path),
        title=check.text(obj, "title", path, 200),
        category=check.text(obj, "category", path, 50),
        hours=check.hours(obj, path),
        teacher=check.text(obj, "teacher", path, 100, default=""),
        description=check.text(obj, "description", path, 10_000, default=""),
        chapters=tuple(chapters),
    )
    return spec if len(check.errors) == before else None


def _plan(check: _Checker, raw: Any, path: str) -> tuple[PlanSpec, list[tuple[str, Any]]] | None:
    obj = check.obj(raw, path, PLAN_KEYS)
    if obj is None:
        return None
    kind = obj.get("kind")
    if kind not in {k.value for k in PlanKind}:
        check.fail(f"{path}.kind", "应为 public（公需科目）或 specialist（专业科目）")
    spec = PlanSpec(
        path=path,
        code=check.code(obj, path),
        year=check.integer(obj, "year", path, 2000, 2100),
        kind=str(kind),
        title=check.text(obj, "title", path, 200),
        provider=check.text(obj, "provider", path, 100, default=DEFAULT_PROVIDER),
        required_hours=check.integer(obj, "required_hours", path, 1, 1000),
        price_per_hour_fen=check.integer(obj, "price_per_hour_fen", path, 0, 1_000_000),
        sale_start=check.moment(obj, "sale_start", path),
        sale_end=check.moment(obj, "sale_end", path),
    )
    if spec.sale_start and spec.sale_end and spec.sale_end <= spec.sale_start:
        check.fail(f"{path}.sale_end", "应晚于 sale_start")
    entries = [
        (f"{path}.courses[{index}]", entry)
        for index, entry in enumerate(check.list(obj, "courses", path))
    ]
    return spec, entries


def parse_catalogue(data: Any) -> Catalogue:
    """The catalogue a decoded JSON document describes, or CatalogueFileError with every problem.

    Its `warnings` name the courses whose videos are shorter than their 学时 allow
    (MINUTES_PER_HOUR); such a file is valid all the same."""
    check = _Checker()
    top = check.obj(data, "$", {"plans", "courses"})
    if top is None:
        raise CatalogueFileError(check.errors)
    courses: dict[str, CourseSpec] = {}
    defined_at: dict[str, str] = {}
    paths: dict[str, str] = {}

    def define(raw: Any, path: str) -> str | None:
        if isinstance(raw, str):  # a reference to a course defined elsewhere (file or database)
            if not CODE.fullmatch(raw):
                check.fail(path, "课程编码格式错误")
                return None
            paths.setdefault(raw, path)
            return raw
        spec = _course(check, raw, path)
        if spec is None:
            return None
        if spec.code in courses and courses[spec.code] != spec:
            check.fail(path, f"课程 {spec.code} 已在 {defined_at[spec.code]} 定义，且内容不同")
        courses.setdefault(spec.code, spec)
        defined_at.setdefault(spec.code, path)
        paths.setdefault(spec.code, path)
        return spec.code

    for index, raw in enumerate(check.list(top, "courses", "$", required=False)):
        define(raw, f"courses[{index}]")
    plans: list[PlanSpec] = []
    seen: dict[str, str] = {}
    for index, raw in enumerate(check.list(top, "plans", "$")):
        parsed = _plan(check, raw, f"plans[{index}]")
        if parsed is None:
            continue
        plan, entries = parsed
        if plan.code in seen:
            check.fail(f"{plan.path}.code", f"与 {seen[plan.code]} 的编码重复")
        seen.setdefault(plan.code, plan.path)
        for path, raw_course in entries:
            code = define(raw_course, path)
            if code is None:
                continue
            if code in plan.course_codes:
                check.fail(path, f"课程 {code} 在本培训项目中重复")
            else:
                plan.course_codes.append(code)
        plans.append(plan)
    if check.errors:
        raise CatalogueFileError(check.errors)
    warnings = []
    for code, course in courses.items():
        durations = [chapter.duration_s for chapter in course.chapters]
        warning = short_video_warning(course.title, course.hours, durations)
        if warning:
            warnings.append((defined_at[code], warning))
    return Catalogue(plans=plans, courses=courses, course_paths=paths, warnings=warnings)
