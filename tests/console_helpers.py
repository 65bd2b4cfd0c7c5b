"""Shared by the console tests: an app with the console on, operators, signing in."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pyotp

from models import db
from tests.conftest import rolled_back_app
from wxapp.console import auth

PASSWORD = "Console@2026pass"
_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


@contextmanager
def console_app(base_config: dict[str, Any], **overrides: Any) -> Iterator[Any]:
    """The app with CONSOLE_ENABLED, every database write rolled back at the end."""
    with rolled_back_app(base_config, CONSOLE_ENABLED="1", **overrides) as app:
        yield app


def create_operator(app: Any, login: str, role: str, name: str = "测试员") -> str:
    """A new operator; returns its TOTP secret."""
    with app.app_context():
        keys = [app.config["SECRET_KEY"], *app.config["SECRET_KEY_FALLBACKS"]]
        enrolment = auth.create_operator(
            login, name, role, PASSWORD, secret_keys=keys, now=app.extensions["clock"].now()
        )
        db.session.remove()
    return enrolment.secret


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def flashes(html: str) -> str:
    """The page's alert messages (flashes and form errors), joined."""
    return " ".join(re.findall(r'class="alert[^"]*"[^>]*>(.*?)</div>', html, re.S))


def code_for(app: Any, secret: str, steps_ahead: int = 0) -> str:
    totp = pyotp.TOTP(secret)
    return totp.generate_otp(totp.timecode(app.extensions["clock"].now()) + steps_ahead)


def password_step(client: Any, login: str, password: str = PASSWORD) -> Any:
    page = client.get("/admin/login/")
    return client.post(
        "/admin/login/",
        data={"login": login, "password": password, "csrf_token": csrf_of(page.text)},
    )


def plan_form(csrf_token: str, **changes: str) -> dict[str, str]:
    """The console's 培训项目 form for plan p-2032 (2032 专业科目, 60 学时 at 1.50 元), `changes`
    applied."""
    return {
        "csrf_token": csrf_token,
        "code": "p-2032",
        "year": "2032",
        "kind": "specialist",
        "title": "2032年专业科目",
        "provider": "重庆市人力资源开发服务中心",
        "required_hours": "60",
        "price_per_hour_fen": "150",
        "sale_start": "",
        "sale_end": "",
        **changes,
    }


def browser_sign_in(app: Any, page: Any, login: str, secret: str, password: str = PASSWORD) -> None:
    """In a real browser on the console's login page: password, then the TOTP code."""
    page.fill("#login", login)
    page.fill("#password", password)
    page.click("#console-login button[type=submit]")
    page.wait_for_selector("#console-totp")
    page.fill("#code", code_for(app, secret))
    page.click("#console-totp button[type=submit]")


def sign_in(app: Any, client: Any, login: str, secret: str) -> None:
    """Password, then the TOTP code: the client ends up signed in to the console."""
    reply = password_step(client, login)
    assert reply.status_code == 302 and "/admin/login/totp" in reply.headers["Location"]
    page = client.get("/admin/login/totp")
    reply = client.post(
        "/admin/login/totp", data={"code": code_for(app, secret), "csrf_token": csrf_of(page.text)}
    )
    assert reply.status_code == 302, reply.text
    assert "/admin/login" not in reply.headers["Location"]


def sign_in_again(app: Any, client: Any, login: str, secret: str) -> None:
    """`sign_in` once more for an operator already signed in once: a code is good once, so
    the clock moves on to the next one first."""
    app.extensions["clock"].advance(30)
    sign_in(app, client, login, secret)


def operator_id(app: Any, login: str) -> int:
    from models import Operator, db

    with app.app_context():
        return db.session.execute(
            db.select(Operator.id).where(Operator.login == login)
        ).scalar_one()


def signed_in_admin(app: Any) -> Any:
    """A test client signed in (password and TOTP) as a new 管理员, boss."""
    secret = create_operator(app, "boss", "admin")
    client = app.test_client()
    sign_in(app, client, "boss", secret)
    return client
