"""Building blocks for tests: real valid ID numbers, trainees, units and a small catalogue."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from decimal import Decimal

from werkzeug.security import generate_password_hash

from models import Chapter, Course, PlanCourse, Trainee, TrainingPlan, Unit, db
from wxapp.idnumbers import check_char

_serial = itertools.count(1)


def make_id_number(
    n: int | None = None, region: str = "500231", birth: date = date(1985, 3, 7)
) -> str:
    """A valid resident ID number (垫江县 region code by default), distinct for each n."""
    n = next(_serial) if n is None else n
    day = birth + timedelta(days=n // 999)
    first17 = f"{region}{day:%Y%m%d}{n % 999 + 1:03d}"
    return first17 + check_char(first17)


def make_phone(n: int | None = None) -> str:
    n = next(_serial) if n is None else n
    return f"139{n:08d}"


def make_unit(name: str = "垫江县人民医院", district: str = "垫江县") -> Unit:
    unit = Unit(name=name, district=district)
    db.session.add(unit)
    db.session.flush()
    return unit


def make_trainee(
    *,
    name: str = "张三",
    password: str | None = "Passw0rd!",
    unit: Unit | None = None,
    n: int | None = None,
) -> Trainee:
    """A trainee; password=None leaves the bulk-import state (initial password, must change)."""
    n = next(_serial) if n is None else n
    trainee = Trainee(
        name=name,
        id_number=make_id_number(n),
        phone=make_phone(n),
        gender="男",
        unit_id=unit.id if unit else None,
        password_hash=generate_password_hash(password, method="pbkdf2:sha256:1000")
        if password
        else None,
        must_change_password=password is None,
    )
    db.session.add(trainee)
    db.session.flush()
    return trainee


def make_plan(
    *,
    year: int = 2025,
    kind: str = "specialist",
    required_hours: int = 60,
    courses: int = 3,
    course_hours: str = "30",
    chapters: int = 2,
    chapter_seconds: int = 60,
    price_per_hour_fen: int = 150,
) -> TrainingPlan:
    """A plan with `courses` courses of `chapters` chapters each."""
    tag = next(_serial)
    plan = TrainingPlan(
        code=f"plan-{tag}",
        year=year,
        kind=kind,
        title=f"{year}年专业科目培训项目{tag}",
        required_hours=required_hours,
        price_per_hour_fen=price_per_hour_fen,
    )
    db.session.add(plan)
    for c in range(courses):
        course = Course(
            code=f"course-{tag}-{c}",
            title=f"课程{tag}-{c + 1}",
            category="工程建设",
            hours=Decimal(course_hours),
            teacher="李老师",
            description="",
        )
        for p in range(chapters):
            course.chapters.append(
                Chapter(
                    position=p + 1,
                    title=f"第{p + 1}章",
                    duration_s=chapter_seconds,
                    video_url="/static/media/demo.mp4",
                )
            )
        db.session.add(course)
        plan.courses.append(PlanCourse(course=course, position=c))
    db.session.flush()
    return plan


# --- progress ---


def enroll(trainee_id: int, plan_id: int, now) -> None:
    """A paid enrollment, the way a payment grants it."""
    from wxapp.enrollments import grant_enrollment

    grant_enrollment(trainee_id, plan_id, now)


def sign_in(client, trainee_id: int) -> None:
    """Give a test client the session a login would (no password round trip)."""
    with client.session_transaction() as session:
        session["tid"] = trainee_id
        session["must_change"] = False
        session.permanent = True


class BeaconPlayer:
    """A player on a test client: opens a play, then sends 15-second beacons as time passes."""

    def __init__(self, client, chapter_id: int, clock=None, play_id: str = "play-1"):
        self.client, self.chapter_id, self.clock, self.play_id = client, chapter_id, clock, play_id
        self.seq = -1

    def send(self, start: float, end: float, position: float | None = None, **extra):
        self.seq += 1
        body = {
            "chapter_id": self.chapter_id,
            "play_id": self.play_id,
            "seq": self.seq,
            "from": start,
            "to": end,
            "position": end if position is None else position,
            **extra,
        }
        return self.client.post("/api/beacons", json=body)

    def watch(self, start: float, end: float, step: float = 15):
        """Open at `start`, then play to `end` in real time (the clock advances per beacon)."""
        replies = [self.send(start, start)]
        at = start
        while at < end:
            nxt = min(at + step, end)
            if self.clock is not None:
                self.clock.advance(nxt - at)
            replies.append(self.send(at, nxt))
            at = nxt
        return replies
