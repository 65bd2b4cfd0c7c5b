"""我的进度, 项目详情 once bought and 我的证书 against the real back ends on the live server:
progress made by real beacons (the app's FakeClock moved as a player's time passes),
certificates issued by the real POST."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.e2e.conftest import copy_to_docs, login, seed
from tests.factories import (
    BeaconPlayer,
    make_enrollment,
    make_plan,
    make_trainee,
    make_unit,
    sign_in,
)
from wxapp.enrollments import grant_enrollment

PAID = datetime(2025, 6, 1, tzinfo=UTC)


def world(site, *, unit=True):
    """A trainee enrolled in 2025's 专业科目 plan (3 courses of 2 one-minute chapters, 30 学时
    each) and, with 12 of its 30 学时 already counted, 2025's 公需科目 plan."""

    def build():
        u = make_unit() if unit else None
        t = make_trainee(name="孙八", unit=u)
        plan = make_plan(year=2025, courses=3, chapters=2)
        plan.title = "2025年专业科目培训项目（工程建设）"
        courses = [pc.course for pc in plan.courses]
        courses[0].title = "建设工程质量管理"
        courses[1].title = "绿色建筑与节能"
        grant_enrollment(t.id, plan.id, PAID)
        public = make_plan(year=2025, kind="public", required_hours=30, courses=2)
        public.title = "2025年公需科目培训项目"
        make_enrollment(t, public, hours="12")  # display only: 12 学时 already credited
        return {
            "phone": t.phone,
            "trainee": t.id,
            "plan": plan.id,
            "public": public.id,
            "courses": [c.id for c in courses],
            "chapters": [[ch.id for ch in c.chapters] for c in courses],
        }

    return seed(site, build)


def learn(site, data) -> None:
    """Real beacons: both chapters of the first course watched to the end (the course is
    learned: 30 学时), then 24 of the 60 seconds of the second course's first chapter."""
    app = site.app
    clock = app.extensions["clock"]
    with app.test_client() as client:
        sign_in(client, data["trainee"])
        for n, chapter in enumerate(data["chapters"][0]):
            for reply in BeaconPlayer(client, chapter, clock, play_id=f"a{n}").watch(0, 60):
                assert reply.status_code == 200, reply.get_json()
        partial = BeaconPlayer(client, data["chapters"][1][0], clock, play_id="b0")
        for reply in partial.watch(0, 24):
            assert reply.status_code == 200, reply.get_json()
    # What the production flush worker does every few seconds: Redis -> database.
    flushed = app.test_cli_runner().invoke(args=["progress", "flush", "--once"])
    assert flushed.exit_code == 0, flushed.output


def test_my_progress_shows_year_totals_plans_courses_and_chapters(phone, site):
    data = world(site)
    learn(site, data)
    login(phone, data["phone"])
    page = phone.open("/h5/progress?year=2025")
    stats = page.inner_text(".stat-grid")
    assert "公需科目" in stats and "12 / 30 学时" in stats and "还差 18 学时" in stats
    assert "专业科目" in stats and "30 / 60 学时" in stats
    card = page.locator(f".plan-card[data-plan-id='{data['plan']}']")
    assert "计划完成度：已学 30 / 60 学时" in card.inner_text()
    assert "50%" in card.inner_text()
    page.locator("summary", has_text="绿色建筑与节能").click()
    assert "40%" in card.inner_text()
    shot = phone.shot("progress")
    copy_to_docs(shot, "progress.png")


def test_plan_page_shows_completion_and_course_states_once_bought(phone, site):
    data = world(site)
    learn(site, data)
    login(phone, data["phone"])
    page = phone.open(f"/h5/plan?id={data['plan']}")
    head = page.inner_text(".plan-head")
    assert "计划完成度：已学 30 / 60 学时" in head and "已购买" in head
    items = page.locator(".course-item")
    assert "已学完" in items.nth(0).inner_text()
    assert "学习中" in items.nth(1).inner_text()
    assert "未学习" in items.nth(2).inner_text()
    assert page.locator("#buy").count() == 0
    phone.shot("plan-enrolled")


def complete(site, data) -> None:
    """The 专业科目 plan complete (display only: its 60 学时 counted, completed_at set)."""

    def build():
        from models import Enrollment, db

        enrollment = db.session.execute(
            db.select(Enrollment).where(
                Enrollment.trainee_id == data["trainee"], Enrollment.plan_id == data["plan"]
            )
        ).scalar_one()
        enrollment.hours_done = 60
        enrollment.completed_at = datetime(2025, 7, 1, tzinfo=UTC)

    seed(site, build)


def test_certificates_issued_ready_and_missing(phone, site):
    data = world(site, unit=False)
    complete(site, data)
    seed(site, lambda: make_unit(name="垫江县人民医院", district="垫江县").id)
    login(phone, data["phone"])
    page = phone.page
    page.goto(f"{site.url}/h5/certificates")
    page.wait_for_selector("#app[data-ready]")
    assert "打印证书前请完善个人信息：单位" in page.inner_text("#missing-info")
    ready = page.locator(f".plan-card[data-plan-id='{data['plan']}']")
    assert "60 / 60 学时" in ready.inner_text()
    assert "还差 18 学时" in page.inner_text("body")

    page.fill("#unit-q", "垫江")
    page.click("#unit-results >> text=垫江县人民医院")
    page.click("#save-profile")
    page.wait_for_selector("#missing-info", state="detached")
    me = page.request.get(f"{site.url}/api/me").json()
    assert (me.get("unit") or {}).get("name") == "垫江县人民医院", me

    page.locator(f".plan-card[data-plan-id='{data['plan']}'] >> text=打印证书").click()
    page.wait_for_url("**/certificates/*")
    assert "孙八" in page.inner_text("body")
    page.go_back()
    page.wait_for_selector(".cert-card")
    cert = next(
        e["certificate"]
        for e in page.request.get(f"{site.url}/api/me/certificates").json()["items"]
        if e["plan"]["id"] == data["plan"]
    )
    card = page.locator(".cert-card")
    assert cert["serial"] in card.inner_text() and cert["issue_date"] in card.inner_text()
    assert card.locator("text=打印证书").get_attribute("href") == cert["print_url"]
    assert card.locator("text=下载 PDF").get_attribute("href") == cert["pdf_url"]
    assert card.locator("button", has_text="刷新证书").count() == 1
    page.wait_for_selector(".weui-toast", state="detached")
    shot = phone.shot("certificates")
    copy_to_docs(shot, "certificates.png")


def test_certificate_refused_names_what_is_missing(phone, site):
    data = world(site, unit=False)  # no unit and no 档案所在区县
    complete(site, data)
    login(phone, data["phone"])
    page = phone.open("/h5/certificates")
    page.locator(f".plan-card[data-plan-id='{data['plan']}'] >> text=打印证书").click()
    dialog = page.wait_for_selector(".js_dialog .weui-dialog").inner_text()
    assert "请先完善个人信息：单位（单位未列出时选择档案所在区县）" in dialog
    assert "profile_incomplete" not in dialog
