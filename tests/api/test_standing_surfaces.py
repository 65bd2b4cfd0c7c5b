"""张明's case on every surface that states the year's standing: the demo trainee (seeded by
`seed-demo`) with 68 学时 of 专业 and none of 公需 in 2026, holding the certificate of his
专业 plan (issued by the real POST). 我的进度's API, the account's 我的进度 / 我的证书 / "证书"
replies through the real signed /wechat callback, and the unit report all say: 专业 counted
60 of 60 (8 beyond, apart), 还差 30 公需学时 — never "68 / 90" or "还差 22 学时"."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote

import pytest

from models import Enrollment, PlanCourse, Trainee, TrainingPlan, db
from tests.factories import (
    BeaconPlayer,
    credit_hours,
    enroll,
    make_binding,
    make_enrollment,
    make_plan,
    make_trainee,
    make_unit,
    sign_in,
)
from tests.wechat_wire import event_xml, text_xml
from wxapp.demo.seed import DEMO_PASSWORD, TRAINEES
from wxapp.reports.districts import district_summary
from wxapp.reports.unit import unit_report

OPENID = "o_test_zhangming_000000001"
ZHANG_MING = TRAINEES[0]


@pytest.fixture
def zhang_ming(app, client, runner, clock):
    """The demo data, 2026, 张明's 专业 plan at 68 学时 (display only: the progress engine's
    own tests cover how hours are earned) and its certificate issued over HTTP."""
    seeded = runner.invoke(args=["seed-demo", "--once"])
    assert seeded.exit_code == 0, seeded.output
    clock.set(datetime(2026, 9, 1, 2, 0, tzinfo=UTC))
    with app.app_context():
        trainee = db.session.execute(
            db.select(Trainee).where(Trainee.id_number == ZHANG_MING.id_number)
        ).scalar_one()
        enrollment, plan = db.session.execute(
            db.select(Enrollment, TrainingPlan)
            .join(TrainingPlan, TrainingPlan.id == Enrollment.plan_id)
            .where(Enrollment.trainee_id == trainee.id)
        ).one()
        assert (plan.year, plan.kind, plan.required_hours) == (2026, "specialist", 60)
        credit_hours(trainee, plan, "68")
        enrollment.completed_at = clock.now()
        make_binding(trainee, OPENID)
        ids = {"trainee": trainee.id, "plan": plan.id, "unit": trainee.unit_id}
        db.session.commit()
    login = client.post(
        "/api/login", json={"username": ZHANG_MING.phone, "password": DEMO_PASSWORD}
    )
    assert login.status_code == 200, login.get_json()
    issued = client.post(f"/api/plans/{ids['plan']}/certificate")
    assert issued.status_code == 201, issued.get_json()
    return {**ids, "certificate": issued.get_json()}


def test_my_progress_counts_each_kind_up_to_its_requirement(client, zhang_ming):
    body = client.get("/api/me/progress").get_json()
    assert body["year"] == 2026
    totals = body["totals"]
    assert (totals["specialist"]["counted"], totals["specialist"]["surplus"]) == (60.0, 8.0)
    assert (totals["public"]["counted"], totals["public"]["short"]) == (0.0, 30.0)
    assert totals["total"]["counted"] == 60.0 and totals["total"]["required"] == 90
    assert totals["shortfall"] == "还差 30 公需学时" and totals["met"] is False
    [plan] = body["plans"]
    cert = zhang_ming["certificate"]
    assert plan["certificate"] == {
        "id": cert["id"],
        "serial": cert["serial"],
        "print_url": cert["print_url"],
    }
    assert body["years"] == [2026]


def test_progress_reply_states_the_standing_per_kind(wechat, zhang_ming):
    reply = wechat.reply(event_xml(OPENID, "CLICK", "MY_PROGRESS"))
    content = reply["content"]
    assert "2026年度学习进度（未达标）" in content
    assert "公需科目：0 / 30 学时，还差 30 学时" in content
    assert "专业科目：60 / 60 学时，已达标（另有 8 学时超出要求，不计入年度学时）" in content
    assert "2026年度已计 60 / 90 学时，还差 30 公需学时" in content
    assert "68 / 90" not in content and "合计" not in content


@pytest.mark.parametrize("ask", ["menu", "我的证书", "证书"])
def test_certificates_reply_lists_the_certificate_held_and_what_is_missing(
    app, wechat, zhang_ming, ask
):
    xml = (
        event_xml(OPENID, "CLICK", "MY_CERTIFICATES")
        if ask == "menu"
        else text_xml(OPENID, ask, msg_id=7100000 + len(ask))
    )
    content = wechat.reply(xml)["content"]
    cert = zhang_ming["certificate"]
    assert cert["serial"].startswith("CQJX2026ZY")
    assert "已获得的证书：" in content
    assert f"证书编号 {cert['serial']}" in content and "专业科目 68 学时" in content
    base = app.config["PUBLIC_BASE_URL"]
    print_link = f"{base}/auth/wechat?next={quote(cert['print_url'], safe='')}"
    assert f'<a href="{print_link}">查看、打印</a>' in content
    assert "2026年度已计 60 / 90 学时，还差 30 公需学时" in content
    assert "尚未选购2026年度公需科目培训项目" in content
    assert "还差 22" not in content and "尚未达标" not in content
    assert len(content.encode()) < 2048  # WeChat's limit for a text reply


def test_unit_report_verdict_reads_the_same_standing(client, app, zhang_ming):
    with app.app_context():
        report = unit_report(zhang_ming["unit"], 2026)
    row = next(r for r in report["trainees"] if r["trainee_id"] == zhang_ming["trainee"])
    assert row["verdict"] == "未达标" and row["counted"] == 60.0
    assert row["shortfall"] == "还差 30 公需学时"


def test_many_certificates_still_fit_one_text_reply(app, client, wechat):
    """Twelve certificates over six years, long titles: the reply lists the newest that fit
    in WeChat's 2048 bytes and says how many there are."""
    with app.app_context():
        trainee = make_trainee(name="周九", unit=make_unit())
        make_binding(trainee, OPENID)
        plan_ids = []
        for year in range(2020, 2026):
            for kind, name, hours in (("public", "公需", "30"), ("specialist", "专业", "60")):
                plan = make_plan(year=year, kind=kind, required_hours=int(hours))
                plan.title = f"{year}年专业技术人员继续教育{name}科目培训项目（工程建设、教育新知、农业技术）"
                make_enrollment(trainee, plan, hours=hours)
                plan_ids.append(plan.id)
        db.session.commit()
        phone = trainee.phone
    login = client.post("/api/login", json={"username": phone, "password": "Passw0rd!"})
    assert login.status_code == 200
    for plan_id in plan_ids:
        assert client.post(f"/api/plans/{plan_id}/certificate").status_code == 201
    content = wechat.reply(event_xml(OPENID, "CLICK", "MY_CERTIFICATES"))["content"]
    assert len(content.encode()) < 2048
    assert "等 12 张证书" in content and content.count("查看、打印") >= 3
    assert "2025年度已计 90 / 90 学时，已达标" in content


def test_a_course_two_plans_hold_counts_once_toward_the_year(app, client, clock, wechat):
    """Two 专业 plans of one year share a 30-学时 course. Learning it through the real
    beacons counts it in each plan's own 计划完成度, but once toward the year: 30 of 60
    专业, not 60 (达标 early), on 我的进度, the account's reply, the unit report and the
    district summary."""
    clock.set(datetime(2025, 9, 1, 2, 0, tzinfo=UTC))
    with app.app_context():
        unit = make_unit(district="垫江县")
        trainee = make_trainee(name="吴十二", unit=unit)
        make_binding(trainee, OPENID)
        first = make_plan(year=2025, required_hours=60, courses=2, course_hours="30")
        second = make_plan(year=2025, required_hours=60, courses=1, course_hours="30")
        shared = first.courses[0].course
        second.courses.append(PlanCourse(course=shared, position=1))
        for plan in (first, second):
            enroll(trainee.id, plan.id, clock.now())
        db.session.commit()
        ids = {"trainee": trainee.id, "unit": unit.id, "plans": {first.id, second.id}}
        chapters = [c.id for c in shared.chapters]
    sign_in(client, ids["trainee"])
    for chapter in chapters:
        replies = BeaconPlayer(client, chapter, clock, play_id=f"p{chapter}").watch(0, 60)
        assert replies[-1].get_json()["chapter_done"]

    body = client.get("/api/me/progress").get_json()
    assert {p["id"]: p["hours_done"] for p in body["plans"]} == dict.fromkeys(ids["plans"], 30.0)
    specialist = body["totals"]["specialist"]
    assert (specialist["done"], specialist["short"], specialist["met"]) == (30.0, 30.0, False)

    content = wechat.reply(event_xml(OPENID, "CLICK", "MY_PROGRESS"))["content"]
    assert "专业科目：30 / 60 学时，还差 30 学时" in content

    with app.app_context():
        report = unit_report(ids["unit"], 2025)
        summary = district_summary(2025)
    [row] = report["trainees"]
    assert (row["specialist_done"], row["verdict"]) == (30.0, "未达标")
    [district] = [d for d in summary if d["district"] == "垫江县"]
    assert (district["trainees"], district["trainees_unmet"]) == (1, 1)
