"""The console's lockout holds against attempts sent at once (live_app, threads, real
commits): each attempt on one operator waits for the one before under its row lock, so no
more than CONSOLE_LOCKOUT_ATTEMPTS wrong codes or passwords are ever checked."""

from __future__ import annotations

import threading
from collections import Counter

import pytest

from tests.console_helpers import PASSWORD
from wxapp.console import auth

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
                message = err.message
        with lock:
            answers["locked" if "锁定" in message else message] += 1

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
        wrong = "登录名或密码错误"
    assert answers == Counter({wrong: LOCKOUT.attempts, "locked": ATTEMPTS - LOCKOUT.attempts})
