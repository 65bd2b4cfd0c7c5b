"""Group orders over HTTP: the invoice chosen at order time (and a retried order keeping only
its own choice), 团购订单 with each order's trainees, the reasons in full sentences, and a
paid order that cannot be cancelled."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
import yaml

from models import Enrollment, Invoice, Trainee, db
from tests import paysign
from tests.api.test_pay_notify import refund_notification
from tests.factories import enroll, make_id_number, make_plan, make_trainee
from wxapp.orders import group, refund_requests
from wxapp.pay.client import get_wechatpay

OPENAPI = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"
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


def list_reads(app, client, table: str) -> tuple[list[dict], int]:
    """团购订单's list, and how many of its statements read `table`."""
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", count)
        try:
            items = client.get("/api/me/group-orders").json["items"]
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", count)
    return items, sum(f"FROM {table}" in s or f"JOIN {table}" in s for s in statements)


def test_the_list_reads_all_orders_members_in_one_query(app, client):
    w = world(app, members=3)
    as_trainee(client, w["payer"])

    def order_items_reads(orders: int) -> int:
        items, reads = list_reads(app, client, "order_items")
        assert [len(o["members"]) for o in items] == [1] * orders
        return reads

    for number in w["numbers"][:1]:
        client.post("/api/group-orders", json={"plan_id": w["plan"], "id_numbers": number})
    one = order_items_reads(1)
    for number in w["numbers"][1:]:
        client.post("/api/group-orders", json={"plan_id": w["plan"], "id_numbers": number})
    assert order_items_reads(3) == one  # the same queries for three orders as for one


def test_the_list_reads_the_paid_orders_refunds_in_one_query(app, client, clock):
    w = world(app, members=3)
    as_trainee(client, w["payer"])

    def refund_reads(orders: int) -> int:
        items, reads = list_reads(app, client, "refunds")
        assert [o["status"] for o in items] == ["SUCCESS"] * orders
        return reads

    for n, number in enumerate(w["numbers"]):
        res = client.post("/api/group-orders", json={"plan_id": w["plan"], "id_numbers": number})
        pay(app, client, clock, res.json["order"])
        if n == 0:
            one = refund_reads(1)
    assert one >= 1 and refund_reads(3) == one  # not one query per paid order


def refund_succeeded(app, client, clock, order: dict, out_refund_no: str, amount: int) -> None:
    """WeChat Pay's signed, encrypted REFUND.SUCCESS notification of a recorded refund."""
    resource = {
        "mchid": app.config["WECHATPAY_MCHID"],
        "out_trade_no": order["out_trade_no"],
        "out_refund_no": out_refund_no,
        "refund_id": "5030000000000000000000" + out_refund_no[-4:],
        "refund_status": "SUCCESS",
        "success_time": "2025-06-16T10:06:00+08:00",
        "amount": {
            "total": order["amount"],
            "refund": amount,
            "payer_total": order["amount"],
            "payer_refund": amount,
        },
    }
    body, headers = refund_notification(app, resource, clock.now())
    assert client.post("/pay/notify", data=body, headers=headers).status_code == 204


def test_a_members_refunded_share_says_why_and_the_order_what_went_back(app, client, clock):
    """张一 bought the plan alone while the unit's order for the three was open: paid, that
    share goes back by itself. An operator then refunds 王二's share. The clerk's 团购订单
    shows, member by member, what went back and why (never the operator's note), and the
    order's total refunded."""
    w = world(app, members=3)
    with app.app_context():
        zhang, wang = (
            db.session.execute(sa.select(Trainee.id).where(Trainee.id_number == n)).scalar_one()
            for n in w["numbers"][:2]
        )
    as_trainee(client, w["payer"])
    group = client.post(
        "/api/group-orders", json={"plan_id": w["plan"], "id_numbers": "\n".join(w["numbers"])}
    ).json["order"]
    as_trainee(client, zhang)
    alone = client.post("/api/orders", json={"plan_id": w["plan"]}).json
    pay(app, client, clock, alone)
    pay(app, client, clock, group)  # the cashier opened before still takes the money
    refund_succeeded(app, client, clock, group, group["out_trade_no"] + "R01", 9000)
    note = "经办人电话申请，财务王静核实（内部备注）"
    with app.app_context():
        refund_requests.request_refund(
            get_wechatpay(), group["out_trade_no"], note, "operator:caiwu", clock.now(), wang
        )

    as_trainee(client, w["payer"])
    (listed,) = client.get("/api/me/group-orders").json["items"]
    assert (listed["refunded"], listed["refunding"]) == (9000, 9000)
    # A refunded share, back or on its way, shows nothing more of its member than an order
    # never paid would: the name masked, no place, no 学时.
    assert [(m["name"], m["enrolled"], m["refund"]) for m in listed["members"]] == [
        (
            "张*",
            False,
            {
                "status": "refunded",
                "amount": 9000,
                "reason": "already_enrolled",
                "text": "已购买该项目，已自动退款",
            },
        ),
        (
            "王*",
            False,
            {"status": "refunding", "amount": 9000, "reason": "operator", "text": "客服办理退款中"},
        ),
        ("李三", True, None),
    ]
    page = client.get(f"/api/group-orders/{group['out_trade_no']}/members").json
    assert [m["refund"] for m in page["members"]] == [m["refund"] for m in listed["members"]]
    assert note not in str(listed) and note not in str(page)
    assert (listed["enrolled_count"], page["members"][0]["hours_done"]) == (1, 0)


def test_the_line_limit_is_the_one_documented_and_over_it_names_the_field(app, client):
    """团体购买's page and server agree on one limit: the server's, documented in
    docs/openapi.yaml (which the page's constant follows); over it, 422 naming id_numbers
    and saying the limit in Chinese, and nothing is ordered."""
    spec = yaml.safe_load(OPENAPI.read_text(encoding="utf-8"))
    body = spec["paths"]["/api/group-orders"]["post"]["requestBody"]
    field = body["content"]["application/json"]["schema"]["properties"]["id_numbers"]
    assert field["x-max-lines"] == group.MAX_LINES == 10_000
    w = world(app, members=1)
    as_trainee(client, w["payer"])
    res = client.post(
        "/api/group-orders",
        json={"plan_id": w["plan"], "id_numbers": "\n".join(w["numbers"] * (group.MAX_LINES + 1))},
    )
    assert res.status_code == 422 and res.json["field"] == "id_numbers"
    assert res.json["message"] == "一次最多粘贴 10000 行"
    assert client.get("/api/me/group-orders").json["items"] == []


def test_an_order_never_paid_does_not_follow_its_members_buying_and_learning(app, client, clock):
    """Anyone may paste a stranger's public ID number into a group order and never pay: that
    order must not show, then or days later, whether the stranger bought the plan or their
    学时. Paid, it does (the payer paid for them)."""
    w = world(app, members=1)
    as_trainee(client, w["payer"])
    res = client.post(
        "/api/group-orders", json={"plan_id": w["plan"], "id_numbers": w["numbers"][0]}
    )
    assert res.status_code == 201, res.json
    order = res.json["order"]
    with app.app_context():  # the stranger buys the plan alone and learns 30 学时
        victim = db.session.execute(
            sa.select(Trainee).where(Trainee.id_number == w["numbers"][0])
        ).scalar_one()
        enroll(victim.id, w["plan"], clock.now())
        enrollment = db.session.execute(
            sa.select(Enrollment).where(Enrollment.trainee_id == victim.id)
        ).scalar_one()
        enrollment.hours_done = Decimal("30")
        db.session.commit()

    for days in (0, 3):
        clock.advance(days * 24 * 3600)
        member = client.get(f"/api/group-orders/{order['out_trade_no']}/members").json["members"][0]
        assert (member["enrolled"], member["hours_done"], member["percent"]) == (False, 0, 0)
        listed = client.get("/api/me/group-orders").json["items"][0]
        assert (listed["enrolled_count"], listed["completed_count"]) == (0, 0)
        assert listed["members"][0]["hours_done"] == 0


def test_a_paid_order_shows_its_members_learning(app, client, clock):
    w = world(app, members=1)
    as_trainee(client, w["payer"])
    order = client.post(
        "/api/group-orders", json={"plan_id": w["plan"], "id_numbers": w["numbers"][0]}
    ).json["order"]
    pay(app, client, clock, order)
    with app.app_context():
        enrollment = db.session.execute(sa.select(Enrollment)).scalar_one()
        enrollment.hours_done = Decimal("30")
        db.session.commit()
    member = client.get(f"/api/group-orders/{order['out_trade_no']}/members").json["members"][0]
    assert (member["enrolled"], member["hours_done"]) == (True, 30.0)
    listed = client.get("/api/me/group-orders").json["items"][0]
    assert listed["enrolled_count"] == 1


def test_paying_is_limited_per_trainee(app, client, clock):
    """Each 立即支付 may open a prepay at WeChat Pay, and a group order's refusal names who
    bought meanwhile: a script asking again and again is slowed."""
    w = world(app, members=1)
    as_trainee(client, w["payer"])
    order = client.post(
        "/api/group-orders", json={"plan_id": w["plan"], "id_numbers": w["numbers"][0]}
    ).json["order"]
    with app.app_context():  # the member buys alone meanwhile: each pay is refused (409)
        victim = db.session.execute(
            sa.select(Trainee).where(Trainee.id_number == w["numbers"][0])
        ).scalar_one()
        enroll(victim.id, w["plan"], clock.now())
        db.session.commit()
    url = f"/api/orders/{order['out_trade_no']}/pay"
    codes = [client.post(url, json={"method": "native"}).status_code for _ in range(21)]
    assert codes[:20] == [409] * 20 and codes[20] == 429
