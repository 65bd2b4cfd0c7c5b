"""Demo data for `make run` (`flask --app wsgi seed-demo [--once]`).

The catalogue of `wxapp.demo.catalogue` (through the catalogue loader, so it is
idempotent by code), two units, and three trainees whose logins are printed: one who has
paid for the current year's 专业科目 plan and can learn at once, one who has paid for
nothing yet (to try 立即购买) and administers their unit (单位学时统计, 团体购买 for
colleagues), and one left as bulk registration leaves a trainee (initial password by
rule, must change it first); and a 管理员 of the operator console at /admin, who enrols a
TOTP app at the first sign-in (the page shows the QR code).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from models import (
    Enrollment,
    EnrollmentStatus,
    Operator,
    Trainee,
    TrainingPlan,
    Unit,
    UnitAdmin,
    WechatBinding,
    db,
)
from wxapp.accounts.idnumbers import check_char, initial_password
from wxapp.accounts.passwords import hash_password, verify_password
from wxapp.catalogue.loader import apply_catalogue
from wxapp.catalogue.spec import MINUTES_PER_HOUR
from wxapp.console import auth
from wxapp.demo.catalogue import demo_catalogue, plan_code
from wxapp.infra.transaction import transaction
from wxapp.orders.enrollments import grant_enrollment

DEMO_PASSWORD = "Demo@2026"
CURRENT_YEAR = 2026
# The console's 管理员 (its password rules want 10 characters with letters and digits).
DEMO_OPERATOR = "demo-admin"
DEMO_OPERATOR_PASSWORD = "Demo@2026admin"

UNITS = {
    "hospital": ("垫江县人民医院", "垫江县"),
    "design": ("重庆市渝北区建筑设计院", "渝北区"),
}


@dataclass(frozen=True)
class DemoTrainee:
    name: str
    first17: str  # region, birth date, sequence; the check character is computed
    phone: str
    unit: str
    password: str | None  # None: bulk-import state (initial password, must change)
    enrolled_in: str | None  # plan code of a paid enrollment
    note: str
    admin_of: str | None = None  # the unit (key of UNITS) this account administers

    @property
    def id_number(self) -> str:
        return self.first17 + check_char(self.first17)

    @property
    def gender(self) -> str:
        return "男" if int(self.first17[16]) % 2 else "女"

    @property
    def login_password(self) -> str:
        return self.password or initial_password(self.id_number)


TRAINEES = (
    DemoTrainee(
        "张明", "50023119880315123", "13800138001", "hospital", DEMO_PASSWORD,
        plan_code(CURRENT_YEAR, "specialist"), f"已购买 {CURRENT_YEAR} 年专业科目，可直接学习",
    ),
    DemoTrainee(
        "李娟", "50011219920721242", "13800138002", "hospital", DEMO_PASSWORD,
        None, "尚未购买，可试立即购买；垫江县人民医院的单位管理员："
        "个人信息 → 单位学时统计（应训未训），可为同事团体购买",
        admin_of="hospital",
    ),
    DemoTrainee(
        "王刚", "50023119850609203", "13800138003", "hospital", None,
        None, "批量注册状态：用初始密码登录后须短信验证激活（验证码见 /_sandbox/sms）",
    ),
)  # fmt: skip


@dataclass
class DemoResult:
    created: bool  # False when --once found the demo data already there
    trainees: tuple[DemoTrainee, ...] = TRAINEES
    # With --once on data already there: each demo trainee's state now, by ID number
    # (the password may have been changed, the account activated, a plan bought since).
    states: dict[str, str] | None = None
    # Courses the catalogue loader warned about: the demo's one-minute chapters are far
    # shorter than 学时 × MINUTES_PER_HOUR minutes, on purpose.
    short_video_courses: int = 0


def demo_present() -> bool:
    code = plan_code(CURRENT_YEAR, "specialist")
    return (
        db.session.execute(db.select(TrainingPlan.id).where(TrainingPlan.code == code)).first()
        is not None
    )


def _unit(name: str, district: str, now: datetime) -> Unit:
    unit = db.session.execute(db.select(Unit).where(Unit.name == name)).scalar_one_or_none()
    if unit is None:
        unit = Unit(name=name, district=district, created_at=now)
        db.session.add(unit)
        db.session.flush()
    return unit


def _trainee(spec: DemoTrainee, unit: Unit, now: datetime) -> Trainee:
    """Create the demo trainee, or put it back as printed (its password, its state)."""
    trainee = db.session.execute(
        db.select(Trainee).where(Trainee.id_number == spec.id_number)
    ).scalar_one_or_none()
    if trainee is None:
        trainee = Trainee(id_number=spec.id_number, created_at=now)
        db.session.add(trainee)
    trainee.name = spec.name
    trainee.phone = spec.phone
    trainee.gender = spec.gender
    trainee.unit_id = unit.id
    trainee.password_hash = hash_password(spec.password) if spec.password else None
    trainee.must_change_password = spec.password is None
    trainee.updated_at = now
    db.session.flush()
    return trainee


def seed_demo(now: datetime, secret_keys: list[str], once: bool = False) -> DemoResult:
    """Create (or restore) the demo data in one transaction; with `once`, skip if present.
    The console's demo 管理员 is created whenever missing (data seeded before it existed)."""
    _demo_operator(now, secret_keys)
    if once and demo_present():
        return DemoResult(created=False, states=current_states())
    with transaction():
        summary = apply_catalogue(demo_catalogue(), now)
        units = {key: _unit(name, district, now) for key, (name, district) in UNITS.items()}
        for spec in TRAINEES:
            trainee = _trainee(spec, units[spec.unit], now)
            if spec.enrolled_in:
                grant_enrollment(trainee.id, summary.plan_ids[spec.enrolled_in], now)
            if spec.admin_of:
                _grant_unit_admin(trainee, units[spec.admin_of], now)
    return DemoResult(created=True, short_video_courses=len(summary.warnings))


def _demo_operator(now: datetime, secret_keys: list[str]) -> None:
    """The console's demo 管理员, unless there is one: an operator changed since is kept."""
    exists = db.session.execute(
        db.select(Operator.id).where(Operator.login == DEMO_OPERATOR)
    ).scalar_one_or_none()
    if exists is None:
        auth.create_operator(
            DEMO_OPERATOR, "演示管理员", "admin", DEMO_OPERATOR_PASSWORD,
            secret_keys=secret_keys, now=now,
        )  # fmt: skip


def _grant_unit_admin(trainee: Trainee, unit: Unit, now: datetime) -> None:
    grant = db.session.execute(
        db.select(UnitAdmin).where(UnitAdmin.trainee_id == trainee.id)
    ).scalar_one_or_none()
    if grant is None:
        db.session.add(UnitAdmin(trainee_id=trainee.id, unit_id=unit.id, granted_at=now))
    else:
        grant.unit_id = unit.id


def _state(spec: DemoTrainee, trainee: Trainee | None) -> str:
    """What the demo trainee's account is now, in the words `seed-demo` prints."""
    if trainee is None:
        return "账号已不存在（运行 seed-demo 不加 --once 可恢复）"
    if trainee.must_change_password:
        password = f"密码 {spec.login_password}（初始密码，尚未激活）"
    elif trainee.password_hash and verify_password(trainee.password_hash, spec.login_password):
        password = f"密码 {spec.login_password}"
    else:
        password = "密码已修改（以修改后的为准；运行 seed-demo 不加 --once 可恢复）"
    plans = (
        db.session.execute(
            db.select(TrainingPlan.title)
            .join(Enrollment, Enrollment.plan_id == TrainingPlan.id)
            .where(
                Enrollment.trainee_id == trainee.id,
                Enrollment.status == EnrollmentStatus.PAID,
            )
            .order_by(TrainingPlan.year, TrainingPlan.kind)
        )
        .scalars()
        .all()
    )
    bought = f"已购买：{'、'.join(plans)}" if plans else "尚未购买培训项目"
    bound = db.session.execute(
        db.select(WechatBinding.id).where(WechatBinding.trainee_id == trainee.id)
    ).first()
    return f"{password}；{bought}；{'已绑定微信' if bound else '未绑定微信'}"


def current_states() -> dict[str, str]:
    """Each demo trainee's state as it is now (ID number -> text)."""
    found = {
        t.id_number: t
        for t in db.session.execute(
            db.select(Trainee).where(Trainee.id_number.in_([s.id_number for s in TRAINEES]))
        ).scalars()
    }
    return {spec.id_number: _state(spec, found.get(spec.id_number)) for spec in TRAINEES}


def logins_text(result: DemoResult) -> str:
    """The demo logins, as `seed-demo` prints them (README's "Demo logins"); on data already
    there, each trainee's current state rather than the one first seeded."""
    lines = ["演示账号（用户名可用手机号或身份证号码）："]
    for spec in result.trainees:
        who = f"  {spec.name}  手机号 {spec.phone}  身份证号 {spec.id_number}  "
        if result.states is None:
            lines.append(f"{who}密码 {spec.login_password}  —— {spec.note}")
        else:
            lines.append(f"{who}当前状态：{result.states[spec.id_number]}")
    if not result.created:
        lines.insert(0, "演示数据已存在，未做更改。各账号的当前状态：")
    lines.append(
        f"运营后台 /admin：登录名 {DEMO_OPERATOR}  密码 {DEMO_OPERATOR_PASSWORD}（管理员；首次登录时"
        "页面显示动态验证码二维码，用手机上的验证器应用扫码后输入 6 位验证码）"
    )
    if result.short_video_courses:
        lines.append(
            f"注：{result.short_video_courses} 门演示课程的视频合计少于 学时 × {MINUTES_PER_HOUR}"
            " 分钟，载入时有警告：演示视频故意很短，以便几分钟学完，已照常载入。"
        )
    return "\n".join(lines)
