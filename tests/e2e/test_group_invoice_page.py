"""团购订单 is where the notice sends a unit's clerk for the invoice (缴费成功后，在“团购订单”
对应订单处，进行查看或补开发票): a paid group order offers 申请开票 there, opening on a 单位
invoice with its 税号, and shows the request after."""

from __future__ import annotations

import re

from models import OrderStatus, db
from tests.e2e.conftest import login, seed
from tests.factories import make_order, make_plan, make_trainee
from wxapp.orders.uscc import check_char as uscc_check_char


def test_a_paid_group_orders_invoice_is_applied_for_on_its_card(phone, site):
    def build():
        payer = make_trainee(name="单位经办人")
        members = [make_trainee(name=n) for n in ("欧阳明月", "司马相如")]
        plan = make_plan(year=2025)
        order = make_order(payer, plan, site.app.extensions["clock"].now(), members)
        order.status = OrderStatus.SUCCESS
        order.success_time = order.created_at
        db.session.flush()
        return {"phone": payer.phone, "no": order.out_trade_no}

    data = seed(site, build)
    login(phone, data["phone"])
    page = phone.open("/h5/group-orders")
    card = page.wait_for_selector(f".group-order[data-order-no='{data['no']}']")
    assert "电子发票：未申请" in card.inner_text() and "我的订单" not in card.inner_text()

    card.query_selector("button:has-text('申请开票')").click()
    page.wait_for_selector("#submit-invoice")
    assert page.is_checked(".invoice-sheet input[name=title_type][value='单位']")
    assert page.is_visible(".invoice-sheet input[name=tax_number]")
    tax_number = "91500000MA5U00000" + uscc_check_char("91500000MA5U00000")
    page.fill(".invoice-sheet input[name=title]", "垫江县人民医院")
    page.fill(".invoice-sheet input[name=tax_number]", tax_number)
    page.fill(".invoice-sheet input[name=email]", "caiwu@example.com")
    page.click("#submit-invoice")
    page.wait_for_selector(".weui-toast:has-text('已提交开票申请')")
    page.wait_for_selector(".invoice-sheet", state="detached")
    shown = page.wait_for_selector(
        f".group-order[data-order-no='{data['no']}'] .group-invoice:has-text('垫江县人民医院')"
    )
    assert re.search(r"（(开票中|已开具)）", shown.inner_text())  # the sandbox issues at once
    sent = page.request.get(f"{site.url}/api/me/group-orders").json()["items"][0]["invoice"]
    assert (sent["title_type"], sent["tax_number"]) == ("单位", tax_number)
