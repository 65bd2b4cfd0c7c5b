"""Buying (立即购买 and its pay outcomes), 团体购买, 我的订单/发票 and 绑定, rendered from
contract-shaped replies (tests/e2e/stubs.py); test_pages_live.py and test_full_flow.py use
the real back ends."""

from __future__ import annotations

from tests.e2e.conftest import copy_to_docs, login
from tests.e2e.stubs import BRIDGE, PAY_PARAMS, progress_reply, qr_svg, stub, world


def test_buying_a_plan_cancel_then_pay(phone, site):
    data = world(site)
    login(phone, data["phone"])
    page = phone.page
    page.add_init_script(BRIDGE)
    paid = {"yes": False}
    stub(
        page,
        "**/api/me/progress*",
        lambda r: progress_reply(data, enrolled=paid["yes"], hours_done=0),
    )
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
    data = world(site)
    login(phone, data["phone"])
    page = phone.page
    stub(page, "**/api/me/progress*", progress_reply(data, enrolled=False))
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


def test_group_purchase_shows_each_rejected_line_and_the_qr_code(phone, site):
    data = world(site)
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
            body=qr_svg("weixin://wxpay/bizpayurl?pr=sandbox"),
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


def test_orders_and_invoices(phone, site):
    data = world(site)
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
    data = world(site)
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
