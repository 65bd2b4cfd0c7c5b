"""Who gets into the operator console at /admin, and what each role may do there."""

from __future__ import annotations

import hashlib
import io
import json

import pytest

from models import (
    Operator,
    OperatorAudit,
    Outbox,
    OutboxStatus,
    PlanCourse,
    TrainingPlan,
    db,
)
from tests.console_helpers import (
    PASSWORD,
    code_for,
    console_app,
    create_operator,
    csrf_of,
    flashes,
    operator_id,
    password_step,
    plan_form,
    sign_in,
    sign_in_again,
)
from tests.factories import make_plan, make_trainee
from wxapp.console import FLASK_ADMIN_TEMPLATES, csp_safe, session
from wxapp.console.session import COOKIE

ADMIN_PAGES = [
    "/admin/plans/",
    "/admin/courses/",
    "/admin/chapters/",
    "/admin/catalogue_load/",
    "/admin/units/",
    "/admin/districts/",
    "/admin/unit_admins/",
    "/admin/roster_import/",
    "/admin/unit_report/",
    "/admin/operators/",
    "/admin/outbox/",
    "/admin/audit_log/",
]


@pytest.fixture
def capp(base_config):
    with console_app(base_config) as app:
        yield app


def _audit_count(app) -> int:
    with app.app_context():
        return db.session.execute(db.select(db.func.count(OperatorAudit.id))).scalar_one()


def _given_up_push(app) -> int:
    with app.app_context():
        trainee = make_trainee(name="推送失败")
        row = Outbox(
            event_type="payment_succeeded",
            trainee_id=trainee.id,
            subject="order-1",
            payload={},
            status=OutboxStatus.GIVEN_UP,
            attempts=8,
            last_error="43004 需要接收者关注",
            created_at=app.extensions["clock"].now(),
        )
        db.session.add(row)
        db.session.commit()
        return row.id


def test_the_console_is_absent_when_disabled(client):
    for path in ["/admin/", "/admin/login/", "/admin/operators/", "/admin/audit_log/"]:
        assert client.get(path).status_code == 404
    assert client.post("/admin/login/", data={"login": "x", "password": "y"}).status_code == 404


def test_a_trainees_cookie_gets_nothing_under_admin(capp):
    client = capp.test_client()
    with capp.app_context():
        trainee = make_trainee(password="Passw0rd!x")
        phone = trainee.phone
        db.session.commit()
    assert (
        client.post("/api/login", json={"username": phone, "password": "Passw0rd!x"}).status_code
        == 200
    )
    trainee_cookie = client.get_cookie("wxapp_session")
    assert trainee_cookie is not None
    # The trainee's own cookie, and the same signed value presented as the console's.
    for attempt in range(2):
        if attempt:
            client.set_cookie(COOKIE, trainee_cookie.value, path="/admin")
        home = client.get("/admin/")
        assert home.status_code == 302 and home.headers["Location"].startswith("/admin/login/")
        for path in ADMIN_PAGES:
            reply = client.get(path)
            assert reply.status_code == 302, path
            assert reply.headers["Location"].startswith("/admin/login/"), path
    assert _audit_count(capp) == 0


def test_without_the_second_factor_nothing_opens(capp):
    secret = create_operator(capp, "boss", "admin")
    push_id = _given_up_push(capp)
    client = capp.test_client()
    reply = password_step(client, "boss")
    assert reply.status_code == 302 and "/admin/login/totp" in reply.headers["Location"]
    for path in ["/admin/", *ADMIN_PAGES]:
        reply = client.get(path)
        assert reply.status_code == 302, path
        assert "/admin/login/totp" in reply.headers["Location"], path
    # An action posted with a good token of this half-open session is refused too.
    token = csrf_of(client.get("/admin/login/totp").text)
    reply = client.post(f"/admin/outbox/retry/{push_id}", data={"csrf_token": token})
    assert reply.status_code == 302 and "/admin/login/totp" in reply.headers["Location"]
    with capp.app_context():
        assert db.session.get(Outbox, push_id).status == OutboxStatus.GIVEN_UP
    # The enrolment QR is shown to the operator who has not enrolled yet...
    page = client.get("/admin/login/totp").text
    assert 'id="console-enrol"' in page and secret in page
    # ...and never again once a code was accepted.
    client.post("/admin/login/totp", data={"code": code_for(capp, secret), "csrf_token": token})
    assert client.get("/admin/operators/").status_code == 200
    other = capp.test_client()
    password_step(other, "boss")
    again = other.get("/admin/login/totp").text
    assert 'id="console-enrol"' not in again and secret not in again


def test_a_wrong_or_replayed_code_is_refused_and_repeated_failures_lock(capp):
    secret = create_operator(capp, "clerk", "support")
    client = capp.test_client()
    sign_in(capp, client, "clerk", secret)
    # The same code a second time (another browser, same 30 s step): refused.
    thief = capp.test_client()
    password_step(thief, "clerk")
    token = csrf_of(thief.get("/admin/login/totp").text)
    reply = thief.post(
        "/admin/login/totp", data={"code": code_for(capp, secret), "csrf_token": token}
    )
    assert reply.status_code == 200 and "验证码错误或已使用" in reply.text
    assert thief.get("/admin/").status_code == 302
    # Wrong passwords: locked after CONSOLE_LOCKOUT_ATTEMPTS (5), even for the right one.
    refused = (
        "登录名或密码错误。同一账号连续输错 5 次会锁定 15 分钟，锁定期间即使密码正确也无法登录"
    )
    for _ in range(5):
        assert refused in password_step(thief, "clerk", "Wrong-pass-123").text
    locked = password_step(thief, "clerk", PASSWORD)
    assert locked.status_code == 200 and refused in locked.text
    capp.extensions["clock"].advance(16 * 60)
    assert password_step(thief, "clerk", PASSWORD).status_code == 302
    with capp.app_context():
        actions = db.session.execute(db.select(OperatorAudit.action)).scalars().all()
    assert "operator.locked" in actions


def test_a_form_without_its_csrf_token_changes_nothing(capp):
    secret = create_operator(capp, "boss", "admin")
    push_id = _given_up_push(capp)
    client = capp.test_client()
    sign_in(capp, client, "boss", secret)
    before = _audit_count(capp)
    assert client.post(f"/admin/outbox/retry/{push_id}").status_code == 400
    assert (
        client.post(f"/admin/outbox/retry/{push_id}", data={"csrf_token": "x"}).status_code == 400
    )
    reply = client.post("/admin/units/new/", data={"name": "无令牌单位", "district": "垫江县"})
    assert reply.status_code == 200 and "无令牌单位" not in client.get("/admin/units/").text
    assert _audit_count(capp) == before
    # A token from another operator's session does not work either.
    other_secret = create_operator(capp, "boss2", "admin")
    other = capp.test_client()
    sign_in(capp, other, "boss2", other_secret)
    foreign = csrf_of(other.get("/admin/units/new/").text)
    assert (
        client.post(f"/admin/outbox/retry/{push_id}", data={"csrf_token": foreign}).status_code
        == 400
    )


@pytest.mark.parametrize("role", ["support", "finance"])
def test_only_the_administrator_opens_the_administration_views(capp, role):
    secret = create_operator(capp, f"op-{role}", role)
    push_id = _given_up_push(capp)
    client = capp.test_client()
    sign_in(capp, client, f"op-{role}", secret)
    home = client.get("/admin/")
    assert home.status_code == 200 and "操作员" not in home.text.split("</nav>")[0]
    for path in ADMIN_PAGES:
        assert client.get(path).status_code == 403, path
    token = csrf_of(home.text)
    assert (
        client.post(f"/admin/outbox/retry/{push_id}", data={"csrf_token": token}).status_code == 403
    )
    assert (
        client.post(
            "/admin/operators/new/",
            data={
                "login": "sneaky",
                "display_name": "偷建",
                "role": "admin",
                "password": "Sneaky-pass-1",
                "csrf_token": token,
            },
        ).status_code
        == 403
    )
    with capp.app_context():
        assert db.session.get(Outbox, push_id).status == OutboxStatus.GIVEN_UP


@pytest.mark.parametrize("role", ["admin", "support", "finance"])
def test_no_role_edits_the_audit_log(capp, role):
    secret = create_operator(capp, f"op-{role}", role)
    client = capp.test_client()
    sign_in(capp, client, f"op-{role}", secret)
    with capp.app_context():
        row = (
            db.session.execute(db.select(OperatorAudit).order_by(OperatorAudit.id.desc()))
            .scalars()
            .first()
        )
        row_id, action = row.id, row.action
    token = csrf_of(client.get("/admin/").text)
    assert client.get("/admin/audit_log/new/").status_code in (302, 403)
    assert client.get(f"/admin/audit_log/edit/?id={row_id}").status_code in (302, 403)
    for url, data in [
        ("/admin/audit_log/new/", {"action": "forged", "target_type": "x"}),
        (f"/admin/audit_log/edit/?id={row_id}", {"action": "forged", "target_type": "x"}),
        ("/admin/audit_log/delete/", {"id": str(row_id)}),
        ("/admin/audit_log/action/", {"action": "delete", "rowid": str(row_id)}),
    ]:
        reply = client.post(url, data={**data, "csrf_token": token})
        assert reply.status_code in (302, 403, 404), (url, reply.status_code)
    with capp.app_context():
        assert db.session.get(OperatorAudit, row_id).action == action
        assert (
            db.session.execute(
                db.select(db.func.count()).where(OperatorAudit.action == "forged")
            ).scalar_one()
            == 0
        )
    if role == "admin":  # the administrator reads it, and can search it
        page = client.get("/admin/audit_log/?search=operator.login")
        assert page.status_code == 200 and "operator.login" in page.text
        assert (
            "/admin/audit_log/new/" not in page.text and "/admin/audit_log/edit/" not in page.text
        )


def test_the_administrators_actions_leave_audit_rows_in_their_transaction(capp):
    secret = create_operator(capp, "boss", "admin")
    push_id = _given_up_push(capp)
    client = capp.test_client()
    sign_in(capp, client, "boss", secret)
    token = csrf_of(client.get("/admin/outbox/").text)
    assert (
        client.post(f"/admin/outbox/retry/{push_id}", data={"csrf_token": token}).status_code == 302
    )
    # Twice: the second finds nothing given up and writes nothing.
    client.post(f"/admin/outbox/retry/{push_id}", data={"csrf_token": token})
    with capp.app_context():
        db.session.expire_all()
        row = db.session.get(Outbox, push_id)
        assert (row.status, row.attempts) == (OutboxStatus.PENDING, 0)
        audits = (
            db.session.execute(
                db.select(OperatorAudit).where(OperatorAudit.action == "outbox.retry")
            )
            .scalars()
            .all()
        )
        assert len(audits) == 1
        assert audits[0].operator.login == "boss" and audits[0].target_id == str(push_id)
        assert (
            audits[0].before["status"] == "given_up" and "43004" in audits[0].before["last_error"]
        )
        plan = make_plan()
        plan_id = plan.id
        db.session.commit()
    # 下架 then 上架 a plan, and create a unit through Flask-Admin's own form.
    assert (
        client.post(f"/admin/plans/unpublish/{plan_id}", data={"csrf_token": token}).status_code
        == 302
    )
    reply = client.post(
        "/admin/units/new/",
        data={"name": "万州区人民医院", "district": "万州区", "csrf_token": token},
    )
    assert reply.status_code == 302
    reply = client.post(
        "/admin/units/new/",
        data={"name": "万州区人民医院", "district": "万州区", "csrf_token": token},
    )
    assert "保存失败" in client.get("/admin/units/").text or reply.status_code == 200
    with capp.app_context():
        actions = db.session.execute(
            db.select(OperatorAudit.action, OperatorAudit.after).order_by(OperatorAudit.id)
        ).all()
    names = [a for a, _ in actions]
    assert "training_plans.unpublish" in names
    assert [after["name"] for a, after in actions if a == "units.create"] == ["万州区人民医院"]


def test_administrators_create_operators_who_enrol_at_first_login(capp):
    secret = create_operator(capp, "boss", "admin")
    client = capp.test_client()
    sign_in(capp, client, "boss", secret)
    token = csrf_of(client.get("/admin/operators/new/").text)
    weak = client.post(
        "/admin/operators/new/",
        data={
            "login": "kefu1",
            "display_name": "客服一",
            "role": "support",
            "password": "short",
            "csrf_token": token,
        },
    )
    assert "密码至少 10 位" in client.get("/admin/operators/").text or "密码至少 10 位" in weak.text
    reply = client.post(
        "/admin/operators/new/",
        data={
            "login": "kefu1",
            "display_name": "客服一",
            "role": "support",
            "password": "Kefu-pass-2026",
            "csrf_token": token,
        },
    )
    assert reply.status_code == 302
    listing = client.get("/admin/operators/").text
    assert "kefu1" in listing and "客服" in listing and "Kefu-pass" not in listing
    newcomer = capp.test_client()
    assert password_step(newcomer, "kefu1", "Kefu-pass-2026").status_code == 302
    page = newcomer.get("/admin/login/totp").text
    assert 'id="console-enrol"' in page and "data:image/svg+xml;base64," in page
    with capp.app_context():
        row = (
            db.session.execute(
                db.select(OperatorAudit)
                .where(OperatorAudit.action == "operator.create")
                .order_by(OperatorAudit.id.desc())
            )
            .scalars()
            .first()
        )
        assert row.after == {
            "login": "kefu1",
            "display_name": "客服一",
            "role": "support",
            "must_change_password": True,
        }
        assert row.operator.login == "boss"


def test_console_pages_keep_the_strict_policy(capp):
    secret = create_operator(capp, "boss", "admin")
    client = capp.test_client()
    for page in [client.get("/admin/login/")]:
        assert (
            "'unsafe-inline'"
            not in page.headers["Content-Security-Policy"].split("script-src")[1].split(";")[0]
        )
    sign_in(capp, client, "boss", secret)
    for path in ["/admin/", *ADMIN_PAGES, "/admin/operators/new/", "/admin/units/new/"]:
        reply = client.get(path)
        assert reply.status_code == 200, path
        csp = reply.headers["Content-Security-Policy"]
        script_src = csp.split("script-src")[1].split(";")[0]
        assert "'unsafe-inline'" not in script_src and "'nonce-" in script_src
        assert "javascript:" not in reply.text and " onclick=" not in reply.text, path
        assert reply.headers["Cache-Control"] == "no-store"
        assert "<html" in reply.text and "继续教育运营后台" in reply.text
    # The console's cookie is its own: path /admin, HttpOnly, SameSite=Strict.
    cookie = client.get_cookie(COOKIE, path="/admin")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Strict"


def test_the_command_line_creates_the_first_operator(capp):
    runner = capp.test_cli_runner()
    result = runner.invoke(
        args=[
            "operators",
            "create",
            "--login",
            "first",
            "--name",
            "第一位管理员",
            "--role",
            "admin",
            "--password",
            "First-admin-2026",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "已创建操作员 first（第一位管理员，管理员）" in result.output
    secret = result.output.split("密钥：")[1].split()[0]
    assert "otpauth://totp/" in result.output
    client = capp.test_client()
    reply = password_step(client, "first", "First-admin-2026")
    assert reply.status_code == 302
    token = csrf_of(client.get("/admin/login/totp").text)
    client.post("/admin/login/totp", data={"code": code_for(capp, secret), "csrf_token": token})
    assert client.get("/admin/operators/").status_code == 200
    listed = runner.invoke(args=["operators", "list"])
    assert "first" in listed.output and "已绑定动态验证码" in listed.output
    assert secret not in listed.output
    bad = runner.invoke(
        args=[
            "operators",
            "create",
            "--login",
            "first",
            "--name",
            "重名",
            "--role",
            "admin",
            "--password",
            "First-admin-2026",
        ]
    )
    assert bad.exit_code != 0 and "已被使用" in bad.output


CATALOGUE = {
    "courses": [
        {
            "code": "c-console-1",
            "title": "人工智能赋能千行百业",
            "category": "综合管理",
            "hours": 10,
            "teacher": "周志远 教授",
            "chapters": [
                {
                    "title": "人工智能的发展脉络",
                    "duration": 60,
                    "video_url": "/static/media/demo.mp4",
                }
            ],
        }
    ],
    "plans": [
        {
            "code": "p-console-2031",
            "year": 2031,
            "kind": "public",
            "title": "2031年公需科目（后台导入）",
            "required_hours": 10,
            "price_per_hour_fen": 150,
            "courses": ["c-console-1"],
        }
    ],
}


def test_the_administrator_loads_a_catalogue_file_all_or_nothing(capp):
    secret = create_operator(capp, "boss", "admin")
    client = capp.test_client()
    sign_in(capp, client, "boss", secret)
    token = csrf_of(client.get("/admin/catalogue_load/").text)
    spoiled = json.loads(json.dumps(CATALOGUE))
    spoiled["plans"][0]["required_hours"] = "很多"
    reply = client.post(
        "/admin/catalogue_load/",
        data={"csrf_token": token, "file": (io.BytesIO(json.dumps(spoiled).encode()), "bad.json")},
        content_type="multipart/form-data",
    )
    assert reply.status_code == 200 and "未做任何更改" in reply.text
    assert "plans[0].required_hours" in reply.text or "required_hours" in reply.text
    assert "2031年公需科目" not in client.get("/admin/plans/").text
    reply = client.post(
        "/admin/catalogue_load/",
        data={"csrf_token": token, "file": (io.BytesIO(json.dumps(CATALOGUE).encode()), "ok.json")},
        content_type="multipart/form-data",
    )
    assert reply.status_code == 200 and "课程目录已载入" in reply.text
    assert "2031年公需科目（后台导入）" in client.get("/admin/plans/").text
    with capp.app_context():
        row = db.session.execute(
            db.select(OperatorAudit).where(OperatorAudit.action == "catalogue.load")
        ).scalar_one()
        assert row.target_id == "ok.json" and "p-console-2031" in row.after["plans"]
        # Which content went in, whatever the file was called.
        assert row.after["sha256"] == hashlib.sha256(json.dumps(CATALOGUE).encode()).hexdigest()


def test_logging_out_ends_the_console_session(capp):
    secret = create_operator(capp, "boss", "admin")
    client = capp.test_client()
    sign_in(capp, client, "boss", secret)
    home = client.get("/admin/")
    assert "退出登录" in home.text
    assert (
        client.post("/admin/login/logout", data={"csrf_token": csrf_of(home.text)}).status_code
        == 302
    )
    reply = client.get("/admin/operators/")
    assert reply.status_code == 302 and reply.headers["Location"].startswith("/admin/login/")


def test_a_copied_console_cookie_is_refused_after_logout(capp):
    """A cookie copied from a shared PC or a proxy log opens nothing once the operator has
    logged out: the logout ends every session of the operator, the copy's included."""
    secret = create_operator(capp, "boss", "admin")
    boss, other_pc = capp.test_client(), capp.test_client()
    sign_in(capp, boss, "boss", secret)
    sign_in_again(capp, other_pc, "boss", secret)
    copied = boss.get_cookie(COOKIE, path="/admin").value
    home = boss.get("/admin/")
    boss.post("/admin/login/logout", data={"csrf_token": csrf_of(home.text)})
    thief = capp.test_client()
    thief.set_cookie(COOKIE, copied, path="/admin")
    assert thief.get("/admin/operators/").status_code == 302
    assert other_pc.get("/admin/operators/").status_code == 302
    with capp.app_context():
        assert db.session.execute(
            db.select(OperatorAudit.action).where(OperatorAudit.action == "operator.logout")
        ).scalar_one()
    sign_in_again(capp, boss, "boss", secret)  # works, with a new cookie
    assert boss.get("/admin/operators/").status_code == 200


def test_resetting_a_second_factor_signs_its_sessions_out(capp):
    """The authenticator was lost or stolen: the sessions it opened end with the reset."""
    boss_secret = create_operator(capp, "boss", "admin")
    clerk_secret = create_operator(capp, "clerk", "support", "职员")
    boss, clerk = capp.test_client(), capp.test_client()
    sign_in(capp, boss, "boss", boss_secret)
    sign_in(capp, clerk, "clerk", clerk_secret)
    assert clerk.get("/admin/trainees/").status_code == 200
    clerk_id = operator_id(capp, "clerk")
    token = csrf_of(boss.get("/admin/operators/").text)
    assert (
        boss.post(f"/admin/operators/reset-totp/{clerk_id}", data={"csrf_token": token}).status_code
        == 302
    )
    assert clerk.get("/admin/trainees/").status_code == 302
    assert boss.get("/admin/operators/").status_code == 200  # the admin's own goes on


def test_reactivating_an_operator_does_not_revive_their_old_cookie(capp):
    """Deactivation ends the sessions: a cookie copied before it stays refused once the
    operator is active again, and they sign in anew."""
    boss_secret = create_operator(capp, "boss", "admin")
    clerk_secret = create_operator(capp, "clerk", "support", "职员")
    boss, clerk = capp.test_client(), capp.test_client()
    sign_in(capp, boss, "boss", boss_secret)
    sign_in(capp, clerk, "clerk", clerk_secret)
    copied = clerk.get_cookie(COOKIE, path="/admin").value
    clerk_id = operator_id(capp, "clerk")
    token = csrf_of(boss.get("/admin/operators/").text)
    reply = boss.post(f"/admin/operators/deactivate/{clerk_id}", data={"csrf_token": token})
    assert "已停用：该操作员的所有登录已结束" in boss.get(reply.headers["Location"]).text
    boss.post(f"/admin/operators/activate/{clerk_id}", data={"csrf_token": token})
    thief = capp.test_client()
    thief.set_cookie(COOKIE, copied, path="/admin")
    assert thief.get("/admin/trainees/").status_code == 302
    sign_in_again(capp, clerk, "clerk", clerk_secret)
    assert clerk.get("/admin/trainees/").status_code == 200


def test_a_console_cookie_signed_before_the_session_epoch_is_refused(capp):
    """After the upgrade to migration 0014 a cookie without the epoch opens nothing: the
    operator signs in once more."""
    create_operator(capp, "boss", "admin")
    with capp.app_context():
        boss = db.session.execute(db.select(Operator).where(Operator.login == "boss")).scalar_one()
        old_fingerprint = hashlib.sha256(boss.password_hash.encode()).hexdigest()[:16]
        old_cookie = {"o": boss.id, "m": True, "p": old_fingerprint, "k": "x" * 32}
        with capp.test_request_context("/admin/"):
            signed = session._serializer().dumps(old_cookie)
    client = capp.test_client()
    client.set_cookie(COOKIE, signed, path="/admin")
    reply = client.get("/admin/operators/")
    assert reply.status_code == 302 and reply.headers["Location"].startswith("/admin/login/")


def test_a_deactivated_operator_is_signed_out_at_once(capp):
    boss_secret = create_operator(capp, "boss", "admin")
    clerk_secret = create_operator(capp, "clerk", "admin", "职员")
    boss, clerk = capp.test_client(), capp.test_client()
    sign_in(capp, boss, "boss", boss_secret)
    sign_in(capp, clerk, "clerk", clerk_secret)
    clerk_id = operator_id(capp, "clerk")
    token = csrf_of(boss.get("/admin/operators/").text)
    assert (
        boss.post(f"/admin/operators/deactivate/{clerk_id}", data={"csrf_token": token}).status_code
        == 302
    )
    assert clerk.get("/admin/operators/").status_code == 302
    assert "登录名或密码错误" in password_step(clerk, "clerk").text


def test_a_plan_edited_in_the_console_takes_beijing_time_and_bad_values_are_refused(capp):
    secret = create_operator(capp, "boss", "admin")
    client = capp.test_client()
    sign_in(capp, client, "boss", secret)
    token = csrf_of(client.get("/admin/plans/new/").text)
    form = plan_form(token, sale_start="2032-01-01 00:00:00")
    bad = client.post("/admin/plans/new/", data={**form, "required_hours": "0"})
    assert bad.status_code == 200
    assert "要求学时须为正整数" in client.get("/admin/plans/").text + bad.text
    assert client.post("/admin/plans/new/", data=form).status_code == 302
    with capp.app_context():
        plan = db.session.execute(
            db.select(TrainingPlan).where(TrainingPlan.code == "p-2032")
        ).scalar_one()
        assert plan.sale_start.isoformat() == "2031-12-31T16:00:00+00:00"
        audit = db.session.execute(
            db.select(OperatorAudit).where(OperatorAudit.action == "training_plans.create")
        ).scalar_one()
        assert audit.after["code"] == "p-2032" and audit.operator.login == "boss"
    # Its edit form shows Beijing time, and saving it unchanged moves nothing.
    edit = client.get(f"/admin/plans/edit/?id={plan.id}").text
    assert 'value="2032-01-01 00:00:00"' in edit
    form["csrf_token"] = csrf_of(edit)
    assert client.post(f"/admin/plans/edit/?id={plan.id}", data=form).status_code == 302
    with capp.app_context():
        again = db.session.get(TrainingPlan, plan.id)
        assert again.sale_start.isoformat() == "2031-12-31T16:00:00+00:00"


def test_a_plan_edit_cannot_move_a_shared_course_into_another_year(capp):
    """Two 2032 专业 plans share a course; moving one of them to 2033 (or to 公需) would
    count that course for two years (or both kinds), as a catalogue file may not."""
    secret = create_operator(capp, "boss", "admin")
    client = capp.test_client()
    sign_in(capp, client, "boss", secret)
    with capp.app_context():
        first, second = make_plan(year=2032, courses=1), make_plan(year=2032, courses=1)
        shared = first.courses[0].course
        second.courses.append(PlanCourse(course_id=shared.id, position=2))
        db.session.commit()
        plan_id, code = second.id, shared.code
    edit = client.get(f"/admin/plans/edit/?id={plan_id}").text
    form = {
        "csrf_token": csrf_of(edit),
        "code": "p-shared",
        "year": "2033",
        "kind": "specialist",
        "title": "2033年专业科目",
        "provider": "重庆市人力资源开发服务中心",
        "required_hours": "60",
        "price_per_hour_fen": "150",
        "sale_start": "",
        "sale_end": "",
    }
    refused = client.post(f"/admin/plans/edit/?id={plan_id}", data=form, follow_redirects=True)
    assert f"课程 {code} 也属于其他年度或科目的培训项目" in refused.text
    with capp.app_context():
        assert db.session.get(TrainingPlan, plan_id).year == 2032
    form["year"] = "2032"  # the same year and kind: saved
    assert client.post(f"/admin/plans/edit/?id={plan_id}", data=form).status_code == 302


def test_every_flask_admin_template_loads_without_an_inline_handler():
    # Pages the tests above do not open (modals, inline lists, file admin) included.
    root = FLASK_ADMIN_TEMPLATES
    names = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.html"))
    assert "admin/model/list.html" in names and len(names) > 20
    for name in names:
        source = csp_safe((root / name).read_text(encoding="utf-8"), name)
        assert "javascript:" not in source and " onclick=" not in source, name


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/admin/trainees/?q=a%00b", 400),
        ("/admin/refunds/?order=a%00b", 400),
        ("/admin/units/?search=a%00b", 400),
        ("/admin/audit_log/?flt0_0=%00", 400),
        ("/admin/units/?search=%ED%A0%80", 200),  # a lone surrogate's bytes: read as U+FFFD
        ("/admin/units/?page=-5", 200),
        ("/admin/units/?page=99999999999999999999", 200),
        ("/admin/units/?page_size=100000000", 200),
        ("/admin/units/edit/?id=abc", 302),  # no such record: back to the list, told so
        ("/admin/audit_log/details/?id=99999999999999999999", 302),
        ("/admin/plans/edit/?id=-99999999999", 302),
    ],
)
def test_odd_console_queries_are_answered_not_failed(capp, path, status):
    secret = create_operator(capp, "boss", "admin")
    client = capp.test_client()
    sign_in(capp, client, "boss", secret)
    capp.config["PROPAGATE_EXCEPTIONS"] = False  # a failure shows as the 500 it would be
    reply = client.get(path)
    assert reply.status_code == status, reply.text[:300]
    if status == 400:
        assert "请求中含有不允许的字符" in reply.text


def test_a_nul_in_a_console_form_changes_nothing(capp):
    secret = create_operator(capp, "boss", "finance")
    client = capp.test_client()
    sign_in(capp, client, "boss", secret)
    capp.config["PROPAGATE_EXCEPTIONS"] = False
    token = csrf_of(client.get("/admin/refunds/").text)
    before = _audit_count(capp)
    for fields in ({"out_trade_no": "a\x00b"}, {"out_trade_no": "1", "trainee_id": "²"}):
        reply = client.post(
            "/admin/refunds/start", data={"csrf_token": token, "reason": "试试", **fields}
        )
        assert reply.status_code in (302, 400), reply.text[:300]
    assert _audit_count(capp) == before


def test_the_password_step_does_not_tell_which_logins_exist(capp):
    """Anyone can lock a login with five guesses; a locked real login and an unknown one
    must then answer alike, or the lock tells which logins exist."""
    create_operator(capp, "caiwu01", "finance")
    stranger = capp.test_client()
    for login in ("caiwu01", "caiwu02"):  # one real, one not
        for _ in range(capp.config["CONSOLE_LOCKOUT_ATTEMPTS"]):
            password_step(stranger, login, "Guess12345x")
    real = password_step(stranger, "caiwu01", "Guess12345x")
    unknown = password_step(stranger, "caiwu02", "Guess12345x")
    assert (real.status_code, flashes(real.text)) == (unknown.status_code, flashes(unknown.text))
    assert "已锁定" not in real.text
