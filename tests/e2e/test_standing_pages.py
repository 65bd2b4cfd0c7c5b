"""张明's case in the browser (the demo trainee seeded by `seed-demo`, 2026: 68 学时 of 专业,
none of 公需, the 专业 certificate issued by the real POST): 我的进度 at 390x844, the
official account's replies on the sandbox phone, and the certificate print page on a phone
and a desktop, whole and never wider than the screen, one A4 landscape page when printed."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime

import pypdf

from models import Enrollment, Trainee, TrainingPlan, db
from tests.e2e.conftest import copy_to_docs, login, seed, wait_for
from tests.factories import credit_hours, make_binding, make_plan
from wxapp.demo.seed import DEMO_PASSWORD, TRAINEES
from wxapp.orders.enrollments import grant_enrollment
from wxapp.sandbox.oa_state import DEMO_USERS

ZHANG_MING = TRAINEES[0]
OPENID = DEMO_USERS[0]["openid"]  # the sandbox phone's first WeChat user
# Latin words a trainee would read; the certificate serial (CQJX…) and "PDF" are not words.
ENGLISH = re.compile(r"[A-Za-z]{3,}")
NOT_WORDS = re.compile(r"CQJX\d{4}[A-Z]{2}\d{7}|PDF")


def no_english(page) -> None:
    text = NOT_WORDS.sub("", page.inner_text("body"))
    assert not ENGLISH.findall(text), ENGLISH.findall(text)


def no_overflow(page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def zhang_mings_case(site, phone) -> dict:
    """Demo data, the clock in 2026, 张明's 专业 plan at 68 学时 (display only: the progress
    engine's tests cover earning them), a 2024 plan (so 我的进度 links to a year that is not
    the previous one), his WeChat bound, logged in, and his certificate issued over HTTP."""
    seeded = site.app.test_cli_runner().invoke(args=["seed-demo", "--once"])
    assert seeded.exit_code == 0, seeded.output
    site.app.extensions["clock"].set(datetime(2026, 9, 1, 2, 0, tzinfo=UTC))

    def build():
        trainee = db.session.execute(
            db.select(Trainee).where(Trainee.id_number == ZHANG_MING.id_number)
        ).scalar_one()
        enrollment, plan = db.session.execute(
            db.select(Enrollment, TrainingPlan)
            .join(TrainingPlan, TrainingPlan.id == Enrollment.plan_id)
            .where(Enrollment.trainee_id == trainee.id)
        ).one()
        credit_hours(trainee, plan, "68")
        enrollment.completed_at = datetime(2026, 8, 20, tzinfo=UTC)
        old = make_plan(year=2024, kind="public", required_hours=30)
        grant_enrollment(trainee.id, old.id, datetime(2024, 5, 1, tzinfo=UTC))
        make_binding(trainee, OPENID)
        return {"plan": plan.id, "plan_title": plan.title}

    data = seed(site, build)
    login(phone, ZHANG_MING.phone, DEMO_PASSWORD)
    issued = phone.page.request.post(f"{site.url}/api/plans/{data['plan']}/certificate")
    assert issued.status == 201, issued.text()
    return {**data, "certificate": issued.json()}


def test_my_progress_shows_the_standing_and_the_certificate_held(phone, site):
    data = zhang_mings_case(site, phone)
    cert = data["certificate"]
    page = phone.open("/h5/progress")
    head = page.inner_text(".page-head")
    assert "2026 年度学习进度" in head
    assert "已计 60 / 90 学时，还差 30 公需学时" in head
    public = page.inner_text(".stat[data-kind='公需科目']")
    assert "0 / 30 学时" in public and "还差 30 学时" in public
    specialist = page.inner_text(".stat[data-kind='专业科目']")
    assert "60 / 60 学时" in specialist and "已达标" in specialist
    assert "另超出 8 学时，不计入年度学时" in specialist
    body = page.inner_text("body")
    assert "68 / 90" not in body and "已获 68" not in body
    card = page.locator(f".plan-card[data-plan-id='{data['plan']}']")
    held = card.locator(".cert-held")
    assert f"证书编号 {cert['serial']}" in held.inner_text() and "已获证书" in held.inner_text()
    assert held.get_attribute("href") == cert["print_url"]
    years = page.locator(".year-links a")
    assert years.all_inner_texts() == ["2024 年度"]
    assert years.first.get_attribute("href") == "/h5/progress?year=2024"
    no_overflow(page, 390)
    no_english(page)
    copy_to_docs(phone.shot("progress-standing", full_page=True), "progress-standing.png")

    held.click()
    page.wait_for_url(f"**{cert['print_url']}")
    assert cert["serial"] in page.inner_text(".sheet")
    page.go_back()
    page.wait_for_selector("#app[data-ready]")
    page.locator(".year-links a").first.click()
    page.wait_for_url("**/h5/progress?year=2024")
    page.wait_for_selector("#app[data-ready]")
    assert "2024 年度学习进度" in page.inner_text(".page-head")
    assert "还差 30 公需学时" not in page.inner_text(".stat-grid")
    assert "2026 年度" in page.inner_text(".year-links")


def test_account_replies_on_the_sandbox_phone(phone, site):
    data = zhang_mings_case(site, phone)
    cert = data["certificate"]
    page = phone.page
    page.goto(f"{site.url}/_sandbox/phone")
    assert page.locator("#openid").input_value() == OPENID
    chat = page.locator("#chat")

    def ask(button=None, text=None) -> str:
        before = chat.locator("div").count()
        if text is not None:
            page.fill("#content", text)
            page.click("button[data-kind='text']")
        else:
            page.click(f"button[data-kind='click']:text-is('{button}')")
        wait_for(page, f"document.querySelectorAll('#chat > div').length >= {before + 2}")
        return chat.locator("div").nth(before + 1).inner_text()

    progress = ask("我的进度")
    assert "2026年度学习进度（未达标）" in progress
    assert "公需科目：0 / 30 学时，还差 30 学时" in progress
    assert "专业科目：60 / 60 学时，已达标（另有 8 学时超出要求，不计入年度学时）" in progress
    assert "2026年度已计 60 / 90 学时，还差 30 公需学时" in progress
    assert "合计" not in progress and "68/90" not in progress.replace(" ", "")

    for certificates in (ask("我的证书"), ask(text="证书")):
        assert f"证书编号 {cert['serial']}" in certificates
        assert data["plan_title"] in certificates
        assert "还差 30 公需学时" in certificates
        assert "尚未选购2026年度公需科目培训项目" in certificates
        assert "还差 22" not in certificates and "尚未达标" not in certificates
    link = chat.locator("a", has_text="查看、打印").first.get_attribute("href")
    assert link.endswith("/auth/wechat?next=" + cert["print_url"].replace("/", "%2F"))
    no_overflow(page, 390)
    copy_to_docs(phone.shot("oa-standing-replies", full_page=True), "oa-standing-replies.png")


def sheet_box(page) -> dict:
    return page.evaluate(
        """(() => {
          const box = (el) => { const r = el.getBoundingClientRect();
            return {left: r.left, right: r.right, top: r.top, bottom: r.bottom}; };
          const sheet = box(document.querySelector('.sheet'));
          const shown = '.sheet h1, .sheet dd, .sheet .seal, .sheet .qr svg, .sheet .serial, '
            + '.sheet .statement, .sheet .issuer';
          const parts = [...document.querySelectorAll(shown)].map(box);
          return {sheet, parts, width: document.documentElement.clientWidth};
        })()"""
    )


def whole_and_inside(page, width: int) -> None:
    wait_for(page, "document.querySelector('.stage').dataset.fitted === 'true'")
    no_overflow(page, width)
    found = sheet_box(page)
    sheet = found["sheet"]
    assert sheet["left"] >= 0 and sheet["right"] <= width, sheet
    for part in found["parts"]:  # the title, every line, the seal, the QR code: all inside
        assert sheet["left"] <= part["left"] and part["right"] <= sheet["right"] + 0.5, part
        assert sheet["top"] <= part["top"] and part["bottom"] <= sheet["bottom"] + 0.5, part


def test_certificate_print_page_fits_a_phone_and_a_desktop_and_prints_a4(phone, site, new_phone):
    data = zhang_mings_case(site, phone)
    cert = data["certificate"]
    page = phone.page
    page.goto(site.url + cert["print_url"])
    whole_and_inside(page, 390)
    text = page.inner_text(".sheet")
    assert "合格证书" in text and "张明" in text and cert["serial"] in text
    assert "已学习完成本培训项目规定学时的课程，特发此证" in text and "考核" not in text
    no_english(page)
    copy_to_docs(
        phone.shot("certificate-print-phone", full_page=True), "certificate-print-phone.png"
    )

    desk = new_phone(viewport={"width": 1280, "height": 800}, is_mobile=False, has_touch=False)
    login(desk, ZHANG_MING.phone, DEMO_PASSWORD)
    page = desk.page
    page.goto(site.url + cert["print_url"])
    whole_and_inside(page, 1280)
    width = page.evaluate("document.querySelector('.sheet').getBoundingClientRect().width")
    assert abs(width - 297 * 96 / 25.4) < 2  # the real A4 size: room enough, no scaling
    copy_to_docs(
        desk.shot("certificate-print-desktop", full_page=True), "certificate-print-desktop.png"
    )

    # Printed: one A4 landscape page, the toolbar left out.
    pdf = pypdf.PdfReader(io.BytesIO(page.pdf(prefer_css_page_size=True, print_background=True)))
    assert len(pdf.pages) == 1
    box = pdf.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (842, 595)
    printed = pdf.pages[0].extract_text()
    assert cert["serial"] in printed and "打印证书" not in printed
