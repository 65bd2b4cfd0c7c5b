"""财务's console actions that need no live WeChat Pay: modifying an issued invoice (once,
within 15 days, under a new number), resolving a payment anomaly with a note, a refund id
that does not exist, and the dates the 每日对账 page refuses before asking WeChat Pay.
(Refreshing a refund and reconciling a real day go through the sandbox over HTTP:
tests/integration/test_console_finance_actions.py.)"""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from models import (
    Invoice,
    InvoiceStatus,
    Operator,
    Order,
    OrderStatus,
    PaymentAnomaly,
    Refund,
    db,
)
from tests.api import test_console_support_finance as support
from tests.api.test_console_support_finance import PDF, _audits, _paid_order_with_request
from tests.api.test_invoices import COMPANY
from tests.console_helpers import create_operator, csrf_of, sign_in
from tests.factories import make_order, make_plan, make_trainee
from tests.factories import sign_in as trainee_sign_in
from wxapp.console import finance_actions
from wxapp.console.finance import months_before
from wxapp.errors import ValidationError
from wxapp.infra.clock import local
from wxapp.orders.invoices import InvoiceRequest, attach_request

capp = support.capp  # the console app, invoices waiting for 财务 (no tax platform)

FIRST = "25500000000012345678"
SECOND = "25500000000087654321"
NEW_PDF = PDF.replace(b"tax system invoice", b"re-issued invoice")
BAD_TAX_NUMBER = "9144030071526726XA"  # its check character is wrong


def _finance(app, login: str = "caiwu", role: str = "finance") -> tuple[object, str, int]:
    """A signed-in 财务 (or `role`) client, its CSRF token and the operator's id."""
    secret = create_operator(app, login, role, name="王静")
    client = app.test_client()
    sign_in(app, client, login, secret)
    with app.app_context():
        operator_id = db.session.execute(
            sa.select(Operator.id).where(Operator.login == login)
        ).scalar_one()
        db.session.remove()
    return client, csrf_of(client.get("/admin/").text), operator_id


def _followed(client, reply) -> str:
    """The page a posted action redirects to, with its flashed message."""
    assert reply.status_code == 302, reply.text
    page = client.get(reply.headers["Location"])
    assert page.status_code == 200
    return page.text


def _issue(client, token: str, invoice_id: int, number: str = FIRST) -> None:
    reply = client.post(
        f"/admin/invoices/{invoice_id}/issue",
        data={"csrf_token": token, "number": number, "pdf": (io.BytesIO(PDF), "fp.pdf")},
        content_type="multipart/form-data",
    )
    assert f"已开具发票 {number}（含 PDF）" in _followed(client, reply)


def _modify(client, token: str, invoice_id: int, number: str, **details):
    fields = {**COMPANY, **details}
    return client.post(
        f"/admin/invoices/{invoice_id}/modify",
        data={
            "csrf_token": token,
            "number": number,
            "pdf": (io.BytesIO(NEW_PDF), "new.pdf"),
            **{k: fields[k] for k in ("title_type", "title", "tax_number", "email")},
        },
        content_type="multipart/form-data",
    )


def _invoice(app, invoice_id: int) -> tuple:
    with app.app_context():
        inv = db.session.get(Invoice, invoice_id)
        row = (inv.status, inv.number, inv.title, inv.tax_number, inv.modified_count)
        db.session.remove()
    return row


def test_finance_modifies_an_issued_invoice_once_under_a_new_number(capp):
    payer_id, invoice_id, order_no = _paid_order_with_request(capp)
    client, token, operator_id = _finance(capp)
    _issue(client, token, invoice_id)
    issued = (InvoiceStatus.ISSUED, FIRST, "开票人", None, 0)

    # Not yet issued, or no such invoice: nothing to modify.
    _, requested_id, _ = _paid_order_with_request(capp)
    page = _followed(client, _modify(client, token, requested_id, SECOND))
    assert "操作未完成：只有已开具的发票可以修改" in page
    page = _followed(client, _modify(client, token, 999999, SECOND))
    assert "操作未完成：发票申请不存在" in page

    # A tax number whose check character is wrong: refused, naming the 税号.
    page = _followed(client, _modify(client, token, invoice_id, SECOND, tax_number=BAD_TAX_NUMBER))
    assert "操作未完成：税号应为 18 位统一社会信用代码" in page
    # The same number as before: a modified invoice is a new one, with a new number.
    page = _followed(client, _modify(client, token, invoice_id, FIRST))
    assert "操作未完成：修改后的发票应有新的发票号码" in page
    assert _invoice(capp, invoice_id) == issued
    with capp.app_context():
        now = capp.extensions["clock"].now()
        for details, number, field in (
            ({**COMPANY, "tax_number": BAD_TAX_NUMBER}, SECOND, "tax_number"),
            (COMPANY, FIRST, "number"),
        ):
            with pytest.raises(ValidationError) as refused:
                finance_actions.modify_invoice(invoice_id, details, number, None, now)
            assert refused.value.field == field
        db.session.remove()
    assert _audits(capp, "invoice.modify") == []

    # 14 days on, still within the window: re-issued to the unit under the new number.
    capp.extensions["clock"].advance(timedelta(days=14).total_seconds())
    reply = _modify(client, token, invoice_id, SECOND)
    assert "status=issued" in reply.headers["Location"]
    page = _followed(client, reply)
    assert f"已修改并重新开具发票 {SECOND}" in page
    row = page[page.index(f'data-invoice="{invoice_id}"') :]
    row = row[: row.index("</tr>")]
    assert SECOND in row and COMPANY["title"] in row and "invoice-modify" not in row
    assert _invoice(capp, invoice_id) == (
        InvoiceStatus.ISSUED, SECOND, COMPANY["title"], COMPANY["tax_number"], 1,
    )  # fmt: skip

    # The trainee sees the new title and number in 我的订单, and downloads the new PDF.
    trainee = capp.test_client()
    trainee_sign_in(trainee, payer_id)
    mine = trainee.get(f"/api/orders/{order_no}")
    assert mine.status_code == 200, mine.text
    invoice = mine.json["invoice"]
    assert (invoice["status"], invoice["number"], invoice["title"], invoice["title_type"]) == (
        "issued", SECOND, COMPANY["title"], "单位",
    )  # fmt: skip
    assert invoice["tax_number"] == COMPANY["tax_number"] and invoice["modified_count"] == 1
    assert trainee.get(f"/api/invoices/{invoice_id}.pdf").data == NEW_PDF

    [audit] = _audits(capp, "invoice.modify")
    assert audit.target_type == "invoices" and audit.target_id == str(invoice_id)
    assert audit.operator_id == operator_id
    assert (audit.before["number"], audit.before["title"], audit.before["modified_count"]) == (
        FIRST, "开票人", 0,
    )  # fmt: skip
    assert (audit.after["number"], audit.after["title"], audit.after["modified_count"]) == (
        SECOND, COMPANY["title"], 1,
    )  # fmt: skip

    # Once only.
    page = _followed(client, _modify(client, token, invoice_id, "25500000000011112222"))
    assert "操作未完成：发票只能修改 1 次，本发票已修改过" in page
    assert _invoice(capp, invoice_id)[1] == SECOND
    assert len(_audits(capp, "invoice.modify")) == 1


def test_an_invoice_is_not_modified_after_fifteen_days(capp):
    payer_id, invoice_id, order_no = _paid_order_with_request(capp)
    client, token, _ = _finance(capp)
    _issue(client, token, invoice_id)
    capp.extensions["clock"].advance(timedelta(days=15, minutes=1).total_seconds())
    page = _followed(client, _modify(client, token, invoice_id, SECOND))
    assert "操作未完成：申请开票成功 15 日内可修改发票 1 次，本发票已超过 15 日" in page
    assert _invoice(capp, invoice_id) == (InvoiceStatus.ISSUED, FIRST, "开票人", None, 0)
    assert _audits(capp, "invoice.modify") == []
    trainee = capp.test_client()
    trainee_sign_in(trainee, payer_id)
    assert trainee.get(f"/api/orders/{order_no}").json["invoice"]["number"] == FIRST


def _group_order_with_issued_invoice(app, client, token) -> tuple[int, int, str]:
    """A paid group order of two (180.00) whose payer's invoice 财务 issued."""
    with app.app_context():
        now = app.extensions["clock"].now()
        payer = make_trainee(name="单位经办人")
        order = make_order(payer, make_plan(), now, trainees=[make_trainee(), make_trainee()])
        order.status, order.success_time = OrderStatus.SUCCESS, now
        invoice = attach_request(order, InvoiceRequest("个人", "单位经办人", None, "a@b.cn"), now)
        db.session.commit()
        ids = (payer.id, invoice.id, order.out_trade_no)
        db.session.remove()
    _issue(client, token, ids[1])
    return ids


def _order_changes(app, order_no: str, **values) -> None:
    with app.app_context():
        db.session.execute(sa.update(Order).where(Order.out_trade_no == order_no).values(**values))
        db.session.commit()
        db.session.remove()


def test_a_refunded_orders_invoice_is_not_re_issued_for_money_gone_back(capp):
    """As when the trainee modifies it: a refunded order's invoice is not re-issued, and a
    re-issued invoice is for what the payer keeps paid (a member's share refunded since)."""
    client, token, _ = _finance(capp)
    _, refunded_id, refunded_no = _group_order_with_issued_invoice(capp, client, token)
    _order_changes(capp, refunded_no, status=OrderStatus.REFUND)
    page = _followed(client, _modify(client, token, refunded_id, SECOND))
    assert "操作未完成：订单已关闭或已退款，不能修改发票" in page
    assert _invoice(capp, refunded_id)[:2] == (InvoiceStatus.ISSUED, FIRST)
    assert _audits(capp, "invoice.modify") == []

    payer_id, invoice_id, order_no = _group_order_with_issued_invoice(capp, client, token)
    with capp.app_context():
        order = db.session.execute(sa.select(Order).where(Order.out_trade_no == order_no)).one()[0]
        assert order.amount_fen == 18000
        now = capp.extensions["clock"].now()
        db.session.add(
            Refund(
                out_refund_no=f"{order_no}R01", order_id=order.id, amount_fen=9000,
                reason="学员调离", requested_by="operator:caiwu", status="SUCCESS",
                succeeded_at=now,
            )
        )  # fmt: skip
        db.session.commit()
        db.session.remove()
    page = _followed(client, _modify(client, token, invoice_id, SECOND))
    assert f"已修改并重新开具发票 {SECOND}" in page
    trainee = capp.test_client()
    trainee_sign_in(trainee, payer_id)
    invoice = trainee.get(f"/api/orders/{order_no}").json["invoice"]
    assert (invoice["number"], invoice["amount"]) == (SECOND, 9000)
    [audit] = _audits(capp, "invoice.modify")
    assert (audit.before["amount_fen"], audit.after["amount_fen"]) == (18000, 9000)


def _anomaly(app, out_trade_no: str = "WX20250616ANOMALY0001") -> int:
    with app.app_context():
        anomaly = PaymentAnomaly(
            source_id="EV-anomaly-0001",
            reason="amount_mismatch",
            out_trade_no=out_trade_no,
            transaction_id="4200000000202506160001",
            detail={"ours": 9000, "theirs": 8000},
            created_at=app.extensions["clock"].now(),
        )
        db.session.add(anomaly)
        db.session.commit()
        anomaly_id = anomaly.id
        db.session.remove()
    return anomaly_id


def _list(client, resolved: bool) -> str:
    page = client.get("/admin/anomalies/", query_string={"resolved": "1" if resolved else "0"})
    assert page.status_code == 200
    start = page.text.index('id="anomaly-list"')
    return page.text[start : page.text.index("</table>", start)]


def test_finance_resolves_a_payment_anomaly_with_a_note(capp):
    anomaly_id = _anomaly(capp)
    client, token, operator_id = _finance(capp)
    assert "WX20250616ANOMALY0001" in _list(client, resolved=False)
    assert "WX20250616ANOMALY0001" not in _list(client, resolved=True)

    # The note says how it was handled: without one, nothing changes.
    for note in (None, "  "):
        data = {"csrf_token": token} | ({"note": note} if note is not None else {})
        reply = client.post(f"/admin/anomalies/{anomaly_id}/resolve", data=data)
        assert "操作未完成：请填写处理说明（如：已在商户平台退款）" in _followed(client, reply)
    assert "WX20250616ANOMALY0001" in _list(client, resolved=False)

    clock = capp.extensions["clock"]
    clock.advance(3600)
    resolved_at = clock.now()
    reply = client.post(
        f"/admin/anomalies/{anomaly_id}/resolve",
        data={"csrf_token": token, "note": "已在商户平台核实，差额已退回"},
    )
    assert "已标记为已处理" in _followed(client, reply)
    assert "WX20250616ANOMALY0001" not in _list(client, resolved=False)
    done = _list(client, resolved=True)
    assert "WX20250616ANOMALY0001" in done
    # When, how and by whom, as the operator reads it.
    assert local(resolved_at).strftime("%Y-%m-%d %H:%M") in done
    assert "已在商户平台核实，差额已退回" in done and "王静" in done

    # A second time (another tab, a double click): refused, the first resolution kept.
    clock.advance(600)
    reply = client.post(
        f"/admin/anomalies/{anomaly_id}/resolve", data={"csrf_token": token, "note": "重复处理"}
    )
    assert "操作未完成：该异常已处理" in _followed(client, reply)
    with capp.app_context():
        assert db.session.get(PaymentAnomaly, anomaly_id).resolved_at == resolved_at
        db.session.remove()
    [audit] = _audits(capp, "anomaly.resolve")
    assert (audit.target_type, audit.target_id) == ("payment_anomalies", str(anomaly_id))
    assert audit.operator_id == operator_id and audit.reason == "已在商户平台核实，差额已退回"
    assert audit.before == {"resolved_at": None}
    assert audit.after == {"resolved_at": resolved_at.isoformat(), "reason": "amount_mismatch"}

    reply = client.post("/admin/anomalies/999999/resolve", data={"csrf_token": token, "note": "无"})
    assert "操作未完成：处理说明太短（至少 2 个字）" in _followed(client, reply)  # one character
    reply = client.post(
        "/admin/anomalies/999999/resolve", data={"csrf_token": token, "note": "已核实"}
    )
    assert "操作未完成：支付异常记录不存在" in _followed(client, reply)


def test_refreshing_a_refund_that_does_not_exist_says_so(capp):
    client, token, _ = _finance(capp)
    reply = client.post("/admin/refunds/999999/refresh", data={"csrf_token": token})
    assert "操作未完成：退款不存在" in _followed(client, reply)
    assert _audits(capp, "refund.query") == []
    # Without the page's token nothing is asked at all.
    assert client.post("/admin/refunds/999999/refresh", data={}).status_code == 400


def _problem(client, day: str) -> str | None:
    page = client.get("/admin/reconciliation/", query_string={"date": day})
    assert page.status_code == 200, page.text
    assert 'id="reconcile-summary"' not in page.text
    if 'id="reconcile-problem"' not in page.text:
        return None
    start = page.text.index('id="reconcile-problem">') + len('id="reconcile-problem">')
    return page.text[start : page.text.index("</div>", start)]


def test_the_reconciliation_page_refuses_a_bad_date_and_a_day_without_a_bill_yet(capp):
    client, _, _ = _finance(capp)
    today = local(capp.extensions["clock"].now()).date()
    page = client.get("/admin/reconciliation/")
    assert page.status_code == 200
    assert f'value="{today - timedelta(days=1)}"' in page.text  # yesterday, ready to run
    assert 'id="reconcile-problem"' not in page.text
    for bad in ("2025-13-01", "abc", "2025-02-30"):
        assert _problem(client, bad) == "日期格式应为 YYYY-MM-DD", bad
    next_day = "微信支付次日生成前一天的账单：请选择昨天或更早的日期"
    for early in (today, today + timedelta(days=1), today.replace(year=today.year + 5)):
        assert _problem(client, early.isoformat()) == next_day, early
    # WeChat Pay keeps three months of bills: older days are refused before asking it.
    kept = "微信支付只提供三个月内的账单：请选择三个月内的日期"
    yesterday = today - timedelta(days=1)
    assert _problem(client, (yesterday - timedelta(days=120)).isoformat()) == kept
    assert months_before(date(2026, 5, 31), 3) == date(2026, 2, 28)
    assert months_before(date(2026, 2, 15), 3) == date(2025, 11, 15)
