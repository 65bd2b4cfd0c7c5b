"""The official account over real HTTP against a live server and its sandbox: 网页授权 login
and binding, the shared access_token across processes, the menu push from the CLI, and
template messages with the sandbox's failure switches."""

from __future__ import annotations

import multiprocessing
import os
import re
import subprocess
import sys
from html import unescape
from pathlib import Path
from urllib.parse import urljoin

import pytest
import requests
from wechatpy.exceptions import WeChatClientException

from models import WechatBinding, db
from tests.factories import make_trainee
from wxapp.app import create_app
from wxapp.conversation.menu import MENU
from wxapp.sandbox import oa_state

ROOT = Path(__file__).resolve().parents[2]
OPENID = "o_demo_lisi_000000000002"


@pytest.fixture
def trainee(live_server):
    with live_server.app.app_context():
        t = make_trainee(name="王五")
        db.session.commit()
        return {"id": t.id, "phone": t.phone}


def authorize(s: requests.Session, base: str, next_path: str, openid: str = OPENID) -> str:
    """/auth/wechat → the sandbox consent page → allow; the return URL WeChat redirects to."""
    res = s.get(f"{base}/auth/wechat", params={"next": next_path}, allow_redirects=False)
    assert res.status_code == 302
    consent = s.get(res.headers["Location"].split("#")[0])
    assert consent.status_code == 200 and "允许" in consent.text
    fields = dict(re.findall(r'name="(redirect_uri|state)" value="([^"]*)"', consent.text))
    fields = {k: unescape(v) for k, v in fields.items()}
    res = s.post(
        f"{base}/_sandbox/connect/oauth2/authorize",
        data={**fields, "openid": openid},
        allow_redirects=False,
    )
    assert res.status_code == 302
    return res.headers["Location"]


def test_wechat_login_binds_then_logs_straight_in(live_server, trainee):
    base = live_server.url
    with requests.Session() as s:
        back = authorize(s, base, "/h5/plan?id=7")
        assert back.startswith(f"{base}/auth/wechat/return?code=")
        res = s.get(back, allow_redirects=False)
        assert res.status_code == 302
        assert res.headers["Location"] == "/h5/bind?next=%2Fh5%2Fplan%3Fid%3D7"
        assert s.get(f"{base}/api/me").status_code == 401
        res = s.post(
            f"{base}/api/wechat/bind", json={"username": trainee["phone"], "password": "Passw0rd!"}
        )
        assert res.status_code == 200
        me = s.get(f"{base}/api/me")
        assert me.status_code == 200 and me.json()["id"] == trainee["id"]
        # The same return URL again: its state (and code) are spent.
        replay = s.get(back, allow_redirects=False)
        assert replay.status_code == 400 and replay.json()["error"] == "bad_state"
        used_code = re.search(r"code=([^&]+)", back).group(1)

    with requests.Session() as s:
        # A fresh state with the spent code: WeChat answers 40163, the login fails.
        start = s.get(f"{base}/auth/wechat", params={"next": "/h5/x"}, allow_redirects=False)
        state = re.search(r"state=([^&#]+)", start.headers["Location"]).group(1)
        res = s.get(f"{base}/auth/wechat/return", params={"code": used_code, "state": state})
        assert res.status_code == 400 and res.json()["error"] == "oauth_failed"
        # Bound now: the next visit logs straight in and lands on `next`.
        assert "wxapp_device" not in s.cookies
        res = s.get(authorize(s, base, "/h5/progress"), allow_redirects=False)
        assert res.status_code == 302 and res.headers["Location"] == "/h5/progress"
        assert s.get(f"{base}/api/me").json()["id"] == trainee["id"]
        # The WeChat user bound to the account is its owner: a known device from now on.
        assert "wxapp_device" in s.cookies


def test_sandbox_code_exchange_errors(live_server):
    base, cfg = live_server.url, live_server.app.config
    with requests.Session() as s:
        back = authorize(s, base, "/h5/progress")
        code = re.search(r"code=([^&]+)", back).group(1)
        params = {"appid": cfg["WECHAT_APP_ID"], "secret": cfg["WECHAT_APP_SECRET"]}
        url = f"{base}/_sandbox/sns/oauth2/access_token"
        ok = s.get(url, params={**params, "code": code, "grant_type": "authorization_code"})
        assert ok.json()["openid"] == OPENID
        assert s.get(url, params={**params, "code": code}).json()["errcode"] == 40163
        assert s.get(url, params={**params, "code": "nope"}).json()["errcode"] == 40029
        wrong = s.get(url, params={**params, "secret": "x", "code": "nope"})
        assert wrong.json()["errcode"] == 40125


def test_a_password_login_is_never_bound_silently(live_server, trainee):
    """网页授权 in a browser logged in by password binds nothing: that session ends and the
    bind page asks for the password (tests/api/test_oauth_csrf.py has the attacks)."""
    base = live_server.url
    with requests.Session() as s:
        s.post(f"{base}/api/login", json={"username": trainee["phone"], "password": "Passw0rd!"})
        res = s.get(authorize(s, base, "/h5/orders"), allow_redirects=False)
        assert res.headers["Location"] == "/h5/bind?next=%2Fh5%2Forders"
        assert s.get(f"{base}/api/me").status_code == 401
        with live_server.app.app_context():
            assert db.session.execute(db.select(WechatBinding)).first() is None
        res = s.post(
            f"{base}/api/wechat/bind", json={"username": trainee["phone"], "password": "Passw0rd!"}
        )
        assert res.status_code == 200
        assert s.post(f"{base}/api/me/wechat/unbind").json()["was_bound"] is True
    with requests.Session() as s:
        res = s.get(authorize(s, base, "/h5/orders"), allow_redirects=False)
        assert res.headers["Location"].startswith("/h5/bind?")


def _fetch_token(config: dict, barrier, results) -> None:
    app = create_app(config)
    try:
        barrier.wait(timeout=60)
        results.put(app.extensions["wechat"].access_token)
    finally:
        app.extensions["redis"].close()


def test_two_processes_fetch_the_token_once(live_server, base_config):
    r = live_server.app.extensions["redis"]
    oa_state.set_switches(r, slow_ms=300)  # widen the race: the first fetch takes a while
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    config = {**base_config, "PUBLIC_BASE_URL": live_server.url}
    procs = [ctx.Process(target=_fetch_token, args=(config, barrier, results)) for _ in range(2)]
    for p in procs:
        p.start()
    tokens = [results.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    results.close()
    results.join_thread()
    assert tokens[0] == tokens[1]
    assert oa_state.token_fetches(r) == 1
    # Kept for less than its 7200 s life, so it is refreshed before WeChat expires it.
    appid = live_server.app.config["WECHAT_APP_ID"]
    assert 0 < r.ttl(f"wechat:{appid}_access_token") <= 7200 - 300
    # And this process reuses it from Redis, without a fetch.
    assert live_server.app.extensions["wechat"].access_token == tokens[0]
    assert oa_state.token_fetches(r) == 1


def test_rejected_token_is_refreshed_once_and_retried(live_server):
    client = live_server.app.extensions["wechat"]
    r = live_server.app.extensions["redis"]
    client.menu.create(MENU)
    assert oa_state.token_fetches(r) == 1
    r.set(oa_state.K_TOKEN, "someone-else-forced-a-new-one", ex=7200)  # ours: 40001
    assert client.menu.get()["menu"] == MENU
    oa_state.expire_token(r)  # ours: 42001
    assert client.menu.get()["menu"] == MENU
    assert oa_state.token_fetches(r) == 3


def test_menu_push_command_against_the_sandbox(live_server, base_config):
    env = {**os.environ, **base_config, "PUBLIC_BASE_URL": live_server.url}
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "wechat", "menu", "push"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "菜单已发布" in done.stdout
    assert live_server.app.extensions["wechat"].menu.get() == {"menu": MENU}


def test_a_200_that_is_not_wechats_answer_is_not_a_published_menu(live_server):
    """A proxy or firewall in front of WeChat answering 200 with its own page: the operator
    is told the menu was not published, not 菜单已发布."""
    app = live_server.app
    r = app.extensions["redis"]
    assert app.extensions["wechat"].access_token  # held from before; only the call meets it
    oa_state.set_switches(r, fail_http=200)
    try:
        with app.app_context():  # as `flask` gives its commands
            result = app.test_cli_runner().invoke(args=["wechat", "menu", "push"])
    finally:
        oa_state.reset_switches(r)
    assert result.exit_code == 1, result.output
    assert "菜单发布失败" in result.output and "菜单已发布" not in result.output


def test_template_messages_land_in_the_inbox_and_switches_fail_them(live_server):
    client = live_server.app.extensions["wechat"]
    r = live_server.app.extensions["redis"]
    data = {"first": {"value": "支付成功"}, "keyword1": {"value": "90.00元"}}
    sent = client.message.send_template(OPENID, "TPL_PAID", data, url="http://x/h5/orders")
    assert sent["errcode"] == 0
    with requests.Session() as s:
        inbox = s.get(urljoin(live_server.url, "/_sandbox/inbox.json"), params={"openid": OPENID})
        assert [m["template_id"] for m in inbox.json()["messages"]] == ["TPL_PAID"]
        page = s.get(f"{live_server.url}/_sandbox/inbox", params={"openid": OPENID})
        assert "支付成功" in page.text
        s.post(f"{live_server.url}/_sandbox/switches", json={"fail_errcode": -1, "fail_times": 1})
    with pytest.raises(WeChatClientException) as busy:
        client.message.send_template(OPENID, "TPL_PAID", data)
    assert busy.value.errcode == -1
    client.message.send_template(OPENID, "TPL_PAID", data)  # the switch was for one call
    oa_state.set_switches(r, unsubscribed=[OPENID])
    with pytest.raises(WeChatClientException) as gone:
        client.message.send_subscribe_message(OPENID, "SUB1", data)
    assert gone.value.errcode == 43004
    oa_state.reset_switches(r)
    client.message.send_subscribe_message(OPENID, "SUB1", data)
    kinds = [m["kind"] for m in oa_state.inbox(r, OPENID)]
    assert kinds == ["template", "template", "subscribe"]
