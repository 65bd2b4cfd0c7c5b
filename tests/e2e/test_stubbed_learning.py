"""我的进度, 项目详情 once bought and 我的证书, rendered from contract-shaped replies
(tests/e2e/stubs.py); test_pages_live.py and test_full_flow.py use the real back ends."""

from __future__ import annotations

from tests.e2e.conftest import copy_to_docs, login
from tests.e2e.stubs import cert_entries, progress_reply, stub, world


def test_my_progress_shows_year_totals_plans_courses_and_chapters(phone, site):
    data = world(site)
    login(phone, data["phone"])
    stub(phone.page, "**/api/me/progress*", progress_reply(data))
    page = phone.open("/h5/progress")
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
    login(phone, data["phone"])
    stub(phone.page, "**/api/me/progress*", progress_reply(data))
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
    data = world(site, unit=False)
    login(phone, data["phone"])
    page = phone.page
    state = {"issued": False}
    stub(
        page,
        "**/api/me/certificates",
        lambda r: cert_entries(data, with_certificate=state["issued"]),
    )
    stub(page, "**/api/districts", {"items": ["垫江县", "渝中区"]})
    stub(
        page,
        "**/api/units?*",
        {"items": [{"id": 3, "name": "垫江县人民医院", "district": "垫江县"}]},
    )
    saved = stub(
        page,
        "**/api/me/profile",
        {"id": 1, "unit": {"id": 3, "name": "垫江县人民医院", "district": "垫江县"}},
    )

    def issue(_request):
        state["issued"] = True
        return cert_entries(data, with_certificate=True)["items"][0]["certificate"]

    stub(page, f"**/api/plans/{data['plan']}/certificate", issue, status=201)
    page.route(
        "**/certificates/7",
        lambda r: r.fulfill(body="<html><body>合格证书</body></html>", content_type="text/html"),
    )
    phone.open("/h5/certificates")
    assert "打印证书前请完善个人信息：单位" in page.inner_text("#missing-info")
    ready = page.locator(f".plan-card[data-plan-id='{data['plan']}']")
    assert "60 / 60 学时" in ready.inner_text()
    assert "还差 18 学时" in page.inner_text("body")

    page.fill("#unit-q", "垫江")
    page.click("text=垫江县人民医院")
    page.click("#save-profile")
    page.wait_for_function("document.querySelector('#app').dataset.ready")
    assert saved[0] == {"unit_id": 3}

    page.locator(f".plan-card[data-plan-id='{data['plan']}'] >> text=打印证书").click()
    page.wait_for_url("**/certificates/7")
    page.go_back()
    page.wait_for_selector(".cert-card")
    card = page.locator(".cert-card")
    assert "CQ2025-ZY-000007" in card.inner_text() and "2025年7月1日" in card.inner_text()
    assert card.locator("text=打印证书").get_attribute("href") == "/certificates/7"
    assert card.locator("text=下载 PDF").get_attribute("href") == "/api/certificates/7.pdf"
    assert card.locator("button", has_text="刷新证书").count() == 1
    page.wait_for_selector(".weui-toast", state="detached")
    shot = phone.shot("certificates")
    copy_to_docs(shot, "certificates.png")


def test_certificate_refused_names_what_is_missing(phone, site):
    data = world(site, unit=False)
    login(phone, data["phone"])
    page = phone.page
    stub(page, "**/api/me/certificates", cert_entries(data, with_certificate=False))
    stub(page, "**/api/districts", {"items": ["垫江县"]})
    stub(
        page,
        f"**/api/plans/{data['plan']}/certificate",
        {
            "error": "profile_incomplete",
            "message": "请先完善个人信息：单位或档案所在区县",
            "missing": ["unit_or_district"],
        },
        status=409,
    )
    phone.open("/h5/certificates")
    page.locator(f".plan-card[data-plan-id='{data['plan']}'] >> text=打印证书").click()
    assert (
        "请先完善个人信息：单位或档案所在区县"
        in page.wait_for_selector(".js_dialog .weui-dialog").inner_text()
    )
