"""每日对账 through the sandbox's real trade bill: WeChat Pay's v3 bill API (tradebill, then
the gzipped file, its SHA1 checked) against the orders. Planted: a payment whose notification
was lost (paid at WeChat Pay, unpaid here) and an order whose amount here differs."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
import requests
import sqlalchemy as sa

from models import Order, Refund, RefundStatus, db
from tests.factories import make_binding, make_plan, make_trainee
from tests.integration.test_refunds import login, order_status, wait_for
from wxapp.infra.clock import SHANGHAI, local
from wxapp.orders import reconciliation, refunds
from wxapp.orders.reconciliation import BillFormatError, parse_trade_bill
from wxapp.pay.client import PayGatewayError
from wxapp.sandbox import pay_store
from wxapp.sandbox.pay_bill import HEADER, _payment_row


def _people(app, n: int) -> tuple[list[str], int]:
    with app.app_context():
        plan = make_plan()
        numbers = []
        for i in range(n):
            trainee = make_trainee(name=f"对账{i}")
            make_binding(trainee)
            numbers.append(trainee.id_number)
        db.session.commit()
        plan_id = plan.id
        db.session.remove()
    return numbers, plan_id


def _buy_and_pay(url: str, id_number: str, plan_id: int, *, lose_notification: bool) -> str:
    """A trainee orders the plan and pays at the sandbox cashier; the sandbox then notifies
    /pay/notify, unless told to drop the notification (a lost one)."""
    with requests.Session() as http:
        login(url, http, id_number)
        order = http.post(f"{url}/api/orders", json={"plan_id": plan_id})
        assert order.status_code in (200, 201), order.text
        no = order.json()["out_trade_no"]
        params = http.post(f"{url}/api/orders/{no}/pay", json={}).json()["params"]
        page = http.get(f"{url}/_sandbox/pay/cashier", params=params)
        assert page.status_code == 200, page.text
        form = {"out_trade_no": no, "action": "pay"}
        if lose_notification:
            form["drop_notify"] = "1"
        done = http.post(f"{url}/_sandbox/pay/cashier", data=form)
        assert done.status_code == 200 and "支付成功" in done.text
    return no


def _one_paid_order(live_server) -> tuple[str, date]:
    """A trainee's order paid today, its notification applied: (out_trade_no, today)."""
    app = live_server.app
    numbers, plan_id = _people(app, 1)
    no = _buy_and_pay(live_server.url, numbers[0], plan_id, lose_notification=False)
    assert wait_for(lambda: order_status(app, no) == "SUCCESS")
    return no, local(app.extensions["clock"].now()).date()


def test_the_daily_bill_shows_a_lost_notification_and_a_differing_amount(live_server):
    app, url = live_server.app, live_server.url
    clock = app.extensions["clock"]
    numbers, plan_id = _people(app, 3)
    fine = _buy_and_pay(url, numbers[0], plan_id, lose_notification=False)
    lost = _buy_and_pay(url, numbers[1], plan_id, lose_notification=True)
    changed = _buy_and_pay(url, numbers[2], plan_id, lose_notification=False)
    assert wait_for(lambda: order_status(app, fine) == "SUCCESS")
    assert wait_for(lambda: order_status(app, changed) == "SUCCESS")
    assert order_status(app, lost) == "NOTPAY"  # the notification never came
    # Planted: the amount here no longer matches what WeChat Pay took.
    with app.app_context():
        db.session.execute(
            sa.update(Order).where(Order.out_trade_no == changed).values(amount_fen=8000)
        )
        db.session.commit()
        db.session.remove()
    day = local(clock.now()).date()
    client = app.extensions["wechatpay"]

    # The bill of a day is made the next day, as at WeChat Pay.
    with app.app_context(), pytest.raises(PayGatewayError):
        client.call("trade_bill", bill_date=day.isoformat(), bill_type="ALL", tar_type="GZIP")
    clock.advance(timedelta(days=1).total_seconds())

    with app.app_context():
        text = client.download_trade_bill(day.isoformat())
        rows = parse_trade_bill(text)
        assert {r.out_trade_no for r in rows} == {fine, lost, changed}
        assert {r.amount_fen for r in rows} == {9000}
        report = reconciliation.reconcile_day(client, day)
        db.session.remove()
    assert report.bill_found and report.payments == 3 and report.paid_fen == 27000
    found = {(d.kind, d.out_trade_no, d.ours_fen, d.theirs_fen) for d in report.differences}
    assert found == {
        ("missing_here", lost, 9000, 9000),
        ("amount_differs", changed, 8000, 9000),
    }
    labels = {d.out_trade_no: d.label for d in report.differences}
    assert labels[lost] == "微信支付已收款，本系统未记为已支付"

    # The CLI says the same, line by line, and exits 2 on differences.
    result = app.test_cli_runner().invoke(args=["orders", "reconcile", "--date", day.isoformat()])
    assert result.exit_code == 2, result.output
    assert "收款 3 笔 270.00 元" in result.output and "差异 2 笔" in result.output
    assert f"订单 {lost}" in result.output and "微信支付已收款，本系统未记为已支付" in result.output
    assert f"订单 {changed}" in result.output and "本系统 80.00" in result.output

    # A day without any transaction has no bill: nothing differs.
    with app.app_context():
        empty = reconciliation.reconcile_day(client, day - timedelta(days=3))
        db.session.remove()
    assert not empty.bill_found and empty.differences == []


def test_an_order_paid_here_but_absent_from_the_bill_is_listed(live_server):
    """Paid here (its notification applied) but the bill of that day lacks it: e.g. our
    success time was recorded on the wrong day. Planted by moving the bill's payment."""
    app, clock = live_server.app, live_server.app.extensions["clock"]
    no, day = _one_paid_order(live_server)
    r = app.extensions["redis"]
    tx = pay_store.load(r, no)
    tx["success_time"] = local(clock.now() - timedelta(days=1)).isoformat(timespec="seconds")
    pay_store.save(r, tx)
    clock.advance(timedelta(days=1).total_seconds())
    with app.app_context():
        report = reconciliation.reconcile_day(app.extensions["wechatpay"], day)
        db.session.remove()
    assert [(d.kind, d.out_trade_no, d.theirs_fen) for d in report.differences] == [
        ("missing_there", no, None)
    ]


def test_a_bill_whose_text_is_not_a_bill_is_refused():
    with pytest.raises(BillFormatError):
        parse_trade_bill("hello,world\r\n")
    with pytest.raises(BillFormatError):
        reconciliation.to_fen("9.001")


def test_a_revoked_payment_in_the_bill_is_neither_a_payment_nor_a_difference():
    """The merchant number may also take 付款码 payments at the centre's counter; one it
    revoked appears in the bill as REVOKED. No money moved: 财务 must not see it as paid."""

    def row(out_trade_no: str, state: str) -> str:
        tx = {
            "success_time": "2025-06-01T10:00:00+08:00",
            "appid": "wx_test",
            "mchid": "1900000001",
            "transaction_id": f"42000{out_trade_no}",
            "out_trade_no": out_trade_no,
            "amount": {"total": 9000},
            "trade_type": "MICROPAY",
        }
        values = _payment_row(tx)
        values[HEADER.index("交易状态")] = state
        return ",".join("`" + v for v in values)

    bill = "\r\n".join([",".join(HEADER), row("counter-1", "SUCCESS"), row("counter-2", "REVOKED")])
    rows = parse_trade_bill(bill + "\r\n")
    assert [(r.out_trade_no, r.state, r.amount_fen) for r in rows] == [
        ("counter-1", "SUCCESS", 9000)
    ]
    differences = reconciliation.compare(rows, [], [])
    assert [(d.kind, d.out_trade_no) for d in differences] == [("missing_here", "counter-1")]


def test_a_refund_learned_after_midnight_is_counted_on_the_day_wechat_pay_made_it(live_server):
    """WeChat Pay refunds at 23:59; its REFUND.SUCCESS is lost, and `orders reconcile` learns of
    it at 00:05 by asking. Each day's bill must then agree with ours: the refund is the bill's
    of the first day, and the second day has nothing to explain to 财务."""
    app, clock = live_server.app, live_server.app.extensions["clock"]
    no, day = _one_paid_order(live_server)
    clock.set(datetime.combine(day, time(23, 59), tzinfo=SHANGHAI))
    with app.app_context():
        order = db.session.execute(sa.select(Order).where(Order.out_trade_no == no)).scalar_one()
        refund = refunds.record_refund(
            order, [order.payer_id], "学员调离本单位", "operator:test", clock.now()
        )
        out_refund_no = refund.out_refund_no
        db.session.execute(  # WeChat Pay accepted it ...
            sa.update(Refund)
            .where(Refund.out_refund_no == out_refund_no)
            .values(status=RefundStatus.PROCESSING, updated_at=clock.now())
        )
        db.session.commit()
        app.extensions["wechatpay"].call(
            "refund",
            out_refund_no=out_refund_no,
            out_trade_no=no,
            amount={"refund": 9000, "total": 9000, "currency": "CNY"},
            notify_url="http://127.0.0.1:9/pay/notify",  # ... and its notification is lost
        )
        db.session.remove()

    clock.set(datetime.combine(day + timedelta(days=1), time(0, 5), tzinfo=SHANGHAI))
    result = app.test_cli_runner().invoke(args=["orders", "reconcile"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        status, succeeded_at = db.session.execute(
            sa.select(Refund.status, Refund.succeeded_at).where(
                Refund.out_refund_no == out_refund_no
            )
        ).one()
        first = reconciliation.reconcile_day(app.extensions["wechatpay"], day)
        clock.advance(timedelta(days=1).total_seconds())
        second = reconciliation.reconcile_day(app.extensions["wechatpay"], day + timedelta(days=1))
        db.session.remove()
    assert status == "SUCCESS", result.output
    assert (first.refunds, first.refunded_fen, first.differences) == (1, 9000, [])
    assert second.differences == []
    assert local(succeeded_at) == datetime.combine(day, time(23, 59), tzinfo=SHANGHAI)
