"""The unit page (应训未训) at 390x844 and 1280x800: filters with counts, the download, 一键提醒
(messages in the sandbox inbox; a second press within the week sends none and says so);
the 帮助 page. Screenshots go to docs/screenshots/ with UPDATE_DOCS_SCREENSHOTS=1."""

from __future__ import annotations

import re

from models import Trainee, db
from tests.api.test_unit_page import seed as seed_unit
from tests.e2e.conftest import copy_to_docs, login, seed, wait_for
from tests.factories import make_trainee, make_unit, make_unit_admin
from wxapp.accounts.profile_history import record
from wxapp.infra.texts import REGISTRATION_EMAIL
from wxapp.sandbox import oa_state

ENGLISH = re.compile(r"[A-Za-z]{4,}")


def fits_and_chinese(page, width: int, *, typed: str = "", where: str = "#app") -> None:
    """No sideways scrolling, and every word on the page Chinese (but QQ, and `typed`: what a
    person typed, such as a name written as markup)."""
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    text = page.inner_text(where).replace(typed, "") if typed else page.inner_text(where)
    assert not ENGLISH.findall(text.replace("QQ", "")), ENGLISH.findall(text)
    assert "{" not in text  # no raw JSON


def _admin_phone(app, admin_id: int) -> str:
    with app.app_context():
        return db.session.get(Trainee, admin_id).phone


def test_unit_page_filters_download_and_remind(site, phone, new_phone):
    data = seed_unit(site.app)
    admin = _admin_phone(site.app, data.admin)
    login(phone, admin)
    page = phone.open("/h5/unit?year=2025")
    wait_for(page, "document.querySelectorAll('.staff-card').length === 6")
    assert "未开始 3" in page.inner_text(".state-chips") and "已达标 1" in page.inner_text(
        ".state-chips"
    )
    fits_and_chinese(page, 390)
    copy_to_docs(phone.shot("unit-page-phone", full_page=True), "unit-page-phone.png")

    page.click("a.chip:has-text('专业科目')")
    page.wait_for_selector("#app[data-ready]")
    page.click(".state-chips a[data-state='unmet']")
    wait_for(
        page,
        "location.search.includes('state=unmet') && document.querySelectorAll('.staff-card').length === 5",
    )
    assert "2025年度 · 专业科目 · 未达标：5 人" in page.inner_text("#app")
    with page.expect_download() as download:
        page.click("a.download")
    assert download.value.suggested_filename.endswith(".xlsx")
    assert "kind=specialist" in download.value.url and "state=unmet" in download.value.url

    page.click("a.remind")
    page.click(".weui-dialog__btn_primary")
    wait_for(page, "document.querySelector('.remind-result, .weui-toptips')")
    assert page.locator(".weui-toptips").count() == 0, page.inner_text(".weui-toptips")
    assert "已向 3 人发送学习提醒" in page.inner_text(".remind-result")
    fits_and_chinese(page, 390)
    copy_to_docs(phone.shot("unit-page-reminded", full_page=True), "unit-page-reminded.png")
    result = site.app.test_cli_runner().invoke(args=["notify", "worker", "--once"])
    assert "发送 3" in result.output, result.output
    for name in ("乙学习中", "丙未开始", "丁专业不足"):
        assert len(oa_state.inbox(site.app.extensions["redis"], data.openids[name])) == 1

    page.click("a.remind")
    page.click(".weui-dialog__btn_primary")
    wait_for(page, "document.querySelector('.remind-result').textContent.includes('未重复发送')")
    assert "已向 0 人发送学习提醒" in page.inner_text(".remind-result")
    assert page.locator(".reminded").count() == 3
    copy_to_docs(phone.shot("unit-page-second-press"), "unit-page-second-press.png")

    # Two years back (the app's clock says 2025): no reminder for that year, and the page
    # says so rather than offering a button the service refuses.
    old = phone.open("/h5/unit?year=2023")
    old.wait_for_selector("#app[data-ready]")
    assert old.get_attribute("a.remind", "aria-disabled") == "true"
    assert "一键提醒只用于本年度和上一年度的学习" in old.inner_text(".remind-years")

    desk = new_phone(viewport={"width": 1280, "height": 800}, is_mobile=False, has_touch=False)
    login(desk, admin)
    wide = desk.open("/h5/unit?year=2025")
    wait_for(wide, "document.querySelectorAll('.staff-card').length === 6")
    fits_and_chinese(wide, 1280)
    copy_to_docs(desk.shot("unit-page-desktop", full_page=True), "unit-page-desktop.png")

    # The sandbox inbox shows the reminder as a template message.
    inbox = phone.new_page()
    inbox.goto(f"{site.url}/_sandbox/inbox?openid={data.openids['丁专业不足']}")
    assert "还差专业40学时" in inbox.inner_text("body")
    copy_to_docs(phone.shot("unit-reminder-inbox", page=inbox), "unit-reminder-inbox.png")


def test_the_unit_page_shows_who_moved_away(site, phone):
    data = seed_unit(site.app)
    with site.app.app_context():
        mover = db.session.execute(
            db.select(Trainee).where(Trainee.name == "丙未开始")
        ).scalar_one()
        mover.unit_id = data.other  # as 个人信息 records it, with its history row
        record(mover.id, "unit", None, None, "本人", site.app.extensions["clock"].now(),
               from_unit_id=data.unit, to_unit_id=data.other)  # fmt: skip
        db.session.commit()
    login(phone, _admin_phone(site.app, data.admin))
    page = phone.open("/h5/unit?year=2025")
    wait_for(page, "document.querySelectorAll('.staff-card').length === 5")
    assert "调入 0 人，调出 1 人" in page.inner_text("#movements-title")
    moved = page.inner_text("#movements")
    assert "调出 丙未开始" in moved and "新单位：垫江县中学" in moved
    fits_and_chinese(page, 390)


def test_a_large_unit_is_listed_a_hundred_at_a_time_and_searched_by_name(site, phone):
    def build():
        unit = make_unit(name="重庆市第九人民医院", district="北碚区")
        for n in range(230):
            make_trainee(name=f"职工{n:03d}", unit=unit)
        make_trainee(name="欧阳娜娜", unit=unit)
        admin = make_trainee(name="人事专员")
        make_unit_admin(admin, unit)
        return admin.phone

    login(phone, seed(site, build))
    page = phone.open("/h5/unit?year=2025")
    wait_for(page, "document.querySelectorAll('.staff-card').length === 100")
    assert page.inner_text("#show-more") == "显示更多（还有 131 人）"
    page.click("#show-more")
    wait_for(page, "document.querySelectorAll('.staff-card').length === 200")
    page.fill("#staff-search", "欧阳")
    wait_for(page, "document.querySelectorAll('.staff-card').length === 1")
    assert page.inner_text("#staff-found") == "找到 1 人"
    assert "欧阳娜娜" in page.inner_text("#staff-grid")
    assert not page.is_visible("#show-more")
    page.fill("#staff-search", "张三")
    wait_for(page, "document.querySelectorAll('.staff-card').length === 0")
    assert page.inner_text("#staff-found") == "没有姓名含“张三”的学员"
    fits_and_chinese(page, 390)


def test_help_page_lists_every_contact(site, phone):
    page = phone.open("/h5/help")
    text = page.inner_text("#app")
    for contact in (
        "400-023-9229",
        "400-618-7500",
        "939890350",
        "2277254850",
        "023-74606177",
        REGISTRATION_EMAIL,  # where a unit sends more than 10 unregistered staff
        "在线客服",
    ):
        assert contact in text
    assert page.locator("a[href='tel:4006187500']").count() == 1
    fits_and_chinese(page, 390, typed=REGISTRATION_EMAIL)
    copy_to_docs(phone.shot("help-page", full_page=True), "help-page.png")
    login_page = phone.open("/h5/login")
    color = login_page.evaluate(
        "getComputedStyle(document.querySelector('.help-line .weui-footer__text')).color"
    )
    assert color in ("rgba(0, 0, 0, 0.65)",), color  # 7:1 on white, 6:1 on the grey page
