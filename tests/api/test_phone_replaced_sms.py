"""When an account's phone is replaced, by 客服 in the console or by the trainee in 个人信息,
the OLD phone is told by SMS: written to the outbox in the change's transaction, sent by the
notification worker through the SMS sandbox (Tencent Cloud's signed API over HTTP), once,
with the new phone masked and the hotline. No old phone, or a change refused, tells nobody."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from html import unescape

import pytest
import sqlalchemy as sa

from models import OperatorAudit, Outbox, OutboxStatus, Trainee, db
from tests.console_helpers import console_app, create_operator, csrf_of, sign_in
from tests.factories import make_trainee
from tests.sms import latest_code, messages
from wxapp.events import PhoneReplaced
from wxapp.infra.clock import SHANGHAI
from wxapp.notifications.worker import Worker

PASSWORD = "Passw0rd!"
NEW_PHONE = "13812345678"
NEW_MASKED = "138****5678"
BY_SUPPORT = (
    "【重庆继续教育】您的继续教育培训账号绑定的手机号已由平台客服更换为 138****5678。"
    "如非本人申请，请立即致电 400-023-9229。"
)
BY_SELF = (
    "【重庆继续教育】您的继续教育培训账号绑定的手机号已由本人在个人信息中更换为 138****5678。"
    "如非本人申请，请立即致电 400-023-9229。"
)


@pytest.fixture
def capp(base_config):
    with console_app(base_config) as app:
        yield app


def _trainee(app, *, phone: bool = True) -> tuple[int, str | None]:
    with app.app_context():
        trainee = make_trainee(name="林平之")
        if not phone:
            trainee.phone = None
        db.session.commit()
        return trainee.id, trainee.phone


def _notices(app, tid: int) -> list[Outbox]:
    with app.app_context():
        rows = (
            db.session.execute(
                sa.select(Outbox)
                .where(Outbox.trainee_id == tid, Outbox.event_type == PhoneReplaced.event_type)
                .order_by(Outbox.id)
            )
            .scalars()
            .all()
        )
        db.session.expunge_all()
        return rows


def _notice_sms(app, phone: str) -> list[dict]:
    """What `phone` received of the phone-replaced template (not verification codes)."""
    template = app.config["SMS_TEMPLATE_PHONE_CHANGED"]
    return [m for m in messages(app, phone) if m["template_id"] == template]


def _drain(app) -> int:
    return Worker(app, app.extensions["wechat"]).drain()


def _replace_by_support(app, tid: int, login: str = "kefu-sms") -> str:
    """客服's replacement through the console's routes: the code to the new phone, read back
    on the telephone, then the form with the 核实方式. The flash the operator reads."""
    secret = create_operator(app, login, "support")
    client = app.test_client()
    sign_in(app, client, login, secret)
    token = csrf_of(client.get("/admin/").text)
    sent = client.post(
        f"/admin/trainees/{tid}/phone-replace-check",
        data={"csrf_token": token, "phone": NEW_PHONE},
    )
    assert sent.status_code == 302
    done = client.post(
        f"/admin/trainees/{tid}/phone-replace",
        data={
            "csrf_token": token,
            "phone": NEW_PHONE,
            "code": latest_code(app, NEW_PHONE),
            "verification": "id_photo",
            "detail": "学员微信发来身份证照片，与登记信息一致",
        },
    )
    assert done.status_code == 302
    return unescape(client.get(done.headers["Location"]).text)


def _login(app, phone: str):
    client = app.test_client()
    res = client.post("/api/login", json={"username": phone, "password": PASSWORD})
    assert res.status_code == 200, res.get_json()
    return client


# --- 客服 replaces an activated account's phone ---------------------------------------------


def test_support_replacement_texts_the_old_phone_once(capp):
    tid, old_phone = _trainee(capp)  # no WeChat user to tell: the SMS is the one notice
    said = _replace_by_support(capp, tid)
    assert f"已将手机号更换为 {NEW_MASKED}" in said
    with capp.app_context():
        assert db.session.get(Trainee, tid).phone == NEW_PHONE

    # Written with the change; nothing is sent before the worker runs.
    [row] = _notices(capp, tid)
    assert row.status == OutboxStatus.PENDING
    assert row.payload["old_phone"] == old_phone and row.payload["by"] == "support"
    assert row.payload["new_phone_masked"] == NEW_MASKED
    assert NEW_PHONE not in str(row.payload)
    assert _notice_sms(capp, old_phone) == []

    # The worker sends it through the SMS sandbox.
    assert _drain(capp) == 1
    [sms] = messages(capp, old_phone)
    assert sms["template_id"] == capp.config["SMS_TEMPLATE_PHONE_CHANGED"]
    assert sms["params"] == ["平台客服", NEW_MASKED]
    assert sms["text"] == BY_SUPPORT and NEW_PHONE not in sms["text"]
    assert _notice_sms(capp, NEW_PHONE) == []  # the new phone got its code only
    [row] = _notices(capp, tid)
    assert row.status == OutboxStatus.SENT and row.attempts == 1

    # A second run sends nothing again.
    assert _drain(capp) == 0
    assert len(messages(capp, old_phone)) == 1

    # The audit row says the old phone was told; the sandbox's inbox page shows the text.
    with capp.app_context():
        audit = db.session.execute(
            sa.select(OperatorAudit).where(OperatorAudit.action == "trainee.replace_phone")
        ).scalar_one()
        assert audit.after["old_phone_told"] == "sms"
    page = capp.test_client().get("/_sandbox/sms", query_string={"phone": old_phone}).text
    assert "已由平台客服更换为 138****5678" in unescape(page)


def test_an_account_without_a_phone_texts_nobody(capp):
    tid, old_phone = _trainee(capp, phone=False)
    assert old_phone is None
    _replace_by_support(capp, tid, login="kefu-nophone")
    assert _notices(capp, tid) == []
    assert _drain(capp) == 0
    assert _notice_sms(capp, NEW_PHONE) == []


# --- the trainee changes it in 个人信息 --------------------------------------------------------


def test_self_service_change_texts_the_old_phone_once(app):
    tid, old_phone = _trainee(app)
    _, taken = _trainee(app)
    client = _login(app, old_phone)

    # A wrong code (422) or a phone another account uses (409): no change, no notice.
    wrong = client.post(
        "/api/me/phone", json={"phone": NEW_PHONE, "sms_code": "123456", "password": PASSWORD}
    )
    assert wrong.status_code == 422 and wrong.get_json()["error"] == "bad_sms_code"
    assert client.post("/api/me/phone/code", json={"phone": taken}).status_code == 200
    conflict = client.post(
        "/api/me/phone",
        json={"phone": taken, "sms_code": latest_code(app, taken), "password": PASSWORD},
    )
    assert conflict.status_code == 409 and conflict.get_json()["error"] == "phone_taken"
    assert _notices(app, tid) == []

    assert client.post("/api/me/phone/code", json={"phone": NEW_PHONE}).status_code == 200
    changed = client.post(
        "/api/me/phone",
        json={"phone": NEW_PHONE, "sms_code": latest_code(app, NEW_PHONE), "password": PASSWORD},
    )
    assert changed.status_code == 200 and changed.get_json()["phone"] == NEW_PHONE
    [row] = _notices(app, tid)
    assert row.payload["by"] == "self" and row.payload["old_phone"] == old_phone

    assert _drain(app) == 1
    [sms] = messages(app, old_phone)
    assert sms["text"] == BY_SELF and NEW_PHONE not in sms["text"]
    assert _notice_sms(app, NEW_PHONE) == [] and _notice_sms(app, taken) == []
    assert _drain(app) == 0
    assert len(messages(app, old_phone)) == 1


# --- failures: retried as the worker retries a push, given up when it cannot work -----------


def _changed_by_self(app) -> tuple[int, str]:
    tid, old_phone = _trainee(app)
    client = _login(app, old_phone)
    client.post("/api/me/phone/code", json={"phone": NEW_PHONE})
    res = client.post(
        "/api/me/phone",
        json={"phone": NEW_PHONE, "sms_code": latest_code(app, NEW_PHONE), "password": PASSWORD},
    )
    assert res.status_code == 200
    return tid, old_phone


def _fail_next(app, code: str, times: int = 1) -> None:
    res = app.test_client().post("/_sandbox/sms/switches", json={"fail": code, "times": times})
    assert res.status_code == 200


def test_a_failed_send_is_retried_and_sent_once(app):
    tid, old_phone = _changed_by_self(app)
    _fail_next(app, "InternalError.Timeout")
    assert _drain(app) == 1
    [row] = _notices(app, tid)
    assert row.status == OutboxStatus.PENDING and row.last_error.startswith("InternalError.Timeout")
    assert messages(app, old_phone) == []
    assert _drain(app) == 0  # not due before its backoff
    app.extensions["clock"].advance(app.config["NOTIFY_BACKOFF_S"] + 1)
    assert _drain(app) == 1
    assert [m["text"] for m in messages(app, old_phone)] == [BY_SELF]
    [row] = _notices(app, tid)
    assert row.status == OutboxStatus.SENT and row.attempts == 2


def test_a_number_tencent_cloud_refuses_is_given_up_and_recorded(app, caplog):
    tid, old_phone = _changed_by_self(app)
    _fail_next(app, "InvalidParameterValue.IncorrectPhoneNumber")
    assert _drain(app) == 1
    [row] = _notices(app, tid)
    assert row.status == OutboxStatus.GIVEN_UP
    assert row.last_error.startswith("InvalidParameterValue.IncorrectPhoneNumber 手机号码有误")
    assert "given up" in caplog.text
    assert messages(app, old_phone) == []


def test_the_old_phones_daily_limit_waits_for_the_morning(app):
    """The old phone's daily sends spent (Tencent Cloud's limit set below this service's
    own caps, or another system's sends): the notice waits for 08:00 Beijing time and is
    then sent. Each morning counts as an attempt, so whoever spends the sends every day
    cannot hold it back for good: it ends as given up, in the console."""
    tid, old_phone = _changed_by_self(app)
    _fail_next(app, "LimitExceeded.PhoneNumberDailyLimit")
    now = app.extensions["clock"].now()
    assert _drain(app) == 1
    [row] = _notices(app, tid)
    morning = datetime.combine(
        now.astimezone(SHANGHAI).date() + timedelta(days=1), time(8), tzinfo=SHANGHAI
    )
    assert row.status == OutboxStatus.PENDING and row.attempts == 1
    assert row.next_attempt_at == morning
    app.extensions["clock"].set(morning)
    assert _drain(app) == 1
    assert [m["text"] for m in messages(app, old_phone)] == [BY_SELF]
