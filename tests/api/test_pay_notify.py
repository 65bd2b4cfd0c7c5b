"""POST /pay/notify with notifications signed and encrypted by the test itself."""

from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from models import Enrollment, Order, Outbox, PaymentAnomaly, db
from tests import paysign
from tests.factories import make_order, make_plan, make_trainee
from wxapp import events


@pytest.fixture
def order(app, clock):
    with app.app_context():
        trainee = make_trainee()
        plan = make_plan()
        o = make_order(trainee, plan, clock.now())
        db.session.commit()
        return {
            "no": o.out_trade_no,
            "amount": o.amount_fen,
            "trainee": trainee.id,
            "plan": plan.id,
        }


def post(client, body, headers):
    return client.post("/pay/notify", data=body, headers=headers)


def state(app, order):
    with app.app_context():
        o = db.session.execute(
            db.select(Order).where(Order.out_trade_no == order["no"])
        ).scalar_one()
        enrollments = (
            db.session.execute(
                db.select(Enrollment).where(Enrollment.trainee_id == order["trainee"])
            )
            .scalars()
            .all()
        )
        outbox = db.session.execute(db.select(Outbox)).scalars().all()
        return o.status, enrollments, outbox


def _paid_count(client) -> float:
    text = client.get("/metrics").get_data(as_text=True)
    lines = [
        ln for ln in text.splitlines() if ln.startswith('wxapp_payments_total{outcome="paid"}')
    ]
    return float(lines[0].split()[-1]) if lines else 0.0


def test_a_good_notification_pays_and_enrolls(app, client, clock, order):
    paid_before = _paid_count(client)
    tx = paysign.transaction(order["no"], order["amount"], app)
    body, headers = paysign.notification(app, tx, clock.now())
    res = post(client, body, headers)
    assert post(client, body, headers).status_code in (200, 204)  # WeChat's retry
    assert _paid_count(client) - paid_before == 1  # /metrics counts the payment once
    assert res.status_code in (200, 204)
    status, enrollments, outbox = state(app, order)
    assert status == "SUCCESS"
    assert [(e.plan_id, e.status) for e in enrollments] == [(order["plan"], "paid")]
    assert [(o.event_type, o.subject) for o in outbox] == [
        ("payment_succeeded", f"order:{order['no']}")
    ]
    # What the template message will show: 订单号, 项目, 金额.
    event = events.parse(outbox[0].event_type, outbox[0].payload)
    assert isinstance(event, events.PaymentSucceeded)
    assert event.out_trade_no == order["no"]
    assert event.amount_fen == order["amount"]
    assert event.plan_title.startswith("2025年")
    with app.app_context():
        o = db.session.execute(
            db.select(Order).where(Order.out_trade_no == order["no"])
        ).scalar_one()
        assert o.transaction_id == tx["transaction_id"]
        assert o.success_time.isoformat() == "2025-06-16T02:05:00+00:00"
    # WeChat Pay sends it again: answered as success, nothing more happens.
    body, headers = paysign.notification(app, tx, clock.now())
    assert post(client, body, headers).status_code in (200, 204)
    assert [len(x) for x in state(app, order)[1:]] == [1, 1]


def _unchanged(app, order):
    status, enrollments, outbox = state(app, order)
    assert (status, enrollments, outbox) == ("NOTPAY", [], [])


def test_a_forged_signature_changes_nothing(app, client, clock, order):
    tx = paysign.transaction(order["no"], order["amount"], app)
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    body, headers = paysign.notification(app, tx, clock.now(), key=forger)
    assert post(client, body, headers).status_code == 401
    _unchanged(app, order)


def test_a_tampered_body_changes_nothing(app, client, clock, order):
    tx = paysign.transaction(order["no"], order["amount"], app)
    body, headers = paysign.notification(app, tx, clock.now())
    res = post(client, body.replace(b"TRANSACTION.SUCCESS", b"TRANSACTION.SUCCESS "), headers)
    assert res.status_code == 401
    assert res.json["code"] == "FAIL"
    _unchanged(app, order)


@pytest.mark.parametrize("skew", [-301, 301])
def test_a_stale_or_future_timestamp_changes_nothing(app, client, clock, order, skew):
    tx = paysign.transaction(order["no"], order["amount"], app)
    body, headers = paysign.notification(app, tx, clock.now() + timedelta(seconds=skew))
    assert post(client, body, headers).status_code == 401
    _unchanged(app, order)


def test_an_unknown_serial_or_missing_signature_changes_nothing(app, client, clock, order):
    tx = paysign.transaction(order["no"], order["amount"], app)
    body, headers = paysign.notification(app, tx, clock.now(), serial="PUB_KEY_ID_0000000000")
    assert post(client, body, headers).status_code == 401
    body, headers = paysign.notification(app, tx, clock.now())
    del headers["Wechatpay-Signature"]
    assert post(client, body, headers).status_code == 401
    assert post(client, body, {}).status_code == 401
    _unchanged(app, order)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"amount": {"total": 1, "payer_total": 1, "currency": "CNY"}}, "amount_mismatch"),
        ({"mchid": "1900009999"}, "mchid_mismatch"),
        ({"appid": "wx0000000000other"}, "appid_mismatch"),
    ],
)
def test_a_wrong_amount_mchid_or_appid_is_refused_and_kept(
    app, client, clock, order, changes, reason
):
    tx = paysign.transaction(order["no"], order["amount"], app, **changes)
    body, headers = paysign.notification(app, tx, clock.now())
    res = post(client, body, headers)
    assert res.status_code == 400 and res.json["code"] == "FAIL"
    _unchanged(app, order)
    # WeChat Pay retries: the operator still sees one record of it.
    post(client, body, headers)
    with app.app_context():
        rows = db.session.execute(db.select(PaymentAnomaly)).scalars().all()
        assert [(r.reason, r.out_trade_no) for r in rows] == [(reason, order["no"])]


def test_an_unknown_order_is_refused_and_kept(app, client, clock, order):
    tx = paysign.transaction("20250101000000999999999999", order["amount"], app)
    body, headers = paysign.notification(app, tx, clock.now())
    assert post(client, body, headers).status_code == 400
    with app.app_context():
        assert db.session.execute(db.select(PaymentAnomaly.reason)).scalars().all() == [
            "unknown_order"
        ]


def test_a_wrong_apiv3_key_cannot_be_read(app, client, clock, order):
    tx = paysign.transaction(order["no"], order["amount"], app)
    body, headers = paysign.notification(app, tx, clock.now(), apiv3_key="x" * 32)
    assert post(client, body, headers).status_code == 400
    _unchanged(app, order)


def test_a_payment_of_an_order_closed_here_is_honoured_and_flagged(app, client, clock, order):
    with app.app_context():
        o = db.session.execute(
            db.select(Order).where(Order.out_trade_no == order["no"])
        ).scalar_one()
        o.status = "CLOSED"
        db.session.commit()
    tx = paysign.transaction(order["no"], order["amount"], app)
    body, headers = paysign.notification(app, tx, clock.now())
    assert post(client, body, headers).status_code == 204
    status, enrollments, outbox = state(app, order)
    assert (status, len(enrollments), len(outbox)) == ("SUCCESS", 1, 1)
    with app.app_context():
        assert db.session.execute(db.select(PaymentAnomaly.reason)).scalars().all() == [
            "paid_after_close"
        ]
