"""`flask --app wsgi seed-demo [--once]`: the demo catalogue, units and trainees."""

from __future__ import annotations

import struct
from pathlib import Path

import sqlalchemy as sa

from models import (
    Chapter,
    Course,
    Enrollment,
    Operator,
    PlanCourse,
    Trainee,
    TrainingPlan,
    Unit,
    db,
)
from wxapp.console import auth
from wxapp.demo.catalogue import VIDEO_SECONDS, VIDEO_URL
from wxapp.demo.seed import DEMO_OPERATOR, DEMO_OPERATOR_PASSWORD, DEMO_PASSWORD, TRAINEES

ROOT = Path(__file__).resolve().parents[2]
SIX_CATEGORIES = {"工程建设", "教育新知", "农业技术", "宏观经济", "生态环保", "综合管理"}


def counts() -> tuple[int, ...]:
    return tuple(
        db.session.execute(sa.select(sa.func.count()).select_from(model)).scalar_one()
        for model in (TrainingPlan, Course, Chapter, PlanCourse, Unit, Trainee, Enrollment)
    )


def mp4_seconds(path: Path) -> float:
    """The movie duration from the mp4's mvhd box."""
    data = path.read_bytes()
    at = data.index(b"mvhd") + 4
    if data[at] == 1:
        timescale, duration = struct.unpack(">IQ", data[at + 20 : at + 32])
    else:
        timescale, duration = struct.unpack(">II", data[at + 12 : at + 20])
    return duration / timescale


def test_seed_demo_once_twice_does_not_duplicate(app, runner):
    first = runner.invoke(args=["seed-demo", "--once"])
    assert first.exit_code == 0, first.output
    for spec in TRAINEES:
        assert spec.phone in first.stdout and spec.login_password in first.stdout
    with app.app_context():
        after_first = counts()
        assert after_first[0] == 4 and after_first[4] == 2 and after_first[5] == 3
    second = runner.invoke(args=["seed-demo", "--once"])
    assert second.exit_code == 0 and "演示数据已存在" in second.stdout
    assert TRAINEES[0].phone in second.stdout  # the logins are shown again
    again = runner.invoke(args=["seed-demo"])  # without --once: restores, still no duplicate
    assert again.exit_code == 0
    with app.app_context():
        assert counts() == after_first


def test_demo_plans_follow_the_notice(app, runner):
    runner.invoke(args=["seed-demo", "--once"])
    with app.app_context():
        plans = db.session.execute(sa.select(TrainingPlan).order_by(TrainingPlan.code)).scalars()
        seen = set()
        for plan in plans:
            seen.add((plan.year, plan.kind))
            required = {"public": 30, "specialist": 60}[plan.kind]
            assert plan.required_hours == required
            if plan.kind == "specialist":
                assert plan.price_fen == 9000  # 60 学时 at 1.5 元
            courses = [link.course for link in plan.courses]
            assert sum(c.hours for c in courses) > required  # a choice, not a fixed list
            if plan.kind == "specialist":
                assert {c.category for c in courses} == SIX_CATEGORIES
            # A plan can be learned in minutes: the fewest chapters that reach its 学时.
            by_yield = sorted(courses, key=lambda c: c.hours / len(c.chapters), reverse=True)
            hours = chapters = 0
            for course in by_yield:
                if hours >= required:
                    break
                hours += course.hours
                chapters += len(course.chapters)
            assert chapters * VIDEO_SECONDS <= 10 * 60, plan.code
        assert seen == {
            (2025, "public"),
            (2025, "specialist"),
            (2026, "public"),
            (2026, "specialist"),
        }
        durations = set(db.session.execute(sa.select(Chapter.duration_s)).scalars())
        urls = set(db.session.execute(sa.select(Chapter.video_url)).scalars())
    assert durations == {VIDEO_SECONDS} and urls == {VIDEO_URL}


def test_the_demo_video_is_tiny_and_as_long_as_the_chapters_say():
    video = ROOT / VIDEO_URL.lstrip("/")
    assert video.stat().st_size < 100_000
    assert int(mp4_seconds(video)) == VIDEO_SECONDS


def test_demo_trainees_log_in(app, runner, client):
    runner.invoke(args=["seed-demo", "--once"])
    learner, buyer, imported = TRAINEES
    res = client.post("/api/login", json={"username": learner.phone, "password": DEMO_PASSWORD})
    assert res.status_code == 200 and res.json["name"] == learner.name
    assert res.json["must_change_password"] is False
    assert client.get("/api/me").status_code == 200
    plans = client.get("/api/plans?year=2026&kind=specialist").json["items"]
    assert len(plans) == 1
    with app.app_context():
        enrollment = db.session.execute(
            sa.select(Enrollment).join(Trainee).where(Trainee.phone == learner.phone)
        ).scalar_one()
        assert enrollment.plan_id == plans[0]["id"] and enrollment.status == "paid"

    client.post("/api/logout")
    res = client.post(
        "/api/login", json={"username": imported.id_number, "password": imported.login_password}
    )
    assert res.status_code == 200 and res.json["must_change_password"] is True
    res = client.post("/api/login", json={"username": buyer.id_number, "password": DEMO_PASSWORD})
    assert res.status_code == 200
    # 李娟 administers the unit of 张明 and 王刚: its 应训未训 page lists the three of them.
    unit = client.get("/api/me/unit").json
    assert unit["name"] == "垫江县人民医院"
    report = client.get(f"/api/units/{unit['id']}/report?year=2026").json
    assert {t["name"] for t in report["trainees"]} == {learner.name, buyer.name, imported.name}


def test_seed_demo_without_once_restores_the_printed_password(app, runner, client):
    runner.invoke(args=["seed-demo", "--once"])
    learner = TRAINEES[0]
    client.post("/api/login", json={"username": learner.phone, "password": DEMO_PASSWORD})
    res = client.post(
        "/api/me/password", json={"old_password": DEMO_PASSWORD, "new_password": "Changed123"}
    )
    assert res.status_code == 200
    runner.invoke(args=["seed-demo", "--once"])  # leaves it alone
    client.post("/api/logout")
    login = {"username": learner.phone, "password": DEMO_PASSWORD}
    assert client.post("/api/login", json=login).status_code == 401
    runner.invoke(args=["seed-demo"])
    assert client.post("/api/login", json=login).status_code == 200


def test_the_demo_has_a_console_administrator_who_enrols_at_first_sign_in(app, runner):
    first = runner.invoke(args=["seed-demo", "--once"])
    assert f"登录名 {DEMO_OPERATOR}  密码 {DEMO_OPERATOR_PASSWORD}" in first.stdout
    again = runner.invoke(args=["seed-demo", "--once"])  # data already there: still shown
    assert f"登录名 {DEMO_OPERATOR}" in again.stdout
    with app.app_context():
        now = app.extensions["clock"].now()
        operator = auth.check_password(
            DEMO_OPERATOR, DEMO_OPERATOR_PASSWORD, now, auth.Lockout(attempts=5, minutes=15)
        )
        assert operator.role == "admin" and operator.totp_enrolled_at is None  # QR at sign-in
        assert db.session.execute(sa.select(sa.func.count()).select_from(Operator)).scalar() == 1
