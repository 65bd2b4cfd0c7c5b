"""Known devices: a stranger who knows an ID number cannot keep its owner out.

Anyone can lock an account (five wrong passwords every 15 minutes) and spend its phone's
daily SMS cap (ten 忘记密码 codes). The owner's browser, where they have logged in before,
keeps a count and a lock of its own and an SMS allowance of its own.
"""

import pytest

from models import Trainee, db
from tests.factories import make_binding, make_trainee
from tests.sms import latest_code, messages
from wxapp.accounts import devices, lockout, sms_limits
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


def reset_by_sms(app, client, username, phone, new_password="Forgot123"):
    """忘记密码 from `client`: the code, read on the phone, and the new password."""
    sent = client.post("/api/password/forgot/code", json={"username": username})
    assert sent.status_code == 200, sent.json
    body = {"username": username, "sms_code": latest_code(app, phone), "new_password": new_password}
    assert client.post("/api/password/forgot", json=body).status_code == 200


def device_cookie(client):
    return client.get_cookie(devices.COOKIE_NAME)


def test_a_stranger_who_locks_the_account_does_not_lock_out_its_owners_browser(app, owner):
    browser = owners_browser(app, owner)
    stranger = app.test_client()
    lock_out(stranger, owner["id_number"])
    # The lock holds for everyone else, the right password included.
    assert login(stranger, owner["id_number"]).json["error"] == "locked"
    assert login(app.test_client(), owner["id_number"]).json["error"] == "locked"
    # The owner logs in where they always do.
    res = login(browser, owner["id_number"])
    assert res.status_code == 200 and res.json["id"] == owner["id"]


def test_failures_on_the_owners_browser_lock_that_browser_and_a_reset_lifts_it(
    app, owner, redis_client
):
    browser = owners_browser(app, owner)
    lock_out(browser, owner["phone"])
    assert login(browser, owner["phone"]).json["error"] == "locked"
    assert lockout.is_locked(redis_client, owner["id"]) is False
    # 忘记密码 (here: customer service's lift) opens every lock of the account at once.
    lockout.lift_lockout(redis_client, owner["id"])
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

    # A token naming the owner's account, signed with any other key, is not a device of it.
    with app.app_context():
        password_hash = db.session.get(Trainee, owner["id"]).password_hash
    known = devices.NO_DEVICES.remembering(owner["id"], password_hash)
    token = devices.issue(["another-secret-key-of-32-bytes-at-least"], known)
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
    """What a stranger can do with an ID number: 忘记密码 codes, one a minute, until the
    phone's ten of the day are spent."""
    stranger = app.test_client()
    for _ in range(sms_limits.PHONE_DAILY_CAP):
        refused = stranger.post("/api/password/forgot/code", json={"username": username})
        if refused.status_code != 200:
            break
        clock.advance(61)
    else:
        refused = stranger.post("/api/password/forgot/code", json={"username": username})
    assert refused.status_code == 429 and refused.json["error"] == "sms_daily_cap"
    assert refused.json["message"] == sms_limits.RESET_CAP_MESSAGE
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


def test_the_owners_own_allowance_comes_after_the_phones_and_is_bounded_too(app, clock, owner):
    browser = owners_browser(app, owner)
    spend_the_phones_cap(app, clock, owner["phone"])
    for _ in range(sms_limits.OWNER_DAILY_CAP):
        res = browser.post("/api/password/forgot/code", json={"username": owner["phone"]})
        assert res.status_code == 200
        clock.advance(61)
    res = browser.post("/api/password/forgot/code", json={"username": owner["phone"]})
    assert res.status_code == 429 and res.json["error"] == "sms_daily_cap"
    # Already on a device of theirs: not sent to look for one.
    assert res.json["message"] == sms_limits.PHONE_CAP_MESSAGE
    assert len(messages(app, owner["phone"])) == (
        sms_limits.PHONE_DAILY_CAP + sms_limits.OWNER_DAILY_CAP
    )


def test_the_owners_browser_spends_the_phones_cap_first(app, clock, owner):
    """The owner's allowance is for when a stranger has spent the phone's."""
    browser = owners_browser(app, owner)
    for _ in range(sms_limits.PHONE_DAILY_CAP + sms_limits.OWNER_DAILY_CAP):
        res = browser.post("/api/password/forgot/code", json={"username": owner["phone"]})
        assert res.status_code == 200
        clock.advance(61)
    res = browser.post("/api/password/forgot/code", json={"username": owner["phone"]})
    assert res.status_code == 429


def test_a_stranger_using_up_the_usernames_budgets_does_not_stop_the_owners_browser(
    app, clock, owner
):
    """The per-username budgets (20 logins a minute, 20 忘记密码 calls in 10 minutes) are
    the device's own on the owner's browser, as the lock is."""
    browser = owners_browser(app, owner)
    stranger = app.test_client()
    for n in range(30):
        login(stranger, owner["id_number"], f"Guess{n:04d}x")
        stranger.post("/api/password/forgot/code", json={"username": owner["id_number"]})
    assert login(stranger, owner["id_number"]).status_code == 429
    refused = stranger.post("/api/password/forgot/code", json={"username": owner["id_number"]})
    assert refused.status_code == 429 and refused.json["error"] == "rate_limited"

    assert login(browser, owner["id_number"]).status_code == 200
    clock.advance(61)
    reset_by_sms(app, browser, owner["id_number"], owner["phone"])


def test_a_new_password_makes_every_device_of_before_a_strangers(app, clock, owner):
    """Whoever once knew the password (and logged in from a browser of theirs) keeps no
    device of the account once its owner sets a new one."""
    former = owners_browser(app, owner)
    owner_now = app.test_client()
    reset_by_sms(app, owner_now, owner["phone"], owner["phone"])
    assert login(owner_now, owner["phone"], "Forgot123").status_code == 200

    lock_out(former, owner["phone"])  # counted as a stranger's: the account's lock
    assert login(app.test_client(), owner["phone"], "Forgot123").json["error"] == "locked"
    assert login(owner_now, owner["phone"], "Forgot123").status_code == 200
    clock.advance(61)
    spend_the_phones_cap(app, clock, owner["phone"])
    no_allowance = former.post("/api/password/forgot/code", json={"username": owner["phone"]})
    assert no_allowance.json["message"] == sms_limits.RESET_CAP_MESSAGE


def test_colleagues_sharing_a_browser_each_keep_their_device(app, owner):
    with app.app_context():
        colleague = make_trainee(name="李四")
        db.session.commit()
        colleague_phone = colleague.phone
    shared = owners_browser(app, owner)
    assert login(shared, colleague_phone).status_code == 200
    shared.post("/api/logout")
    lock_out(app.test_client(), owner["phone"])
    lock_out(app.test_client(), colleague_phone)
    assert login(shared, owner["phone"]).status_code == 200
    shared.post("/api/logout")
    assert login(shared, colleague_phone).status_code == 200


def test_a_token_under_a_rotated_key_is_signed_again_at_the_next_login(app, owner, monkeypatch):
    browser = owners_browser(app, owner)
    old_key = app.config["SECRET_KEY"]
    new_key = "a-new-secret-key-of-more-than-32-bytes-0123456789"
    monkeypatch.setitem(app.config, "SECRET_KEY", new_key)
    monkeypatch.setitem(app.config, "SECRET_KEY_FALLBACKS", [old_key])
    monkeypatch.setattr(app, "secret_key", new_key)
    assert devices.read([new_key], device_cookie(browser).value).entries == ()
    lock_out(app.test_client(), owner["phone"])
    assert login(browser, owner["phone"]).status_code == 200  # the old key still accepted
    (entry,) = devices.read([new_key], device_cookie(browser).value).entries
    assert entry.trainee_id == owner["id"]


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


def test_a_roster_account_past_the_phones_cap_is_answered_as_sent_and_gets_nothing(app, clock):
    """A roster account never logged in has no device of its own: when a stranger has spent
    its phone's codes, activation's send is answered as sent and sends nothing. Told, the
    phone's day would link the account to whatever spent it (a 忘记密码 asked by a guessed
    phone); the page says where to turn when no code arrives."""
    with app.app_context():
        t = make_trainee(name="赵六", password=None)
        db.session.commit()
        roster = {"phone": t.phone, "id_number": t.id_number}
    spend_the_phones_cap(app, clock, roster["id_number"])
    browser = app.test_client()
    assert login(browser, roster["id_number"], initial_password(roster["id_number"])).json
    res = browser.post("/api/activation/code", json={})
    assert res.status_code == 200 and res.json["phone_tail"] == roster["phone"][-4:]
    assert len(messages(app, roster["phone"])) == sms_limits.PHONE_DAILY_CAP
