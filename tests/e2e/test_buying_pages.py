"""Buying (立即购买 and its pay outcomes), 团体购买, 我的订单/发票 and 绑定 against the real
back ends on the live server: real orders, the built-in WeChat Pay sandbox's cashier, the
real 网页授权 sandbox and binding."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from models import WechatBinding, db
from tests.e2e.conftest import authorize, copy_to_docs, login, seed, wait_for
from tests.e2e.realdata import lowercase_x_id_number, order, posted
from tests.factories import make_binding, make_id_number, make_plan, make_trainee, make_unit
from wxapp.accounts.idnumbers import initial_password
from wxapp.orders.enrollments import grant_enrollment
from wxapp.orders.uscc import check_char as uscc_check_char

CASHIER = "iframe[title='微信支付（沙箱）']"
WECHAT_UA = (
    "Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/116.0 Mobile Safari/537.36 MicroMessenger/8.0.47.2560(0x28002F35) NetType/WIFI"
)
BRIDGE = Path(__file__).resolve().parents[2] / "static" / "js" / "wx-sandbox-bridge.js"


TITLES = (
    "2025年专业科目培训项目（工程建设）",
    "2025年专业科目培训项目（教育新知）",
    "2025年专业科目培训项目（农业技术）",
    "2025年专业科目培训项目（卫生健康）",
)


def world(site, *, bound=True, plans=1):
    """A trainee (bound to WeChat unless told otherwise, so JSAPI pay works) and plans."""

    def build():
        t = make_trainee(name="孙八", unit=make_unit())
        if bound:
            make_binding(t)
        made = [make_plan(year=2025, courses=3, chapters=2) for _ in range(plans)]
        for plan, title in zip(made, TITLES, strict=False):
            plan.title = title
        return {"phone": t.phone, "trainee": t.id, "plans": [p.id for p in made]}

    data = seed(site, build)
    data["plan"] = data["plans"][0]
    return data


def in_wechat(new_phone):
    """A phone inside WeChat: its user agent, and the WeixinJSBridge the WeChat client
    injects into every page (played here by the sandbox's stand-in, as on a PC)."""
    phone = new_phone(user_agent=WECHAT_UA)
    phone.context.add_init_script(path=str(BRIDGE))
    phone.page.close()
    phone.page = phone.new_page()  # a page made after the bridge was set up
    return phone


def test_buying_a_plan_cancel_then_pay(new_phone, site):
    """Inside WeChat: JSAPI, the cashier over the page (outside WeChat the order page shows
    the QR code instead: tests/e2e/test_pay_anywhere.py)."""
    data = world(site)
    phone = in_wechat(new_phone)
    login(phone, data["phone"])
    page = phone.page
    orders = posted(page, "/api/orders")
    phone.open(f"/h5/plan?id={data['plan']}")

    page.click("#buy")
    sheet = page.wait_for_selector(".checkout .weui-half-screen-dialog")
    assert "应付 ¥90.00" in sheet.inner_text()
    assert sheet.inner_text().count("请在缴费当年申请发票") == 1  # with 以后申请
    page.click("text=立即申请")
    assert sheet.inner_text().count("请在缴费当年申请发票") == 1  # the form's rules only
    page.click("#submit-order")
    assert "请填写发票抬头" in page.wait_for_selector(".weui-toptips").inner_text()
    page.fill(".checkout input[name=title]", "孙八")
    page.fill(".checkout input[name=email]", "sunba@example.com")
    phone.shot("checkout", full_page=False)

    # The sandbox cashier (it checked paySign) shows the real order; the trainee cancels.
    page.click("#submit-order")
    cashier = page.frame_locator(CASHIER)
    assert "¥90.00" in cashier.locator(".amount").inner_text()
    cashier.locator("#cancel").click()
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
    page.click(".js_dialog .weui-dialog__btn")

    # A failed payment: the sandbox cashier can only pay or cancel, it has no way to make
    # the WeChat client answer "get_brand_wcpay_request:fail", so for this one attempt
    # the (already loaded) sandbox bridge is wrapped to answer :fail, then put back.
    page.evaluate(
        """() => { const real = window.WeixinJSBridge;
        window.WeixinJSBridge = { ...real, invoke(name, params, cb) {
          window.WeixinJSBridge = real; setTimeout(() => cb({ err_msg: name + ':fail' }), 50);
        } }; }"""
    )
    page.click("#buy")
    page.click("#submit-order")
    assert "支付失败" in page.wait_for_selector(".js_dialog .weui-dialog").inner_text()
    page.click(".js_dialog .weui-dialog__btn")

    page.click("#buy")
    page.click("#submit-order")
    page.frame_locator(CASHIER).locator("#pay").click()
    notice = page.wait_for_selector("#paid-notice")
    assert "支付成功" in notice.inner_text()
    assert "计划完成度" in page.inner_text(".plan-head")
    assert page.locator("#buy").count() == 0
    # One order all along: the pending one was reused by each 提交订单.
    mine = page.request.get(f"{site.url}/api/me/orders").json()["items"]
    assert [o["status"] for o in mine] == ["SUCCESS"]
    phone.shot("paid")


def test_a_browser_with_wechats_user_agent_pays_on_the_sandbox(new_phone, site):
    """`make run` tried in a browser set to WeChat's user agent (its phone mode): no
    WeChat client injects the bridge, so on the sandbox the page loads the stand-in and the
    cashier takes the money (before, 无法调起微信支付，请在微信中打开本页面)."""
    data = world(site)
    phone = new_phone(user_agent=WECHAT_UA)  # no bridge injected
    login(phone, data["phone"])
    page = phone.page
    phone.open(f"/h5/plan?id={data['plan']}")
    page.click("#buy")
    page.click("#submit-order")
    page.frame_locator(CASHIER).locator("#pay").click()
    assert "支付成功" in page.wait_for_selector("#paid-notice").inner_text()


def test_inside_wechat_an_account_never_bound_binds_then_pays(new_phone, site):
    """Logged in with the password inside WeChat, never bound: WeChat Pay needs this WeChat
    user's openid, so 提交订单 leads through 网页授权 and 绑定 back to the order, paid there."""
    data = world(site, bound=False)
    phone = in_wechat(new_phone)
    login(phone, data["phone"])
    page = phone.page
    phone.open(f"/h5/plan?id={data['plan']}")
    page.click("#buy")
    page.click("#submit-order")
    dialog = page.wait_for_selector(".js_dialog .weui-dialog")
    assert "请先绑定微信" in dialog.inner_text() and "输入账号密码" in dialog.inner_text()
    page.click(".js_dialog .weui-dialog__btn")
    page.click("button[name=agree]")  # the sandbox's 网页授权 consent page
    page.wait_for_url("**/h5/bind?next=*")
    page.wait_for_selector("#app[data-ready]")
    page.fill("#username", data["phone"])
    page.fill("#password", "Passw0rd!")
    page.click("#submit")
    page.wait_for_url("**/h5/order?no=*")
    page.wait_for_selector("#app[data-ready]")
    page.click("#pay-jsapi")
    page.frame_locator(CASHIER).locator("#pay").click()
    assert "支付成功" in page.wait_for_selector("#pay-success").inner_text()
    mine = page.request.get(f"{site.url}/api/me/orders").json()["items"]
    assert [o["status"] for o in mine] == ["SUCCESS"]


def test_an_order_refused_by_the_server_says_why(phone, site):
    data = world(site)
    login(phone, data["phone"])
    page = phone.open(f"/h5/plan?id={data['plan']}")

    # While the page is open, the trainee's unit buys the plan for them (团体购买).
    def bought_meanwhile():
        grant_enrollment(data["trainee"], data["plan"], datetime(2025, 6, 1, tzinfo=UTC))

    seed(site, bought_meanwhile)
    page.click("#buy")
    page.click("#submit-order")
    dialog = page.wait_for_selector(".js_dialog .weui-dialog")
    assert "您已购买该培训项目，无需重复购买" in dialog.inner_text()
    assert "already_enrolled" not in dialog.inner_text()


def test_group_purchase_shows_each_rejected_line_and_the_qr_code(phone, site):
    data = world(site, bound=False)  # on a PC: Native pay needs no WeChat binding

    def trainees():
        return [make_trainee(name=name).id_number for name in ("学员甲", "学员乙")]

    ids = seed(site, trainees)
    login(phone, data["phone"])
    page = phone.page
    sent = posted(page, "/api/group-orders")
    pays = posted(page, "/pay")
    phone.open(f"/h5/group?plan={data['plan']}")
    advice = page.inner_text(".advice")
    assert (
        "仅复制身份证号码，每行一个，请注意身份证中字母 X 大写，身份证前后不要有空格、特殊字符"
        in advice
    )
    unknown = make_id_number(987_654)
    lines = "\n".join([*ids, lowercase_x_id_number(), unknown]) + "\n"
    page.fill("#ids", lines)
    assert page.inner_text("#line-count") == "4"
    page.click("#group-submit")
    summary = page.wait_for_selector("#group-summary")
    assert "验证通过 2 人" in summary.inner_text() and "¥180.00" in summary.inner_text()
    rows = page.locator("#rejects tbody tr")
    assert rows.count() == 2
    assert "身份证号码中的字母 X 请使用大写" in rows.nth(0).inner_text()
    assert "3" in rows.nth(0).inner_text()
    assert "该身份证号码尚未注册学员账号" in rows.nth(1).inner_text()
    assert "4" in rows.nth(1).inner_text()
    assert page.inner_text("#error-file") == "下载错误文件"
    errors = page.request.get(site.url + page.get_attribute("#error-file", "href"))
    assert errors.ok and errors.body()[:2] == b"PK"  # the .xlsx error file
    wait_for(
        page,
        "document.querySelector('#pay-qr') && document.querySelector('#pay-qr').naturalWidth > 0",
    )
    assert sent[0] == {"plan_id": data["plan"], "id_numbers": lines, "invoice": None}
    assert pays[0] == {"method": "native"}
    assert page.inner_text("#sandbox-scan") == "沙箱：模拟扫码"
    shot = phone.shot("group")
    copy_to_docs(shot, "group.png")


def test_orders_and_invoices(phone, site):
    data = world(site, bound=False, plans=4)
    login(phone, data["phone"])
    page = phone.page
    a, b, c, d = data["plans"]
    # Made oldest first, so 我的订单 (newest first) lists: 待支付, 已支付 without an invoice,
    # 已支付 with its invoice issued, 已关闭.
    order(page, site, d, cancel=True)
    invoice = {"title_type": "个人", "title": "孙八", "tax_number": None, "email": "a@b.cn"}
    issued_no = order(page, site, c, invoice=invoice, pay=True)
    paid_no = order(page, site, b, pay=True)
    order(page, site, a)
    issued = page.request.get(f"{site.url}/api/orders/{issued_no}").json()["invoice"]
    assert issued["status"] == "issued"
    requested = posted(page, f"/api/orders/{paid_no}/invoice")

    phone.open("/h5/orders")
    cards = page.locator(".order-card")
    assert cards.count() == 4
    assert "待支付" in cards.nth(0).inner_text() and "继续支付" in cards.nth(0).inner_text()
    assert "申请开票" in cards.nth(1).inner_text()
    link = f".order-card[data-order-no='{issued_no}'] a >> text=查看发票"
    assert page.get_attribute(link, "href") == issued["pdf_url"]
    pdf = page.request.get(site.url + issued["pdf_url"])
    assert pdf.ok and pdf.body()[:5] == b"%PDF-"
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
    tax_number = "91500000MA5U00000" + uscc_check_char("91500000MA5U00000")
    page.fill(".invoice-sheet input[name=tax_number]", tax_number)
    page.click("#submit-invoice")
    page.wait_for_selector(".invoice-sheet", state="detached")
    assert requested[0] == {
        "title_type": "单位",
        "title": "垫江县人民医院",
        "tax_number": tax_number,
        "email": "cw@example.com",
    }
    # The sandbox's tax platform issued it at once: the card now offers the PDF.
    page.wait_for_selector(f".order-card[data-order-no='{paid_no}'] a >> text=查看发票")


def test_bind_with_the_initial_password_is_sent_to_activation(phone, site):
    """A roster account not yet activated binds nothing: the page says so and goes on to
    激活账号, then back through 网页授权 (tests/e2e/test_full_flow.py follows it through;
    tests/e2e/test_bind_pages.py has 改绑)."""

    def build():
        t = make_trainee(name="孙八", password=None)  # bulk-registered: initial password
        return {"id_number": t.id_number}

    data = seed(site, build)
    page = phone.page
    bound = posted(page, "/api/wechat/bind")
    authorize(phone, "%2Fh5%2Fplans%3Fkind%3Dspecialist")
    assert "绑定" in page.inner_text("h2")
    phone.shot("bind")
    first = initial_password(data["id_number"])
    page.fill("#username", data["id_number"])
    page.fill("#password", first)
    page.click("#submit")
    dialog = page.wait_for_selector(".weui-dialog")
    assert "账号尚未激活" in dialog.inner_text()
    phone.shot("bind-not-activated")
    page.click(".weui-dialog__btn_primary")
    page.wait_for_url("**/h5/activate?next=*")
    assert page.url.endswith(
        "/h5/activate?next=%2Fauth%2Fwechat%3Fnext%3D%252Fh5%252Fplans%253Fkind%253Dspecialist"
    )
    page.wait_for_selector("#send-code")
    assert bound[0] == {"username": data["id_number"], "password": first}
    with site.app.app_context():
        assert db.session.execute(db.select(WechatBinding)).first() is None


def test_bind_never_follows_a_foreign_next(phone, site):
    data = world(site, bound=False)
    page = authorize(phone, "%2Fh5%2Fprogress")
    # The bind page reached with a foreign `next` (a crafted link) after authorizing.
    phone.open("/h5/bind?next=https%3A%2F%2Fevil.example%2F")
    page.fill("#username", data["phone"])
    page.fill("#password", "Passw0rd!")
    page.click("#submit")
    page.wait_for_url("**/h5/plans*")
    assert page.url.startswith(site.url)


def test_checkout_closes_with_its_cancel_button(phone, site):
    data = world(site)
    login(phone, data["phone"])
    page = phone.open(f"/h5/plan?id={data['plan']}")
    page.click("#buy")
    page.wait_for_selector(".checkout .weui-half-screen-dialog")
    page.click(".checkout >> text=取消")
    page.wait_for_selector(".checkout", state="detached")
    page.click("#buy")  # and it opens again
    page.wait_for_selector(".checkout #submit-order")


def test_a_plan_already_bought_still_offers_group_purchase(phone, site):
    """The unit's designated person buys for colleagues with a personal account, having
    bought the plan for themself: 团体购买 stays, 立即购买 goes."""
    data = world(site)
    seed(
        site,
        lambda: grant_enrollment(data["trainee"], data["plan"], datetime(2025, 6, 1, tzinfo=UTC)),
    )
    login(phone, data["phone"])
    page = phone.open(f"/h5/plan?id={data['plan']}")
    assert "计划完成度" in page.inner_text(".plan-head")
    assert page.locator("#buy").count() == 0
    page.click("text=团体购买")
    page.wait_for_url(f"**/h5/group?plan={data['plan']}")
    page.wait_for_selector("#group-submit")


def test_an_unpaid_orders_invoice_reads_the_same_on_both_pages(phone, site):
    data = world(site, bound=False)
    login(phone, data["phone"])
    invoice = {"title_type": "个人", "title": "孙八", "tax_number": None, "email": "a@b.cn"}
    no = order(phone.page, site, data["plan"], invoice=invoice)
    page = phone.open(f"/h5/order?no={no}")
    assert page.inner_text("#order-invoice") == "电子发票：孙八（立即申请，支付成功后开具）"
    page = phone.open("/h5/orders")
    card = page.inner_text(f".order-card[data-order-no='{no}']")
    assert "发票：孙八（立即申请，支付成功后开具）" in card
    assert "开票中" not in card
