"""客服 and 财务 in a desktop browser (1280x800), with screenshots
(docs/screenshots/console-support-*.png, console-finance-*.png):

- 客服 finds a trainee by ID number and sends the password-reset SMS (found in the sandbox);
- 财务 issues a requested invoice with the tax system's PDF; the trainee downloads it from
  我的订单;
- 财务 refunds one member's share of a group order; the sandbox refunds it and notifies.
Each leaves its audit row."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
import sqlalchemy as sa

from models import Invoice, InvoiceStatus, OperatorAudit, OrderStatus, Refund, db
from tests.conftest import serve
from tests.console_helpers import browser_sign_in
from tests.e2e.conftest import SCREENSHOTS, copy_to_docs, seed, wait_for
from tests.factories import make_binding, make_order, make_plan, make_trainee
from tests.integration.test_refunds import cashier_pay, login
from tests.integration.test_refunds import wait_for as wait_until
from tests.sms import latest_code
from wxapp.console import auth
from wxapp.orders.invoices import InvoiceRequest, attach_request
from wxapp.sandbox import pay_store

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
PASSWORD = "Console-pass-2026"
PDF = b"%PDF-1.4\n% invoice from the tax system\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def console_site(base_config: dict[str, Any]) -> Iterator[Any]:
    with serve(base_config, CONSOLE_ENABLED="1") as server:
        # No tax platform configured: requests wait for 财务.
        server.app.extensions["invoice_issuer"] = None
        yield server


def _shot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    copy_to_docs(path, f"{name}.png")


def _fits(page: Any, width: int = DESKTOP["width"]) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def _page(browser: Any, errors: list[str], viewport: dict[str, int] = DESKTOP) -> Any:
    context = browser.new_context(viewport=viewport, locale="zh-CN", timezone_id="Asia/Shanghai")
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(
        "console",
        lambda m: (
            errors.append(m.text)
            if m.type == "error" and "Content Security Policy" in m.text
            else None
        ),
    )
    page.on("dialog", lambda dialog: dialog.accept())
    return page


def _operator_signs_in(site: Any, page: Any, login_name: str, role: str, path: str) -> None:
    app = site.app
    clock = app.extensions["clock"]
    with app.app_context():
        secret = auth.create_operator(
            login_name,
            "王静",
            role,
            PASSWORD,
            secret_keys=[app.config["SECRET_KEY"]],
            now=clock.now(),
        ).secret
        db.session.remove()
    page.goto(site.url + path)
    browser_sign_in(app, page, login_name, secret, PASSWORD)
    page.wait_for_url(f"**{path}*")


def _audits(app: Any, action: str) -> list[tuple[str | None, dict | None, str | None]]:
    with app.app_context():
        rows = [
            (a.target_id, a.after, a.reason)
            for a in db.session.execute(
                sa.select(OperatorAudit).where(OperatorAudit.action == action)
            ).scalars()
        ]
        db.session.remove()
        return rows


def test_support_finds_a_trainee_by_id_number_and_sends_the_reset_sms(browser, console_site):
    site = console_site
    trainee = seed(
        site, lambda: (lambda t: (t.id, t.id_number, t.phone))(make_trainee(name="林晓"))
    )
    tid, id_number, phone = trainee
    errors: list[str] = []
    page = _page(browser, errors)
    try:
        _operator_signs_in(site, page, "kefu1", "support", "/admin/trainees/")
        page.fill("#q", id_number)
        page.click("#support-search button[type=submit]")
        page.wait_for_selector("#support-results")
        _fits(page)
        _shot(page, "console-support-search")
        page.click("#support-results >> text=查看")
        page.wait_for_selector("#trainee-profile")
        assert id_number in page.inner_text("#trainee-profile")
        page.click("#send-reset-sms")
        wait_for(page, "document.body.innerText.includes('发送重置密码验证码')")
        _fits(page)
        _shot(page, "console-support-reset-sms")
    finally:
        page.context.close()
    assert not errors, errors
    code = latest_code(site.url, phone)
    assert code and len(code) == 6  # the SMS the trainee received, in the sandbox's inbox
    reset = requests.post(
        f"{site.url}/api/password/forgot",
        json={"username": id_number, "sms_code": code, "new_password": "Reset2026pw"},
        timeout=10,
    )
    assert reset.status_code == 200, reset.text
    assert _audits(site.app, "trainee.reset_sms") == [
        (str(tid), {"phone": f"{phone[:3]}****{phone[-4:]}"}, None)
    ]


def _paid_order_with_invoice_request(app: Any) -> tuple[str, int, str]:
    payer = make_trainee(name="陈会计")
    plan = make_plan()
    now = app.extensions["clock"].now()
    order = make_order(payer, plan, now)
    order.status = OrderStatus.SUCCESS
    order.success_time = now
    invoice = attach_request(order, InvoiceRequest("个人", "陈会计", None, "chen@example.com"), now)
    db.session.flush()
    return payer.id_number, invoice.id, order.out_trade_no


def test_finance_issues_a_requested_invoice_and_the_trainee_downloads_it(
    browser, console_site, tmp_path
):
    site = console_site
    id_number, invoice_id, order_no = seed(site, lambda: _paid_order_with_invoice_request(site.app))
    pdf_file = tmp_path / "invoice.pdf"
    pdf_file.write_bytes(PDF)
    errors: list[str] = []
    page = _page(browser, errors)
    try:
        _operator_signs_in(site, page, "caiwu1", "finance", "/admin/invoices/")
        row = page.locator(f"tr[data-invoice='{invoice_id}']")
        assert order_no in row.inner_text()
        row.locator("input[name=number]").fill("25500000000087654321")
        row.locator("input[name=pdf]").set_input_files(str(pdf_file))
        _fits(page)
        _shot(page, "console-finance-invoice-queue")
        row.locator("form.invoice-issue button[type=submit]").click()
        wait_for(page, "document.body.innerText.includes('已开具发票 25500000000087654321')")
        _shot(page, "console-finance-invoice-issued")
    finally:
        page.context.close()
    with site.app.app_context():
        assert db.session.get(Invoice, invoice_id).status == InvoiceStatus.ISSUED
        db.session.remove()

    # The trainee, on the phone: 我的订单 shows the invoice and 查看发票 opens its PDF.
    phone = _page(browser, errors, PHONE)
    try:
        res = phone.request.post(
            site.url + "/api/login", data={"username": id_number, "password": "Passw0rd!"}
        )
        assert res.ok, res.text()
        phone.goto(site.url + "/h5/orders")
        phone.wait_for_selector("#app[data-ready]")
        link = phone.locator(f"[data-order-no='{order_no}'] >> text=查看发票")
        link.wait_for()
        assert "号码 25500000000087654321" in phone.inner_text(f"[data-order-no='{order_no}']")
        _fits(phone, PHONE["width"])
        _shot(phone, "console-finance-trainee-invoice")
        got = phone.request.get(site.url + link.get_attribute("href"))
        assert got.ok and got.body() == PDF
    finally:
        phone.context.close()
    assert not errors, errors
    [(target, after, _)] = _audits(site.app, "invoice.issue")
    assert target == str(invoice_id) and after["pdf_bytes"] == len(PDF)


def test_finance_refunds_a_members_share_of_a_group_order(browser, console_site):
    site = console_site
    app, url = site.app, site.url

    def people() -> dict[str, Any]:
        payer = make_trainee(name="单位经办人")
        make_binding(payer)
        a, b = make_trainee(name="赵一"), make_trainee(name="钱二")
        plan = make_plan()
        return {"payer": payer.id_number, "a": a.id_number, "b": b.id_number, "b_id": b.id,
                "plan": plan.id}  # fmt: skip

    ids = seed(site, people)
    with requests.Session() as unit:
        login(url, unit, ids["payer"])
        group = unit.post(
            f"{url}/api/group-orders",
            json={"plan_id": ids["plan"], "id_numbers": f"{ids['a']}\n{ids['b']}"},
        ).json()
        no = group["order"]["out_trade_no"]
        params = unit.post(f"{url}/api/orders/{no}/pay", json={}).json()["params"]
        cashier_pay(url, unit, params)

    def status() -> str:
        with app.app_context():
            try:
                return db.session.execute(sa.text(
                    "SELECT status FROM orders WHERE out_trade_no = :n"), {"n": no}).scalar_one()  # fmt: skip
            finally:
                db.session.remove()

    assert wait_until(lambda: status() == "SUCCESS")
    errors: list[str] = []
    page = _page(browser, errors)
    try:
        _operator_signs_in(site, page, "caiwu2", "finance", "/admin/refunds/")
        page.fill("#refund-order input[name=order]", no)
        page.click("#refund-order button[type=submit]")
        row = page.locator(f"tr[data-trainee='{ids['b_id']}']")
        row.locator("input[name=reason]").fill("学员调离本单位")
        _fits(page)
        _shot(page, "console-finance-refund-order")
        row.locator("button[type=submit]").click()
        wait_for(page, "document.body.innerText.includes('已发起退款')")

        def refunded() -> bool:
            with app.app_context():
                try:
                    return db.session.execute(sa.select(Refund.status)).scalar_one() == "SUCCESS"
                finally:
                    db.session.remove()

        assert wait_until(refunded)  # REFUND.SUCCESS came from the sandbox to /pay/notify
        page.goto(f"{url}/admin/refunds/?order={no}")
        assert "退款成功" in page.inner_text("#refund-list")
        assert "已退款或正在退款" in page.inner_text(f"tr[data-trainee='{ids['b_id']}']")
        # One member's share refunded: the order is still paid, in the trainee's words.
        assert "状态：支付成功" in page.inner_text("body")
        _fits(page)
        _shot(page, "console-finance-refund-done")
    finally:
        page.context.close()
    assert not errors, errors
    # At the sandbox's WeChat Pay: the refund, succeeded, and the notification it sent.
    r = app.extensions["redis"]
    out_refund_no = f"{no}R01"
    refund = pay_store.load_refund(r, out_refund_no)
    assert refund["refund_status"] == "SUCCESS" and refund["amount"]["refund"] == 9000
    assert '"event_type":"REFUND.SUCCESS"' in refund["notification"]
    with app.app_context():
        _, seen = app.extensions["wechatpay"].call("query_refund", out_refund_no=out_refund_no)
    assert seen["status"] == "SUCCESS"
    [(target, after, reason)] = _audits(app, "refund.request")
    assert target == out_refund_no and after["trainee_id"] == ids["b_id"]
    assert reason == "学员调离本单位"
    assert status() == "SUCCESS"  # one member's share: the order stays paid
