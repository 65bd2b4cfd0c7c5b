"""The pages whose APIs other areas build (progress, orders, certificates, WeChat bind),
rendered from replies in the agreed contract shapes, served by the browser's request router.

These check what the trainee sees — texts, states, messages, the pay bridge's outcomes —
independently of those back ends; test_full_flow.py checks them against the real ones.
"""

from __future__ import annotations

import json
from typing import Any

import qrcode
import qrcode.image.svg

from tests.e2e.conftest import copy_to_docs, login, seed
from tests.factories import make_plan, make_trainee, make_unit


def stub(page: Any, pattern: str, body: Any, status: int = 200, method: str | None = None) -> list:
    """Answer `pattern` with JSON; returns the list of request bodies it received."""
    seen: list = []

    def handle(route: Any) -> None:
        if method and route.request.method != method:
            route.fallback()
            return
        data = route.request.post_data
        seen.append(json.loads(data) if data else None)
        reply = body(route.request) if callable(body) else body
        route.fulfill(status=status, json=reply)

    page.route(pattern, handle)
    return seen


def _world(site, *, unit=True):
    def build():
        u = make_unit() if unit else None
        t = make_trainee(name="孙八", unit=u)
        plan = make_plan(year=2025, courses=3, chapters=2)
        plan.title = "2025年专业科目培训项目（工程建设）"
        courses = [pc.course for pc in plan.courses]
        courses[0].title = "建设工程质量管理"
        courses[1].title = "绿色建筑与节能"
        return {
            "phone": t.phone,
            "plan": plan.id,
            "courses": [c.id for c in courses],
            "chapters": [[ch.id for ch in c.chapters] for c in courses],
        }

    return seed(site, build)


def _progress(data, *, enrolled=True, hours_done=30, done=False):
    """GET /api/me/progress as the progress area answers it."""
    chapters = data["chapters"]
    plan = {
        "id": data["plan"],
        "title": "2025年专业科目培训项目（工程建设）",
        "kind": "specialist",
        "kind_name": "专业科目",
        "required_hours": 60,
        "hours_done": hours_done,
        "percent": int(hours_done * 100 / 60),
        "completed": done,
        "completed_at": "2025-07-01T02:00:00+00:00" if done else None,
        "courses": [
            {
                "id": data["courses"][0],
                "title": "建设工程质量管理",
                "hours": 30,
                "state": "learned",
                "percent": 100,
                "chapters": [
                    {
                        "id": chapters[0][0],
                        "title": "第1章",
                        "duration": 60,
                        "watched_seconds": 60,
                        "percent": 100,
                        "done": True,
                    },
                    {
                        "id": chapters[0][1],
                        "title": "第2章",
                        "duration": 60,
                        "watched_seconds": 58,
                        "percent": 96,
                        "done": True,
                    },
                ],
            },
            {
                "id": data["courses"][1],
                "title": "绿色建筑与节能",
                "hours": 30,
                "state": "learning",
                "percent": 20,
                "chapters": [
                    {
                        "id": chapters[1][0],
                        "title": "第1章",
                        "duration": 60,
                        "watched_seconds": 24,
                        "percent": 40,
                        "done": False,
                    },
                    {
                        "id": chapters[1][1],
                        "title": "第2章",
                        "duration": 60,
                        "watched_seconds": 0,
                        "percent": 0,
                        "done": False,
                    },
                ],
            },
        ],
    }
    return {
        "year": 2025,
        "totals": {
            "public": {"done": 12.0, "required": 30, "met": False},
            "specialist": {"done": float(hours_done), "required": 60, "met": hours_done >= 60},
            "total": {"done": 12.0 + hours_done, "required": 90},
            "met": False,
        },
        "plans": [plan] if enrolled else [],
    }


def test_my_progress_shows_year_totals_plans_courses_and_chapters(phone, site):
    data = _world(site)
    login(phone, data["phone"])
    stub(phone.page, "**/api/me/progress*", _progress(data))
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
    data = _world(site)
    login(phone, data["phone"])
    stub(phone.page, "**/api/me/progress*", _progress(data))
    page = phone.open(f"/h5/plan?id={data['plan']}")
    head = page.inner_text(".plan-head")
    assert "计划完成度：已学 30 / 60 学时" in head and "已购买" in head
    items = page.locator(".course-item")
    assert "已学完" in items.nth(0).inner_text()
    assert "学习中" in items.nth(1).inner_text()
    assert "未学习" in items.nth(2).inner_text()
    assert page.locator("#buy").count() == 0
    phone.shot("plan-enrolled")


PAY_PARAMS = {
    "appId": "wx5andb0x0000demo",
    "timeStamp": "1750000000",
    "nonceStr": "n0nce",
    "package": "prepay_id=wx_sandbox_1",
    "signType": "RSA",
    "paySign": "c2lnbg==",
}

BRIDGE = """
window.__payResults = [];
window.WeixinJSBridge = { invoke(name, params, cb) {
  window.__payCalls = (window.__payCalls || []).concat([[name, params]]);
  setTimeout(() => cb({ err_msg: 'get_brand_wcpay_request:' + (window.__payResults.shift() || 'ok') }), 50);
} };
"""


def test_buying_a_plan_cancel_then_pay(phone, site):
    data = _world(site)
    login(phone, data["phone"])
    page = phone.page
    page.add_init_script(BRIDGE)
    paid = {"yes": False}
    stub(page, "**/api/me/progress*", lambda r: _progress(data, enrolled=paid["yes"], hours_done=0))
    orders = stub(
        page,
        "**/api/orders",
        {
            "out_trade_no": "WX20250616001",
            "status": "NOTPAY",
            "amount": 9000,
            "plan_id": data["plan"],
        },
        status=201,
    )
    stub(page, "**/api/orders/WX20250616001/pay", {"method": "jsapi", "params": PAY_PARAMS})

    def order_state(_request):
        paid["yes"] = True
        return {"out_trade_no": "WX20250616001", "status": "SUCCESS", "amount": 9000}

    stub(page, "**/api/orders/WX20250616001", order_state)
    phone.open(f"/h5/plan?id={data['plan']}")

    page.click("#buy")
    sheet = page.wait_for_selector(".checkout .weui-half-screen-dialog")
    assert "应付 ¥90.00" in sheet.inner_text()
    page.click("text=立即申请")
    page.click("#submit-order")
    assert "请填写发票抬头" in page.wait_for_selector(".weui-toptips").inner_text()
    page.fill(".checkout input[name=title]", "孙八")
    page.fill(".checkout input[name=email]", "sunba@example.com")
    phone.shot("checkout", full_page=False)

    page.evaluate("window.__payResults = ['cancel']")
    page.click("#submit-order")
    dialog = page.wait_for_selector(".js_dialog .weui-dialog")
    assert "支付已取消" in dialog.inner_text() and "我的订单" in dialog.inner_text()
    assert orders[0] == {
        "plan_id": data["plan"],
        "invoice": {
            "title_type": "个人",
            "title": "孙八",
            "tax_number": None,
            "email": "sunba@example.com",
        },
    }
    assert page.evaluate("window.__payCalls[0][0]") == "getBrandWCPayRequest"
    assert page.evaluate("window.__payCalls[0][1]") == PAY_PARAMS
    page.click(".js_dialog .weui-dialog__btn")

    page.evaluate("window.__payResults = ['fail']")
    page.click("#buy")
    page.click("#submit-order")
    assert "支付失败" in page.wait_for_selector(".js_dialog .weui-dialog").inner_text()
    page.click(".js_dialog .weui-dialog__btn")

    page.click("#buy")
    page.click("#submit-order")
    notice = page.wait_for_selector("#paid-notice")
    assert "支付成功" in notice.inner_text()
    assert "计划完成度" in page.inner_text(".plan-head")
    assert page.locator("#buy").count() == 0
    phone.shot("paid")


def test_an_order_refused_by_the_server_says_why(phone, site):
    data = _world(site)
    login(phone, data["phone"])
    page = phone.page
    stub(page, "**/api/me/progress*", _progress(data, enrolled=False))
    stub(
        page,
        "**/api/orders",
        {"error": "already_enrolled", "message": "您已购买该培训项目，无需重复购买"},
        status=409,
    )
    phone.open(f"/h5/plan?id={data['plan']}")
    page.click("#buy")
    page.click("#submit-order")
    dialog = page.wait_for_selector(".js_dialog .weui-dialog")
    assert "您已购买该培训项目，无需重复购买" in dialog.inner_text()
    assert "already_enrolled" not in dialog.inner_text()


def _qr_svg(text: str) -> bytes:
    """A QR code as SVG (no Pillow needed); the real PNG is the orders area's business."""
    return qrcode.make(text, image_factory=qrcode.image.svg.SvgImage).to_string()


def test_group_purchase_shows_each_rejected_line_and_the_qr_code(phone, site):
    data = _world(site)
    login(phone, data["phone"])
    page = phone.page
    reply = {
        "plan_id": data["plan"],
        "accepted": 2,
        "rejected": 2,
        "unit_price": 9000,
        "amount": 18000,
        "rejects": [
            {"line": 3, "id_number": "50023119850307001x", "reason": "小写x"},
            {"line": 4, "id_number": "500231198503070019", "reason": "账号不存在"},
        ],
        "errors_url": "/api/group-orders/rejects/t0k3n.xlsx",
        "order": {
            "out_trade_no": "GP20250616001",
            "kind": "group",
            "status": "NOTPAY",
            "amount": 18000,
            "quantity": 2,
        },
    }
    native = stub(
        page,
        "**/api/orders/GP20250616001/pay",
        {
            "method": "native",
            "code_url": "weixin://wxpay/bizpayurl?pr=sandbox",
            "qrcode_url": "/api/orders/GP20250616001/qrcode.png",
            "sandbox_scan_url": "/_sandbox/pay/scan?code_url=weixin",
        },
    )
    sent = stub(page, "**/api/group-orders", reply)
    page.route(
        "**/api/orders/GP20250616001/qrcode.png",
        lambda route: route.fulfill(
            status=200,
            body=_qr_svg("weixin://wxpay/bizpayurl?pr=sandbox"),
            content_type="image/svg+xml",
        ),
    )
    phone.open(f"/h5/group?plan={data['plan']}")
    advice = page.inner_text(".advice")
    assert (
        "仅复制身份证号码，每行一个，请注意身份证中字母 X 大写，身份证前后不要有空格、特殊字符"
        in advice
    )
    lines = "500231198503070011\n500231198503070027\n50023119850307001x\n500231198503070019\n"
    page.fill("#ids", lines)
    assert page.inner_text("#line-count") == "4"
    page.click("#group-submit")
    summary = page.wait_for_selector("#group-summary")
    assert "验证通过 2 人" in summary.inner_text() and "¥180.00" in summary.inner_text()
    rows = page.locator("#rejects tbody tr")
    assert rows.count() == 2
    assert "小写x" in rows.nth(0).inner_text() and "3" in rows.nth(0).inner_text()
    assert page.get_attribute("#error-file", "href") == reply["errors_url"]
    assert page.inner_text("#error-file") == "下载错误文件"
    page.wait_for_function("document.querySelector('#pay-qr').naturalWidth > 0")
    assert sent[0] == {"plan_id": data["plan"], "id_numbers": lines}
    assert native[0] == {"method": "native"}
    assert page.inner_text("#sandbox-scan") == "沙箱：模拟扫码"
    shot = phone.shot("group")
    copy_to_docs(shot, "group.png")


def _cert_entries(data, *, with_certificate):
    """GET /api/me/certificates as the certificates area answers it: one entry per paid plan."""
    cert = {
        "id": 7,
        "serial": "CQ2025-ZY-000007",
        "plan_id": data["plan"],
        "year": 2025,
        "kind": "specialist",
        "kind_name": "专业科目",
        "hours": 60.0,
        "issuer": "重庆市人力资源开发服务中心",
        "issued_at": "2025-07-01T02:00:00+00:00",
        "issue_date": "2025年7月1日",
        "version": 1,
        "updated_at": "2025-07-01T02:00:00+00:00",
        "updated_date": "2025年7月1日",
        "verify_url": "http://x/verify/k3Jx9",
        "print_url": "/certificates/7",
        "pdf_url": "/api/certificates/7.pdf",
    }
    return {
        "items": [
            {
                "plan": {
                    "id": data["plan"],
                    "title": "2025年专业科目培训项目（工程建设）",
                    "year": 2025,
                    "kind": "specialist",
                    "kind_name": "专业科目",
                    "required_hours": 60,
                },
                "hours_done": 60.0,
                "complete": True,
                "certificate": cert if with_certificate else None,
            },
            {
                "plan": {
                    "id": data["plan"] + 1000,
                    "title": "2025年公需科目培训项目",
                    "year": 2025,
                    "kind": "public",
                    "kind_name": "公需科目",
                    "required_hours": 30,
                },
                "hours_done": 12.0,
                "complete": False,
                "certificate": None,
            },
        ]
    }


def test_certificates_issued_ready_and_missing(phone, site):
    data = _world(site, unit=False)
    login(phone, data["phone"])
    page = phone.page
    state = {"issued": False}
    stub(
        page,
        "**/api/me/certificates",
        lambda r: _cert_entries(data, with_certificate=state["issued"]),
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
        return _cert_entries(data, with_certificate=True)["items"][0]["certificate"]

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
    data = _world(site, unit=False)
    login(phone, data["phone"])
    page = phone.page
    stub(page, "**/api/me/certificates", _cert_entries(data, with_certificate=False))
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


def test_orders_and_invoices(phone, site):
    data = _world(site)
    login(phone, data["phone"])
    page = phone.page
    orders = {
        "items": [
            {
                "out_trade_no": "WX1",
                "status": "NOTPAY",
                "amount": 9000,
                "plan_title": "2025年专业科目培训项目",
                "created_at": "2025-06-16T02:00:00+00:00",
            },
            {
                "out_trade_no": "WX2",
                "status": "SUCCESS",
                "amount": 4500,
                "plan_title": "2025年公需科目培训项目",
                "success_time": "2025-06-16T03:00:00+00:00",
                "invoice": None,
            },
            {
                "out_trade_no": "WX3",
                "status": "SUCCESS",
                "amount": 9000,
                "plan_title": "2024年专业科目培训项目",
                "invoice": {
                    "id": 5,
                    "status": "issued",
                    "title": "孙八",
                    "title_type": "个人",
                    "email": "a@b.cn",
                },
            },
            {
                "out_trade_no": "WX4",
                "status": "CLOSED",
                "amount": 9000,
                "plan_title": "2025年专业科目培训项目",
            },
        ]
    }
    stub(page, "**/api/me/orders", orders)
    invoices = stub(
        page,
        "**/api/orders/WX2/invoice",
        {"id": 6, "status": "issued", "title": "垫江县人民医院"},
        status=201,
    )
    phone.open("/h5/orders")
    cards = page.locator(".order-card")
    assert cards.count() == 4
    assert "待支付" in cards.nth(0).inner_text() and "继续支付" in cards.nth(0).inner_text()
    assert "申请开票" in cards.nth(1).inner_text()
    assert (
        page.get_attribute(".order-card[data-order-no=WX3] a >> text=查看发票", "href")
        == "/api/invoices/5.pdf"
    )
    assert "已关闭" in cards.nth(3).inner_text()
    assert "请在缴费当年申请发票，申请开票成功 15 日内可修改发票 1 次。" in page.inner_text("body")
    shot = phone.shot("orders")
    copy_to_docs(shot, "orders.png")

    cards.nth(1).locator("text=申请开票").click()
    page.click(".invoice-sheet >> text=单位")
    page.fill(".invoice-sheet input[name=title]", "垫江县人民医院")
    page.fill(".invoice-sheet input[name=tax_number]", "12345")
    page.fill(".invoice-sheet input[name=email]", "cw@example.com")
    page.click("#submit-invoice")
    assert "税号" in page.wait_for_selector(".weui-toptips").inner_text()
    page.fill(".invoice-sheet input[name=tax_number]", "91500000MA5U000000")
    page.click("#submit-invoice")
    page.wait_for_selector(".invoice-sheet", state="detached")
    assert invoices[0] == {
        "title_type": "单位",
        "title": "垫江县人民医院",
        "tax_number": "91500000MA5U000000",
        "email": "cw@example.com",
    }


def test_bind_after_wechat_authorization_then_first_change(phone, site):
    data = _world(site)
    page = phone.page
    bound = stub(
        page, "**/api/wechat/bind", {"id": 1, "name": "孙八", "must_change_password": True}
    )
    changed = stub(page, "**/api/me/password", {"id": 1, "must_change_password": False})
    phone.open("/h5/bind?next=%2Fh5%2Fplans%3Fkind%3Dspecialist")
    assert "绑定" in page.inner_text("h2")
    phone.shot("bind")
    page.fill("#username", data["phone"])
    page.fill("#password", "edu@070011")
    page.click("#submit")
    page.wait_for_selector("#new_password")
    page.fill("#new_password", "Better2025pass")
    page.fill("#new_password2", "Better2025pass")
    page.route("**/api/plans*", lambda r: r.fulfill(json={"items": []}))
    page.click("#submit")
    page.wait_for_url("**/h5/plans?kind=specialist*")
    assert bound[0] == {"username": data["phone"], "password": "edu@070011"}
    assert changed[0] == {"old_password": "edu@070011", "new_password": "Better2025pass"}


def test_bind_never_follows_a_foreign_next(phone, site):
    page = phone.page
    stub(page, "**/api/wechat/bind", {"id": 1, "must_change_password": False})
    page.route("**/api/plans*", lambda r: r.fulfill(json={"items": []}))
    phone.open("/h5/bind?next=https%3A%2F%2Fevil.example%2F")
    page.fill("#username", "13900000001")
    page.fill("#password", "Passw0rd!")
    page.click("#submit")
    page.wait_for_url("**/h5/plans*")
    assert page.url.startswith(site.url)
