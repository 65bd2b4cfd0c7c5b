"""Building blocks for tests: real valid ID numbers, trainees, units and a small catalogue."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from decimal import Decimal

from werkzeug.security import generate_password_hash

from models import Chapter, Course, PlanCourse, Trainee, TrainingPlan, Unit, db
from wxapp.accounts.idnumbers import check_char

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


def make_binding(trainee: Trainee, openid: str | None = None, *, following: bool = True):
    """Bind a WeChat openid to `trainee` (the pay step and pushes need it)."""
    from models import WechatBinding

    binding = WechatBinding(
        openid=openid or f"o_test_{trainee.id}_{next(_serial)}",
        trainee_id=trainee.id,
        following=following,
    )
    db.session.add(binding)
    db.session.flush()
    return binding


# --- certs: enrollments with learned 学时, unit administrators ---


def make_enrollment(trainee: Trainee, plan: TrainingPlan, hours: str = "0", completed=None):
    """A paid enrollment (through grant_enrollment) with `hours` 学时 learned, as if the
    progress engine had credited them; `completed` sets completed_at."""
    from models import Enrollment
    from wxapp.orders.enrollments import grant_enrollment

    grant_enrollment(trainee.id, plan.id, _now())
    enrollment = db.session.execute(
        db.select(Enrollment).where(
            Enrollment.trainee_id == trainee.id, Enrollment.plan_id == plan.id
        )
    ).scalar_one()
    credit_hours(trainee, plan, hours)
    enrollment.completed_at = completed
    db.session.flush()
    return enrollment


def credit_hours(trainee: Trainee, plan: TrainingPlan, hours: str | Decimal) -> None:
    """Give the trainee `hours` 学时 learned in the plan, as the progress engine would have:
    a learned course of that many 学时 that the plan holds (one per plan and value, added to
    the plan), and the enrollment's 计划完成度 counting it. The year's standing is summed
    from learned courses, so 学时 written on the enrollment alone would count for nothing."""
    from models import CourseCompletion, Enrollment

    hours = Decimal(hours)
    enrollment = db.session.execute(
        db.select(Enrollment).where(
            Enrollment.trainee_id == trainee.id, Enrollment.plan_id == plan.id
        )
    ).scalar_one()
    enrollment.hours_done = hours
    if not hours:
        db.session.flush()
        return
    code = f"{plan.code}-credited-{hours}"
    course = db.session.execute(db.select(Course).where(Course.code == code)).scalar()
    if course is None:
        course = Course(
            code=code,
            title=f"已学课程（{hours} 学时）",
            category="综合",
            hours=hours,
            teacher="李老师",
            description="",
        )
        db.session.add(course)
        db.session.add(PlanCourse(plan_id=plan.id, course=course, position=1000))
        db.session.flush()
    db.session.add(CourseCompletion(trainee_id=trainee.id, course_id=course.id, hours=hours))
    db.session.flush()


def make_unit_admin(trainee: Trainee, unit: Unit):
    from models import UnitAdmin

    grant = UnitAdmin(trainee_id=trainee.id, unit_id=unit.id)
    db.session.add(grant)
    db.session.flush()
    return grant


def _now():
    from datetime import UTC, datetime

    return datetime.now(UTC)


# --- rosters (bulk registration) ---
ROSTER_FIRST_ROW = 5  # write_roster at top=1: title, 区县, 单位全称, header, then data


def roster_person(n: int) -> dict[str, str]:
    """A good roster row: valid ID number, its gender, a unique phone."""
    id_number = make_id_number(n)
    return {
        "name": f"学员{chr(0x4E00 + n % 20000)}",
        "id_number": id_number,
        "phone": f"15{n:09d}",
        "gender": "男" if int(id_number[16]) % 2 else "女",
        "note": "",
    }


def _spoil_id_birth(row: dict[str, str]) -> dict[str, str]:
    first17 = row["id_number"][:10] + "13" + row["id_number"][12:17]  # month 13
    return {**row, "id_number": first17 + check_char(first17)}


def _spoil_checksum(row: dict[str, str]) -> dict[str, str]:
    last = row["id_number"][17]
    return {**row, "id_number": row["id_number"][:17] + ("1" if last != "1" else "2")}


# reason code -> how a good row (and the one before it) becomes a bad row with that reason
ROSTER_SPOILERS = {
    "id_checksum": lambda row, prev: _spoil_checksum(row),
    "id_lowercase_x": lambda row, prev: {**row, "id_number": row["id_number"][:17] + "x"},
    "id_birth_date": lambda row, prev: _spoil_id_birth(row),
    "id_format": lambda row, prev: {**row, "id_number": row["id_number"][:17]},
    "name_space": lambda row, prev: {**row, "name": "张 三"},
    "name_symbol": lambda row, prev: {**row, "name": "张三*"},
    "phone_invalid": lambda row, prev: {**row, "phone": "2" + row["phone"][2:]},
    "gender_invalid": lambda row, prev: {**row, "gender": "M"},
    "gender_mismatch": lambda row, prev: {**row, "gender": "女" if row["gender"] == "男" else "男"},
    "duplicate_id": lambda row, prev: {
        **row,
        "id_number": prev["id_number"],
        "gender": prev["gender"],
    },
    "duplicate_phone": lambda row, prev: {**row, "phone": prev["phone"]},
}


def roster_rows(
    count: int, bad: int = 0, start: int = 700_000
) -> tuple[list[dict], dict[int, str]]:
    """`count` roster rows, `bad` of them spoiled (spread evenly, reasons in turn).

    Returns the rows and {Excel row number: reason code} of the spoiled ones.
    """
    rows = [roster_person(start + i) for i in range(count)]
    spoiled: dict[int, str] = {}
    kinds = list(ROSTER_SPOILERS)
    step = count // bad if bad else 0
    for k in range(bad):
        index = step * k + step // 2
        code = kinds[k % len(kinds)]
        rows[index] = ROSTER_SPOILERS[code](rows[index], rows[index - 1])
        spoiled[ROSTER_FIRST_ROW + index] = code
    return rows, spoiled


def make_order(trainee: Trainee, plan: TrainingPlan, now, trainees: list[Trainee] | None = None):
    """A NOTPAY order paid by `trainee` for `trainees` (default: themselves)."""
    from wxapp.orders.purchase import new_order

    covered = trainees or [trainee]
    kind = "group" if trainees else "individual"
    return new_order(kind, trainee.id, plan, [t.id for t in covered], now)


# --- progress ---


def enroll(trainee_id: int, plan_id: int, now) -> None:
    """A paid enrollment, the way a payment grants it."""
    from wxapp.orders.enrollments import grant_enrollment

    grant_enrollment(trainee_id, plan_id, now)


def session_cookie(app, trainee_id: int, interface=None) -> str:
    """The Cookie header a password login gives the trainee (no password round trip).

    The session is the one `guard.start_session` makes; `interface` signs it (default: the
    app's own session interface).
    """
    from flask import session

    from handlers.guard import start_session

    with app.test_request_context():
        start_session(trainee_id, must_change=False)
        payload = dict(session)
    serializer = (interface or app.session_interface).get_signing_serializer(app)
    return f"{app.config['SESSION_COOKIE_NAME']}={serializer.dumps(payload)}"


def make_learner(now, **plan_options):
    """A trainee holding a new plan (`make_plan`'s options), paid as a payment grants it:
    the (trainee, plan) a learning test starts from."""
    trainee = make_trainee()
    plan = make_plan(**plan_options)
    enroll(trainee.id, plan.id, now)
    return trainee, plan


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


# --- hardening: a production-mode configuration ---


def production_settings(tmp_path) -> dict[str, str]:
    """Settings of a production app (sandbox off, https, real-looking WeChat and WeChat Pay
    credentials), with a freshly generated RSA key pair written under `tmp_path`."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = tmp_path / "apiclient_key.pem"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public = tmp_path / "pub_key.pem"
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return {
        "WXAPP_SANDBOX": "0",
        "SECRET_KEY": "production-test-key-0123456789abcdef",  # 36 bytes (32 at least)
        "PUBLIC_BASE_URL": "https://edu.example.cn",
        "WECHAT_APP_ID": "wx1234567890abcdef",
        "WECHAT_APP_SECRET": "secret",
        "WECHAT_TOKEN": "token",
        "WECHAT_AES_KEY": "a" * 43,
        "WECHATPAY_MCHID": "1900000109",
        "WECHATPAY_CERT_SERIAL_NO": "ABC",
        "WECHATPAY_APIV3_KEY": "k" * 32,
        "WECHATPAY_PUBLIC_KEY_ID": "PUB_KEY_ID_0001",
        "METRICS_TOKEN": "metrics-token-0123456789",
        "TENCENTCLOUD_SECRET_ID": "AKIDproductiontest",
        "TENCENTCLOUD_SECRET_KEY": "production-tencentcloud-secret",
        "SMS_SDK_APP_ID": "1400006666",
        "SMS_SIGN_NAME": "重庆继续教育",
        "SMS_TEMPLATE_ACTIVATE": "2000001",
        "SMS_TEMPLATE_REGISTER": "2000002",
        "SMS_TEMPLATE_RESET": "2000003",
        "SMS_TEMPLATE_REBIND": "2000004",
        "SMS_TEMPLATE_PHONE": "2000005",
        "SMS_TEMPLATE_PHONE_CHANGED": "2000006",
        "WECHATPAY_PRIVATE_KEY": str(private),
        "WECHATPAY_PUBLIC_KEY": str(public),
        "PROXY_COUNT": "1",
    }
