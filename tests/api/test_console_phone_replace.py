"""客服 replaces the phone of an ACTIVATED account whose owner lost the old phone and forgot
the password: only after checking the person (核实方式 and what was checked) and a code read
back from the new phone; whoever held the account keeps nothing (the password, and with it
sessions, WeChat binding and known devices; a login racing the change); the WeChat user it was bound to
is told; the operator is named in the trainee's history and the audit log; and one operator
cannot do it to many accounts, nor to one account twice, quietly."""

from __future__ import annotations

import re
from html import unescape

import pytest
import sqlalchemy as sa

from models import OperatorAudit, Outbox, Trainee, WechatBinding, db
from tests.conftest import serve
from tests.console_helpers import console_app, create_operator, csrf_of, sign_in
from tests.factories import make_binding, make_trainee
from tests.sms import latest_code, messages
from wxapp.accounts.lockout import is_locked
from wxapp.notifications.worker import Worker
from wxapp.sandbox import oa_state

PASSWORD = "Passw0rd!"
OLD_WECHAT = "o_phone_replace_owner_000000001"
NEW_PHONE = "13912345678"
NEW_MASKED = "139****5678"


@pytest.fixture
def capp(base_config):
    with console_app(base_config) as app:
        yield app


def _operator(app, login: str, role: str = "support"):
    secret = create_operator(app, login, role)
    client = app.test_client()
    sign_in(app, client, login, secret)
    return client, csrf_of(client.get("/admin/").text)


def _trainee(app, *, name: str = "林平之", password: str | None = PASSWORD, openid: str = ""):
    with app.app_context():
        trainee = make_trainee(name=name, password=password)
        if openid:
            make_binding(trainee, openid)
        db.session.commit()
        return trainee.id, trainee.id_number, trainee.phone


def _flash(client, res) -> str:
    """The message the operator reads after a posted action (the page it goes back to)."""
    assert res.status_code == 302, res.status_code
    return unescape(client.get(res.headers["Location"]).text)


def _check(client, token, tid, phone=NEW_PHONE):
    return client.post(
        f"/admin/trainees/{tid}/phone-replace-check", data={"csrf_token": token, "phone": phone}
    )


def _replace(client, token, tid, **fields):
    data = {
        "csrf_token": token,
        "phone": NEW_PHONE,
        "verification": "id_photo",
        "detail": "学员微信发来身份证照片，与登记信息一致",
        **fields,
    }
    return client.post(f"/admin/trainees/{tid}/phone-replace", data=data)


def _audits(app, action: str) -> list[OperatorAudit]:
    with app.app_context():
        rows = list(
            db.session.execute(
                sa.select(OperatorAudit)
                .where(OperatorAudit.action == action)
                .order_by(OperatorAudit.id)
            ).scalars()
        )
        db.session.expunge_all()
        return rows


def _phone_of(app, tid: int) -> str:
    with app.app_context():
        return db.session.get(Trainee, tid).phone


def _binding_of(app, tid: int) -> str | None:
    with app.app_context():
        return db.session.execute(
            sa.select(WechatBinding.openid).where(WechatBinding.trainee_id == tid)
        ).scalar_one_or_none()


def _section(page: str, element_id: str) -> str:
    start = page.index(f'id="{element_id}"')
    return page[start : page.index("</table>", start)]


def test_support_replaces_an_activated_phone_and_whoever_held_the_account_keeps_nothing(
    base_config,
):
    with serve(base_config, CONSOLE_ENABLED="1") as server:
        app = server.app
        r = app.extensions["redis"]
        tid, id_number, old_phone = _trainee(app, openid=OLD_WECHAT)
        # Someone is logged in to the account, and a stranger has locked it.
        holder = app.test_client()
        login = holder.post("/api/login", json={"username": old_phone, "password": PASSWORD})
        assert login.status_code == 200
        assert holder.get("/api/me").status_code == 200
        stranger = app.test_client()
        for _ in range(5):
            stranger.post("/api/login", json={"username": id_number, "password": "wrong-pass1"})
        assert is_locked(r, tid)

        client, token = _operator(app, "kefu-li")
        page = client.get(f"/admin/trainees/{tid}").text
        assert 'id="phone-replace"' in page and "身份证照片核对" in page
        assert "您今天已更换 0/5 个" in page

        # The code goes to the new phone; the person reads it back on the telephone.
        said = _flash(client, _check(client, token, tid, "139 1234 5678"))
        assert f"核验码已发送至 {NEW_MASKED}" in said
        code = latest_code(app, NEW_PHONE)
        done = _flash(client, _replace(client, token, tid, code=code))
        assert f"已将手机号更换为 {NEW_MASKED}" in done
        assert "已通过微信通知原绑定的微信用户" in done

        assert _phone_of(app, tid) == NEW_PHONE
        assert _binding_of(app, tid) is None
        ended = holder.get("/api/me")
        assert ended.status_code == 401 and ended.json["error"] == "session_ended"
        assert not is_locked(r, tid)

        # The operator sees it on the trainee's page, under their own login, with the reason.
        page = unescape(client.get(f"/admin/trainees/{tid}").text)
        history = _section(page, "trainee-history")
        masked_old = f"{old_phone[:3]}****{old_phone[-4:]}"
        assert "手机号" in history and masked_old in history and NEW_MASKED in history
        assert "身份证照片核对：学员微信发来身份证照片，与登记信息一致" in history
        assert "客服（kefu-li）" in history
        assert 'id="phone-replaced-flag"' in page and "kefu-li" in page
        [row] = _audits(app, "trainee.replace_phone")
        assert row.before == {"phone": masked_old, "openid": OLD_WECHAT}
        assert row.after["phone"] == NEW_MASKED and row.after["owner_told"] == "wechat"
        assert row.after["old_phone_told"] == "sms"
        assert row.reason == "身份证照片核对：学员微信发来身份证照片，与登记信息一致"

        # The old password opens nothing; 忘记密码 sends its code to the NEW phone.
        again = app.test_client()
        login = again.post("/api/login", json={"username": id_number, "password": PASSWORD})
        assert login.status_code == 401 and login.json["error"] == "bad_credentials"
        app.extensions["clock"].advance(61)
        forgot = again.post("/api/password/forgot/code", json={"username": id_number})
        assert forgot.status_code == 200 and forgot.json["phone_tail"] == NEW_PHONE[-4:]
        assert latest_code(app, NEW_PHONE) != code
        assert messages(app, old_phone) == []

        # The operator may then give a temporary password, as before: it leads to the same.
        client.post(
            f"/admin/trainees/{tid}/temporary-password",
            data={"csrf_token": token, "password": "Temp2026pass"},
        )
        login = app.test_client().post(
            "/api/login", json={"username": NEW_PHONE, "password": "Temp2026pass"}
        )
        assert login.json["activation_required"] is True
        assert login.json["phone_masked"] == "*******" + NEW_PHONE[-4:]

        # The WeChat user the account was bound to is told, and the old phone by SMS,
        # through the real worker.
        with app.app_context():
            rows = db.session.execute(
                sa.select(Outbox.event_type).where(Outbox.trainee_id == tid)
            ).scalars()
            assert sorted(rows) == ["phone_replaced", "wechat_rebound"]
        assert Worker(app, app.extensions["wechat"]).drain() == 2
        [text] = messages(app, old_phone)
        assert f"已由平台客服更换为 {NEW_MASKED}" in text["text"]
        [message] = oa_state.inbox(r, OLD_WECHAT)
        assert message["data"]["thing1"]["value"] == f"手机号已由客服改为{NEW_MASKED}"
        assert message["data"]["thing3"]["value"] == "如非本人申请请致电4000239229"
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", message["data"]["time2"]["value"])


def test_bad_input_is_named_and_changes_nothing(capp):
    tid, _, old_phone = _trainee(capp, openid=OLD_WECHAT)
    _, _, taken = _trainee(capp, name="岳灵珊")
    holder = capp.test_client()
    holder.post("/api/login", json={"username": old_phone, "password": PASSWORD})
    client, token = _operator(capp, "kefu-wang")

    assert "手机号" in _flash(client, _check(client, token, tid, "12345"))
    said = _flash(client, _check(client, token, tid, taken))
    assert "该手机号已被其他账号使用" in said
    assert messages(capp, taken) == []
    _check(client, token, tid)
    code = latest_code(capp, NEW_PHONE)

    refusals = [
        ({"verification": ""}, "请选择核实方式"),
        ({"verification": "guess"}, "请选择核实方式"),
        ({"detail": " "}, "请填写核实情况"),
        ({"detail": "查" * 181}, "核实情况过长"),
        ({"code": "000000" if code != "000000" else "111111"}, "验证码错误"),
        ({"phone": "1391234567x"}, "手机号"),
        ({"phone": old_phone}, "新手机号与当前登记的手机号相同"),
    ]
    for fields, words in refusals:
        res = _replace(client, token, tid, **{"code": code, **fields})
        assert words in _flash(client, res), fields
    assert _phone_of(capp, tid) == old_phone
    assert _binding_of(capp, tid) == OLD_WECHAT
    assert holder.get("/api/me").status_code == 200
    assert _audits(capp, "trainee.replace_phone") == []

    # What an operator types is shown as text, never as markup.
    _replace(client, token, tid, code=code, verification="other", detail="<b>本人</b>来电核实")
    assert _phone_of(capp, tid) == NEW_PHONE
    page = client.get(f"/admin/trainees/{tid}").text
    assert "&lt;b&gt;本人&lt;/b&gt;来电核实" in page and "<b>本人</b>" not in page


def test_a_roster_account_is_corrected_not_replaced(capp):
    tid, _, old_phone = _trainee(capp, password=None)
    client, token = _operator(capp, "kefu-zhao")
    page = client.get(f"/admin/trainees/{tid}").text
    assert 'id="phone-fix"' in page and 'id="phone-replace"' not in page
    assert "该账号尚未激活" in _flash(client, _check(client, token, tid))
    assert messages(capp, NEW_PHONE) == []
    assert "该账号尚未激活" in _flash(client, _replace(client, token, tid, code="123456"))
    assert _phone_of(capp, tid) == old_phone


def test_one_operator_replaces_at_most_five_phones_a_day(capp):
    client, token = _operator(capp, "kefu-many")
    clock = capp.extensions["clock"]
    for n in range(5):
        tid, _, _ = _trainee(capp, name=f"学员{n}")
        phone = f"1371000000{n}"
        _check(client, token, tid, phone)
        said = _flash(
            client, _replace(client, token, tid, phone=phone, code=latest_code(capp, phone))
        )
        assert "已将手机号更换为" in said
    tid, _, old_phone = _trainee(capp, name="第六人")
    page = client.get(f"/admin/trainees/{tid}").text
    assert "您今天已更换 5/5 个" in page
    said = _flash(client, _check(client, token, tid, "13710000009"))
    assert "已达每日上限" in said
    assert messages(capp, "13710000009") == []
    assert "已达每日上限" in _flash(client, _replace(client, token, tid, code="123456"))
    assert _phone_of(capp, tid) == old_phone
    # Another operator is not held up by this one's count; the next day this one is not.
    other, other_token = _operator(capp, "kefu-other")
    assert "核验码已发送" in _flash(other, _check(other, other_token, tid, "13710000009"))
    clock.advance(24 * 3600)
    assert "核验码已发送" in _flash(client, _check(client, token, tid, "13710000008"))


def test_a_second_replacement_within_thirty_days_is_for_an_admin(capp):
    tid, _, _ = _trainee(capp, openid=OLD_WECHAT)
    client, token = _operator(capp, "kefu-first")
    _check(client, token, tid)
    _replace(client, token, tid, code=latest_code(capp, NEW_PHONE))
    assert _phone_of(capp, tid) == NEW_PHONE

    # The owner calls back: 该号不是我的. Another 客服 sees the flag and is refused.
    second, second_token = _operator(capp, "kefu-second")
    page = unescape(second.get(f"/admin/trainees/{tid}").text)
    assert "由客服 kefu-first 更换为 139****5678" in page
    capp.extensions["clock"].advance(61)
    said = _flash(second, _check(second, second_token, tid, "13812340000"))
    assert "由客服 kefu-first 更换过" in said and "须由管理员核实办理" in said
    assert messages(capp, "13812340000") == []

    admin, admin_token = _operator(capp, "admin-zhou", "admin")
    _check(admin, admin_token, tid, "13812340000")
    said = _flash(
        admin,
        _replace(
            admin,
            admin_token,
            tid,
            phone="13812340000",
            code=latest_code(capp, "13812340000"),
            verification="unit_letter",
            detail="单位人事处出具证明，前次更换非本人申请",
        ),
    )
    assert "已将手机号更换为 138****0000" in said
    assert "该账号未绑定微信；已向原手机号发送更换通知短信" in said
    assert _phone_of(capp, tid) == "13812340000"
    assert [a.reason[:6] for a in _audits(capp, "trainee.replace_phone")] == [
        "身份证照片核",
        "单位出具证明",
    ]


def test_a_login_racing_the_replacement_gets_no_session(base_config, monkeypatch):
    """Whoever knows the password logs in while 客服 replaces the phone: the login checked
    the old password just before the change commits, and must not outlive it."""
    import threading

    from wxapp.accounts import session_ends, trainees

    with serve(base_config, CONSOLE_ENABLED="1") as server:
        app = server.app
        tid, id_number, _ = _trainee(app)
        client, token = _operator(app, "kefu-race")
        _check(client, token, tid)
        code = latest_code(app, NEW_PHONE)
        ended, go = threading.Event(), threading.Event()
        real_end_all = session_ends.end_all

        def end_all_then_wait(*args, **kwargs):
            out = real_end_all(*args, **kwargs)
            ended.set()
            go.wait(10)  # the replacement's commit waits: the login runs meanwhile
            return out

        # Wherever the replacement ends the sessions from.
        monkeypatch.setattr(session_ends, "end_all", end_all_then_wait)
        monkeypatch.setattr(trainees, "end_all", end_all_then_wait)
        replies = {}
        replacing = threading.Thread(
            target=lambda: replies.setdefault("replace", _replace(client, token, tid, code=code))
        )
        replacing.start()
        assert ended.wait(10)
        holder = app.test_client()
        logging_in = threading.Thread(
            target=lambda: replies.setdefault(
                "login",
                holder.post("/api/login", json={"username": id_number, "password": PASSWORD}),
            )
        )
        logging_in.start()
        logging_in.join(1.5)  # it waits for the replacement's row lock, or is done
        go.set()
        replacing.join(20)
        logging_in.join(20)
        monkeypatch.setattr(session_ends, "end_all", real_end_all)
        monkeypatch.setattr(trainees, "end_all", real_end_all)

        assert replies["replace"].status_code == 302 and _phone_of(app, tid) == NEW_PHONE
        assert replies["login"].status_code in (401, 429)
        assert holder.get("/api/me").status_code == 401


def test_the_old_holders_browser_is_no_known_device_after_the_replacement(base_config):
    """A known device has its own failure budget and lock; the old holder's must not outlive
    the replacement, or a stranger's five wrong passwords would lock the owner out while the
    old holder keeps guessing on their own budget."""
    from models import Trainee
    from wxapp.accounts.devices import read

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
        client, token = _operator(app, "kefu-dev")
        _check(client, token, tid)
        assert _replace(client, token, tid, code=latest_code(app, NEW_PHONE)).status_code == 302
        with app.app_context():
            keys = [app.config["SECRET_KEY"], *app.config["SECRET_KEY_FALLBACKS"]]
            stored = db.session.get(Trainee, tid).password_hash
            assert read(keys, holder.get_cookie("wxapp_device").value).of(tid, stored) is None


@pytest.mark.parametrize("first", ["unbind", "temporary-password"])
def test_the_wechat_user_is_told_when_support_drops_the_binding_first(base_config, first):
    """解除微信绑定, or a 临时密码 (which unbinds too), tells the WeChat user the account was
    bound to: one 客服 cannot drop the binding a click before a phone replacement, which
    then finds no binding to tell, and leave the owner's WeChat unaware."""
    with serve(base_config, CONSOLE_ENABLED="1") as server:
        app = server.app
        tid, _, _ = _trainee(app, openid=OLD_WECHAT)
        client, token = _operator(app, "kefu-quiet")
        if first == "unbind":
            res = client.post(f"/admin/trainees/{tid}/unbind", data={"csrf_token": token})
        else:
            res = client.post(
                f"/admin/trainees/{tid}/temporary-password",
                data={"csrf_token": token, "password": "Temp2026pass"},
            )
        assert res.status_code == 302 and _binding_of(app, tid) is None
        assert _flash(client, _check(client, token, tid))
        assert _replace(client, token, tid, code=latest_code(app, NEW_PHONE)).status_code == 302
        assert _phone_of(app, tid) == NEW_PHONE

        Worker(app, app.extensions["wechat"]).drain()
        [message] = oa_state.inbox(app.extensions["redis"], OLD_WECHAT)
        assert message["data"]["thing1"]["value"] == "林*之的学习账号已由客服解除微信绑定"
        assert message["data"]["thing3"]["value"] == "如非本人申请请致电4000239229"


# --- whoever holds the account (or the old phone) acting while 客服 replaces the phone ---

HOLDER_PASSWORD = "Holder2026pass"


def _raced(monkeypatch, module, name, send, replace, when=lambda *args: True):
    """Send `send()` in a thread that pauses right after `module.name` returns (its check
    done, nothing written yet; only for arguments `when` holds for), let `replace()` commit
    meanwhile, then let it go on; its reply."""
    import threading

    checked, go = threading.Event(), threading.Event()
    real = getattr(module, name)

    def then_wait(*args, **kwargs):
        out = real(*args, **kwargs)
        if when(*args):
            checked.set()
            go.wait(10)
        return out

    monkeypatch.setattr(module, name, then_wait)
    replies = []
    sending = threading.Thread(target=lambda: replies.append(send()))
    sending.start()
    assert checked.wait(10)
    replace()
    go.set()
    sending.join(20)
    monkeypatch.setattr(module, name, real)
    return replies[0]


def _holder_and_operator(app, login: str):
    tid, id_number, old_phone = _trainee(app)
    holder = app.test_client()
    signed = holder.post("/api/login", json={"username": id_number, "password": PASSWORD})
    assert signed.status_code == 200
    client, token = _operator(app, login)
    _check(client, token, tid)
    code = latest_code(app, NEW_PHONE)

    def replace() -> None:
        assert _replace(client, token, tid, code=code).status_code == 302

    return tid, id_number, old_phone, holder, replace


def test_a_password_change_racing_the_replacement_is_refused(base_config, monkeypatch):
    """The change checked the old password just before the replacement committed: it must
    not outlive it (before, it wrote its own password over the replacement's and got a
    fresh session: the holder kept the account)."""
    from wxapp.accounts import trainees

    with serve(base_config, CONSOLE_ENABLED="1") as server:
        app = server.app
        tid, id_number, _, holder, replace = _holder_and_operator(app, "kefu-race-pw")
        body = {"old_password": PASSWORD, "new_password": HOLDER_PASSWORD}
        reply = _raced(
            monkeypatch,
            trainees,
            "check_own_password",
            lambda: holder.post("/api/me/password", json=body),
            replace,
        )
        assert reply.status_code == 401 and reply.json["error"] == "password_changed"
        assert holder.get("/api/me").status_code == 401
        again = {"username": id_number, "password": HOLDER_PASSWORD}
        assert app.test_client().post("/api/login", json=again).status_code == 401
        assert _phone_of(app, tid) == NEW_PHONE


def test_a_phone_change_racing_the_replacement_is_refused(base_config, monkeypatch):
    """个人信息's phone change, the same race: before, the holder's phone landed on the
    account after the replacement, and 忘记密码 texted the holder again."""
    from wxapp.accounts import personal_info

    holder_phone = "13711112222"
    with serve(base_config, CONSOLE_ENABLED="1") as server:
        app = server.app
        tid, _, _, holder, replace = _holder_and_operator(app, "kefu-race-ph")
        assert holder.post("/api/me/phone/code", json={"phone": holder_phone}).status_code == 200
        body = {"phone": holder_phone, "sms_code": latest_code(app, holder_phone)}
        body["password"] = PASSWORD
        reply = _raced(
            monkeypatch,
            personal_info,
            "check_own_password",
            lambda: holder.post("/api/me/phone", json=body),
            replace,
        )
        assert reply.status_code == 401 and reply.json["error"] == "password_changed"
        assert _phone_of(app, tid) == NEW_PHONE


def test_a_reset_by_the_old_phone_racing_the_replacement_sets_no_password(base_config, monkeypatch):
    """Whoever holds the OLD phone finishes 忘记密码 with its code while 客服 replaces that
    phone: the code was checked just before the replacement committed, and must not set a
    password after it."""
    from wxapp.accounts import sms_codes

    with serve(base_config, CONSOLE_ENABLED="1") as server:
        app = server.app
        _, id_number, old_phone, holder, replace = _holder_and_operator(app, "kefu-race-reset")
        assert (
            holder.post("/api/password/forgot/code", json={"username": old_phone}).status_code
            == 200
        )
        body = {"username": old_phone, "sms_code": latest_code(app, old_phone)}
        body["new_password"] = HOLDER_PASSWORD
        reply = _raced(
            monkeypatch,
            sms_codes,
            "check_code",
            lambda: holder.post("/api/password/forgot", json=body),
            replace,
            when=lambda r, phone, purpose, *rest: purpose == sms_codes.Purpose.RESET,
        )
        assert reply.status_code == 409 and reply.json["error"] == "phone_changed"
        assert "手机号刚刚已更换" in reply.json["message"]
        again = {"username": id_number, "password": HOLDER_PASSWORD}
        assert app.test_client().post("/api/login", json=again).status_code == 401
