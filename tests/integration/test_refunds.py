"""Refunds over real HTTP through the WeChat Pay sandbox: the double charge (a group order
paid after one of its members bought the plan alone) ends with an anomaly and that member's
share refunded; REFUND.SUCCESS, sent by the sandbox signed and encrypted, updates the refund,
the order and the enrollments; replays change nothing; the operator's refund use case."""

from __future__ import annotations

import io
import json
import re
import time
from collections.abc import Callable

import pypdf
import requests
import sqlalchemy as sa

from models import (
    ChapterProgress,
    Enrollment,
    Order,
    PaymentAnomaly,
    Refund,
    RefundItem,
    Trainee,
    TrainingPlan,
    db,
)
from tests import paysign
from tests.factories import make_binding, make_order, make_plan, make_trainee
from wxapp.errors import Conflict
from wxapp.notifications.worker import Worker
from wxapp.orders import refund_requests
from wxapp.orders.enrollments import grant_enrollment
from wxapp.progress.store import entitlement_key
from wxapp.sandbox import oa_state, pay_store
from wxapp.sandbox.pay_keys import platform_headers, sandbox_pay_keys

PERSON = {"title_type": "个人", "title": "张三", "email": "zs@example.cn"}


def wait_for(check: Callable[[], bool], seconds: float = 15) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False


def login(url: str, http: requests.Session, id_number: str) -> None:
    res = http.post(f"{url}/api/login", json={"username": id_number, "password": "Passw0rd!"})
    assert res.status_code == 200, res.text


def cashier_pay(url: str, http: requests.Session, params: dict) -> str:
    """What the WeixinJSBridge shim does: open the sandbox cashier, press 确认支付."""
    page = http.get(f"{url}/_sandbox/pay/cashier", params=params)
    assert page.status_code == 200, page.text
    no = re.search(r'name="out_trade_no" value="([^"]+)"', page.text).group(1)
    done = http.post(f"{url}/_sandbox/pay/cashier", data={"out_trade_no": no, "action": "pay"})
    assert done.status_code == 200 and "支付成功" in done.text
    return no


def read(app, fn):
    with app.app_context():
        try:
            return fn()
        finally:
            db.session.remove()


def refund_rows(app, order_no: str) -> list[tuple]:
    def fn():
        return [
            tuple(row)
            for row in db.session.execute(
                sa.select(
                    Refund.out_refund_no,
                    Refund.status,
                    Refund.amount_fen,
                    Refund.reason,
                    Refund.updated_at,
                )
                .join(Order, Order.id == Refund.order_id)
                .where(Order.out_trade_no == order_no)
                .order_by(Refund.id)
            ).all()
        ]

    return read(app, fn)


def enrollments(app, plan_id: int) -> dict[int, tuple[str, str | None]]:
    """trainee id -> (status, out_trade_no of the order that paid for it)."""

    def fn():
        rows = db.session.execute(
            sa.select(Enrollment.trainee_id, Enrollment.status, Order.out_trade_no)
            .join(Order, Order.id == Enrollment.order_id, isouter=True)
            .where(Enrollment.plan_id == plan_id)
        ).all()
        return {tid: (status, no) for tid, status, no in rows}

    return read(app, fn)


def order_status(app, no: str) -> str:
    return read(
        app,
        lambda: db.session.execute(
            sa.select(Order.status).where(Order.out_trade_no == no)
        ).scalar_one(),
    )


def anomalies(app) -> list[tuple[str, str | None, dict]]:
    return read(
        app,
        lambda: [
            (a.reason, a.out_trade_no, a.detail)
            for a in db.session.execute(
                sa.select(PaymentAnomaly).order_by(PaymentAnomaly.id)
            ).scalars()
        ],
    )


def resend(live_server, body: str) -> int:
    """POST a notification body again, signed now with the platform key as the sandbox signs."""
    app = live_server.app
    keys = sandbox_pay_keys(app)
    headers = {
        "Content-Type": "application/json",
        **platform_headers(keys, body, int(app.extensions["clock"].now().timestamp())),
    }
    return requests.post(
        f"{live_server.url}/pay/notify", data=body.encode(), headers=headers, timeout=10
    ).status_code


def people(app):
    with app.app_context():
        payer = make_trainee(name="单位经办人")
        payer_openid = make_binding(payer).openid
        alone = make_trainee(name="自己买过")
        alone_openid = make_binding(alone).openid
        other = make_trainee(name="王五")
        plan = make_plan()
        db.session.commit()
        ids = {
            "payer": payer.id,
            "payer_no": payer.id_number,
            "payer_openid": payer_openid,
            "alone": alone.id,
            "alone_openid": alone_openid,
            "alone_no": alone.id_number,
            "other": other.id,
            "other_no": other.id_number,
            "plan": plan.id,
        }
        db.session.remove()
        return ids


def open_group_payment(url: str, unit: requests.Session, ids: dict) -> tuple[str, dict]:
    """The unit's payer orders the plan for the one who bought alone and the other, and
    opens WeChat Pay: the group order's number and the cashier's parameters."""
    login(url, unit, ids["payer_no"])
    group = unit.post(
        f"{url}/api/group-orders",
        json={"plan_id": ids["plan"], "id_numbers": f"{ids['alone_no']}\n{ids['other_no']}"},
    ).json()
    group_no = group["order"]["out_trade_no"]
    assert group["order"]["amount"] == 2 * 9000
    return group_no, unit.post(f"{url}/api/orders/{group_no}/pay", json={}).json()["params"]


def test_a_group_order_paid_after_a_member_bought_alone_refunds_that_share(live_server):
    app, url = live_server.app, live_server.url
    ids = people(app)
    with requests.Session() as unit, requests.Session() as member:
        # The unit's payer makes the group order and opens the payment (the prepay exists).
        group_no, params = open_group_payment(url, unit, ids)

        # Meanwhile one member buys the plan alone and pays.
        login(url, member, ids["alone_no"])
        alone = member.post(f"{url}/api/orders", json={"plan_id": ids["plan"]}).json()
        alone_no = alone["out_trade_no"]
        own = member.post(f"{url}/api/orders/{alone_no}/pay", json={}).json()["params"]
        cashier_pay(url, member, own)
        assert wait_for(lambda: order_status(app, alone_no) == "SUCCESS")

        # Asked again, the service refuses to open the group payment...
        again = unit.post(f"{url}/api/orders/{group_no}/pay", json={})
        assert again.status_code == 409 and again.json()["error"] == "members_enrolled"
        assert again.json()["id_numbers"] == [ids["alone_no"]]
        # ...but the cashier opened before still takes the money: the double charge.
        cashier_pay(url, unit, params)

    assert wait_for(lambda: [r[1] for r in refund_rows(app, group_no)] == ["SUCCESS"])
    (out_refund_no, _, amount, reason, updated_at) = refund_rows(app, group_no)[0]
    assert (out_refund_no, amount, reason) == (f"{group_no}R01", 9000, "already_enrolled")
    # The order is paid (and stays so: 9000 of 18000 went back), the other member is enrolled
    # by it, the member who bought alone keeps the enrollment their own order paid for.
    assert order_status(app, group_no) == "SUCCESS"
    assert enrollments(app, ids["plan"]) == {
        ids["alone"]: ("paid", alone_no),
        ids["other"]: ("paid", group_no),
    }
    found = anomalies(app)
    assert [(r, no) for r, no, _ in found] == [("member_already_enrolled", group_no)]
    assert found[0][2]["trainee_ids"] == [ids["alone"]]
    assert found[0][2]["out_refund_no"] == out_refund_no
    # WeChat Pay (the sandbox) refunded exactly that share.
    r = app.extensions["redis"]
    assert pay_store.load(r, group_no)["refunded"] == 9000
    played = pay_store.load_refund(r, out_refund_no)
    assert played["refund_status"] == "SUCCESS" and played["amount"]["refund"] == 9000

    # Replays: the REFUND.SUCCESS notification, and the payment's own notification.
    assert resend(live_server, played["notification"]) == 204
    tx = pay_store.public_view(pay_store.load(r, group_no))
    tx["trade_state"] = "SUCCESS"  # as the payment notification said it
    body, headers = paysign.notification(app, tx, app.extensions["clock"].now())
    assert requests.post(f"{url}/pay/notify", data=body, headers=headers).status_code == 204
    time.sleep(0.3)
    assert refund_rows(app, group_no) == [
        (out_refund_no, "SUCCESS", 9000, "already_enrolled", updated_at)
    ]
    assert len(anomalies(app)) == 1
    assert pay_store.load(r, group_no)["refunded"] == 9000
    assert enrollments(app, ids["plan"])[ids["alone"]] == ("paid", alone_no)

    # The payer is told what the payment bought: one of the two had the plan already.
    assert pushed_plans(app, ids["payer_openid"]) == ["1人已购买过，其费用将退回"]
    # 我的订单 shows the share paid back; an invoice is for the member kept, not for both.
    with requests.Session() as unit:
        login(url, unit, ids["payer_no"])
        mine = {o["out_trade_no"]: o for o in unit.get(f"{url}/api/me/orders").json()["items"]}
        assert (mine[group_no]["refunded"], mine[group_no]["refunding"]) == (9000, 0)
        assert mine[group_no]["status_text"] == "支付成功"
        invoice = unit.post(f"{url}/api/orders/{group_no}/invoice", json=PERSON)
        assert invoice.status_code == 201 and invoice.json()["amount"] == 9000
        # Issued for the one member kept: one place at 90.00, not two.
        pdf = unit.get(f"{url}{invoice.json()['pdf_url']}")
        text = pypdf.PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
        assert "数量：1" in text and "¥90.00" in text and "¥180.00" not in text


def pushed_plans(app, openid: str) -> list[str]:
    """The 项目 line of each payment message the notification worker sends to `openid`."""
    Worker(app, app.extensions["wechat"]).drain()
    return [
        m["data"]["thing2"]["value"]
        for m in oa_state.inbox(app.extensions["redis"], openid)
        if m["template_id"] == "sbx_tpl_payment_succeeded"
    ]


def test_a_trainee_whose_unit_paid_first_is_told_their_own_payment_goes_back(live_server):
    """They opened WeChat Pay for themselves (asking for an invoice with it); their unit's
    group order covering them is paid first; their cashier still takes the money. The
    whole payment goes back, the push says so rather than 支付成功 with the plan, and no
    invoice is issued for money refunded."""
    app, url = live_server.app, live_server.url
    ids = people(app)
    with requests.Session() as unit, requests.Session() as member:
        login(url, member, ids["alone_no"])
        alone = member.post(f"{url}/api/orders", json={"plan_id": ids["plan"], "invoice": PERSON})
        alone_no = alone.json()["out_trade_no"]
        own = member.post(f"{url}/api/orders/{alone_no}/pay", json={}).json()["params"]

        group_no, params = open_group_payment(url, unit, ids)
        cashier_pay(url, unit, params)
        assert wait_for(lambda: order_status(app, group_no) == "SUCCESS")
        cashier_pay(url, member, own)

        assert wait_for(lambda: order_status(app, alone_no) == "REFUND")
        mine = member.get(f"{url}/api/orders/{alone_no}").json()
        assert (mine["status_text"], mine["refunded"], mine["amount"]) == ("已退款", 9000, 9000)
        assert mine["invoice"]["status"] == "refused" and mine["invoice"]["number"] is None
        assert "已全部退款" in mine["invoice"]["refusal_reason"]
    assert enrollments(app, ids["plan"])[ids["alone"]] == ("paid", group_no)
    assert pushed_plans(app, ids["alone_openid"]) == ["您已购买该项目，本次费用将原路退回"]
    assert pushed_plans(app, ids["payer_openid"]) == [plan_title(app, ids["plan"])]


def plan_title(app, plan_id: int) -> str:
    return read(app, lambda: db.session.get(TrainingPlan, plan_id).title)


def test_operator_refunds_a_members_share_then_the_rest(live_server):
    """The refund use case: one member's share, then the rest. A refunded member can no
    longer learn (their cached entitlement is dropped) but what they learned is kept; the
    order becomes REFUND when everything went back."""
    app, url = live_server.app, live_server.url
    ids = people(app)
    with requests.Session() as unit:
        login(url, unit, ids["payer_no"])
        group = unit.post(
            f"{url}/api/group-orders",
            json={"plan_id": ids["plan"], "id_numbers": f"{ids['alone_no']}\n{ids['other_no']}"},
        ).json()
        no = group["order"]["out_trade_no"]
        params = unit.post(f"{url}/api/orders/{no}/pay", json={}).json()["params"]
        cashier_pay(url, unit, params)
    assert wait_for(lambda: order_status(app, no) == "SUCCESS")
    with app.app_context():
        chapter_id = db.session.execute(
            sa.text(
                "SELECT c.id FROM chapters c JOIN plan_courses pc ON pc.course_id = c.course_id "
                "WHERE pc.plan_id = :p ORDER BY c.id LIMIT 1"
            ),
            {"p": ids["plan"]},
        ).scalar_one()
        db.session.add(
            ChapterProgress(
                trainee_id=ids["other"],
                chapter_id=chapter_id,
                intervals=[[0, 30]],
                watched_seconds=30,
                position=30,
            )
        )
        db.session.commit()
        db.session.remove()
    r = app.extensions["redis"]
    r.set(entitlement_key(ids["other"]), json.dumps({"cached": True}))
    client, now = app.extensions["wechatpay"], app.extensions["clock"].now()

    with app.app_context():
        view = refund_requests.request_refund(
            client, no, "学员调离本单位", "operator:test", now, trainee_id=ids["other"], r=r
        )
        db.session.remove()
    assert (view["amount"], view["trainee_ids"]) == (9000, [ids["other"]])
    # WeChat Pay answers PROCESSING; its REFUND.SUCCESS notification may already have been
    # applied by the time the view is read back, as it can in production.
    assert view["status"] in ("PROCESSING", "SUCCESS")
    assert wait_for(lambda: [x[1] for x in refund_rows(app, no)] == ["SUCCESS"])
    assert enrollments(app, ids["plan"]) == {
        ids["alone"]: ("paid", no),
        ids["other"]: ("refunded", no),
    }
    assert order_status(app, no) == "SUCCESS"
    assert not r.exists(entitlement_key(ids["other"]))
    kept = read(
        app,
        lambda: db.session.execute(
            sa.select(ChapterProgress.watched_seconds).where(
                ChapterProgress.trainee_id == ids["other"]
            )
        ).scalar_one(),
    )
    assert kept == 30

    with app.app_context():
        try:
            refund_requests.request_refund(
                client, no, "再退一次", "operator:test", now, ids["other"]
            )
            raise AssertionError("a share was refunded twice")
        except Conflict as err:
            assert err.code == "already_refunded"
        rest = refund_requests.request_refund(client, no, "培训取消", "operator:test", now, r=r)
        db.session.remove()
    assert (rest["amount"], rest["trainee_ids"]) == (9000, [ids["alone"]])
    assert wait_for(lambda: [x[1] for x in refund_rows(app, no)] == ["SUCCESS", "SUCCESS"])
    assert order_status(app, no) == "REFUND"
    assert enrollments(app, ids["plan"])[ids["alone"]] == ("refunded", no)
    with app.app_context():
        try:
            refund_requests.request_refund(client, no, "又一次", "operator:test", now)
            raise AssertionError("a refunded order was refunded again")
        except Conflict as err:
            assert err.code == "order_refunded"
        items = db.session.execute(sa.select(sa.func.count()).select_from(RefundItem)).scalar()
        db.session.remove()
    assert items == 2
    assert pay_store.load(r, no)["refunded"] == 18000

    # Bought again later: the enrollment is paid again and the learning is still there.
    with requests.Session() as member:
        login(url, member, ids["other_no"])
        order = member.post(f"{url}/api/orders", json={"plan_id": ids["plan"]}).json()
        assert order["amount"] == 9000


def test_a_refund_wechat_pay_did_not_accept_is_asked_again_by_reconcile(live_server):
    """The refund call fails (here: WeChat Pay does not know the payment yet): the refund
    stays PENDING with the error kept, and `orders reconcile` asks again later."""
    app, url = live_server.app, live_server.url
    ids = people(app)
    clock = app.extensions["clock"]
    with app.app_context():
        payer, plan = (
            db.session.get(Trainee, ids["payer"]),
            db.session.get(TrainingPlan, ids["plan"]),
        )
        members = [db.session.get(Trainee, ids["alone"]), db.session.get(Trainee, ids["other"])]
        order = make_order(payer, plan, clock.now(), trainees=members)
        grant_enrollment(ids["alone"], ids["plan"], clock.now())
        db.session.commit()
        no, amount = order.out_trade_no, order.amount_fen
        db.session.remove()
    tx = paysign.transaction(no, amount, app)
    body, headers = paysign.notification(app, tx, clock.now())
    assert requests.post(f"{url}/pay/notify", data=body, headers=headers).status_code == 204

    def last_error():
        return read(
            app,
            lambda: db.session.execute(sa.select(Refund.status, Refund.last_error)).one(),
        )

    status, error = last_error()
    assert status == "PENDING" and "RESOURCE_NOT_EXISTS" in error
    assert enrollments(app, ids["plan"])[ids["other"]] == ("paid", no)

    r = app.extensions["redis"]
    pay_store.save(
        r, {**tx, "notify_url": f"{url}/pay/notify", "amount": {"total": amount, "currency": "CNY"}}
    )
    runner = app.test_cli_runner()
    assert '"refunds_submitted": 0' in runner.invoke(args=["orders", "reconcile"]).output
    clock.advance(seconds=120)
    result = runner.invoke(args=["orders", "reconcile"])
    assert result.exit_code == 0 and '"refunds_submitted": 1' in result.output, result.output
    assert wait_for(lambda: last_error() == ("SUCCESS", None))
    assert pay_store.load(r, no)["refunded"] == 9000
