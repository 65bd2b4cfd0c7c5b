"""What went back, and why, as the pages say it: a member who had bought the plan alone is
paid for again by the unit's group order (the cashier opened before still takes the money),
and the other way round, a trainee whose unit paid first pays for themself. WeChat Pay (the
sandbox) refunds the share by itself; 团购订单 shows the clerk, member by member, that the
share went back and why, and the trainee's own order says why in fixed words."""

from __future__ import annotations

import time

from tests.e2e.conftest import login, seed
from tests.e2e.realdata import order, wait_status
from tests.factories import make_plan, make_trainee


def _people(site):
    def build():
        payer, member = make_trainee(name="单位经办人"), make_trainee(name="自己买过")
        other = make_trainee(name="王五")
        plan = make_plan(year=2025)
        plan.title = "2025年专业科目培训项目（工程建设）"
        return {
            "payer": payer.phone,
            "member": member.phone,
            "ids": [member.id_number, other.id_number],
            "plan": plan.id,
        }

    return seed(site, build)


def _open_group_payment(page, site, data) -> str:
    """The clerk orders the plan for both and opens 扫码支付 (the prepay exists)."""
    made = page.request.post(
        f"{site.url}/api/group-orders",
        data={"plan_id": data["plan"], "id_numbers": "\n".join(data["ids"]), "invoice": None},
    )
    assert made.ok, made.text()
    no = made.json()["order"]["out_trade_no"]
    opened = page.request.post(f"{site.url}/api/orders/{no}/pay", data={"method": "native"})
    assert opened.ok, opened.text()
    return no


def _cashier_pays(page, site, no: str) -> None:
    done = page.request.post(
        f"{site.url}/_sandbox/pay/cashier", form={"out_trade_no": no, "action": "pay"}
    )
    assert done.ok and "支付成功" in done.text()


def _until(page, check, what: str) -> None:
    deadline = time.monotonic() + 15
    while not check():
        assert time.monotonic() < deadline, what
        page.wait_for_timeout(100)


def test_the_clerk_sees_which_members_share_went_back_and_why(phone, site, new_phone):
    data = _people(site)
    login(phone, data["payer"])
    clerk = phone.page
    group_no = _open_group_payment(clerk, site, data)

    member = new_phone()
    login(member, data["member"])
    order(member.page, site, data["plan"], pay=True)  # bought alone meanwhile

    _cashier_pays(clerk, site, group_no)  # the double charge

    def refunded() -> bool:
        items = clerk.request.get(f"{site.url}/api/me/group-orders").json()["items"]
        return items[0]["refunded"] == 9000

    _until(clerk, refunded, "the member's share was never refunded")

    page = phone.open("/h5/group-orders")
    card = page.locator(f'.group-order[data-order-no="{group_no}"]')
    assert "已退款 ¥90.00" in card.inner_text()
    rows = card.locator(".member-table tbody tr")
    assert rows.count() == 2
    alone = rows.filter(has_text="已自动退款")
    assert "已购买该项目，已自动退款 ¥90.00" in alone.inner_text()
    # The share went back: the order shows no more of the member than an unpaid one would.
    assert "自**过" in alone.inner_text() and "自己买过" not in alone.inner_text()
    assert "已开通" not in alone.inner_text()
    assert "退款" not in rows.filter(has_text="王五").inner_text()
    phone.shot("group-orders-refunded-member")


def test_a_trainee_whose_unit_paid_first_reads_why_their_money_went_back(phone, site, new_phone):
    data = _people(site)
    login(phone, data["member"])
    mine = phone.page
    created = mine.request.post(
        f"{site.url}/api/orders", data={"plan_id": data["plan"], "invoice": None}
    )
    alone_no = created.json()["out_trade_no"]
    assert mine.request.post(f"{site.url}/api/orders/{alone_no}/pay", data={"method": "native"}).ok

    clerk = new_phone()
    login(clerk, data["payer"])
    group_no = _open_group_payment(clerk.page, site, data)
    _cashier_pays(clerk.page, site, group_no)
    wait_status(clerk.page, site, group_no, "SUCCESS")

    _cashier_pays(mine, site, alone_no)  # their own cashier still takes the money
    wait_status(mine, site, alone_no, "REFUND")

    why = "您已购买该项目（如所在单位已为您团体购买），本次重复支付的费用原路退回"
    page = phone.open(f"/h5/order?no={alone_no}")
    card = page.inner_text("#order-card")
    assert "已退款" in card and "已退款 ¥90.00" in card
    assert f"退款原因：{why}" in card
    # They hold the plan (their unit paid for it): the way on is to learn, not to buy again.
    assert page.inner_text("#order-closed") == "订单已退款。开始学习"
    phone.shot("order-refunded-reason")

    page = phone.open("/h5/orders")
    listed = page.locator(f'.order-card[data-order-no="{alone_no}"]').inner_text()
    assert "已退款 ¥90.00" in listed and f"退款原因：{why}" in listed
