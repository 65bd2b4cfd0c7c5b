"""Known devices: a stranger who knows an ID number cannot keep its owner out.

Anyone can lock an account (five wrong passwords every 15 minutes) and spend its phone's
daily SMS cap (ten 忘记密码 codes). The owner's browser, where they have logged in before,
keeps a count and a lock of its own and an SMS allowance of its own.
"""

import pytest

from models import Trainee, db
from tests.factories import make_binding, make_trainee
from tests.sms import latest_code, messages
from wxapp.accounts import devices, sms_codes
from wxapp.accounts import trainees as accounts
from wxapp.accounts.idnumbers import initial_password

PASSWORD = "Passw0rd!"


@pytest.fixture
def owner(app):
    with app.app_context():
        t = make_trainee(name="王五")
        db.session.commit()
        return {"id": t.id, "phone": t.phone, "id_number": t.id_number}


def login(client, username, password=PASSWORD):
    return client.post("/api/login", json={"username": username, "password": password})


def owners_browser(app, owner):
    """A browser where the owner logged in (and out) before."""
    browser = app.test_client()
    assert login(browser, owner["phone"]).status_code == 200
    assert browser.post("/api/logout").status_code == 200
    return browser


def lock_out(client, username):
    replies = [login(client, username, f"Guess{n:04d}x") for n in range(5)]
    assert [r.status_code for r in replies] == [401, 401, 401, 401, 429]


def device_cookie(client):
    return client.get_cookie(devices.COOKIE_NAME)


def test_a_stranger_who_locks_the_account_does_not_lock_out_its_owners_browser(app, owner):
    browser = owners_browser(app, owner)
    stranger = app.test_client()
    lock_out(stranger, owner["id_number"])
    # The lock holds for everyone else, the right password included.
    assert login(stranger, owner["phone"]).json["error"] == "locked"
    assert login(app.test_client(), owner["phone"]).json["error"] == "locked"
    # The owner logs in where they always do.
    res = login(browser, owner["id_number"])
    assert res.status_code == 200 and res.json["id"] == owner["id"]


def test_failures_on_the_owners_browser_lock_that_browser_and_a_reset_lifts_it(
    app, owner, redis_client
):
    browser = owners_browser(app, owner)
    lock_out(browser, owner["phone"])
    assert login(browser, owner["phone"]).json["error"] == "locked"
    assert accounts.is_locked(redis_client, owner["id"]) is False
    # 忘记密码 (here: customer service's lift) opens every lock of the account at once.
    accounts.lift_lockout(redis_client, owner["id"])
    assert login(browser, owner["phone"]).status_code == 200


def test_another_accounts_or_a_forged_device_cookie_counts_as_a_strangers(app, owner):
    with app.app_context():
        mine = make_trainee(name="李四")
        db.session.commit()
        my_phone = mine.phone
    stranger = app.test_client()
    assert login(stranger, my_phone).status_code == 200  # the stranger's own account
    assert device_cookie(stranger) is not None
    lock_out(stranger, owner["phone"])
    assert login(app.test_client(), owner["phone"]).json["error"] == "locked"

    # A token altered to name the owner's account is not a device of it.
    token = devices.issue(["another-secret-key-of-32-bytes-at-least"], owner["id"])
    forged = app.test_client()
    forged.set_cookie(devices.COOKIE_NAME, token)
    assert login(forged, owner["phone"]).json["error"] == "locked"


def test_the_cookie_lasts_a_year_and_is_kept_from_scripts(app, owner):
    res = login(app.test_client(), owner["phone"])
    (cookie,) = [
        c for c in res.headers.getlist("Set-Cookie") if c.startswith(devices.COOKIE_NAME + "=")
    ]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    assert f"Max-Age={365 * 24 * 3600}" in cookie


def test_the_published_initial_password_makes_no_known_device(app):
    """A roster account's initial password is public: its session proves nobody, so its
    browser gets no allowance; activation (an SMS code to the roster phone) does."""
    with app.app_context():
        t = make_trainee(name="赵六", password=None)
        db.session.commit()
        roster = {"phone": t.phone, "id_number": t.id_number}
    browser = app.test_client()
    initial = login(browser, roster["id_number"], initial_password(roster["id_number"]))
    assert initial.status_code == 200
    assert device_cookie(browser) is None
    assert browser.post("/api/activation/code", json={}).status_code == 200
    code = latest_code(app, roster["phone"])
    done = browser.post("/api/activation", json={"sms_code": code, "new_password": "NewPass123"})
    assert done.status_code == 200
    assert device_cookie(browser) is not None


def spend_the_phones_cap(app, clock, username):
    """What a stranger can do with an ID number: ten 忘记密码 codes, one a minute."""
    stranger = app.test_client()
    for _ in range(sms_codes.PHONE_DAILY_CAP):
        res = stranger.post("/api/password/forgot/code", json={"username": username})
        assert res.status_code == 200
        clock.advance(61)
    refused = stranger.post("/api/password/forgot/code", json={"username": username})
    assert refused.status_code == 429 and refused.json["error"] == "sms_daily_cap"
    assert refused.json["message"] == sms_codes.RESET_CAP_MESSAGE
    assert "曾登录过" in refused.json["message"]


def test_the_owners_browser_gets_a_reset_code_after_a_stranger_spent_the_phones_cap(
    app, clock, owner
):
    browser = owners_browser(app, owner)
    lock_out(app.test_client(), owner["phone"])
    spend_the_phones_cap(app, clock, owner["id_number"])
    sent = len(messages(app, owner["phone"]))

    res = browser.post("/api/password/forgot/code", json={"username": owner["phone"]})
    assert res.status_code == 200
    assert len(messages(app, owner["phone"])) == sent + 1
    code = latest_code(app, owner["phone"])
    body = {"username": owner["phone"], "sms_code": code, "new_password": "Forgot123"}
    assert browser.post("/api/password/forgot", json=body).status_code == 200
    assert login(app.test_client(), owner["id_number"], "Forgot123").status_code == 200


def test_the_owners_own_allowance_is_bounded_too(app, clock, owner):
    browser = owners_browser(app, owner)
    for _ in range(sms_codes.OWNER_DAILY_CAP):
        res = browser.post("/api/password/forgot/code", json={"username": owner["phone"]})
        assert res.status_code == 200
        clock.advance(61)
    res = browser.post("/api/password/forgot/code", json={"username": owner["phone"]})
    assert res.status_code == 429 and res.json["error"] == "sms_daily_cap"
    # The owner's sends did not spend the phone's cap: a new phone of theirs, another
    # browser, still has it.
    other = app.test_client().post("/api/password/forgot/code", json={"username": owner["phone"]})
    assert other.status_code == 200


def test_a_rebind_code_is_sent_after_a_stranger_spent_the_phones_cap(app, clock, owner):
    """The rebind code is asked for with the account's password: only its owner can."""
    with app.app_context():
        make_binding(db.session.get(Trainee, owner["id"]), "o_old_wechat_user_000000001")
        db.session.commit()
    spend_the_phones_cap(app, clock, owner["phone"])
    client = app.test_client()
    with client.session_transaction() as sess:
        sess["wx_openid"] = "o_pending_00000000000000001"
    res = client.post(
        "/api/wechat/bind/sms", json={"username": owner["phone"], "password": PASSWORD}
    )
    assert res.status_code == 200 and res.json["phone_tail"] == owner["phone"][-4:]
