"""The operator console in a desktop browser (1280x800): an administrator signs in with
password and TOTP code, retries a push the notification worker gave up on against the
sandbox, and finds the retry in the audit log. Screenshots: docs/screenshots/console-*.png."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyotp
import pytest
import sqlalchemy as sa

from models import Outbox, TrainingPlan, db
from tests.conftest import serve
from tests.console_helpers import browser_sign_in
from tests.e2e.conftest import SCREENSHOTS, copy_to_docs, seed, wait_for
from tests.factories import enroll, make_binding, make_plan, make_trainee, make_unit
from wxapp.console import auth
from wxapp.events import CourseLearned
from wxapp.notifications.worker import Worker
from wxapp.progress.completion import complete_chapter
from wxapp.sandbox import oa_state

DESKTOP = {"width": 1280, "height": 800}
OPENID = "o_console_trainee_0000000001"
PASSWORD = "Admin-pass-2026"


@pytest.fixture
def console_site(base_config: dict[str, Any]) -> Iterator[Any]:
    with serve(base_config, CONSOLE_ENABLED="1") as server:
        yield server


def _course_learned(app: Any) -> None:
    """A trainee bound to WeChat learns a course: the progress engine writes its push."""
    now = app.extensions["clock"].now()
    trainee = make_trainee(name="赵敏")
    make_binding(trainee, OPENID)
    plan = make_plan(required_hours=60, courses=1, course_hours="30", chapters=1)
    course = plan.courses[0].course
    enroll(trainee.id, plan.id, now)
    chapter = course.chapters[0]
    complete_chapter(trainee.id, chapter.id, course.id, [(0, 60)], 60, 60, plan.id, now)


def _push_row(app: Any) -> Outbox:
    with app.app_context():
        row = db.session.execute(
            sa.select(Outbox).where(Outbox.event_type == CourseLearned.event_type)
        ).scalar_one()
        db.session.expunge(row)
        return row


def _shot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    copy_to_docs(path, f"{name}.png")


def _fits(page: Any) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= DESKTOP["width"]


def test_an_administrator_retries_a_given_up_push_and_the_audit_row_appears(
    browser: Any, console_site: Any
) -> None:
    app = console_site.app
    r = app.extensions["redis"]
    clock = app.extensions["clock"]
    with app.app_context():
        keys = [app.config["SECRET_KEY"]]
        secret = auth.create_operator(
            "admin1", "刘洋", "admin", PASSWORD, secret_keys=keys, now=clock.now()
        ).secret
    seed(console_site, lambda: _course_learned(app))

    # The real worker, against the sandbox that refuses once with 40037 (a permanent error).
    oa_state.set_switches(r, fail_errcode=40037, fail_times=1)
    Worker(app, app.extensions["wechat"]).drain()
    row = _push_row(app)
    assert row.status == "given_up" and "40037" in row.last_error
    assert oa_state.inbox(r, OPENID) == []

    context = browser.new_context(viewport=DESKTOP, locale="zh-CN", timezone_id="Asia/Shanghai")
    errors: list[str] = []
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(
        "console",
        lambda m: (
            errors.append(m.text)
            if m.type == "error" and "Content Security Policy" in m.text
            else None
        ),
    )
    try:
        page.goto(console_site.url + "/admin/outbox/")
        assert "/admin/login/" in page.url  # not signed in: the login page
        page.fill("#login", "admin1")
        page.fill("#password", PASSWORD)
        _shot(page, "console-login")
        page.click("#console-login button[type=submit]")
        page.wait_for_selector("#console-totp")
        assert page.is_visible("#console-enrol")  # first login: the enrolment QR, once
        _fits(page)
        _shot(page, "console-totp")
        totp = pyotp.TOTP(secret)
        page.fill("#code", totp.generate_otp(totp.timecode(clock.now())))
        page.click("#console-totp button[type=submit]")
        page.wait_for_selector("text=重新推送")
        assert page.url.endswith("/admin/outbox/")
        assert "刘洋（管理员）" in page.inner_text("#console-operator")
        table = page.inner_text("table.model-list")
        assert "已放弃" in table and "40037" in table
        _fits(page)
        _shot(page, "console-outbox")

        page.click("text=重新推送")
        wait_for(page, "document.body.innerText.includes('已重新排队推送')")
        assert "重新推送" not in page.inner_text("table.model-list")
        # The worker sends it this time: the message reaches the trainee's WeChat.
        Worker(app, app.extensions["wechat"]).drain()
        assert _push_row(app).status == "sent"
        [message] = oa_state.inbox(r, OPENID)
        assert message["touser"] == OPENID

        page.click("text=系统")
        page.click("text=操作日志")
        page.wait_for_selector("table.model-list")
        page.fill("input[name=search]", "outbox.retry")
        page.press("input[name=search]", "Enter")
        page.wait_for_selector("text=outbox.retry")
        audit = page.inner_text("table.model-list")
        assert "outbox.retry" in audit and "刘洋" in audit and "given_up" in audit
        assert "40037" in audit  # the error before the retry, kept in the row
        _fits(page)
        _shot(page, "console-audit")
    finally:
        context.close()
    assert not errors, f"JavaScript errors or CSP violations: {errors}"


def _sold_plan(app: Any) -> tuple[int, str]:
    """A 2032 公需 plan (30 学时 at 1.50 元) one trainee has bought, and a unit."""
    plan = make_plan(year=2032, kind="public", required_hours=30, courses=1, course_hours="30")
    enroll(make_trainee(name="孙丽").id, plan.id, app.extensions["clock"].now())
    make_unit(name="万州区人民医院", district="万州区")
    return plan.id, plan.title


def test_an_administrator_cannot_rewrite_a_bought_plans_hours(
    browser: Any, console_site: Any
) -> None:
    app = console_site.app
    clock = app.extensions["clock"]
    with app.app_context():
        secret = auth.create_operator(
            "admin2",
            "周强",
            "admin",
            PASSWORD,
            secret_keys=[app.config["SECRET_KEY"]],
            now=clock.now(),
        ).secret
    plan_id, title = seed(console_site, lambda: _sold_plan(app))
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN", timezone_id="Asia/Shanghai")
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        page.goto(console_site.url + "/admin/plans/")
        browser_sign_in(app, page, "admin2", secret, PASSWORD)
        page.wait_for_selector("table.model-list")
        row = page.inner_text(f"table.model-list tr:has-text('{title}')")
        assert "公需科目" in row and "public" not in row
        assert "1.50" in row and "45.00" in row  # per 学时 and the plan's price, in 元

        page.goto(console_site.url + f"/admin/plans/edit/?id={plan_id}")
        page.fill("#required_hours", "20")
        page.click("input[type=submit]")
        page.wait_for_selector(".alert-danger")
        alerts = page.inner_text("body")
        assert "不能修改要求学时" in alerts and "Failed" not in alerts
        assert "保存记录成功" not in alerts

        # A unit administrator starts on 请选择单位, which is not a unit.
        page.goto(console_site.url + "/admin/unit_admins/new/")
        assert page.input_value("#unit_id") == ""
        assert page.inner_text("#unit_id option:checked") == "请选择单位"
    finally:
        context.close()
    with app.app_context():
        assert db.session.get(TrainingPlan, plan_id).required_hours == 30
