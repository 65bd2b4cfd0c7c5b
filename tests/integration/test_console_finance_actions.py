"""财务's console actions that ask WeChat Pay, played by the sandbox over real HTTP on a live
server: 查询状态 of a refund whose REFUND.SUCCESS notification was lost, and 每日对账 of
past days whose trade bill holds real sandbox payments."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import requests
import sqlalchemy as sa

from models import Enrollment, Order, PaymentAnomaly, Refund, db
from tests.api.test_console_finance_actions import _finance, _followed
from tests.api.test_console_support_finance import _audits
from tests.conftest import LiveServer, free_port, serve
from tests.integration.test_reconciliation import _buy_and_pay, _people
from tests.integration.test_refunds import PERSON, login, order_status, read, wait_for
from wxapp.infra.clock import local
from wxapp.pay.client import PayGatewayError
from wxapp.progress.keys import entitlement_key
from wxapp.sandbox import pay_store


@pytest.fixture
def finance_site(base_config: dict[str, Any]) -> Iterator[LiveServer]:
    """A live server with the console on; the sandbox's notification retries without waits
    (one sent where nobody listens is given up at once, not retried for a day)."""
    with serve(base_config, CONSOLE_ENABLED="1", SANDBOX_PAY_NOTIFY_SCALE="0") as server:
        yield server


def _paid_order(app, url: str) -> tuple[str, str]:
    """A trainee's order paid through the sandbox, its notification received: (their ID
    number, its out_trade_no)."""
    [id_number], plan_id = _people(app, 1)
    no = _buy_and_pay(url, id_number, plan_id, lose_notification=False)
    assert wait_for(lambda: order_status(app, no) == "SUCCESS")
    return id_number, no


def _refund(app, order_no: str) -> tuple[int, str, str]:
    """(id, out_refund_no, status) of the order's one refund."""
    return read(
        app,
        lambda: tuple(
            db.session.execute(
                sa.select(Refund.id, Refund.out_refund_no, Refund.status)
                .join(Order, Order.id == Refund.order_id)
                .where(Order.out_trade_no == order_no)
            ).one()
        ),
    )


def _refund_row(page: str, out_refund_no: str) -> str:
    start = page.index(f'data-refund="{out_refund_no}"')
    return page[start : page.index("</tr>", start)]


def test_a_refund_whose_notification_was_lost_is_settled_by_asking_wechat_pay(
    finance_site, monkeypatch
):
    app, url = finance_site.app, finance_site.url
    id_number, no = _paid_order(app, url)
    client, token, operator_id = _finance(app)

    # 财务 refunds the order; WeChat Pay answers PROCESSING and refunds, but its REFUND.SUCCESS
    # notification goes where nobody listens: lost.
    pay = app.extensions["wechatpay"]
    with monkeypatch.context() as patch:
        patch.setattr(pay, "_notify_url", f"http://127.0.0.1:{free_port()}/pay/notify")
        reply = client.post(
            "/admin/refunds/start",
            data={"csrf_token": token, "out_trade_no": no, "reason": "学员申请退费"},
        )
        started = _followed(client, reply)
    assert f"已发起退款 {no}R01（90.00 元），当前状态：退款处理中" in started
    refund_id, out_refund_no, _ = _refund(app, no)
    sandbox_refund = pay_store.load_refund(app.extensions["redis"], out_refund_no)
    assert sandbox_refund["refund_status"] == "SUCCESS"  # the money went back at WeChat Pay
    time.sleep(0.5)  # were the notification coming, it would have come by now
    assert _refund(app, no)[2] == "PROCESSING" and order_status(app, no) == "SUCCESS"
    page = client.get("/admin/refunds/").text
    assert "退款处理中" in _refund_row(page, out_refund_no)
    assert "查询状态" in _refund_row(page, out_refund_no)

    # 查询状态: WeChat Pay says SUCCESS, and the refund, the order and the enrollment follow.
    reply = client.post(f"/admin/refunds/{refund_id}/refresh", data={"csrf_token": token})
    page = _followed(client, reply)
    assert "退款状态：退款成功" in page
    row = _refund_row(page, out_refund_no)
    assert "退款成功" in row and "查询状态" not in row
    assert sandbox_refund["refund_id"] in row
    assert _refund(app, no)[2] == "SUCCESS" and order_status(app, no) == "REFUND"
    enrollment = read(
        app,
        lambda: db.session.execute(
            sa.select(Enrollment.status)
            .join(Order, Order.id == Enrollment.order_id)
            .where(Order.out_trade_no == no)
        ).scalar_one(),
    )
    assert enrollment == "refunded"
    with requests.Session() as trainee:
        login(url, trainee, id_number)
        mine = trainee.get(f"{url}/api/orders/{no}").json()
    assert (mine["status_text"], mine["refunded"], mine["refunding"]) == ("已退款", 9000, 0)

    [audit] = _audits(app, "refund.query")
    assert (audit.target_type, audit.target_id, audit.operator_id) == (
        "refunds", out_refund_no, operator_id,
    )  # fmt: skip
    assert (audit.before, audit.after) == ({"status": "PROCESSING"}, {"status": "SUCCESS"})

    # Asked again (a second tab still showing the button): nothing changes twice.
    reply = client.post(f"/admin/refunds/{refund_id}/refresh", data={"csrf_token": token})
    assert "退款状态：退款成功" in _followed(client, reply)
    assert order_status(app, no) == "REFUND"
    assert pay_store.load(app.extensions["redis"], no)["refunded"] == 9000


def test_a_refund_wechat_pay_does_not_know_is_said_so_and_left_as_it_was(finance_site):
    """A PROCESSING refund WeChat Pay has no record of (its out_refund_no unknown there):
    查询状态 says what WeChat Pay answered, and nothing changes here."""
    app, url = finance_site.app, finance_site.url
    id_number, no = _paid_order(app, url)
    with app.app_context():
        order_id = db.session.execute(
            sa.select(Order.id).where(Order.out_trade_no == no)
        ).scalar_one()
        refund = Refund(
            out_refund_no=f"{no}R09", order_id=order_id, amount_fen=9000, reason="学员申请退费",
            requested_by="operator:caiwu", status="PROCESSING",
        )  # fmt: skip
        db.session.add(refund)
        db.session.commit()
        refund_id = refund.id
        db.session.remove()
    client, token, _ = _finance(app)
    reply = client.post(f"/admin/refunds/{refund_id}/refresh", data={"csrf_token": token})
    assert "操作未完成：微信支付暂时无法查询：退款单不存在" in _followed(client, reply)
    assert _refund(app, no)[2] == "PROCESSING" and order_status(app, no) == "SUCCESS"
    assert _audits(app, "refund.query") == []


def _report(client, day: str) -> tuple[str, str]:
    """The 每日对账 page of a day: its summary line and its differences table."""
    page = client.get("/admin/reconciliation/", query_string={"date": day})
    assert page.status_code == 200, page.text
    assert 'id="reconcile-problem"' not in page.text, page.text
    start = page.text.index('id="reconcile-summary">') + len('id="reconcile-summary">')
    summary = page.text[start : page.text.index("</p>", start)]
    start = page.text.index('id="reconcile-differences"')
    return summary, page.text[start : page.text.index("</table>", start)]


def test_the_reconciliation_page_matches_past_days_against_the_sandbox_bill(finance_site):
    app, url = finance_site.app, finance_site.url
    clock = app.extensions["clock"]
    numbers, plan_id = _people(app, 3)
    first_day = local(clock.now()).date()
    matched = _buy_and_pay(url, numbers[0], plan_id, lose_notification=False)
    assert wait_for(lambda: order_status(app, matched) == "SUCCESS")
    clock.advance(timedelta(days=1).total_seconds())
    second_day = local(clock.now()).date()
    fine = _buy_and_pay(url, numbers[1], plan_id, lose_notification=False)
    lost = _buy_and_pay(url, numbers[2], plan_id, lose_notification=True)
    assert wait_for(lambda: order_status(app, fine) == "SUCCESS")
    assert order_status(app, lost) == "NOTPAY"  # its notification never came
    client, _, _ = _finance(app)

    # Still the day of the payments: its bill is made tomorrow.
    page = client.get("/admin/reconciliation/", query_string={"date": second_day.isoformat()})
    assert "微信支付次日生成前一天的账单" in page.text
    clock.advance(timedelta(days=1).total_seconds())

    # The first day: the one payment in WeChat Pay's bill is the order paid here.
    summary, differences = _report(client, first_day.isoformat())
    assert summary == f"{first_day}：收款 1 笔 90.00 元，退款 0 笔 0.00 元；差异 0 笔。"
    assert "账单与订单一致" in differences and matched not in differences

    # The second day: the paid order matches; the one whose notification was lost is listed.
    summary, differences = _report(client, second_day.isoformat())
    assert summary == f"{second_day}：收款 2 笔 180.00 元，退款 0 笔 0.00 元；差异 1 笔。"
    assert fine not in differences
    assert (
        f"<td>微信支付已收款，本系统未记为已支付</td><td>{lost}</td><td></td>"
        f"<td>90.00</td><td>NOTPAY</td><td>90.00</td>"
    ) in differences

    # Older than the three months WeChat Pay keeps bills for (this one has no Beijing
    # midnight in UTC at all, once a 500): said so.
    page = client.get("/admin/reconciliation/", query_string={"date": "0001-01-01"})
    assert page.status_code == 200 and "微信支付只提供三个月内的账单" in page.text

    # A day without any transaction has no bill: nothing to match, said so.
    quiet = first_day - timedelta(days=1)
    summary, differences = _report(client, quiet.isoformat())
    assert summary.startswith(f"{quiet}：微信支付无该日账单（当日无交易）；收款 0 笔")
    assert "账单与订单一致" in differences


def test_a_refund_of_an_invoiced_order_asks_finance_for_a_red_invoice(finance_site):
    """The trainee had the invoice issued; 财务 then refunds the order. The invoice is for
    money gone back: 支付异常 says so, with its number and amounts, until resolved."""
    app, url = finance_site.app, finance_site.url
    id_number, no = _paid_order(app, url)
    with requests.Session() as trainee:
        login(url, trainee, id_number)
        invoice = trainee.post(f"{url}/api/orders/{no}/invoice", json=PERSON).json()
    assert invoice["status"] == "issued"
    client, token, _ = _finance(app)
    assert "在税务系统开具红字发票" not in client.get("/admin/anomalies/").text

    reply = client.post(
        "/admin/refunds/start",
        data={"csrf_token": token, "out_trade_no": no, "reason": "学员申请退费"},
    )
    _followed(client, reply)
    assert wait_for(lambda: order_status(app, no) == "REFUND")
    page = client.get("/admin/anomalies/").text
    assert "已开发票的订单已退款：请在税务系统开具红字发票" in page
    assert f"发票号码 {invoice['number']}，开票 90.00 元，退款后应为 0.00 元" in page
    [anomaly_id] = read(
        app,
        lambda: list(
            db.session.execute(
                sa.select(PaymentAnomaly.id).where(
                    PaymentAnomaly.reason == "invoice_needs_reversal"
                )
            ).scalars()
        ),
    )
    reply = client.post(
        f"/admin/anomalies/{anomaly_id}/resolve",
        data={"csrf_token": token, "note": "已在税务系统开具红字发票<b>=SUM(1)</b>"},
    )
    assert "已标记为已处理" in _followed(client, reply)
    done = client.get("/admin/anomalies/?resolved=1").text
    # The note is shown as typed, markup as text, never as markup.
    assert "已在税务系统开具红字发票&lt;b&gt;=SUM(1)&lt;/b&gt;" in done and "<b>=SUM" not in done


def test_a_refund_wechat_pay_refuses_says_why_when_asked_again(finance_site, monkeypatch):
    """WeChat Pay refuses the refund (the merchant account's balance is short, say): it stays
    待提交, and 查询状态, which submits it again, says why instead of the state alone."""
    app, url = finance_site.app, finance_site.url
    id_number, no = _paid_order(app, url)
    client, token, _ = _finance(app)
    pay = app.extensions["wechatpay"]
    real_call = pay.call

    def call(name, **fields):
        if name == "refund":  # what WeChat Pay answers when the balance cannot cover it
            raise PayGatewayError("基本账户余额不足，请充值后重新发起", 403, "NOT_ENOUGH")
        return real_call(name, **fields)

    monkeypatch.setattr(pay, "call", call)
    reply = client.post(
        "/admin/refunds/start",
        data={"csrf_token": token, "out_trade_no": no, "reason": "学员申请退费"},
    )
    assert "当前状态：待提交" in _followed(client, reply)
    refund_id, _, status = _refund(app, no)
    assert status == "PENDING"
    reply = client.post(f"/admin/refunds/{refund_id}/refresh", data={"csrf_token": token})
    page = _followed(client, reply)
    assert "退款状态：待提交（微信支付未受理：NOT_ENOUGH 基本账户余额不足" in page
    assert "对账时会再次提交" in page
    # Once WeChat Pay accepts it, the same button settles it, and says no more than that.
    monkeypatch.setattr(pay, "call", real_call)
    reply = client.post(f"/admin/refunds/{refund_id}/refresh", data={"csrf_token": token})
    page = _followed(client, reply)
    assert "微信支付未受理" not in page
    assert wait_for(lambda: order_status(app, no) == "REFUND")


def test_a_refund_settled_by_reconciliation_stops_the_learning_at_once(finance_site, monkeypatch):
    """The REFUND.SUCCESS notification is lost and `orders reconcile` finds the refund done:
    the member's cached entitlement goes too, as with the notification, so they cannot go
    on learning the refunded plan for the cache's hour."""
    app, url = finance_site.app, finance_site.url
    _, no = _paid_order(app, url)
    client, token, _ = _finance(app)
    pay = app.extensions["wechatpay"]
    with monkeypatch.context() as patch:
        patch.setattr(pay, "_notify_url", f"http://127.0.0.1:{free_port()}/pay/notify")
        _followed(
            client,
            client.post(
                "/admin/refunds/start",
                data={"csrf_token": token, "out_trade_no": no, "reason": "学员申请退费"},
            ),
        )
    time.sleep(0.5)
    assert _refund(app, no)[2] == "PROCESSING"
    payer = read(
        app,
        lambda: db.session.execute(
            sa.select(Order.payer_id).where(Order.out_trade_no == no)
        ).scalar_one(),
    )
    r = app.extensions["redis"]
    r.set(entitlement_key(payer), "cached while the refund was under way")
    app.extensions["clock"].advance(seconds=600)
    result = app.test_cli_runner().invoke(args=["orders", "reconcile"])
    assert result.exit_code == 0 and '"refunds_updated": 1' in result.output, result.output
    assert _refund(app, no)[2] == "SUCCESS" and order_status(app, no) == "REFUND"
    assert not r.exists(entitlement_key(payer))
