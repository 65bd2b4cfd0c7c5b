"""Individual orders over the API: create, reuse, own orders only, the rules that refuse."""

from datetime import timedelta

import pytest

from models import Trainee, db
from tests.api.test_group_orders import pay, refund_succeeded
from tests.factories import make_order, make_plan, make_trainee
from wxapp.orders import refund_requests
from wxapp.orders.enrollments import grant_enrollment
from wxapp.pay.client import get_wechatpay


@pytest.fixture
def world(app, clock):
    with app.app_context():
        me, other = make_trainee(name="张三"), make_trainee(name="李四")
        plan = make_plan()
        off_sale = make_plan()
        off_sale.sale_end = clock.now() - timedelta(days=1)
        db.session.commit()
        return {"me": me.id, "other": other.id, "plan": plan.id, "off_sale": off_sale.id}


def as_trainee(client, tid):
    with client.session_transaction() as s:
        s["tid"], s["must_change"] = tid, False


def test_create_then_reuse_the_pending_order(client, clock, world):
    as_trainee(client, world["me"])
    res = client.post("/api/orders", json={"plan_id": world["plan"], "invoice": None})
    assert res.status_code == 201
    order = res.json
    assert (order["status"], order["amount"], order["plan_id"], order["kind"]) == (
        "NOTPAY",
        9000,  # 60 学时 x 1.5 元
        world["plan"],
        "individual",
    )
    again = client.post("/api/orders", json={"plan_id": world["plan"]})
    assert again.json["out_trade_no"] == order["out_trade_no"]
    assert client.get(f"/api/orders/{order['out_trade_no']}").json["status"] == "NOTPAY"
    assert [o["out_trade_no"] for o in client.get("/api/me/orders").json["items"]] == [
        order["out_trade_no"]
    ]
    # Once the pending order has expired, a new one is made.
    clock.advance(2 * 3600 + 1)
    fresh = client.post("/api/orders", json={"plan_id": world["plan"]})
    assert fresh.json["out_trade_no"] != order["out_trade_no"]


def test_another_trainees_order_is_not_found(app, client, clock, world):
    with app.app_context():
        from models import Trainee, TrainingPlan

        order = make_order(
            db.session.get(Trainee, world["other"]),
            db.session.get(TrainingPlan, world["plan"]),
            clock.now(),
        )
        db.session.commit()
        no = order.out_trade_no
    as_trainee(client, world["me"])
    assert client.get(f"/api/orders/{no}").status_code == 404
    assert client.post(f"/api/orders/{no}/pay").status_code == 404
    assert client.get("/api/me/orders").json["items"] == []


def test_already_bought_or_off_sale_is_refused(app, client, clock, world):
    with app.app_context():
        grant_enrollment(world["me"], world["plan"], clock.now())
        db.session.commit()
    as_trainee(client, world["me"])
    res = client.post("/api/orders", json={"plan_id": world["plan"]})
    assert res.status_code == 409 and "已购买" in res.json["message"]
    res = client.post("/api/orders", json={"plan_id": world["off_sale"]})
    assert res.status_code == 409 and res.json["error"] == "plan_not_on_sale"


def test_bad_input_names_the_field(client, world):
    as_trainee(client, world["me"])
    assert client.post("/api/orders", json={}).json["field"] == "plan_id"
    assert client.post("/api/orders", json={"plan_id": "1"}).status_code == 422
    assert client.post("/api/orders", json={"plan_id": 999999}).status_code == 404
    res = client.post(
        "/api/orders",
        json={
            "plan_id": world["plan"],
            "invoice": {"title_type": "单位", "title": "某单位", "email": "a@b.cn"},
        },
    )
    assert res.status_code == 422 and res.json["field"] == "invoice.tax_number"
    res = client.post(f"/api/orders/{'x' * 26}/pay", json={"method": "alipay"})
    assert res.status_code == 422 and res.json["field"] == "method"


def test_orders_need_a_session(client):
    assert client.post("/api/orders", json={"plan_id": 1}).status_code == 401
    assert client.get("/api/me/orders").status_code == 401


def test_paying_a_group_order_with_a_member_already_enrolled_is_refused(app, client, clock):
    """The double charge, stopped before the money moves: a member bought the plan alone
    after the group order was made; paying the group order is refused, naming them, and no
    prepay is opened at WeChat Pay."""
    with app.app_context():
        payer, bought, other = make_trainee(), make_trainee(), make_trainee()
        plan = make_plan()
        order = make_order(payer, plan, clock.now(), trainees=[bought, other])
        grant_enrollment(bought.id, plan.id, clock.now())
        db.session.commit()
        no, payer_id, id_number = order.out_trade_no, payer.id, bought.id_number
    as_trainee(client, payer_id)
    for method in ("jsapi", "native"):
        res = client.post(f"/api/orders/{no}/pay", json={"method": method})
        assert res.status_code == 409, res.json
        assert res.json["error"] == "members_enrolled"
        assert res.json["id_numbers"] == [id_number]
        assert res.json["message"].startswith("订单中有 1 名学员已购买该培训项目")
    assert client.get(f"/api/orders/{no}/qrcode.png").status_code == 409
    assert client.get(f"/api/orders/{no}").json["status"] == "NOTPAY"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/orders/a%00b"),
        ("post", "/api/orders/a%00b/pay"),
        ("post", "/api/orders/a%00b/cancel"),
        ("post", "/api/orders/a%00b/invoice"),
        ("get", "/api/orders/a%00b/qrcode.png"),
        ("get", "/api/group-orders/a%00b/members"),
        ("get", "/api/orders/" + "1" * 33),
    ],
)
def test_an_order_number_no_order_can_have_is_not_found(client, world, method, path):
    as_trainee(client, world["me"])
    res = getattr(client, method)(path, json={} if method == "post" else None)
    assert res.status_code == 404 and res.json["error"] == "not_found"


def test_cancelling_while_wechat_pay_cannot_be_reached_says_so(client, world):
    """The test app's WeChat Pay address serves nothing: the cancel tells the trainee to try
    again (503) and the order stays open, as paying does."""
    as_trainee(client, world["me"])
    order = client.post("/api/orders", json={"plan_id": world["plan"], "invoice": None}).json
    res = client.post(f"/api/orders/{order['out_trade_no']}/cancel")
    assert res.status_code == 503 and res.json["error"] == "pay_unavailable"
    assert client.get(f"/api/orders/{order['out_trade_no']}").json["status"] == "NOTPAY"


def test_a_refunded_order_says_why_in_fixed_words(app, client, clock, world):
    """张三's unit paid for them while their own payment was open: their money goes back by
    itself, and their order says why. A refund an operator made says only that customer
    service made it: the note the operator typed stays in the console."""
    with app.app_context():
        second = make_plan()
        db.session.commit()
        second_plan = second.id
    as_trainee(client, world["me"])
    alone = client.post("/api/orders", json={"plan_id": world["plan"]}).json
    kept = client.post("/api/orders", json={"plan_id": second_plan}).json
    as_trainee(client, world["other"])  # the unit's clerk
    with app.app_context():
        me_number = db.session.get(Trainee, world["me"]).id_number
    group = client.post(
        "/api/group-orders", json={"plan_id": world["plan"], "id_numbers": me_number}
    ).json["order"]
    pay(app, client, clock, group)
    pay(app, client, clock, alone)  # their own cashier still took the money
    as_trainee(client, world["me"])
    automatic = {
        "reason": "already_enrolled",
        "text": "您已购买该项目（如所在单位已为您团体购买），本次重复支付的费用原路退回",
    }
    waiting = client.get(f"/api/orders/{alone['out_trade_no']}").json
    assert (waiting["status"], waiting["refunding"], waiting["refund_reasons"]) == (
        "SUCCESS",
        9000,
        [automatic],
    )
    refund_succeeded(app, client, clock, alone, alone["out_trade_no"] + "R01", 9000)
    done = client.get(f"/api/orders/{alone['out_trade_no']}").json
    assert (done["status_text"], done["refunded"], done["refund_reasons"]) == (
        "已退款",
        9000,
        [automatic],
    )

    pay(app, client, clock, kept)
    note = "学员来电称误购，财务王静核实后退款（内部备注）"
    with app.app_context():
        refund_requests.request_refund(
            get_wechatpay(), kept["out_trade_no"], note, "operator:caiwu", clock.now()
        )
    listed = {o["out_trade_no"]: o for o in client.get("/api/me/orders").json["items"]}
    assert listed[kept["out_trade_no"]]["refund_reasons"] == [
        {"reason": "operator", "text": "平台客服已为您办理退款，费用原路退回"}
    ]
    assert listed[alone["out_trade_no"]]["refund_reasons"] == [automatic]
    shown = client.get(f"/api/orders/{kept['out_trade_no']}").get_data(as_text=True)
    assert note not in shown and note not in str(listed)
