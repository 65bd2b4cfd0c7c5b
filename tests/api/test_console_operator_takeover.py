"""A 管理员 who sets another operator's password knows it: the password is a temporary one,
changed at the next sign-in before anything else opens, and that sign-in tells the operator
who reset their password or TOTP and when. A 管理员 who signs in as a 财务 that way can do
nothing but change the password, which locks the real 财务 out and shows in the log."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from models import Operator, OperatorAudit, db
from tests.console_helpers import (
    PASSWORD,
    code_for,
    console_app,
    create_operator,
    csrf_of,
    flashes,
    operator_id,
    password_step,
    sign_in,
)
from wxapp.console import auth
from wxapp.errors import ValidationError
from wxapp.infra.clock import local

TEMPORARY = "Temp2026pass"
NEW = "Mine2026secret"
BOSS_IP = "10.0.0.7"
CASHIER_IP = "10.0.0.20"


@pytest.fixture
def capp(base_config):
    with console_app(base_config) as app:
        yield app


def _client(app, ip: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = ip
    return client


def _totp_step(app, client, secret: str):
    page = client.get("/admin/login/totp")
    return client.post(
        "/admin/login/totp", data={"code": code_for(app, secret), "csrf_token": csrf_of(page.text)}
    )


def _sign_in_with(app, client, login: str, password: str, secret: str):
    """Password and TOTP code; the reply to the code (a redirect)."""
    reply = password_step(client, login, password)
    assert reply.status_code == 302 and "/admin/login/totp" in reply.headers["Location"]
    return _totp_step(app, client, secret)


def _set_password(app, boss, login: str, password: str = TEMPORARY):
    target = operator_id(app, login)
    page = boss.get(f"/admin/operators/password/{target}")
    return boss.post(
        f"/admin/operators/password/{target}",
        data={"password": password, "csrf_token": csrf_of(page.text)},
    )


def _reset_totp(app, boss, login: str) -> str:
    """Reset the operator's TOTP from the console; the new secret (as its QR would show)."""
    target = operator_id(app, login)
    token = csrf_of(boss.get("/admin/operators/").text)
    assert (
        boss.post(f"/admin/operators/reset-totp/{target}", data={"csrf_token": token}).status_code
        == 302
    )
    with app.app_context():
        operator = db.session.get(Operator, target)
        return auth.unseal(operator.totp_secret, [app.config["SECRET_KEY"]])


def _change(client, new: str, repeat: str | None = None, current: str | None = None):
    page = client.get("/admin/login/password")
    data = {"new_password": new, "repeat": new if repeat is None else repeat}
    if current is not None:
        data["current_password"] = current
    return client.post(
        "/admin/login/password",
        data={**data, "csrf_token": csrf_of(page.text)},
        follow_redirects=True,
    )


def _console_requests(app) -> list[tuple[str, str]]:
    """Every console route but the sign-in pages, with a made-up id where it takes one."""
    requests = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/admin") or rule.endpoint.startswith(
            ("console_login.", "admin.static")
        ):
            continue
        path = rule.rule
        for name in rule.arguments:
            path = re.sub(rf"<(?:[a-z]+:)?{name}>", "1" if "id" in name else "csv", path)
        requests.append(("GET" if "GET" in rule.methods else "POST", path))
    return requests


def _flag(app, login: str) -> bool:
    with app.app_context():
        return db.session.get(Operator, operator_id(app, login)).must_change_password


def _beijing(app) -> str:
    return local(app.extensions["clock"].now()).strftime("%Y-%m-%d %H:%M")


def test_a_password_set_by_an_administrator_is_changed_before_anything_else(capp):
    cashier_secret = create_operator(capp, "cashier", "finance", "钱会计")
    boss = _client(capp, BOSS_IP)
    sign_in(capp, boss, "boss", create_operator(capp, "boss", "admin", "刘洋"))
    capp.extensions["clock"].advance(3600)
    set_at = _beijing(capp)
    reply = _set_password(capp, boss, "cashier")
    assert reply.status_code == 302 and _flag(capp, "cashier")

    capp.extensions["clock"].advance(600)
    cashier = _client(capp, CASHIER_IP)
    reply = _sign_in_with(capp, cashier, "cashier", TEMPORARY, cashier_secret)
    assert reply.status_code == 302 and reply.headers["Location"].endswith("/admin/login/password")
    page = cashier.get("/admin/login/password")
    assert page.status_code == 200 and 'id="console-must-change"' in page.text
    assert (
        f"您的密码已于 {set_at}（北京时间）由管理员 刘洋（boss）重置；如非您本人申请，请立即联系"
        in page.text
    )
    assert 'name="current_password"' not in page.text  # typed a moment ago

    token = csrf_of(page.text)
    for method, path in [("GET", "/admin/"), *_console_requests(capp)]:
        reply = cashier.open(path, method=method, data={"csrf_token": token})
        assert reply.status_code == 302, (method, path, reply.status_code)
        assert reply.headers["Location"].endswith("/admin/login/password"), (method, path)
    assert cashier.get("/admin/login/").headers["Location"].endswith("/admin/login/password")
    assert cashier.get("/admin/login/totp").headers["Location"].endswith("/admin/login/password")

    assert "密码至少 10 位，且须同时包含字母和数字" in flashes(_change(cashier, "short1").text)
    assert "新密码不能与管理员设置的临时密码相同" in flashes(_change(cashier, TEMPORARY).text)
    assert "两次输入的新密码不一致" in _change(cashier, NEW, NEW + "x").text
    assert _flag(capp, "cashier")
    assert cashier.get("/admin/refunds/").status_code == 302

    done = _change(cashier, NEW)
    assert "密码已修改" in flashes(done.text) and 'id="console-welcome"' in done.text
    assert not _flag(capp, "cashier")
    for path in ("/admin/", "/admin/refunds/", "/admin/invoices/", "/admin/reconciliation/"):
        assert cashier.get(path).status_code == 200, path
    # The notice was for that sign-in only; the new password signs in from now on.
    again = _client(capp, CASHIER_IP)
    capp.extensions["clock"].advance(30)
    reply = _sign_in_with(capp, again, "cashier", NEW, cashier_secret)
    assert reply.status_code == 302 and "/admin/login" not in reply.headers["Location"]
    assert "重置" not in flashes(again.get("/admin/").text)
    with capp.app_context():
        row = db.session.execute(
            db.select(OperatorAudit).where(OperatorAudit.action == "operator.change_password")
        ).scalar_one()
        assert (row.operator.login, row.target_id, row.ip) == (
            "cashier",
            str(operator_id(capp, "cashier")),
            CASHIER_IP,
        )


def test_an_administrator_signing_in_as_a_finance_officer_can_only_lock_them_out(capp):
    cashier_secret = create_operator(capp, "cashier", "finance", "钱会计")
    boss = _client(capp, BOSS_IP)
    sign_in(capp, boss, "boss", create_operator(capp, "boss", "admin", "刘洋"))
    cashier = _client(capp, CASHIER_IP)
    sign_in(capp, cashier, "cashier", cashier_secret)
    assert cashier.get("/admin/refunds/").status_code == 200

    capp.extensions["clock"].advance(300)
    _set_password(capp, boss, "cashier")
    stolen_secret = _reset_totp(capp, boss, "cashier")
    assert cashier.get("/admin/refunds/").status_code == 302  # the real one is signed out

    capp.extensions["clock"].advance(30)
    thief = _client(capp, BOSS_IP)
    reply = _sign_in_with(capp, thief, "cashier", TEMPORARY, stolen_secret)
    assert reply.headers["Location"].endswith("/admin/login/password")
    page = thief.get("/admin/login/password").text
    assert "您的密码已于" in page and "您的动态验证码已于" in page and "刘洋（boss）" in page
    token = csrf_of(page)
    for method, path in [("GET", "/admin/refunds/"), ("POST", "/admin/refunds/start")]:
        reply = thief.open(path, method=method, data={"csrf_token": token, "out_trade_no": "x"})
        assert reply.headers["Location"].endswith("/admin/login/password")
    assert "密码已修改" in flashes(_change(thief, NEW).text)
    assert thief.get("/admin/refunds/").status_code == 200

    # The real 财务 can no longer sign in with the old password nor the temporary one.
    for password in (PASSWORD, TEMPORARY):
        refused = password_step(_client(capp, CASHIER_IP), "cashier", password)
        assert refused.status_code == 200 and "登录名或密码错误" in refused.text
    # The log shows who set the password and the change by the 财务 account, with both IPs:
    # the same computer.
    log = boss.get("/admin/audit_log/").text
    rows = re.findall(r"<tr>(.*?)</tr>", log, re.S)
    texts = [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)) for row in rows]
    set_rows = [t for t in texts if "operator.set_password" in t]
    changed_rows = [t for t in texts if "operator.change_password" in t]
    assert set_rows and "刘洋（boss）" in set_rows[0] and BOSS_IP in set_rows[0]
    assert changed_rows and "修改自己的密码" in changed_rows[0]
    assert "钱会计（cashier）" in changed_rows[0] and BOSS_IP in changed_rows[0]


def test_a_totp_reset_alone_is_told_without_forcing_a_new_password(capp):
    cashier_secret = create_operator(capp, "cashier", "finance", "钱会计")
    boss = _client(capp, BOSS_IP)
    sign_in(capp, boss, "boss", create_operator(capp, "boss", "admin", "刘洋"))
    cashier = _client(capp, CASHIER_IP)
    sign_in(capp, cashier, "cashier", cashier_secret)
    capp.extensions["clock"].advance(7200)
    reset_at = _beijing(capp)
    new_secret = _reset_totp(capp, boss, "cashier")
    capp.extensions["clock"].advance(60)
    reply = _sign_in_with(capp, cashier, "cashier", PASSWORD, new_secret)
    assert reply.status_code == 302 and "/admin/login" not in reply.headers["Location"]
    notice = flashes(cashier.get("/admin/").text)
    assert f"您的动态验证码已于 {reset_at}（北京时间）由管理员 刘洋（boss）重置" in notice
    assert "您的密码已于" not in notice
    assert cashier.get("/admin/refunds/").status_code == 200
    # Resets before the previous sign-in are not told again.
    capp.extensions["clock"].advance(30)
    again = _client(capp, CASHIER_IP)
    _sign_in_with(capp, again, "cashier", PASSWORD, new_secret)
    assert "重置" not in flashes(again.get("/admin/").text)


def test_the_notice_escapes_the_administrators_name(capp):
    cashier_secret = create_operator(capp, "cashier", "finance", "钱会计")
    boss = _client(capp, BOSS_IP)
    sign_in(capp, boss, "boss", create_operator(capp, "boss", "admin", "<b>刘洋</b>"))
    _set_password(capp, boss, "cashier")
    capp.extensions["clock"].advance(30)
    cashier = _client(capp, CASHIER_IP)
    _sign_in_with(capp, cashier, "cashier", TEMPORARY, cashier_secret)
    page = cashier.get("/admin/login/password").text
    assert "由管理员 &lt;b&gt;刘洋&lt;/b&gt;（boss）重置" in page and "<b>刘洋</b>" not in page


def test_an_administrator_changes_their_own_password_only_with_the_current_one(capp):
    boss = _client(capp, BOSS_IP)
    sign_in(capp, boss, "boss", create_operator(capp, "boss", "admin", "刘洋"))
    me = operator_id(capp, "boss")
    home = boss.get("/admin/").text
    assert 'id="console-change-password"' in home and "/admin/login/password" in home
    # The 设置密码 form refuses one's own account, GET or POST, and changes nothing.
    assert (
        boss.get(f"/admin/operators/password/{me}")
        .headers["Location"]
        .endswith("/admin/login/password")
    )
    token = csrf_of(home)
    reply = boss.post(
        f"/admin/operators/password/{me}", data={"password": TEMPORARY, "csrf_token": token}
    )
    assert reply.headers["Location"].endswith("/admin/login/password")
    with capp.app_context(), pytest.raises(ValidationError):
        auth.set_password(me, TEMPORARY, by=me)
    refused = password_step(_client(capp, BOSS_IP), "boss", TEMPORARY)
    assert "登录名或密码错误" in refused.text

    page = boss.get("/admin/login/password").text
    assert 'name="current_password"' in page and "修改密码" in page
    assert "当前密码错误" in flashes(_change(boss, NEW, current="Wrong2026pass").text)
    assert "新密码不能与当前密码相同" in flashes(_change(boss, PASSWORD, current=PASSWORD).text)
    done = _change(boss, NEW, current=PASSWORD)
    assert "密码已修改" in flashes(done.text)
    assert boss.get("/admin/operators/").status_code == 200  # this session goes on
    assert not _flag(capp, "boss")
    with capp.app_context():
        actions = db.session.execute(
            db.select(OperatorAudit.action).where(OperatorAudit.target_id == str(me))
        ).scalars()
        assert "operator.change_password" in list(actions)


def test_a_sign_in_before_the_reset_is_not_what_the_notice_counts_from(capp):
    """Resets are read from the audit log since the previous sign-in: one made before it
    (already told, or older than the account's last use) is not repeated."""
    cashier_secret = create_operator(capp, "cashier", "finance", "钱会计")
    boss = _client(capp, BOSS_IP)
    sign_in(capp, boss, "boss", create_operator(capp, "boss", "admin", "刘洋"))
    _set_password(capp, boss, "cashier")
    with capp.app_context():
        operator = db.session.get(Operator, operator_id(capp, "cashier"))
        operator.last_login_at = capp.extensions["clock"].now() + timedelta(seconds=1)
        db.session.commit()
    capp.extensions["clock"].advance(30)
    cashier = _client(capp, CASHIER_IP)
    reply = _sign_in_with(capp, cashier, "cashier", TEMPORARY, cashier_secret)
    assert reply.headers["Location"].endswith("/admin/login/password")
    assert "重置" not in flashes(cashier.get("/admin/login/password").text)


def test_the_initial_password_of_an_operator_created_in_the_console_is_temporary(capp):
    """The 管理员 typed it in 新建操作员: the same rule as a password they set later, so
    holding it (then resetting only the TOTP) is no way to act as the new 财务."""
    boss = _client(capp, BOSS_IP)
    sign_in(capp, boss, "boss", create_operator(capp, "boss", "admin", "刘洋"))
    page = boss.get("/admin/operators/new/").text
    reply = boss.post(
        "/admin/operators/new/",
        data={
            "login": "cashier",
            "display_name": "钱会计",
            "role": "finance",
            "password": TEMPORARY,
            "csrf_token": csrf_of(page),
        },
        follow_redirects=True,
    )
    assert "须先把初始密码改成只有本人知道的密码" in flashes(reply.text)
    assert _flag(capp, "cashier")

    capp.extensions["clock"].advance(30)
    cashier = _client(capp, CASHIER_IP)
    assert password_step(cashier, "cashier", TEMPORARY).status_code == 302
    enrol = cashier.get("/admin/login/totp").text
    secret = re.search(r'id="console-secret">([A-Z2-7]+)<', enrol).group(1)
    reply = cashier.post(
        "/admin/login/totp", data={"code": code_for(capp, secret), "csrf_token": csrf_of(enrol)}
    )
    assert reply.headers["Location"].endswith("/admin/login/password")
    assert cashier.get("/admin/refunds/").headers["Location"].endswith("/admin/login/password")
    assert "新密码不能与管理员设置的临时密码相同" in flashes(_change(cashier, TEMPORARY).text)
    assert "密码已修改" in flashes(_change(cashier, NEW).text)
    assert cashier.get("/admin/refunds/").status_code == 200
