"""团体购买 修改并重新提交, against the WeChat Pay sandbox over real HTTP: the corrected list
sent again replaces the payer's earlier unpaid order (closed at WeChat Pay first) with one
order for everyone; never another payer's order, never a paid one, never two orders for two
clicks at once. And a refused payment says who bought meanwhile, masked."""

from __future__ import annotations

import threading
from urllib.parse import urlencode

import requests
import sqlalchemy as sa

from models import Enrollment, Order, db
from tests.e2e.test_pay_sandbox import cashier_pay, login, wait_for
from tests.factories import (
    enroll,
    make_binding,
    make_id_number,
    make_order,
    make_plan,
    make_trainee,
)
from wxapp.orders import group

LATE = 778_001  # the serial of the colleague registered between the two pastes


def world(app) -> dict:
    with app.app_context():
        payer, stranger = make_trainee(name="单位经办人"), make_trainee(name="旁人")
        make_binding(payer)
        staff = [make_trainee(name=name) for name in ("张一", "王二", "李三")]
        plan = make_plan()
        db.session.commit()
        return {
            "payer": payer.id_number,
            "stranger": stranger.id_number,
            "plan": plan.id,
            "staff": [t.id_number for t in staff],
            "late": make_id_number(LATE),
        }


def register_late(app) -> None:
    with app.app_context():
        make_trainee(name="赵四", n=LATE)
        db.session.commit()


def paste(server, http, w, numbers, replace=None):
    body = {"plan_id": w["plan"], "id_numbers": "\n".join(numbers)}
    if replace is not None:
        body["replace_orders"] = replace
    return http.post(f"{server.url}/api/group-orders", json=body)


def status(server, http, no: str) -> str:
    return http.get(f"{server.url}/api/orders/{no}").json()["status"]


def orders_of(app, plan_id: int) -> list[tuple[str, int]]:
    with app.app_context():
        rows = db.session.execute(
            sa.select(Order.status, Order.quantity)
            .where(Order.plan_id == plan_id)
            .order_by(Order.id)
        ).all()
        db.session.remove()
        return [tuple(r) for r in rows]


def first_paste_then_corrected(server, http, w):
    """The clerk's first paste (one colleague not registered yet: order A for the others),
    the colleague registered, the corrected full list pasted again (order B for that one,
    the others in A)."""
    login(server, http, w["payer"])
    first = paste(server, http, w, [*w["staff"], w["late"]])
    assert first.status_code == 201 and first.json()["accepted"] == 3
    register_late(server.app)
    again = paste(server, http, w, [*w["staff"], w["late"]])
    assert again.status_code == 201
    return first.json()["order"]["out_trade_no"], again.json()


def test_the_corrected_list_replaces_the_earlier_unpaid_order_in_one_step(live_server):
    w = world(live_server.app)
    with requests.Session() as http:
        a, again = first_paste_then_corrected(live_server, http, w)
        # WeChat Pay knows A: its QR code was shown.
        qr = http.post(f"{live_server.url}/api/orders/{a}/pay", json={"method": "native"})
        assert qr.status_code == 200, qr.text
        b = again["order"]["out_trade_no"]
        assert again["accepted"] == 1
        assert {r["reason"] for r in again["rejects"]} == {group.PENDING_GROUP}
        assert [
            (o["out_trade_no"], o["quantity"], o["lines"]) for o in again["pending_orders"]
        ] == [(a, 3, 3)]

        res = paste(live_server, http, w, [*w["staff"], w["late"]], replace=[a, b])
        assert res.status_code == 201, res.text
        done = res.json()
        assert (done["accepted"], done["rejects"], done["pending_orders"]) == (4, [], [])
        assert done["replaced"] == [a, b]
        assert (done["order"]["quantity"], done["order"]["amount"]) == (4, 4 * 9000)
        assert (status(live_server, http, a), status(live_server, http, b)) == ("CLOSED", "CLOSED")
        listed = http.get(f"{live_server.url}/api/me/group-orders").json()["items"]
        assert [(o["status"], o["quantity"]) for o in listed if o["status"] == "NOTPAY"] == [
            ("NOTPAY", 4)
        ]
        # Closed at WeChat Pay too: A's QR code pays nothing any more.
        scan = http.get(
            f"{live_server.url}/_sandbox/pay/scan?"
            + urlencode({"code_url": qr.json()["code_url"]}),
        )
        assert 'id="pay"' not in scan.text


def test_another_payers_order_or_a_personal_one_is_not_replaced(live_server):
    w = world(live_server.app)
    with requests.Session() as stranger, requests.Session() as http:
        login(live_server, stranger, w["stranger"])
        theirs = paste(live_server, stranger, w, w["staff"][:1]).json()["order"]["out_trade_no"]
        login(live_server, http, w["payer"])
        mine = http.post(f"{live_server.url}/api/orders", json={"plan_id": w["plan"]}).json()

        res = paste(live_server, http, w, w["staff"], replace=[theirs])
        assert res.status_code == 404 and res.json()["error"] == "order_not_found"
        res = paste(live_server, http, w, w["staff"], replace=[mine["out_trade_no"]])
        assert res.status_code == 409 and res.json()["error"] == "order_not_replaceable"
        assert res.json()["message"] == "只能取消本培训项目中您自己未支付的团购订单"
        assert status(live_server, stranger, theirs) == "NOTPAY"
        assert status(live_server, http, mine["out_trade_no"]) == "NOTPAY"
        assert http.get(f"{live_server.url}/api/me/group-orders").json()["items"] == []
        # And the stranger's order is no business of the payer's paste either.
        plain = paste(live_server, http, w, w["staff"]).json()
        assert (plain["accepted"], plain["pending_orders"]) == (3, [])


def test_an_earlier_order_paid_meanwhile_is_not_cancelled_and_nothing_is_ordered(live_server):
    """The clerk's colleague paid order A at the cashier a moment ago (its notification not
    here yet): 取消原订单并重新提交 must not cancel it, nor order its members again."""
    w = world(live_server.app)
    with requests.Session() as http:
        a, again = first_paste_then_corrected(live_server, http, w)
        b = again["order"]["out_trade_no"]
        params = http.post(f"{live_server.url}/api/orders/{a}/pay", json={}).json()["params"]
        cashier_pay(live_server, http, params, drop_notify=True)

        res = paste(live_server, http, w, [*w["staff"], w["late"]], replace=[a, b])
        assert res.status_code == 409 and res.json()["error"] == "replaced_order_paid"
        assert res.json()["message"].startswith(f"原订单 {a} 已支付成功，不能取消，本次名单未提交")
        assert status(live_server, http, a) == "SUCCESS"
        assert status(live_server, http, b) == "NOTPAY"  # A came first and stopped it all
        with live_server.app.app_context():
            paid = db.session.execute(sa.select(sa.func.count()).select_from(Enrollment)).scalar()
            db.session.remove()
        assert paid == 3
        assert orders_of(live_server.app, w["plan"]) == [("SUCCESS", 3), ("NOTPAY", 1)]


def test_an_earlier_order_refunded_at_wechat_pay_stops_the_resubmission(live_server):
    """Order A was paid and refunded at WeChat Pay with neither notified here: it cannot be
    closed there. The resubmission says so, names A, and orders nothing."""
    w = world(live_server.app)
    app = live_server.app
    with requests.Session() as http:
        a, again = first_paste_then_corrected(live_server, http, w)
        b = again["order"]["out_trade_no"]
        params = http.post(f"{live_server.url}/api/orders/{a}/pay", json={}).json()["params"]
        cashier_pay(live_server, http, params, drop_notify=True)
        with app.app_context():
            total = db.session.execute(
                sa.select(Order.amount_fen).where(Order.out_trade_no == a)
            ).scalar_one()
            app.extensions["wechatpay"].call(
                "refund",
                out_trade_no=a,
                out_refund_no=f"R{a}",
                amount={"refund": total, "total": total, "currency": "CNY"},
                notify_url=f"{live_server.url}/_sandbox/void",
            )
            db.session.remove()

        res = paste(live_server, http, w, [*w["staff"], w["late"]], replace=[a, b])
        assert res.status_code == 409, res.text
        assert res.json()["error"] == "replaced_order_not_settled"
        assert res.json()["out_trade_no"] == a
        assert res.json()["message"].startswith(f"原订单 {a} 暂不能取消，本次名单未提交")
        assert status(live_server, http, a) == "NOTPAY"
        assert status(live_server, http, b) == "NOTPAY"
        assert orders_of(app, w["plan"]) == [("NOTPAY", 3), ("NOTPAY", 1)]


def test_two_resubmissions_at_once_make_one_order(live_server):
    w = world(live_server.app)
    with requests.Session() as http:
        a, again = first_paste_then_corrected(live_server, http, w)
        b = again["order"]["out_trade_no"]
        cookies = http.cookies.get_dict()
        answers: list[requests.Response] = []
        start = threading.Barrier(2)

        def click():
            with requests.Session() as tab:
                tab.cookies.update(cookies)
                start.wait()
                answers.append(paste(live_server, tab, w, [*w["staff"], w["late"]], [a, b]))

        tabs = [threading.Thread(target=click) for _ in range(2)]
        for t in tabs:
            t.start()
        for t in tabs:
            t.join(30)
        assert sorted(r.status_code for r in answers) in ([200, 201], [201, 503]), [
            r.text for r in answers
        ]
        made = next(r.json() for r in answers if r.status_code == 201)
        assert made["accepted"] == 4
        assert wait_for(
            lambda: (
                orders_of(live_server.app, w["plan"])
                == [("CLOSED", 3), ("CLOSED", 1), ("NOTPAY", 4)]
            )
        ), orders_of(live_server.app, w["plan"])
        other = next(r for r in answers if r.status_code != 201)
        if other.status_code == 200:  # it found the four in the order the first one made
            assert other.json()["accepted"] == 0 and other.json()["order"] is None
            assert [o["out_trade_no"] for o in other.json()["pending_orders"]] == [
                made["order"]["out_trade_no"]
            ]


def test_a_refused_payment_names_who_bought_meanwhile_masked(app, client, clock):
    with app.app_context():
        payer, zhang, wang = make_trainee(), make_trainee(name="张一"), make_trainee(name="王二")
        plan = make_plan()
        order = make_order(payer, plan, clock.now(), trainees=[zhang, wang])
        enroll(zhang.id, plan.id, clock.now())
        db.session.commit()
        no, payer_id, number = order.out_trade_no, payer.id, zhang.id_number
    with client.session_transaction() as s:
        s["tid"], s["must_change"] = payer_id, False
    masked = number[:6] + "********" + number[-4:]
    for method in ("jsapi", "native"):
        res = client.post(f"/api/orders/{no}/pay", json={"method": method})
        assert res.status_code == 409 and res.json["error"] == "members_enrolled"
        assert res.json["members"] == [{"name": "张*", "id_number_masked": masked}]
        assert res.json["message"] == (
            f"订单中有 1 名学员已购买该培训项目：张*（{masked}）。"
            "请取消本订单后重新提交团购名单（不含以上学员）"
        )
