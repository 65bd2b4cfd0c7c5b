"""Group orders over HTTP: the invoice chosen at order time (and a retried order keeping only
its own choice), 团购订单 with each order's trainees, the reasons in full sentences, and a
paid order that cannot be cancelled."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from models import Enrollment, Invoice, db
from tests import paysign
from tests.factories import make_id_number, make_plan, make_trainee

PERSON = {"title_type": "个人", "title": "垫江县人民医院", "email": "cw@example.cn"}


def as_trainee(client, trainee_id: int) -> None:
    with client.session_transaction() as s:
        s["tid"], s["must_change"] = trainee_id, False


def world(app, members: int = 3) -> dict:
    with app.app_context():
        payer, other = make_trainee(name="经办人"), make_trainee(name="旁人")
        staff = [make_trainee(name=name) for name in ("张一", "王二", "李三", "赵四")[:members]]
        plan = make_plan()
        db.session.commit()
        return {
            "payer": payer.id,
            "other": other.id,
            "plan": plan.id,
            "numbers": [t.id_number for t in staff],
        }


def pay(app, client, clock, order: dict) -> None:
    """WeChat Pay's signed, encrypted notification of the order's payment."""
    tx = paysign.transaction(order["out_trade_no"], order["amount"], app)
    body, headers = paysign.notification(app, tx, clock.now())
    assert client.post("/pay/notify", data=body, headers=headers).status_code == 204


def test_the_invoice_chosen_at_order_time_is_kept_and_issued_on_payment(app, client, clock):
    w = world(app)
    as_trainee(client, w["payer"])
    res = client.post(
        "/api/group-orders",
        json={"plan_id": w["plan"], "id_numbers": "\n".join(w["numbers"]), "invoice": PERSON},
    )
    assert res.status_code == 201, res.json
    order = res.json["order"]
    assert order["invoice"]["status"] == "requested"
    assert (order["invoice"]["title"], order["invoice"]["amount"]) == ("垫江县人民医院", 27000)

    listed = client.get("/api/me/group-orders").json["items"]
    assert [(o["out_trade_no"], o["invoice"]["status"]) for o in listed] == [
        (order["out_trade_no"], "requested")
    ]
    pay(app, client, clock, order)
    issued = client.get("/api/me/group-orders").json["items"][0]["invoice"]
    assert issued["status"] == "issued" and client.get(issued["pdf_url"]).status_code == 200


def test_a_bad_invoice_names_the_field_and_orders_nothing(app, client):
    w = world(app)
    as_trainee(client, w["payer"])
    res = client.post(
        "/api/group-orders",
        json={
            "plan_id": w["plan"],
            "id_numbers": w["numbers"][0],
            "invoice": {**PERSON, "title_type": "单位"},
        },
    )
    assert res.status_code == 422 and res.json["field"] == "invoice.tax_number"
    assert client.get("/api/me/group-orders").json["items"] == []


def test_each_attempt_keeps_only_its_own_invoice_choice(app, client):
    w = world(app)
    as_trainee(client, w["payer"])
    # 个人购买: 立即申请, then 提交订单 again with 以后申请 reuses the pending order without it.
    first = client.post("/api/orders", json={"plan_id": w["plan"], "invoice": PERSON}).json
    assert first["invoice"]["status"] == "requested"
    again = client.post("/api/orders", json={"plan_id": w["plan"], "invoice": None}).json
    assert again["out_trade_no"] == first["out_trade_no"] and again["invoice"] is None
    third = client.post(
        "/api/orders", json={"plan_id": w["plan"], "invoice": {**PERSON, "title": "经办人"}}
    ).json
    assert third["out_trade_no"] == first["out_trade_no"]
    assert third["invoice"]["title"] == "经办人"

    # 团体购买: a second paste (其他学员) with 以后申请 gets no invoice from the first one's.
    a = client.post(
        "/api/group-orders",
        json={"plan_id": w["plan"], "id_numbers": w["numbers"][0], "invoice": PERSON},
    ).json["order"]
    b = client.post(
        "/api/group-orders",
        json={"plan_id": w["plan"], "id_numbers": w["numbers"][1], "invoice": None},
    ).json["order"]
    assert a["invoice"]["title"] == "垫江县人民医院" and b["invoice"] is None
    with app.app_context():
        assert db.session.execute(sa.select(sa.func.count()).select_from(Invoice)).scalar() == 2


def test_group_orders_list_each_order_with_its_trainees(app, client, clock):
    w = world(app, members=4)
    as_trainee(client, w["payer"])
    paid = client.post(
        "/api/group-orders",
        json={"plan_id": w["plan"], "id_numbers": "\n".join(w["numbers"][:3])},
    ).json["order"]
    pay(app, client, clock, paid)
    unpaid = client.post(
        "/api/group-orders", json={"plan_id": w["plan"], "id_numbers": w["numbers"][3]}
    ).json["order"]
    # One member has learned 45 of the plan's 60 学时.
    with app.app_context():
        enrollment = db.session.execute(
            sa.select(Enrollment).order_by(Enrollment.trainee_id).limit(1)
        ).scalar_one()
        enrollment.hours_done = Decimal("45")
        db.session.commit()
    # A personal order of the payer is not a group order.
    client.post("/api/orders", json={"plan_id": w["plan"]})

    items = client.get("/api/me/group-orders").json["items"]
    assert [o["out_trade_no"] for o in items] == [unpaid["out_trade_no"], paid["out_trade_no"]]
    newest, oldest = items
    assert (oldest["status"], oldest["enrolled_count"], oldest["members_total"]) == (
        "SUCCESS",
        3,
        3,
    )
    assert [
        (m["name"], m["id_number_masked"], m["enrolled"], m["hours_done"], m["percent"])
        for m in oldest["members"]
    ] == [
        ("张一", w["numbers"][0][:6] + "********" + w["numbers"][0][-4:], True, 45.0, 75),
        ("王二", w["numbers"][1][:6] + "********" + w["numbers"][1][-4:], True, 0.0, 0),
        ("李三", w["numbers"][2][:6] + "********" + w["numbers"][2][-4:], True, 0.0, 0),
    ]
    assert all(w["numbers"][0] not in str(o) for o in items)  # never the whole number
    # Unpaid, the names are masked: pasting ID numbers (public) must not say whose they are.
    assert [(m["name"], m["enrolled"]) for m in newest["members"]] == [("赵*", False)]
    unpaid_page = client.get(f"/api/group-orders/{unpaid['out_trade_no']}/members").json
    assert [m["name"] for m in unpaid_page["members"]] == ["赵*"]
    assert (newest["status"], newest["enrolled_count"]) == ("NOTPAY", 0)

    page = client.get(f"/api/group-orders/{paid['out_trade_no']}/members?offset=2").json
    assert (page["total"], [m["name"] for m in page["members"]]) == (3, ["李三"])
    bad = client.get(f"/api/group-orders/{paid['out_trade_no']}/members?offset=-1")
    assert bad.status_code == 422 and bad.json["field"] == "offset"

    # Nobody else sees them.
    as_trainee(client, w["other"])
    assert client.get("/api/me/group-orders").json["items"] == []
    assert client.get(f"/api/group-orders/{paid['out_trade_no']}/members").status_code == 404


def test_the_reasons_are_sentences_worded_as_the_roster_import(app, client):
    w = world(app, members=2)
    as_trainee(client, w["payer"])
    n = 910_000
    while not make_id_number(n).endswith("X"):
        n += 1
    lower_x = make_id_number(n)[:17] + "x"
    lines = [f" {w['numbers'][0]} ", w["numbers"][1], lower_x, w["numbers"][1], "12345"]
    res = client.post(
        "/api/group-orders", json={"plan_id": w["plan"], "id_numbers": "\n".join(lines)}
    )
    assert res.status_code == 201 and res.json["accepted"] == 1
    assert [(r["line"], r["reason"]) for r in res.json["rejects"]] == [
        (1, "身份证号码格式错误：前后及中间不能有空格"),
        (3, "身份证号码中的字母 X 请使用大写"),
        (4, "身份证号码与第 2 行重复"),
        (5, "身份证号码格式错误：应为 18 位，最后一位可为大写 X"),
    ]
    again = client.post(
        "/api/group-orders",
        json={"plan_id": w["plan"], "id_numbers": f"{w['numbers'][1]}\n{make_id_number(912_345)}"},
    )
    assert [r["reason"] for r in again.json["rejects"]] == [
        "该学员已在您另一笔未支付的团购订单中，请在“团购订单”中支付或取消该订单后再提交",
        "该身份证号码尚未注册学员账号，请先为其注册后再购买",
    ]


def test_a_paid_order_cannot_be_cancelled(app, client, clock):
    w = world(app)
    as_trainee(client, w["payer"])
    order = client.post("/api/orders", json={"plan_id": w["plan"]}).json
    pay(app, client, clock, order)
    res = client.post(f"/api/orders/{order['out_trade_no']}/cancel")
    assert res.status_code == 409 and res.json["error"] == "order_paid"
    assert res.json["message"] == "该订单已支付成功，不能取消；如需退款请联系客服"
    assert client.get(f"/api/orders/{order['out_trade_no']}").json["status"] == "SUCCESS"


def test_the_list_reads_all_orders_members_in_one_query(app, client):
    w = world(app, members=3)
    as_trainee(client, w["payer"])
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    def order_items_reads(orders: int) -> int:
        statements.clear()
        with app.app_context():
            sa.event.listen(db.engine, "before_cursor_execute", count)
            try:
                items = client.get("/api/me/group-orders").json["items"]
            finally:
                sa.event.remove(db.engine, "before_cursor_execute", count)
        assert [len(o["members"]) for o in items] == [1] * orders
        return sum("order_items" in s for s in statements)

    for number in w["numbers"][:1]:
        client.post("/api/group-orders", json={"plan_id": w["plan"], "id_numbers": number})
    one = order_items_reads(1)
    for number in w["numbers"][1:]:
        client.post("/api/group-orders", json={"plan_id": w["plan"], "id_numbers": number})
    assert order_items_reads(3) == one  # the same queries for three orders as for one
