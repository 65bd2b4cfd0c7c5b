"""A new trainee, as the notice describes them, from the WeChat menu to a learned course.

Bulk-registered (username = ID number, initial password edu@ + last six), they open 专业科目
from the sandbox phone's menu, authorize (网页授权), try to bind with the initial password and
are sent to 激活账号 (an SMS code to the roster phone, read from the sandbox's SMS inbox, and
a new password), come back through 网页授权 and bind with the new password, buy the plan, pay in the sandbox cashier, open a course, play its
chapter until it is learned (real time sped up by the server's injected clock, the beacon
rules untouched), see 我的进度 move, and find the template message in the sandbox inbox.

It fails, naming the route, if a route it needs is not served.
"""

from __future__ import annotations

import time

from tests.e2e.conftest import (
    TEST_VIDEO_URL,
    clock_running,
    copy_to_docs,
    require_routes,
    seed,
    wait_for,
)
from tests.e2e.test_pay_anywhere import read_qr, scan
from tests.factories import make_plan, make_trainee, make_unit
from tests.sms import latest_code
from wxapp.accounts.idnumbers import initial_password

ROUTES = (
    ("GET", "/_sandbox/phone"),
    ("GET", "/auth/wechat"),
    ("POST", "/api/wechat/bind"),
    ("POST", "/api/orders"),
    ("POST", "/api/orders/X1/pay"),
    ("GET", "/_sandbox/pay/cashier"),
    ("POST", "/pay/notify"),
    ("POST", "/api/beacons"),
    ("GET", "/api/chapters/1/resume"),
    ("GET", "/api/me/progress"),
    ("GET", "/_sandbox/inbox.json"),
)
PLAN_TITLE = "2025年专业科目培训项目（工程建设）"
NEW_PASSWORD = "Chongqing2025"


def _bulk_registered_trainee_and_plan(site):
    def build():
        unit = make_unit()
        trainee = make_trainee(name="周九", password=None, unit=unit)  # as bulk import leaves it
        plan = make_plan(year=2025, courses=3, chapters=1, chapter_seconds=60, course_hours="30")
        plan.title = PLAN_TITLE
        course = plan.courses[0].course
        course.title = "建设工程质量管理"
        for pc in plan.courses:
            for ch in pc.course.chapters:
                ch.video_url = TEST_VIDEO_URL
        return {
            "id_number": trainee.id_number,
            "phone": trainee.phone,
            "plan": plan.id,
            "course": course.id,
        }

    return seed(site, build)


def _send_notifications(site) -> None:
    """Run the notification worker once (`flask notify worker --once`)."""
    result = site.app.test_cli_runner().invoke(args=["notify", "worker", "--once"])
    assert result.exit_code == 0, result.output


def _inbox(page, site, openid: str) -> list:
    return page.request.get(f"{site.url}/_sandbox/inbox.json?openid={openid}").json()["messages"]


def test_new_trainee_from_the_menu_to_a_learned_course(phone, site):
    require_routes(site, *ROUTES)
    data = _bulk_registered_trainee_and_plan(site)
    page = phone.page
    page.set_default_timeout(30_000)

    # 继续教育 → 专业科目 in the sandbox phone: an article for this year's plan.
    page.goto(site.url + "/_sandbox/phone")
    openid = page.eval_on_selector("#openid", "s => s.value")
    page.click("button[data-kind=click]:has-text('专业科目')")
    page.click(f"#chat a:has-text('{PLAN_TITLE}')")

    # 网页授权: the sandbox consent page, then the bind page (this WeChat user is new).
    page.wait_for_selector("button[name=agree]")
    phone.shot("flow-1-consent")
    page.click("button[name=agree]")
    page.wait_for_url("**/h5/bind?next=*")
    page.wait_for_selector("#username")
    page.fill("#username", data["id_number"])
    page.fill("#password", initial_password(data["id_number"]))
    page.click("#submit")

    # The initial password binds nothing: 激活账号 first (SMS code to the roster phone).
    page.click(".weui-dialog__btn_primary >> text=去激活")
    page.wait_for_url("**/h5/activate?next=*")
    page.click("#send-code")
    page.wait_for_selector("#code-sent:not([hidden])")
    page.fill("#sms_code", latest_code(site.url, data["phone"]))
    page.fill("#new_password", NEW_PASSWORD)
    page.fill("#new_password2", NEW_PASSWORD)
    phone.shot("flow-2-activate")
    page.click("#submit")

    # Back through 网页授权: this WeChat user is bound with the new password.
    page.wait_for_selector("button[name=agree]")
    page.click("button[name=agree]")
    page.wait_for_url("**/h5/bind?next=*")
    page.wait_for_selector("#username")
    page.fill("#username", data["id_number"])
    page.fill("#password", NEW_PASSWORD)
    page.click("#submit")
    page.wait_for_url("**/h5/plan*")
    page.wait_for_selector("#app[data-ready]")
    if "/h5/plans" in page.url:  # the article may open the list rather than the plan
        page.click(f".plan-card[data-plan-id='{data['plan']}'] >> text=立即购买")
        page.wait_for_selector("#buy")

    # 立即购买 → 以后申请 (invoice) → this browser is not WeChat's: the order page's QR code,
    # scanned with the sandbox; the page turns to 支付成功 by itself.
    page.click("#buy")
    page.click("#submit-order")
    page.wait_for_url("**/h5/order?no=*")
    scan(phone, site, read_qr(page)).click("#pay")
    assert "支付成功" in page.wait_for_selector("#pay-success").inner_text()
    phone.shot("flow-3-paid")
    page.click("#pay-success a.weui-btn_primary")  # 开始学习
    page.wait_for_selector(".plan-head >> text=计划完成度")

    # The first course: play its chapter to the end at 16x while the server's clock runs at
    # 20x, so every stretch is within the wall-clock clamp, as a 1x viewer's would be.
    page.click(f".course-item[data-course-id='{data['course']}']")
    wait_for(page, "window.__player && window.__player.seq >= 1")
    with clock_running(site.app, speed=20):
        page.evaluate(
            "() => { const v = document.querySelector('#video'); v.muted = true;"
            " v.playbackRate = 16; return v.play(); }"
        )
        wait_for(page, "document.querySelector('#video').ended", timeout=60_000)
        banner = page.wait_for_selector("#done-banner:not([hidden])")
    assert "本课程已学完" in banner.inner_text()
    assert "已学完" in page.locator(".chapter-item").first.inner_text()
    page.wait_for_selector(".weui-toast", state="detached")
    shot = phone.shot("flow-4-learned")
    copy_to_docs(shot, "course-learned.png")

    # 我的进度 moved: 30 of the plan's 60 学时, and this year's 专业科目 with them.
    phone.open("/h5/progress?year=2025")
    card = page.locator(f".plan-card[data-plan-id='{data['plan']}']")
    assert "已学 30 / 60 学时" in card.inner_text()
    assert "30 / 60 学时" in page.inner_text(".stat[data-kind='专业科目']")
    phone.shot("flow-5-progress")

    # The template message about the learned course reaches the sandbox inbox.
    _send_notifications(site)
    deadline = time.monotonic() + 15
    while not _inbox(page, site, openid):
        assert time.monotonic() < deadline, "no template message in the sandbox inbox"
        page.wait_for_timeout(200)
    page.goto(f"{site.url}/_sandbox/inbox?openid={openid}")
    assert "建设工程质量管理" in page.inner_text("body")
    phone.shot("flow-6-inbox")
