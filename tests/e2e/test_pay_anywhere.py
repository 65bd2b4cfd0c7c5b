"""Paying anywhere, at 390x844 against the live server and the WeChat Pay sandbox: outside
WeChat a personal order shows the Native QR code, which the test reads from the screen and
"scans" in the sandbox, and the order page turns to 已支付 by itself; 取消订单 on the order page
and in 我的订单 (closed at WeChat Pay too); a group order with 立即申请 发票 and its 团购订单 page."""

from __future__ import annotations

import io
import re
from urllib.parse import urlencode

import zxingcpp
from PIL import Image

from tests.e2e.conftest import copy_to_docs, login, seed, wait_for
from tests.e2e.realdata import lowercase_x_id_number, order, posted
from tests.e2e.test_buying_pages import world
from tests.factories import make_trainee
from wxapp.infra.texts import REGISTRATION_EMAIL

QR_READY = "document.querySelector('#pay-qr') && document.querySelector('#pay-qr').naturalWidth > 0"
# Latin words on a page a trainee reads (the order number and masked ID numbers are digits).
ENGLISH = re.compile(r"[A-Za-z]{3,}")


def read_qr(page) -> str:
    """What a phone's camera reads from the QR code on the screen."""
    wait_for(page, QR_READY)
    image = Image.open(io.BytesIO(page.locator("#pay-qr").screenshot()))
    codes = [code.text for code in zxingcpp.read_barcodes(image)]
    assert len(codes) == 1 and codes[0].startswith("weixin://wxpay/bizpayurl?pr="), codes
    return codes[0]


def scan(phone, site, code_url: str):
    """The payer's own WeChat scanning the code: the sandbox's scan page, its cashier."""
    cashier = phone.new_page()
    cashier.goto(f"{site.url}/_sandbox/pay/scan?{urlencode({'code_url': code_url})}")
    return cashier


def no_english(page) -> None:
    # The centre's address for registering a unit's colleagues is written as it is.
    text = page.inner_text("body").replace(REGISTRATION_EMAIL, "")
    assert not ENGLISH.findall(text), ENGLISH.findall(text)


def one_line(page, selector: str) -> bool:
    """Whether every element matching `selector` is laid out on a single line."""
    return page.evaluate(
        f"""() => [...document.querySelectorAll({selector!r})].every((el) => {{
          const r = document.createRange(); r.selectNodeContents(el);
          const tops = new Set([...r.getClientRects()].map((x) => Math.round(x.top)));
          return tops.size === 1; }})"""
    )


def test_a_personal_order_is_paid_by_qr_outside_wechat(phone, site):
    data = world(site, bound=False)  # a phone's browser, no WeChat binding
    login(phone, data["phone"])
    page = phone.page
    pays = posted(page, "/pay")
    phone.open(f"/h5/plan?id={data['plan']}")
    page.click("#buy")
    page.click("#submit-order")
    page.wait_for_url("**/h5/order?no=*")
    page.wait_for_selector("#app[data-ready]")
    code_url = read_qr(page)
    assert page.inner_text("#order-status") == "待支付"
    assert "¥90.00" in page.inner_text("#order-card")
    assert "扫一扫" in page.inner_text("#qr-pay")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    no_english(page)
    copy_to_docs(phone.shot("order-qr"), "order-qr.png")

    cashier = scan(phone, site, code_url)
    assert "¥90.00" in cashier.inner_text("body")
    cashier.click("#pay")
    # Nobody touches the order page: it asks for the order until it reads paid.
    page.wait_for_selector("#pay-success")
    assert page.inner_text("#order-status") == "已支付"
    assert "现在可以开始学习了" in page.inner_text("#pay-success")
    assert pays == [{"method": "native"}]
    no_english(page)
    copy_to_docs(phone.shot("order-paid"), "order-paid.png")
    page.click("#pay-success a.weui-btn_primary")
    page.wait_for_selector(".plan-head >> text=计划完成度")


def test_cancelling_an_unpaid_order_on_its_page_and_in_my_orders(phone, site):
    data = world(site, bound=False, plans=2)
    login(phone, data["phone"])
    page = phone.page
    no = order(page, site, data["plans"][0])
    phone.open(f"/h5/order?no={no}")
    code_url = read_qr(page)  # WeChat Pay now knows the order (its Native prepay)
    page.click("#cancel-order")
    dialog = page.wait_for_selector(".js_dialog .weui-dialog")
    assert "确定取消订单" in dialog.inner_text()
    page.click(".js_dialog .weui-dialog__btn_primary")
    page.wait_for_selector("#order-closed")
    assert page.inner_text("#order-status") == "已关闭"
    assert page.locator("#pay-qr").count() == 0 and page.locator("#cancel-order").count() == 0
    no_english(page)
    copy_to_docs(phone.shot("order-cancelled"), "order-cancelled.png")
    # Closed at WeChat Pay too: scanning the code it showed pays nothing.
    cashier = scan(phone, site, code_url)
    assert cashier.locator("#pay").count() == 0 and "订单已关闭" in cashier.inner_text("body")

    other = order(page, site, data["plans"][1])
    phone.open("/h5/orders")
    card = page.locator(f".order-card[data-order-no='{other}']")
    assert "待支付" in card.inner_text()
    card.locator(".cancel-order").click()
    page.click(".js_dialog .weui-dialog__btn_primary")
    page.wait_for_selector(f".order-card[data-order-no='{other}'] >> text=已关闭")
    assert page.locator(".cancel-order").count() == 0
    assert page.request.get(f"{site.url}/api/orders/{other}").json()["status"] == "CLOSED"
    phone.shot("orders-cancelled")


def test_a_group_order_with_its_invoice_and_the_group_orders_page(phone, site):
    data = world(site, bound=False)

    def trainees():
        names = ("欧阳明月", "司马相如", "王五", "赵六", "钱七", "孙九")
        return [make_trainee(name=n).id_number for n in names]

    ids = seed(site, trainees)
    login(phone, data["phone"])
    page = phone.page
    sent = posted(page, "/api/group-orders")
    phone.open(f"/h5/group?plan={data['plan']}")
    page.click(".invoice-choice >> text=立即申请")
    page.click(".invoice-choice >> text=个人")  # 团体购买 opens on 单位
    page.fill(".invoice-choice input[name=title]", "垫江县人民医院")
    page.fill(".invoice-choice input[name=email]", "cw@example.com")
    lines = [*ids[:5], f" {ids[5]} ", lowercase_x_id_number()]
    page.fill("#ids", "\n".join(lines))
    page.click("#group-submit")
    summary = page.wait_for_selector("#group-summary")
    assert "验证通过 5 人" in summary.inner_text() and "¥450.00" in summary.inner_text()
    reasons = page.inner_text("#rejects")
    assert "身份证号码格式错误：前后及中间不能有空格" in reasons
    assert "身份证号码中的字母 X 请使用大写" in reasons
    assert sent[0]["invoice"] == {
        "title_type": "个人",
        "title": "垫江县人民医院",
        "tax_number": None,
        "email": "cw@example.com",
    }
    assert "立即申请" in page.inner_text("#group-invoice")
    code_url = read_qr(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    no_english(page)
    copy_to_docs(phone.shot("group-invoice", full_page=True), "group-invoice.png")
    scan(phone, site, code_url).click("#pay")
    assert "5 名学员即可登录进行学习" in page.wait_for_selector("#group-paid").inner_text()

    page.click("text=查看团购订单")
    page.wait_for_url("**/h5/group-orders")
    page.wait_for_selector("#app[data-ready]")
    card = page.locator(".group-order").first
    text = card.inner_text()
    assert "已支付" in text and "团购 5 人" in text
    assert "垫江县人民医院（已开具）" in page.inner_text(".group-invoice")
    assert "已开通 5 人，已达到学分要求 0 人" in text
    rows = card.locator("tbody tr")
    assert rows.count() == 5
    first = rows.nth(0).inner_text()
    assert "欧阳明月" in first and ids[0][:6] + "********" + ids[0][-4:] in first
    assert "已开通" in first and "0%" in first and "0/60 学时" in first
    assert ids[0] not in page.inner_text("body")  # never the whole ID number
    assert one_line(page, ".group-order h3 .tag")  # 团购 5 人 never breaks after 团
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    no_english(page)
    copy_to_docs(phone.shot("group-orders", full_page=True), "group-orders.png")

    phone.open("/h5/orders")
    assert one_line(page, ".order-card .group-count")
    assert page.inner_text(".order-card .group-count") == "团购 5 人"


def test_an_unpaid_group_order_shows_its_members_waiting_for_payment(phone, site):
    """Until the order is paid its members show as 待支付, neither 已开通 nor 未开通: an
    order never paid tells nothing of the learning of whom it names."""
    data = world(site, bound=False)

    def member():
        t = make_trainee(name="欧阳明月")
        return t.id_number

    number = seed(site, member)
    login(phone, data["phone"])
    page = phone.page
    made = page.request.post(
        f"{site.url}/api/group-orders", data={"plan_id": data["plan"], "id_numbers": number}
    )
    assert made.ok, made.text()
    phone.open("/h5/group-orders")
    row = page.wait_for_selector(".group-order tbody tr").inner_text()
    assert "待支付" in row and "已开通" not in row and "未开通" not in row
    assert "欧**月" in row
