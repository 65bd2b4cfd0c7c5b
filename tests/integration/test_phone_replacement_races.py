"""Whoever holds an account (a session and its password) changes the password or the phone
while customer service replaces the phone for its owner: the change checked the password
the replacement then replaced, so it is refused (401 password_changed) and the replacement
stands: the holder keeps no password, no session and no phone of theirs on the account."""

from __future__ import annotations

import threading

from models import Trainee, db
from tests.conftest import serve
from tests.console_helpers import create_operator, csrf_of, sign_in
from tests.factories import make_trainee
from tests.sms import latest_code

PASSWORD = "Passw0rd!"
HOLDER_PASSWORD = "Holder2026pass"
NEW_PHONE = "13912345678"


def _operator(app, login: str, role: str = "support"):
    secret = create_operator(app, login, role)
    client = app.test_client()
    sign_in(app, client, login, secret)
    return client, csrf_of(client.get("/admin/").text)


def _trainee(app):
    with app.app_context():
        trainee = make_trainee(name="林平之", password=PASSWORD)
        db.session.commit()
        return trainee.id, trainee.id_number, trainee.phone


def _replace(client, token, tid, code):
    return client.post(
        f"/admin/trainees/{tid}/phone-replace",
        data={
            "csrf_token": token,
            "phone": NEW_PHONE,
            "code": code,
            "verification": "id_photo",
            "detail": "学员微信发来身份证照片，与登记信息一致",
        },
    )


def _check(client, token, tid):
    res = client.post(
        f"/admin/trainees/{tid}/phone-replace-check",
        data={"csrf_token": token, "phone": NEW_PHONE},
    )
    assert res.status_code == 302
    return res


def test_holders_password_change_racing_the_replacement_keeps_the_account(base_config, monkeypatch):
    """Whoever holds the account (a session and the password) changes the password while
    客服 replaces the phone. The change checked the OLD password just before the
    replacement committed; it must not outlive the replacement (as a racing login does not,
    `require_unchanged`). Before, it wrote its own password over the replacement's random
    one and started itself a fresh full session: the holder kept the account."""
    from wxapp.accounts import trainees

    with serve(base_config, CONSOLE_ENABLED="1") as server:
        app = server.app
        tid, id_number, _ = _trainee(app)
        holder = app.test_client()
        assert (
            holder.post(
                "/api/login", json={"username": id_number, "password": PASSWORD}
            ).status_code
            == 200
        )
        client, token = _operator(app, "kefu-race-pw")
        _check(client, token, tid)
        code = latest_code(app, NEW_PHONE)

        checked, go = threading.Event(), threading.Event()
        real = trainees.check_own_password

        def check_then_wait(*args, **kwargs):
            out = real(*args, **kwargs)
            checked.set()
            go.wait(10)  # the window between the check of the old password and the write
            return out

        monkeypatch.setattr(trainees, "check_own_password", check_then_wait)
        replies = {}
        changing = threading.Thread(
            target=lambda: replies.setdefault(
                "change",
                holder.post(
                    "/api/me/password",
                    json={"old_password": PASSWORD, "new_password": HOLDER_PASSWORD},
                ),
            )
        )
        changing.start()
        assert checked.wait(10)
        # 客服 replaces the phone meanwhile (it commits).
        assert _replace(client, token, tid, code).status_code == 302
        with app.app_context():
            assert db.session.get(Trainee, tid).phone == NEW_PHONE
        go.set()
        changing.join(20)
        monkeypatch.setattr(trainees, "check_own_password", real)

        # Expected: the change is refused (the password it checked is no longer the
        # account's) and the holder has neither a session nor a password that works.
        again = app.test_client().post(
            "/api/login", json={"username": id_number, "password": HOLDER_PASSWORD}
        )
        with app.app_context():
            phone = db.session.get(Trainee, tid).phone
        facts = {
            "holder_change": replies["change"].status_code,
            "holder_session": holder.get("/api/me").status_code,
            "login_with_holders_password": again.status_code,
            "phone": phone,
        }
        assert facts == {
            "holder_change": 401,
            "holder_session": 401,
            "login_with_holders_password": 401,
            "phone": NEW_PHONE,
        }


def test_holders_phone_change_racing_the_replacement_puts_the_holders_phone_back(
    base_config, monkeypatch
):
    """The same race through 个人信息's phone change: the holder's phone lands on the
    account after 客服's replacement committed, so 忘记密码 texts the holder again."""
    from wxapp.accounts import personal_info

    holder_phone = "13711112222"
    with serve(base_config, CONSOLE_ENABLED="1") as server:
        app = server.app
        tid, id_number, _ = _trainee(app)
        holder = app.test_client()
        assert (
            holder.post(
                "/api/login", json={"username": id_number, "password": PASSWORD}
            ).status_code
            == 200
        )
        assert holder.post("/api/me/phone/code", json={"phone": holder_phone}).status_code == 200
        holder_code = latest_code(app, holder_phone)
        app.extensions["clock"].advance(61)

        client, token = _operator(app, "kefu-race-ph")
        _check(client, token, tid)
        code = latest_code(app, NEW_PHONE)

        checked, go = threading.Event(), threading.Event()
        real = personal_info.check_own_password

        def check_then_wait(*args, **kwargs):
            out = real(*args, **kwargs)
            checked.set()
            go.wait(10)
            return out

        monkeypatch.setattr(personal_info, "check_own_password", check_then_wait)
        replies = {}
        changing = threading.Thread(
            target=lambda: replies.setdefault(
                "change",
                holder.post(
                    "/api/me/phone",
                    json={"phone": holder_phone, "sms_code": holder_code, "password": PASSWORD},
                ),
            )
        )
        changing.start()
        assert checked.wait(10)
        assert _replace(client, token, tid, code).status_code == 302
        go.set()
        changing.join(20)
        monkeypatch.setattr(personal_info, "check_own_password", real)

        with app.app_context():
            phone = db.session.get(Trainee, tid).phone
        # 客服's replacement stands; the holder's change is refused.
        assert {"holder_change": replies["change"].status_code, "phone": phone} == {
            "holder_change": 401,
            "phone": NEW_PHONE,
        }


def test_a_reset_by_the_old_phone_racing_the_replacement_sets_no_password(base_config, monkeypatch):
    """Whoever holds the OLD phone asks 忘记密码 for a code while 客服 replaces the phone for
    the owner who lost it. The code was checked against the old phone just before the
    replacement committed: it must not set a password after it (409 phone_changed)."""
    from wxapp.accounts import sms_codes

    with serve(base_config, CONSOLE_ENABLED="1") as server:
        app = server.app
        tid, id_number, old_phone = _trainee(app)
        holder = app.test_client()
        assert (
            holder.post("/api/password/forgot/code", json={"username": old_phone}).status_code
            == 200
        )
        holder_code = latest_code(app, old_phone)
        client, token = _operator(app, "kefu-race-reset")
        _check(client, token, tid)
        code = latest_code(app, NEW_PHONE)

        checked, go = threading.Event(), threading.Event()
        real = sms_codes.check_code

        def check_then_wait(r, phone, purpose, *args, **kwargs):
            out = real(r, phone, purpose, *args, **kwargs)
            if purpose == sms_codes.Purpose.RESET:
                checked.set()
                go.wait(10)  # the code was checked; the password not yet written
            return out

        monkeypatch.setattr(sms_codes, "check_code", check_then_wait)
        replies = {}
        resetting = threading.Thread(
            target=lambda: replies.setdefault(
                "reset",
                holder.post(
                    "/api/password/forgot",
                    json={
                        "username": old_phone,
                        "sms_code": holder_code,
                        "new_password": HOLDER_PASSWORD,
                    },
                ),
            )
        )
        resetting.start()
        assert checked.wait(10)
        assert _replace(client, token, tid, code).status_code == 302
        go.set()
        resetting.join(20)

        reply = replies["reset"]
        assert reply.status_code == 409 and reply.json["error"] == "phone_changed"
        assert "手机号刚刚已更换" in reply.json["message"]
        again = app.test_client().post(
            "/api/login", json={"username": id_number, "password": HOLDER_PASSWORD}
        )
        assert again.status_code == 401
