"""提交订单 pressed again while WeChat Pay's notification is paying the pending order: the
retry waits for the payment's row lock and then says the plan is bought; it neither hands
back the order as unpaid nor changes the invoice asked for at purchase."""

from __future__ import annotations

import threading
import time

import requests
import sqlalchemy as sa

from models import Invoice, Order, db
from tests.e2e.test_pay_sandbox import login, setup

INVOICE = {"title_type": "个人", "title": "李四", "email": "li@example.cn"}


def test_a_retry_during_the_payment_waits_for_it_and_is_refused(live_server):
    app = live_server.app
    ids = setup(app)
    with requests.Session() as http:
        login(live_server, http, ids["id_number"])
        first = http.post(
            f"{live_server.url}/api/orders", json={"plan_id": ids["plan"], "invoice": INVOICE}
        )
        assert first.status_code == 201, first.text
        no = first.json()["out_trade_no"]
        with app.app_context():
            engine = db.engine
        answers: list[requests.Response] = []
        with engine.connect() as payment:
            tx = payment.begin()
            # The notification's transaction has the order's row (its paid UPDATE holds it).
            payment.execute(sa.select(Order.id).where(Order.out_trade_no == no).with_for_update())
            retry = threading.Thread(
                target=lambda: answers.append(
                    http.post(f"{live_server.url}/api/orders", json={"plan_id": ids["plan"]})
                )
            )
            retry.start()
            time.sleep(0.5)
            assert retry.is_alive(), answers and answers[0].text  # it waits for the payment
            payment.execute(
                sa.update(Order)
                .where(Order.out_trade_no == no)
                .values(status="SUCCESS", success_time=sa.func.now())
            )
            tx.commit()
        retry.join(10)
    assert answers[0].status_code == 409, answers[0].text
    assert answers[0].json()["error"] == "already_enrolled"
    with app.app_context():
        kept = db.session.execute(sa.select(Invoice.status, Invoice.title)).all()
        db.session.remove()
    assert [tuple(r) for r in kept] == [("requested", "李四")]  # 以后申请 did not take it back
