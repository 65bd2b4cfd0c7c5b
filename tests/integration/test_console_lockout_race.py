"""The console's lockout holds against attempts sent at once (live_app, threads, real
commits): each attempt on one operator waits for the one before under its row lock, so no
more than CONSOLE_LOCKOUT_ATTEMPTS wrong codes or passwords are ever checked, and a TOTP
code is still accepted once."""

from __future__ import annotations

import threading
from collections import Counter

import pytest

from tests.conftest import committing_app
from tests.console_helpers import PASSWORD, code_for, create_operator, csrf_of, password_step
from wxapp.console import auth
from wxapp.console.session import COOKIE

ATTEMPTS = 12
LOCKOUT = auth.Lockout(attempts=5, minutes=15)


def _operator(app) -> tuple[int, list[str]]:
    keys = [app.config["SECRET_KEY"], *app.config["SECRET_KEY_FALLBACKS"]]
    with app.app_context():
        enrolment = auth.create_operator(
            "boss", "测试员", "admin", PASSWORD, secret_keys=keys, now=app.extensions["clock"].now()
        )
    return enrolment.operator_id, keys


def _at_once(app, attempt) -> Counter:
    """Run `attempt()` in ATTEMPTS threads released together; the messages they got."""
    start, answers, lock = threading.Barrier(ATTEMPTS), Counter(), threading.Lock()

    def one():
        with app.app_context():
            start.wait()
            try:
                attempt()
                message = "accepted"
            except auth.LoginRefused as err:
                # the password step words a lock as a wrong password (no login told apart)
                message = (
                    "locked"
                    if "已锁定" in err.message or err.code == "login_locked"
                    else err.message
                )
        with lock:
            answers[message] += 1

    threads = [threading.Thread(target=one) for _ in range(ATTEMPTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return answers


@pytest.mark.parametrize("factor", ["code", "password"])
def test_wrong_attempts_sent_at_once_are_stopped_by_the_lock(live_app, factor):
    operator_id, keys = _operator(live_app)
    now = live_app.extensions["clock"].now()
    if factor == "code":
        answers = _at_once(
            live_app, lambda: auth.check_code(operator_id, "000000", now, LOCKOUT, keys)
        )
        wrong = "验证码错误或已使用，请输入动态验证码应用中的最新验证码"
    else:
        answers = _at_once(
            live_app, lambda: auth.check_password("boss", "Wrong-guess-1", now, LOCKOUT)
        )
        wrong = auth._password_refused(LOCKOUT)
    assert answers == Counter({wrong: LOCKOUT.attempts, "locked": ATTEMPTS - LOCKOUT.attempts})


@pytest.fixture
def live_console(base_config):
    """live_app with the console on: real commits, every table emptied afterwards."""
    with committing_app(base_config, CONSOLE_ENABLED="1") as app:
        yield app


def _codes_sent_at_once(app, code: str, clients: int) -> list:
    """The TOTP page posted `code` from `clients` browsers at once, all holding the cookie
    of one password step (a stolen one, say): their replies."""
    first = app.test_client()
    assert password_step(first, "boss").status_code == 302
    cookie = first.get_cookie(COOKIE, path="/admin").value
    token = csrf_of(first.get("/admin/login/totp").text)
    browsers = []
    for _ in range(clients):
        browser = app.test_client()
        browser.set_cookie(COOKIE, cookie, path="/admin")
        browsers.append(browser)
    start, replies, lock = threading.Barrier(clients), [], threading.Lock()

    def post(browser):
        start.wait(10)
        reply = browser.post("/admin/login/totp", data={"code": code, "csrf_token": token})
        with lock:
            replies.append(reply)

    threads = [threading.Thread(target=post, args=(b,)) for b in browsers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(replies) == clients
    return replies


def test_wrong_codes_sent_at_once_from_the_page_are_stopped_by_the_lock(live_console):
    """The TOTP page reads the operator from the cookie before the attempt locks its row:
    the attempt must still decide on the row as locked, not on that earlier read."""
    secret = create_operator(live_console, "boss", "admin")
    wrong = code_for(live_console, secret, steps_ahead=5)  # outside the ±1 step window
    replies = _codes_sent_at_once(live_console, wrong, ATTEMPTS)
    answers = Counter(
        "locked"
        if "连续输错次数过多，账号已锁定" in r.text
        else "wrong"
        if "验证码错误或已使用" in r.text
        else r.status_code
        for r in replies
    )
    attempts = live_console.config["CONSOLE_LOCKOUT_ATTEMPTS"]
    assert answers == Counter({"wrong": attempts, "locked": ATTEMPTS - attempts})


def test_one_code_sent_at_once_from_two_pages_signs_in_once(live_console):
    """A code is good once, even when a second browser sends it at the same moment."""
    secret = create_operator(live_console, "boss", "admin")
    replies = _codes_sent_at_once(live_console, code_for(live_console, secret), 6)
    signed_in = [
        r for r in replies if r.status_code == 302 and "/admin/login" not in r.headers["Location"]
    ]
    assert len(signed_in) == 1
    assert all("验证码错误或已使用" in r.text for r in replies if r not in signed_in)
