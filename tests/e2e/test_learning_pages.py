"""我的进度, 项目详情 once bought and 我的证书 against the real back ends on the live server:
progress made by real beacons (the app's FakeClock moved as a player's time passes),
certificates issued by the real POST."""

from __future__ import annotations

from tests.e2e.conftest import copy_to_docs, login, seed
from tests.e2e.realdata import complete, learn, learner_world
from tests.factories import make_unit


def test_my_progress_shows_year_totals_plans_courses_and_chapters(phone, site):
    data = learner_world(site)
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
    data = learner_world(site)
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


def test_certificates_issued_ready_and_missing(phone, site):
    data = learner_world(site, unit=False)
    complete(site, data)
    seed(site, lambda: make_unit(name="垫江县人民医院", district="垫江县").id)
    login(phone, data["phone"])
    page = phone.page
    page.goto(f"{site.url}/h5/certificates")
    page.wait_for_selector("#app[data-ready]")
    assert "打印证书前请完善个人信息：单位" in page.inner_text("#missing-info")
    # Nothing issued yet, one plan ready: the page says so, not 暂无证书.
    assert "已达到要求的项目，点击下方“打印证书”即可生成合格证书" in page.inner_text("body")
    assert "暂无证书" not in page.inner_text("body")
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
    assert page.locator("#wechat-print").is_hidden()  # a browser prints as it is
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
    data = learner_world(site, unit=False)  # no unit and no 档案所在区县
    complete(site, data)
    login(phone, data["phone"])
    page = phone.open("/h5/certificates")
    page.locator(f".plan-card[data-plan-id='{data['plan']}'] >> text=打印证书").click()
    dialog = page.wait_for_selector(".js_dialog .weui-dialog").inner_text()
    assert "请先完善个人信息：单位（单位未列出时选择档案所在区县）" in dialog
    assert "profile_incomplete" not in dialog


WECHAT = (
    "Mozilla/5.0 (Linux; Android 13) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/116.0 Mobile Safari/537.36 MicroMessenger/8.0.47.2560(0x28002F35) NetType/WIFI"
)


def test_inside_wechat_the_print_page_says_to_print_from_a_computer(new_phone, site):
    """The notice: 目前仅支持 PC 网页端打印证书. WeChat's browser does not print, so the page
    says where to, and 打印证书 there points to that instead of doing nothing."""
    data = learner_world(site)
    complete(site, data)
    wechat = new_phone(user_agent=WECHAT)
    login(wechat, data["phone"])
    page = wechat.page
    issued = page.request.post(f"{site.url}/api/plans/{data['plan']}/certificate")
    assert issued.ok, issued.text()
    page.goto(site.url + issued.json()["print_url"])
    note = page.wait_for_selector("#wechat-print", state="visible")
    assert "目前仅支持 PC 网页端打印证书" in note.inner_text()
    # (a statement, not a function: Playwright would call a function given to it)
    page.evaluate("void (window.print = () => { window.printed = true; })")
    page.click("#print")
    assert page.evaluate("window.printed === undefined")
    assert "flash" in (note.get_attribute("class") or "")
