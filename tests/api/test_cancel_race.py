"""取消订单 against the WeChat Pay sandbox over real HTTP: an order paid at WeChat Pay while the
trainee cancels is settled as paid (enrolled once), never cancelled."""

from __future__ import annotations

import requests

from models import Enrollment, Order, Outbox, PaymentAnomaly, db
from tests.e2e.test_pay_sandbox import (
    cashier_pay,
    enrolled_plans,
    login,
    order_and_params,
    setup,
    wait_for,
)


def paid_once(app, trainee_id: int, no: str) -> tuple[str, int, int]:
    with app.app_context():
        status = db.session.execute(
            db.select(Order.status).where(Order.out_trade_no == no)
        ).scalar_one()
        enrollments = len(
            db.session.execute(db.select(Enrollment).where(Enrollment.trainee_id == trainee_id))
            .scalars()
            .all()
        )
        events = len(db.session.execute(db.select(Outbox)).scalars().all())
        db.session.remove()
        return status, enrollments, events


def test_cancel_of_an_order_paid_but_not_yet_notified_is_refused(live_server):
    app = live_server.app
    ids = setup(app)
    with requests.Session() as http:
        no, params = order_and_params(live_server, http, ids)
        cashier_pay(live_server, http, params, drop_notify=True)  # its notification is late
        res = http.post(f"{live_server.url}/api/orders/{no}/cancel")
        assert res.status_code == 409 and res.json()["error"] == "order_paid"
        assert "已支付成功，不能取消" in res.json()["message"]
        assert http.get(f"{live_server.url}/api/orders/{no}").json()["status"] == "SUCCESS"
    assert paid_once(app, ids["trainee"], no) == ("SUCCESS", 1, 1)
    assert enrolled_plans(app, ids["trainee"]) == [ids["plan"]]


def test_paid_between_the_query_and_the_close(live_server, monkeypatch):
    """The trainee pays on one phone the moment they cancel on another: WeChat Pay said
    NOTPAY, then refuses the close (ORDERPAID) and notifies the payment. Paid once."""
    app = live_server.app
    ids = setup(app)
    client = app.extensions["wechatpay"]
    real_call = client.call
    with requests.Session() as http, requests.Session() as other_phone:
        no, params = order_and_params(live_server, http, ids)

        def call(name, **fields):
            if name == "close":  # the other phone presses 确认支付 in the cashier just now
                cashier_pay(live_server, other_phone, params)
            return real_call(name, **fields)

        monkeypatch.setattr(client, "call", call)
        res = http.post(f"{live_server.url}/api/orders/{no}/cancel")
        assert res.status_code == 409 and res.json()["error"] == "order_paid"
        # The sandbox's own notification of that payment arrives too: nothing doubles.
        assert wait_for(lambda: paid_once(app, ids["trainee"], no) == ("SUCCESS", 1, 1))
        page = http.get(f"{live_server.url}/_sandbox/pay/cashier", params=params)
        assert 'id="pay"' not in page.text  # and WeChat Pay offers nothing more to pay


def test_an_order_refunded_at_wechat_pay_unknown_here_is_not_reported_cancelled(live_server):
    """Paid and refunded at WeChat Pay with neither notified here (the 商户平台 refunded it):
    WeChat Pay reports REFUND and cannot close it. 取消 must not answer as if it had: the
    order stays unpaid here, the trainee is told to wait or call, and 财务 sees an anomaly."""
    app = live_server.app
    ids = setup(app)
    with requests.Session() as http:
        no, params = order_and_params(live_server, http, ids)
        cashier_pay(live_server, http, params, drop_notify=True)
        with app.app_context():
            app.extensions["wechatpay"].call(
                "refund",
                out_trade_no=no,
                out_refund_no=f"R{no}"[:64],
                amount={"refund": 9000, "total": 9000, "currency": "CNY"},
                notify_url=f"{live_server.url}/_sandbox/void",  # the refund's notice is lost
            )
        res = http.post(f"{live_server.url}/api/orders/{no}/cancel")
        assert res.status_code == 409, res.text
        assert res.json()["error"] == "order_not_settled"
        assert "暂不能取消" in res.json()["message"]
        assert http.get(f"{live_server.url}/api/orders/{no}").json()["status"] == "NOTPAY"
    with app.app_context():
        kinds = db.session.execute(db.select(PaymentAnomaly.reason)).scalars().all()
        db.session.remove()
    assert "refunded_while_unpaid" in kinds
    assert enrolled_plans(app, ids["trainee"]) == []


def test_an_order_cancelled_while_its_prepay_was_opened_is_not_handed_to_the_page(
    live_server, monkeypatch
):
    """The trainee presses 去支付 on one phone and 取消订单 on another: the cancel commits
    while WeChat Pay answers the prepay. The pay request says the order is closed; it used
    to hand the page a prepay for an order closed here."""
    app = live_server.app
    ids = setup(app)
    client = app.extensions["wechatpay"]
    real_call = client.call
    with requests.Session() as http, requests.Session() as other_phone:
        login(live_server, http, ids["id_number"])
        login(live_server, other_phone, ids["id_number"])
        no = http.post(f"{live_server.url}/api/orders", json={"plan_id": ids["plan"]}).json()[
            "out_trade_no"
        ]

        def call(name, **fields):
            answer = real_call(name, **fields)
            if name == "pay":  # the other phone cancels just as the prepay comes back
                monkeypatch.setattr(client, "call", real_call)
                cancelled = other_phone.post(f"{live_server.url}/api/orders/{no}/cancel")
                assert cancelled.status_code == 200, cancelled.text
            return answer

        monkeypatch.setattr(client, "call", call)
        pay = http.post(f"{live_server.url}/api/orders/{no}/pay", json={})
        assert pay.status_code == 409 and pay.json()["error"] == "order_closed", pay.text
        assert http.get(f"{live_server.url}/api/orders/{no}").json()["status"] == "CLOSED"
