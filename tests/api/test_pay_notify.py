"""POST /pay/notify with notifications signed and encrypted by the test itself."""

import base64
import json
import secrets
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from models import Enrollment, Order, Outbox, PaymentAnomaly, Refund, db
from tests import paysign
from tests.factories import make_order, make_plan, make_trainee
from wxapp import events
from wxapp.infra.transaction import transaction
from wxapp.orders import refunds


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


# --- REFUND.* notifications (built here, independently of the sandbox) ---


def refund_notification(app, resource: dict, now, event_type: str = "REFUND.SUCCESS"):
    apiv3 = app.config["WECHATPAY_APIV3_KEY"].encode()
    nonce = secrets.token_hex(6)
    sealed = AESGCM(apiv3).encrypt(nonce.encode(), json.dumps(resource).encode(), b"refund")
    body = json.dumps(
        {
            "id": "EV-" + secrets.token_hex(8),
            "create_time": "2025-06-16T10:06:01+08:00",
            "resource_type": "encrypt-resource",
            "event_type": event_type,
            "summary": "退款成功",
            "resource": {
                "original_type": "refund",
                "algorithm": "AEAD_AES_256_GCM",
                "ciphertext": base64.b64encode(sealed).decode(),
                "associated_data": "refund",
                "nonce": nonce,
            },
        }
    ).encode()
    timestamp, sig_nonce = str(int(now.timestamp())), secrets.token_hex(16)
    signature = paysign.platform_key(app).sign(
        f"{timestamp}\n{sig_nonce}\n".encode() + body + b"\n", padding.PKCS1v15(), hashes.SHA256()
    )
    return body, {
        "Content-Type": "application/json",
        "Wechatpay-Timestamp": timestamp,
        "Wechatpay-Nonce": sig_nonce,
        "Wechatpay-Signature": base64.b64encode(signature).decode(),
        "Wechatpay-Serial": app.config["WECHATPAY_PUBLIC_KEY_ID"],
        "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
    }


@pytest.fixture
def refunding(app, client, clock, order):
    """The order paid, then a refund of its one member's share recorded (not yet reported)."""
    tx = paysign.transaction(order["no"], order["amount"], app)
    assert post(client, *paysign.notification(app, tx, clock.now())).status_code == 204
    with app.app_context():
        paid = db.session.execute(
            db.select(Order).where(Order.out_trade_no == order["no"])
        ).scalar_one()
        with transaction():
            refund = refunds.record_refund(
                paid, [order["trainee"]], "测试", "operator:t", clock.now()
            )
        no = refund.out_refund_no
    resource = {
        "mchid": app.config["WECHATPAY_MCHID"],
        "out_trade_no": order["no"],
        "transaction_id": tx["transaction_id"],
        "out_refund_no": no,
        "refund_id": "50300000000000000000000001",
        "refund_status": "SUCCESS",
        "success_time": "2025-06-16T10:06:00+08:00",
        "user_received_account": "支付用户零钱",
        "amount": {
            "total": order["amount"],
            "refund": order["amount"],
            "payer_total": order["amount"],
            "payer_refund": order["amount"],
        },
    }
    return {**order, "out_refund_no": no, "resource": resource}


def refund_state(app, refunding):
    with app.app_context():
        refund = db.session.execute(
            db.select(Refund).where(Refund.out_refund_no == refunding["out_refund_no"])
        ).scalar_one()
        status, enrollments, _ = state(app, refunding)
        return (
            (refund.status, refund.refund_id, refund.updated_at),
            status,
            [e.status for e in enrollments],
        )


def test_refund_success_updates_the_refund_order_and_enrollment_once(app, client, clock, refunding):
    """REFUND.SUCCESS used to be acknowledged and ignored."""
    assert refund_state(app, refunding)[1:] == ("SUCCESS", ["paid"])
    body, headers = refund_notification(app, refunding["resource"], clock.now())
    assert post(client, body, headers).status_code == 204
    after = refund_state(app, refunding)
    assert after[0][:2] == ("SUCCESS", "50300000000000000000000001")
    assert after[1:] == ("REFUND", ["refunded"])  # all of it went back; no more learning
    # Replayed (and sent again by WeChat Pay): nothing changes twice.
    clock.advance(seconds=60)
    assert post(client, body, headers).status_code == 204
    assert (
        post(client, *refund_notification(app, refunding["resource"], clock.now())).status_code
        == 204
    )
    assert refund_state(app, refunding) == after
    with app.app_context():
        assert db.session.execute(db.select(PaymentAnomaly)).scalars().all() == []


def test_a_refund_notification_that_does_not_match_is_refused_and_kept(
    app, client, clock, refunding
):
    wrong = {**refunding["resource"], "amount": {**refunding["resource"]["amount"], "refund": 1}}
    res = post(client, *refund_notification(app, wrong, clock.now()))
    assert res.status_code == 400 and res.json["code"] == "FAIL"
    assert refund_state(app, refunding)[0][0] == "PENDING"
    unknown = {**refunding["resource"], "out_refund_no": "NOT-OURS"}
    assert post(client, *refund_notification(app, unknown, clock.now())).status_code == 204
    with app.app_context():
        reasons = db.session.execute(db.select(PaymentAnomaly.reason)).scalars().all()
    assert sorted(reasons) == ["refund_amount_mismatch", "unknown_refund"]


def test_an_abnormal_refund_waits_for_an_operator_then_succeeds_once(app, client, clock, refunding):
    abnormal = {**refunding["resource"], "refund_status": "ABNORMAL"}
    body, headers = refund_notification(app, abnormal, clock.now(), "REFUND.ABNORMAL")
    assert post(client, body, headers).status_code == 204
    assert refund_state(app, refunding)[0][0] == "ABNORMAL"
    assert refund_state(app, refunding)[1:] == ("SUCCESS", ["paid"])
    with app.app_context():
        reasons = db.session.execute(db.select(PaymentAnomaly.reason)).scalars().all()
    assert reasons == ["refund_abnormal"]
    # 财务 mends it in 商户平台 (a frozen card unfrozen, say): WeChat Pay refunds it after
    # all, and its SUCCESS is recorded with everything a refund does; a replay changes nothing.
    success = refund_notification(app, refunding["resource"], clock.now())
    assert post(client, *success).status_code == 204
    done = refund_state(app, refunding)
    assert done[0][0] == "SUCCESS" and done[1:] == ("REFUND", ["refunded"])
    post(client, *success)
    assert refund_state(app, refunding) == done


@pytest.mark.parametrize("timestamp", ["9" * 400, "１２３", "-5", "1e9"])
def test_a_malformed_timestamp_is_refused_before_anything(app, client, clock, order, timestamp):
    body, headers = paysign.notification(
        app, paysign.transaction(order["no"], order["amount"], app), clock.now()
    )
    headers["Wechatpay-Timestamp"] = timestamp
    res = post(client, body, headers)
    assert res.status_code == 401
    assert state(app, order)[0] == "NOTPAY"
