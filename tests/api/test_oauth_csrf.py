"""网页授权 without takeover, over real HTTP through the sandbox's consent page: each
`requests.Session` is one browser, each openid one WeChat user.

- a return link made in the attacker's browser (the login CSRF) logs nobody in and binds
  nothing in the victim's browser, logged in or not;
- an initial-password session is not upgraded, and nothing is bound, by 网页授权;
- a browser logged in as someone else is logged out, not bound;
- re-binding an account bound to another WeChat user needs the password and an SMS code
  (read from the sandbox's SMS inbox), and the old WeChat user receives the template
  message through the real notification worker;
- after a password change the WeChat user bound before no longer logs in.
"""

from __future__ import annotations

import re
from html import unescape

import pytest
import requests

from models import Outbox, Trainee, WechatBinding, db
from tests.factories import make_binding, make_trainee
from tests.sms import latest_code
from wxapp.accounts import wechat_login
from wxapp.accounts.idnumbers import initial_password
from wxapp.events import WechatRebound
from wxapp.notifications.worker import Worker
from wxapp.sandbox import oa_state

ATTACKER = "o_attacker_wechat_0000000001"
VICTIM_WECHAT = "o_victim_wechat_00000000001"
PASSWORD = "Passw0rd!"


def authorize(s: requests.Session, base: str, next_path: str, openid: str) -> str:
    """/auth/wechat → the sandbox consent page → allow as `openid`; the return URL."""
    res = s.get(f"{base}/auth/wechat", params={"next": next_path}, allow_redirects=False)
    assert res.status_code == 302
    consent = s.get(res.headers["Location"].split("#")[0])
    assert consent.status_code == 200 and "允许" in consent.text
    fields = dict(re.findall(r'name="(redirect_uri|state)" value="([^"]*)"', consent.text))
    res = s.post(
        f"{base}/_sandbox/connect/oauth2/authorize",
        data={**{k: unescape(v) for k, v in fields.items()}, "openid": openid},
        allow_redirects=False,
    )
    assert res.status_code == 302
    return res.headers["Location"]


def login(s: requests.Session, base: str, username: str, password: str = PASSWORD) -> int:
    return s.post(
        f"{base}/api/login", json={"username": username, "password": password}
    ).status_code


def me(s: requests.Session, base: str) -> requests.Response:
    return s.get(f"{base}/api/me")


def bindings(app) -> dict[str, int]:
    with app.app_context():
        rows = db.session.execute(db.select(WechatBinding.openid, WechatBinding.trainee_id))
        return dict(rows.all())


def new_trainee(app, *, name: str = "王五", password: str | None = PASSWORD, bound: str = ""):
    with app.app_context():
        t = make_trainee(name=name, password=password)
        if bound:
            make_binding(t, bound)
        db.session.commit()
        return {"id": t.id, "phone": t.phone, "id_number": t.id_number}


@pytest.fixture
def victim(live_server):
    return new_trainee(live_server.app, name="李四")


@pytest.mark.parametrize("victim_state", ["logged_in", "anonymous", "own_flow_started"])
def test_a_return_link_replayed_in_another_browser_logs_nobody_in(
    live_server, victim, victim_state
):
    base, app = live_server.url, live_server.app
    with requests.Session() as attacker, requests.Session() as browser:
        link = authorize(attacker, base, "/h5/progress", ATTACKER)  # not followed
        if victim_state == "logged_in":
            assert login(browser, base, victim["phone"]) == 200
        elif victim_state == "own_flow_started":
            browser.get(f"{base}/auth/wechat", allow_redirects=False)  # a nonce of its own

        res = browser.get(link, allow_redirects=False)
        assert res.status_code == 403 and res.json()["error"] == "state_mismatch"
        assert bindings(app) == {}
        if victim_state == "logged_in":
            assert me(browser, base).json()["id"] == victim["id"]  # still just the victim
        else:
            assert me(browser, base).status_code == 401
        # No openid was left pending in the victim's browser: typing the password binds nothing.
        res = browser.post(
            f"{base}/api/wechat/bind", json={"username": victim["phone"], "password": PASSWORD}
        )
        assert res.status_code == 401 and res.json()["error"] == "no_wechat_openid"
        assert bindings(app) == {}
        # And the link is spent: not even the attacker's own browser can use it now.
        res = attacker.get(link, allow_redirects=False)
        assert res.status_code == 400 and res.json()["error"] == "bad_state"
        assert me(attacker, base).status_code == 401


def test_the_refusal_is_a_chinese_page_in_a_browser(live_server, victim):
    base = live_server.url
    with requests.Session() as attacker, requests.Session() as browser:
        link = authorize(attacker, base, "/h5/progress", ATTACKER)
        res = browser.get(link, headers={"Accept": "text/html,*/*;q=0.8"})
        assert res.status_code == 403 and res.headers["Content-Type"].startswith("text/html")
        assert "微信登录未完成" in res.text and "从公众号菜单重新进入" in res.text


def test_an_initial_password_session_is_not_upgraded_and_binds_nothing(live_server):
    base, app = live_server.url, live_server.app
    roster = new_trainee(app, name="赵六", password=None)
    start = initial_password(roster["id_number"])
    with requests.Session() as s:
        login(s, base, roster["id_number"], start)
        assert me(s, base).status_code != 200  # at most the activation step
        res = s.get(authorize(s, base, "/h5/progress", ATTACKER), allow_redirects=False)
        assert res.status_code == 302 and res.headers["Location"].startswith("/h5/bind?")
        assert me(s, base).status_code == 401  # logged out, not upgraded
        assert bindings(app) == {}
        res = s.post(
            f"{base}/api/wechat/bind", json={"username": roster["id_number"], "password": start}
        )
        assert res.status_code == 403 and res.json()["error"] == "activation_required"
        res = s.post(
            f"{base}/api/wechat/bind/sms",
            json={"username": roster["id_number"], "password": start},
        )
        assert res.status_code == 403 and res.json()["error"] == "activation_required"
        assert me(s, base).status_code == 401
        assert bindings(app) == {}


def test_a_binding_made_before_activation_logs_nobody_in(live_server):
    """Bindings made with the initial password before these rules do not open a session."""
    base, app = live_server.url, live_server.app
    new_trainee(app, name="赵六", password=None, bound=ATTACKER)
    with requests.Session() as s:
        res = s.get(authorize(s, base, "/h5/progress", ATTACKER), allow_redirects=False)
        assert res.headers["Location"].startswith("/h5/bind?")
        assert me(s, base).status_code == 401


def test_a_browser_logged_in_as_someone_else_is_logged_out_not_bound(live_server, victim):
    base, app = live_server.url, live_server.app
    with requests.Session() as s:
        assert login(s, base, victim["phone"]) == 200
        old_cookie = s.cookies.get("wxapp_session")
        res = s.get(authorize(s, base, "/h5/orders", ATTACKER), allow_redirects=False)
        assert res.status_code == 302
        assert res.headers["Location"] == "/h5/bind?next=%2Fh5%2Forders"
        assert me(s, base).status_code == 401
        assert bindings(app) == {}
    with requests.Session() as copy:  # the victim's old cookie has ended, not just moved
        copy.cookies.set("wxapp_session", old_cookie)
        res = me(copy, base)
        assert res.status_code == 401 and res.json()["error"] == "session_ended"


def test_a_browser_of_another_trainee_switches_to_the_bound_one(live_server, victim):
    """The openid is bound to T, the browser is logged in as U: U's session ends, T's starts."""
    base, app = live_server.url, live_server.app
    owner = new_trainee(app, name="孙七", bound=VICTIM_WECHAT)
    with requests.Session() as s:
        assert login(s, base, victim["phone"]) == 200
        old_cookie = s.cookies.get("wxapp_session")
        res = s.get(authorize(s, base, "/h5/orders", VICTIM_WECHAT), allow_redirects=False)
        assert res.headers["Location"] == "/h5/orders"
        assert me(s, base).json()["id"] == owner["id"]
    assert bindings(app) == {VICTIM_WECHAT: owner["id"]}
    with requests.Session() as copy:
        copy.cookies.set("wxapp_session", old_cookie)
        assert me(copy, base).status_code == 401


def test_rebind_needs_an_sms_code_and_the_old_wechat_user_is_told(live_server, victim):
    base, app = live_server.url, live_server.app
    r = app.extensions["redis"]
    body = {"username": victim["phone"], "password": PASSWORD}
    with requests.Session() as old_wechat:
        # The trainee's own WeChat, bound through the bind page, logged in.
        res = old_wechat.get(authorize(old_wechat, base, "/h5/progress", VICTIM_WECHAT))
        assert old_wechat.post(f"{base}/api/wechat/bind", json=body).status_code == 200
        assert me(old_wechat, base).json()["id"] == victim["id"]
        with requests.Session() as new_wechat:
            res = new_wechat.get(
                authorize(new_wechat, base, "/h5/progress", ATTACKER), allow_redirects=False
            )
            assert res.headers["Location"].startswith("/h5/bind?")
            res = new_wechat.post(f"{base}/api/wechat/bind", json=body)
            assert res.status_code == 409 and res.json()["error"] == "rebind_needs_sms"
            assert res.json()["phone_tail"] == victim["phone"][-4:]
            assert latest_code(base, victim["phone"]) is None  # nothing sent without asking
            sent = new_wechat.post(f"{base}/api/wechat/bind/sms", json=body)
            assert sent.status_code == 200, sent.text
            assert sent.json()["phone_tail"] == victim["phone"][-4:]
            code = latest_code(base, victim["phone"])
            assert code and len(code) == 6
            wrong = "000000" if code != "000000" else "111111"
            res = new_wechat.post(f"{base}/api/wechat/bind", json={**body, "sms_code": wrong})
            assert res.status_code == 422 and res.json()["error"] == "bad_sms_code"
            assert bindings(app) == {VICTIM_WECHAT: victim["id"]}
            res = new_wechat.post(f"{base}/api/wechat/bind", json={**body, "sms_code": code})
            assert res.status_code == 200 and res.json()["wechat_bound"] is True
            assert me(new_wechat, base).json()["id"] == victim["id"]
            assert bindings(app) == {ATTACKER: victim["id"]}
            # The code was used up.
            res = new_wechat.post(f"{base}/api/wechat/bind", json={**body, "sms_code": code})
            assert res.status_code == 200  # bound to this WeChat user now: no code needed
        # The old WeChat user's session ended with its binding.
        res = me(old_wechat, base)
        assert res.status_code == 401 and res.json()["error"] == "session_ended"

    with app.app_context():
        [row] = db.session.execute(db.select(Outbox)).scalars().all()
        assert row.event_type == WechatRebound.event_type and row.trainee_id == victim["id"]
    assert Worker(app, app.extensions["wechat"]).drain() == 1
    [message] = oa_state.inbox(r, VICTIM_WECHAT)
    assert (
        message["template_id"] == app.config["WECHAT_TEMPLATE_REBIND"] == ("sbx_tpl_wechat_rebound")
    )
    assert message["data"]["thing1"]["value"] == "李*的学习账号已改绑其他微信"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", message["data"]["time2"]["value"])
    assert "4000239229" in message["data"]["thing3"]["value"]
    assert oa_state.inbox(r, ATTACKER) == []  # told to the old WeChat user, not the new one
    with app.app_context():
        assert db.session.execute(db.select(Outbox.status)).scalar_one() == "sent"
    with requests.Session() as s:
        page = s.get(f"{base}/_sandbox/inbox", params={"openid": VICTIM_WECHAT})
        assert "已改绑其他微信" in page.text


def test_after_a_password_change_the_wechat_bound_before_no_longer_logs_in(live_server, victim):
    """The attacker knew the password and bound a WeChat; the trainee changes the password."""
    base, app = live_server.url, live_server.app
    body = {"username": victim["phone"], "password": PASSWORD}
    with requests.Session() as attacker:
        attacker.get(authorize(attacker, base, "/h5/progress", ATTACKER))
        assert attacker.post(f"{base}/api/wechat/bind", json=body).status_code == 200
        with requests.Session() as trainee:
            assert login(trainee, base, victim["phone"]) == 200
            res = trainee.post(
                f"{base}/api/me/password",
                json={"old_password": PASSWORD, "new_password": "N3wSecret!"},
            )
            assert res.status_code == 200
        assert me(attacker, base).status_code == 401  # the session ended
        res = attacker.get(
            authorize(attacker, base, "/h5/progress", ATTACKER), allow_redirects=False
        )
        assert res.headers["Location"].startswith("/h5/bind?")  # the binding is gone
        assert me(attacker, base).status_code == 401
        res = attacker.post(f"{base}/api/wechat/bind", json=body)  # the old password
        assert res.status_code == 401
    assert bindings(app) == {}


def test_an_unbind_while_wechat_logs_in_leaves_no_session(live_server, victim, monkeypatch):
    """The owner of a lost phone has its WeChat unbound while the phone opens the menu: the
    login that read the binding just before must not come out with a session."""
    base, app = live_server.url, live_server.app
    with app.app_context():
        make_binding(db.session.get(Trainee, victim["id"]), VICTIM_WECHAT)
        db.session.commit()
    real_get_trainee = wechat_login.accounts.get_trainee

    def unbound_meanwhile(trainee_id):
        trainee = real_get_trainee(trainee_id)
        wechat_login.unbind(app.extensions["redis"], trainee_id, app.extensions["clock"].now())
        return trainee

    monkeypatch.setattr(wechat_login.accounts, "get_trainee", unbound_meanwhile)
    with requests.Session() as phone:
        res = phone.get(
            authorize(phone, base, "/h5/progress", VICTIM_WECHAT), allow_redirects=False
        )
        monkeypatch.undo()
        assert res.headers["Location"].startswith("/h5/bind?")
        assert me(phone, base).status_code == 401
    assert bindings(app) == {}
