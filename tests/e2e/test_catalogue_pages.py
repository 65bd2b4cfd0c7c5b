"""培训项目 and 项目详情/课程列表 at phone size (and the pager on a PC)."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.e2e.conftest import copy_to_docs, login, seed, wait_for
from tests.factories import make_plan, make_trainee
from wxapp.orders.enrollments import grant_enrollment


def _catalogue(site, *, enrolled=False, courses=3):
    def build():
        t = make_trainee(name="赵六")
        spec = make_plan(year=2025, kind="specialist", required_hours=60, courses=courses)
        spec.title = "2025年专业科目培训项目（工程建设）"
        pub = make_plan(year=2025, kind="public", required_hours=30, courses=2)
        pub.title = "2025年公需科目培训项目"
        old = make_plan(year=2024, kind="specialist", courses=1)
        old.title = "2024年专业科目培训项目"
        if enrolled:
            grant_enrollment(t.id, spec.id, datetime(2025, 6, 1, tzinfo=UTC))
        return {"phone": t.phone, "spec": spec.id, "pub": pub.id, "old": old.id}

    return seed(site, build)


def test_plans_by_kind_and_year_with_requirement_and_price(phone, site):
    data = _catalogue(site)
    login(phone, data["phone"])
    page = phone.open("/h5/plans?kind=specialist")
    card = page.locator(f".plan-card[data-plan-id='{data['spec']}']")
    text = card.inner_text()
    assert "2025年专业科目培训项目（工程建设）" in text
    assert "学分要求：60 学时" in text
    assert "¥90.00" in text and "1.50 元/学时" in text
    assert "立即购买" in text
    assert page.locator(".plan-card").count() == 1  # 2025 only; 2024 under its own year
    shot = phone.shot("plans")
    copy_to_docs(shot, "plans.png")

    page.click("text=公需科目")
    page.wait_for_selector(f".plan-card[data-plan-id='{data['pub']}']")
    assert "kind=public" in page.url
    assert "¥45.00" in page.inner_text("body")

    page.click("text=专业科目")
    page.wait_for_selector(f".plan-card[data-plan-id='{data['spec']}']")
    page.select_option("#year", "2024")
    page.wait_for_selector(f".plan-card[data-plan-id='{data['old']}']")
    assert "year=2024" in page.url


def test_plan_page_lists_courses_with_hours_and_offers_to_buy(phone, site):
    data = _catalogue(site, courses=3)
    login(phone, data["phone"])
    page = phone.open(f"/h5/plan?id={data['spec']}")
    assert page.locator(".course-item").count() == 3
    first = page.locator(".course-item").first.inner_text()
    assert "30 学时" in first
    assert page.is_visible("#buy")
    assert "团体购买" in page.inner_text(".sticky-actions")
    shot = phone.shot("plan")
    copy_to_docs(shot, "plan.png")


def test_phone_scrolls_through_every_course(phone, site):
    data = _catalogue(site, courses=25)
    login(phone, data["phone"])
    page = phone.open(f"/h5/plan?id={data['spec']}")
    assert page.locator(".course-item").count() == 10
    for expected in (20, 25):
        page.locator("#more").scroll_into_view_if_needed()
        wait_for(page, f"document.querySelectorAll('.course-item').length >= {expected}")
    page.locator("#more").scroll_into_view_if_needed()
    page.wait_for_selector("text=没有更多课程了")
    assert page.locator(".course-item").count() == 25
    assert page.locator(".pager").count() == 0


def test_pc_switches_pages(new_phone, site):
    data = _catalogue(site, courses=25)
    pc = new_phone(viewport={"width": 1280, "height": 800}, is_mobile=False, has_touch=False)
    login(pc, data["phone"])
    page = pc.open(f"/h5/plan?id={data['spec']}")
    assert page.locator(".course-item").count() == 10
    pager = page.locator("nav.pager")
    assert "上一页" in pager.inner_text() and "下一页" in pager.inner_text()
    pager.locator("button", has_text="3").click()
    wait_for(page, "document.querySelectorAll('.course-item').length === 5")
    assert page.locator("nav.pager button[aria-current=page]").inner_text() == "3"
    pager = page.locator("nav.pager")
    pager.locator("button", has_text="上一页").click()
    wait_for(page, "document.querySelectorAll('.course-item').length === 10")
    pc.shot("plan-pc", full_page=False)


def test_errors_are_chinese_messages_never_json(phone, site):
    data = _catalogue(site)
    login(phone, data["phone"])
    page = phone.open("/h5/plan?id=999999")
    message = page.wait_for_selector(".page-error .error-message").inner_text()
    assert message == "培训项目不存在"
    assert "{" not in page.inner_text("body")
    # Not found is no better on a retry: 返回首页 and the tab bar lead on instead.
    assert page.locator(".page-error a").all_inner_texts() == ["返回首页"]
    assert page.locator(".app-tabbar .weui-tabbar__item").count() == 5
    phone.shot("error")

    page = phone.open("/h5/course?id=999999")
    assert page.wait_for_selector(".page-error .error-message").inner_text() == "课程不存在"
    page = phone.open("/h5/order?no=20250101000000000000000000")
    assert page.locator(".page-error a").all_inner_texts() == ["返回首页"]
    page.click(".page-error >> text=返回首页")
    page.wait_for_url("**/h5/plans*")
    page.wait_for_selector(".plan-card")

    page.route("**/api/plans?*", lambda route: route.abort())
    page = phone.open("/h5/plans")
    assert "网络连接失败" in page.wait_for_selector(".page-error").inner_text()
    page.unroute("**/api/plans?*")
    assert page.locator(".page-error a").all_inner_texts() == ["重试"]
    page.click(".page-error a")
    page.wait_for_selector(".plan-card")


def test_a_server_error_page_is_not_shown_raw(phone, site):
    data = _catalogue(site)
    login(phone, data["phone"])
    phone.page.route(
        "**/api/plans?*",
        lambda route: route.fulfill(
            status=502, body="<html>Bad Gateway</html>", content_type="text/html"
        ),
    )
    page = phone.open("/h5/plans")
    assert (
        page.wait_for_selector(".page-error .error-message").inner_text() == "系统繁忙，请稍后再试"
    )
    assert "Bad Gateway" not in page.inner_text("body")
    assert page.locator(".page-error a").all_inner_texts() == ["重试"]


def test_slow_calls_show_the_loading_toast(phone, site):
    data = _catalogue(site)
    login(phone, data["phone"])
    held = []
    phone.page.route("**/api/plans?*", lambda route: held.append(route))
    phone.page.goto(site.url + "/h5/plans")
    toast = phone.page.wait_for_selector("#loadingToast")
    assert "加载中" in toast.inner_text()
    phone.shot("loading", full_page=False)
    held[0].continue_()
    phone.page.wait_for_selector(".plan-card")
    phone.page.unroute("**/api/plans?*")
    assert phone.page.locator("#loadingToast").count() == 0
