"""团体购买 as a unit's clerk meets it, at a phone's width against the live server and the
WeChat Pay sandbox: 修改并重新提交 over the clerk's own earlier unpaid order in one step, the
invoice 抬头 defaulting to 单位, and a refused payment showing who bought meanwhile."""

from __future__ import annotations

from tests.e2e.conftest import login, seed, wait_for
from tests.e2e.realdata import posted
from tests.e2e.test_buying_pages import CASHIER, in_wechat
from tests.e2e.test_group_limit_page import paste
from tests.factories import (
    enroll,
    make_binding,
    make_id_number,
    make_order,
    make_plan,
    make_trainee,
    make_unit,
)
from wxapp.orders.uscc import check_char

LATE = 779_001  # the colleague registered between the two pastes
QR_READY = "document.querySelector('#pay-qr') && document.querySelector('#pay-qr').naturalWidth > 0"


def unit_world(site) -> dict:
    def build():
        payer = make_trainee(name="单位经办人", unit=make_unit())
        make_binding(payer)
        staff = [make_trainee(name=n).id_number for n in ("欧阳明月", "司马相如", "王五")]
        return {"phone": payer.phone, "plan": make_plan(year=2025).id, "staff": staff}

    return seed(site, build)


def test_the_corrected_list_replaces_the_earlier_order_in_one_step(phone, site):
    data = unit_world(site)
    full = "\n".join([*data["staff"], make_id_number(LATE)])
    login(phone, data["phone"])
    page = phone.page
    sent = posted(page, "/api/group-orders")
    phone.open(f"/h5/group?plan={data['plan']}")

    # First paste: the fourth colleague has no account yet; the other three are ordered.
    paste(page, full)
    page.click("#group-submit")
    assert "验证通过 3 人" in page.wait_for_selector("#group-summary").inner_text()
    first = page.inner_text("#pay-area")
    assert "该身份证号码尚未注册学员账号" in page.inner_text("#rejects")
    assert page.locator("#pending-orders").count() == 0
    wait_for(page, QR_READY)

    # The colleague registered, the clerk sends the corrected full list again.
    seed(site, lambda: make_trainee(name="赵六", n=LATE).id)
    page.click("#group-submit")
    page.wait_for_selector("#pending-orders")
    earlier = next(line for line in first.splitlines() if line.startswith("订单号：")).split("：")[
        1
    ]
    pending = page.inner_text("#pending-orders")
    assert "有 3 行的学员已在您另一笔未支付的团购订单中" in pending
    assert f"订单号：{earlier}，3 人，¥270.00" in pending
    assert "验证通过 1 人" in page.inner_text("#group-summary")

    page.click("#replace-submit")
    dialog = page.wait_for_selector(".js_dialog .weui-dialog")
    assert f"将取消未支付的原订单：订单号 {earlier}（3 人，¥270.00）" in dialog.inner_text()
    page.click(".js_dialog .weui-dialog__btn_primary")
    replaced = page.wait_for_selector("#replaced").inner_text()
    assert earlier in replaced and "已取消原订单" in replaced
    summary = page.inner_text("#group-summary")
    assert "验证通过 4 人" in summary and "¥360.00" in summary and "未通过" not in summary
    assert page.locator("#pending-orders").count() == 0
    wait_for(page, QR_READY)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert len(sent) == 3 and sent[2]["replace_orders"][0] == earlier
    assert page.request.get(f"{site.url}/api/orders/{earlier}").json()["status"] == "CLOSED"

    phone.open("/h5/group-orders")
    page.wait_for_selector(".group-order")
    cards = page.locator(".group-order")
    states = [
        (
            cards.nth(i).locator(".meta > .tag").first.inner_text(),
            cards.nth(i).locator("h3").inner_text(),
        )
        for i in range(cards.count())
    ]
    unpaid = [title for tag, title in states if tag == "待支付"]
    assert len(unpaid) == 1 and "团购 4 人" in unpaid[0], states
    assert sorted(tag for tag, _ in states) == ["已关闭", "已关闭", "待支付"], states


def test_a_unit_invoice_is_the_first_choice_on_group_purchase(phone, site):
    data = unit_world(site)
    login(phone, data["phone"])
    page = phone.page
    sent = posted(page, "/api/group-orders")
    phone.open(f"/h5/group?plan={data['plan']}")
    page.click(".invoice-choice >> text=立即申请")
    assert page.is_checked(".invoice-choice input[name=title_type][value=单位]")
    assert page.is_visible(".invoice-choice input[name=tax_number]")
    tax = "91500000MA5U00000" + check_char("91500000MA5U00000")
    page.fill(".invoice-choice input[name=title]", "垫江县人民医院")
    page.fill(".invoice-choice input[name=tax_number]", tax)
    page.fill(".invoice-choice input[name=email]", "cw@example.com")
    paste(page, data["staff"][0])
    page.click("#group-submit")
    assert "垫江县人民医院" in page.wait_for_selector("#group-invoice").inner_text()
    assert sent[0]["invoice"] == {
        "title_type": "单位",
        "title": "垫江县人民医院",
        "tax_number": tax,
        "email": "cw@example.com",
    }


def refused_order(site) -> dict:
    """A group order for two; one of them bought the plan alone meanwhile."""

    def build():
        payer = make_trainee(name="单位经办人")
        make_binding(payer)
        bought, other = make_trainee(name="欧阳明月"), make_trainee(name="王五")
        plan = make_plan(year=2025)
        order = make_order(payer, plan, bought.created_at, trainees=[bought, other])
        enroll(bought.id, plan.id, bought.created_at)
        return {
            "phone": payer.phone,
            "no": order.out_trade_no,
            "masked": bought.id_number[:6] + "********" + bought.id_number[-4:],
            "other": other.id_number[:6] + "********" + other.id_number[-4:],
        }

    return seed(site, build)


def test_a_refused_payment_shows_who_bought_meanwhile(phone, site):
    data = refused_order(site)
    login(phone, data["phone"])
    page = phone.page
    phone.open(f"/h5/order?no={data['no']}")  # outside WeChat: the QR code's place
    notice = page.wait_for_selector("#qr-pay .notice.err").inner_text()
    assert "订单中有 1 名学员已购买该培训项目" in notice
    assert f"欧**月（{data['masked']}）" in notice and data["other"] not in notice


def test_a_refused_payment_in_wechat_lists_who_bought_meanwhile(new_phone, site):
    data = refused_order(site)
    phone = in_wechat(new_phone)
    login(phone, data["phone"])
    page = phone.page
    phone.open(f"/h5/order?no={data['no']}")
    page.click("#pay-jsapi")
    members = page.wait_for_selector(".js_dialog #enrolled-members")
    rows = members.query_selector_all("tbody tr")
    assert [r.inner_text().split() for r in rows] == [["欧**月", data["masked"]]]
    assert "请取消本订单后重新提交团购名单（不含以下学员）" in members.inner_text()
    assert page.frame_locator(CASHIER).locator(".amount").count() == 0  # no cashier opened
