"""Activation of roster accounts and 忘记密码, as an attacker and as the trainee try them.

Every ID number is public, so the initial password (edu@ + its last six) proves nothing: the
session it opens sees no personal data and reaches only the activation step. Codes are read
from the SMS sandbox's inbox, as the trainee reads them on the phone.
"""

import re
import time

import pytest

from models import Trainee, WechatBinding, db
from tests.factories import make_binding, make_id_number, make_trainee, make_unit
from tests.sms import latest_code, messages
from wxapp.accounts import sms_codes, sms_limits
from wxapp.accounts.idnumbers import initial_password
from wxapp.demo.seed import TRAINEES
from wxapp.infra import limits
from wxapp.infra.ratelimit import Limit

PERSONAL = ("name", "phone", "unit", "gender", "id_number_masked", "archive_district", "id")


@pytest.fixture
def roster(app):
    """A roster (bulk-imported) account: initial password, no hash, a roster phone."""
    with app.app_context():
        t = make_trainee(name="赵六", password=None, unit=make_unit())
        db.session.commit()
        return {"id": t.id, "phone": t.phone, "id_number": t.id_number}


@pytest.fixture
def active(app):
    with app.app_context():
        t = make_trainee(name="王五")
        db.session.commit()
        return {"id": t.id, "phone": t.phone, "id_number": t.id_number}


def login(client, username, password):
    return client.post("/api/login", json={"username": username, "password": password})


def initial_session(app, roster):
    client = app.test_client()
    res = login(client, roster["id_number"], initial_password(roster["id_number"]))
    assert res.status_code == 200, res.json
    return client


def activation_code(client, app, roster):
    res = client.post("/api/activation/code", json={})
    assert res.status_code == 200, res.json
    return latest_code(app.test_client(), roster["phone"])


# --- the initial password opens nothing personal ------------------------------------------


def test_initial_password_login_answers_only_the_masked_phone(app, roster):
    client = app.test_client()
    res = login(client, roster["id_number"], initial_password(roster["id_number"]))
    assert res.status_code == 200
    # The last four digits only: whoever logs in so may know no more than the ID number.
    masked = "*******" + roster["phone"][-4:]
    assert res.json == {
        "must_change_password": True,
        "activation_required": True,
        "phone_masked": masked,
    }
    text = res.get_data(as_text=True)
    assert roster["phone"] not in text and "赵六" not in text and "垫江" not in text
    assert not set(PERSONAL) & set(res.json)


def _sample_path(rule) -> str:
    """The rule with a value its converter accepts in each place: 1 for a row id, x else."""
    return re.sub(r"<(?:\w+:)?\w+>", "x", re.sub(r"<int:\w+>", "1", rule.rule))


def test_initial_password_session_reaches_no_other_route(app, roster):
    client = initial_session(app, roster)
    refused = 0
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        view = app.view_functions[rule.endpoint]
        if getattr(view, "_public", False) or getattr(view, "_before_password_change", False):
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            res = client.open(_sample_path(rule), method=method, json={})
            assert res.status_code == 403, (method, rule.rule, res.status_code)
            assert res.json == {
                "error": "activation_required",
                "message": "首次登录请先通过短信验证激活账号",
            }
            assert roster["phone"] not in res.get_data(as_text=True)
            refused += 1
    assert refused >= 20
    for path in ("/api/me", "/api/me/progress", "/api/me/certificates", "/api/me/orders"):
        assert client.get(path).status_code == 403


def test_the_beacon_refuses_an_initial_password_session(app, roster):
    client = initial_session(app, roster)
    res = client.post("/api/beacons", json={"chapter_id": 1, "seq": 1, "position_s": 0})
    assert res.status_code == 403 and res.json["error"] == "activation_required"


def test_the_initial_password_cannot_be_changed_without_sms(app, roster):
    client = initial_session(app, roster)
    res = client.post(
        "/api/me/password",
        json={"old_password": initial_password(roster["id_number"]), "new_password": "NewPass123"},
    )
    assert res.status_code == 403 and res.json["error"] == "activation_required"
    with app.app_context():
        assert db.session.get(Trainee, roster["id"]).password_hash is None


# --- activation ------------------------------------------------------------------------------


def test_activation_sends_a_code_to_the_roster_phone_and_sets_the_password(app, roster):
    client = initial_session(app, roster)
    assert client.get("/api/activation").json["phone_masked"].endswith(roster["phone"][-4:])
    res = client.post("/api/activation/code", json={})
    assert res.status_code == 200
    assert res.json == {
        "phone_masked": "*******" + roster["phone"][-4:],
        "phone_tail": roster["phone"][-4:],
        "resend_after_s": 60,
        "expires_in_s": 300,
    }
    inbox = messages(app.test_client(), roster["phone"])
    assert len(inbox) == 1
    assert inbox[0]["text"].startswith("【重庆继续教育】您的验证码为 ")
    assert "激活" in inbox[0]["text"]
    code = inbox[0]["params"][0]
    # A weak password is refused first, and does not spend the code.
    weak = client.post("/api/activation", json={"sms_code": code, "new_password": "password"})
    assert weak.status_code == 422 and weak.json["field"] == "new_password"
    wrong = "000000" if code != "000000" else "111111"
    bad = client.post("/api/activation", json={"sms_code": wrong, "new_password": "NewPass123"})
    assert bad.status_code == 422 and bad.json["error"] == "bad_sms_code"
    assert bad.json["field"] == "sms_code"
    res = client.post("/api/activation", json={"sms_code": code, "new_password": "NewPass123"})
    assert res.status_code == 200, res.json
    assert res.json["must_change_password"] is False and res.json["name"] == "赵六"
    assert client.get("/api/me").status_code == 200  # this browser: a fresh full session
    # The code served once; the initial password is gone, the new one works.
    again = client.post("/api/activation", json={"sms_code": code, "new_password": "NewPass124"})
    assert again.status_code == 409 and again.json["error"] == "already_activated"
    other = app.test_client()
    assert (
        login(other, roster["id_number"], initial_password(roster["id_number"])).status_code == 401
    )
    assert login(other, roster["phone"], "NewPass123").status_code == 200


def test_activation_ends_every_other_session_and_drops_a_binding(app, roster):
    first = initial_session(app, roster)
    attacker = initial_session(app, roster)
    with app.app_context():
        make_binding(db.session.get(Trainee, roster["id"]), "o_attacker_000000000001")
        db.session.commit()
    code = activation_code(first, app, roster)
    res = first.post("/api/activation", json={"sms_code": code, "new_password": "NewPass123"})
    assert res.status_code == 200
    for path in ("/api/activation", "/api/me"):
        ended = attacker.get(path)
        assert ended.status_code == 401 and ended.json["error"] == "session_ended"
    assert first.get("/api/me").status_code == 200
    with app.app_context():
        assert (
            db.session.execute(
                db.select(WechatBinding).where(WechatBinding.trainee_id == roster["id"])
            ).first()
            is None
        )


def test_a_code_for_another_purpose_does_not_activate(app, roster):
    client = initial_session(app, roster)
    res = app.test_client().post("/api/password/forgot/code", json={"username": roster["phone"]})
    assert res.status_code == 200
    reset_code = latest_code(app.test_client(), roster["phone"])
    bad = client.post(
        "/api/activation", json={"sms_code": reset_code, "new_password": "NewPass123"}
    )
    assert bad.status_code == 422 and bad.json["error"] == "bad_sms_code"


def test_a_roster_account_without_a_phone_is_sent_to_the_unit(app):
    with app.app_context():
        t = make_trainee(name="钱七", password=None)
        t.phone = None
        db.session.commit()
        id_number = t.id_number
    client = app.test_client()
    res = login(client, id_number, initial_password(id_number))
    assert res.json == {
        "must_change_password": True,
        "activation_required": True,
        "phone_masked": None,
    }
    res = client.post("/api/activation/code", json={})
    assert res.status_code == 409 and res.json["error"] == "no_phone"
    assert "所在单位" in res.json["message"] and "400-023-9229" in res.json["message"]


def test_activation_needs_an_initial_password_session(app, active):
    assert app.test_client().post("/api/activation/code", json={}).status_code == 401
    client = app.test_client()
    assert login(client, active["phone"], "Passw0rd!").status_code == 200
    res = client.post("/api/activation/code", json={})
    assert res.status_code == 409 and res.json["error"] == "already_activated"
    assert messages(app.test_client(), active["phone"]) == []


def test_a_second_code_within_a_minute_is_refused_then_allowed(app, clock, roster):
    client = initial_session(app, roster)
    first = activation_code(client, app, roster)
    res = client.post("/api/activation/code", json={})
    assert res.status_code == 429 and res.json["error"] == "sms_too_soon"
    assert 1 <= res.json["retry_after"] <= 60
    clock.advance(61)
    second = activation_code(client, app, roster)
    assert len(messages(app.test_client(), roster["phone"])) == 2
    if first != second:  # one live code: the new one replaced the old
        old = client.post("/api/activation", json={"sms_code": first, "new_password": "NewPass123"})
        assert old.status_code == 422
    res = client.post("/api/activation", json={"sms_code": second, "new_password": "NewPass123"})
    assert res.status_code == 200


def test_the_sms_service_failing_is_answered_as_a_send_and_the_next_minute_sends(
    app, clock, roster
):
    """A refusal of the SMS service (here a timeout; Tencent's own limit per number, which
    a stranger reaches with 忘记密码, alike) is answered as a send: a send that the phone's
    minute holds back cannot fail, so a 503 would tell a guessed phone from the account's."""
    client = initial_session(app, roster)
    sandbox = app.test_client()
    sandbox.post("/_sandbox/sms/switches", json={"fail": "InternalError.Timeout", "times": 1})
    res = client.post("/api/activation/code", json={})
    assert res.status_code == 200 and res.json["phone_tail"] == roster["phone"][-4:]
    assert messages(sandbox, roster["phone"]) == []
    clock.advance(61)
    assert client.post("/api/activation/code", json={}).status_code == 200
    assert len(messages(sandbox, roster["phone"])) == 1


def test_a_strangers_reset_code_does_not_hold_back_the_owners_activation_code(app, roster):
    """The phone's one send a minute is per purpose: what it holds back leaves a live code of
    the same purpose on the phone. A 忘记密码 asked by the ID number must not swallow the
    activation code its owner asks for right after (activation refuses a reset code)."""
    assert forgot_code(app.test_client(), roster["id_number"]).status_code == 200
    owner = initial_session(app, roster)
    code = activation_code(owner, app, roster)
    assert len(messages(app, roster["phone"])) == 2
    done = owner.post("/api/activation", json={"sms_code": code, "new_password": "Own2026pw"})
    assert done.status_code == 200, done.json


def test_registering_a_phone_answers_alike_while_the_sms_service_refuses_the_number(app, active):
    """Tencent limits what one number receives (LimitExceeded.PhoneNumber...): five 忘记密码
    by a known ID number reach it for the account's phone alone. 自主注册's 获取验证码 for
    that phone and for a phone of nobody's must still answer alike."""
    stranger = app.test_client()
    assert forgot_code(stranger, active["id_number"]).status_code == 200
    sandbox = app.test_client()
    sandbox.post(
        "/_sandbox/sms/switches", json={"fail": "LimitExceeded.PhoneNumberOneHourLimit", "times": 1}
    )
    try:
        answers = [
            stranger.post("/api/register/code", json={"phone": phone})
            for phone in ("13712345679", active["phone"])
        ]
    finally:
        sandbox.post("/_sandbox/sms/switches", json={"reset": True})
    assert [(r.status_code, sorted(r.json)) for r in answers] == [
        (200, ["expires_in_s", "phone_masked", "phone_tail", "resend_after_s"])
    ] * 2


# --- 忘记密码 ---------------------------------------------------------------------------------


def forgot_code(client, username):
    return client.post("/api/password/forgot/code", json={"username": username})


def test_forgot_password_by_phone_sets_a_new_password_and_ends_sessions(app, active):
    old_session = app.test_client()
    assert login(old_session, active["phone"], "Passw0rd!").status_code == 200
    client = app.test_client()
    res = forgot_code(client, active["phone"])
    assert res.status_code == 200
    assert res.json["phone_tail"] == active["phone"][-4:]
    code = latest_code(client, active["phone"])
    assert "找回" in messages(client, active["phone"])[0]["text"]
    body = {"username": active["phone"], "sms_code": code, "new_password": "Forgot123"}
    res = client.post("/api/password/forgot", json=body)
    assert res.status_code == 200 and res.json == {"ok": True}
    ended = old_session.get("/api/me")
    assert ended.status_code == 401 and ended.json["error"] == "session_ended"
    assert login(client, active["phone"], "Passw0rd!").status_code == 401
    assert login(client, active["id_number"], "Forgot123").status_code == 200
    # The code served once.
    again = app.test_client().post(
        "/api/password/forgot", json={**body, "new_password": "Again1234"}
    )
    assert again.status_code == 422 and again.json["error"] == "bad_sms_code"


def test_forgot_password_lifts_the_lockout(app, active):
    client = app.test_client()
    for username in (active["id_number"], active["phone"]):
        for _ in range(5):
            login(client, username, "wrong-one1")
        locked = login(client, username, "Passw0rd!")
        assert locked.status_code == 429 and locked.json["error"] == "locked"
        assert "忘记密码" in locked.json["message"]  # locked by a stranger: the owner's way out
    assert forgot_code(client, active["id_number"]).status_code == 200
    code = latest_code(client, active["phone"])
    res = client.post(
        "/api/password/forgot",
        json={"username": active["id_number"], "sms_code": code, "new_password": "Forgot123"},
    )
    assert res.status_code == 200
    for username in (active["id_number"], active["phone"]):
        assert login(client, username, "Forgot123").status_code == 200


def test_forgot_password_activates_a_roster_account(app, roster):
    client = app.test_client()
    res = forgot_code(client, roster["id_number"])
    assert res.status_code == 200 and res.json["phone_tail"] == roster["phone"][-4:]
    code = latest_code(client, roster["phone"])
    res = client.post(
        "/api/password/forgot",
        json={"username": roster["id_number"], "sms_code": code, "new_password": "Forgot123"},
    )
    assert res.status_code == 200
    res = login(client, roster["id_number"], "Forgot123")
    assert res.status_code == 200 and res.json["must_change_password"] is False
    assert (
        login(app.test_client(), roster["phone"], initial_password(roster["id_number"])).status_code
        == 401
    )


def test_an_unknown_phone_gets_the_same_answer_and_no_sms(app, active):
    unknown = "13712345678"
    known = forgot_code(app.test_client(), active["phone"])
    res = forgot_code(app.test_client(), unknown)
    assert res.status_code == known.status_code == 200
    assert set(res.json) == set(known.json)
    assert res.json == {
        "phone_masked": "137****5678",
        "phone_tail": "5678",
        "resend_after_s": 60,
        "expires_in_s": 300,
    }
    assert messages(app.test_client(), unknown) == []
    # The same limits: a second ask within the minute is refused alike.
    again_known = forgot_code(app.test_client(), active["phone"])
    again_unknown = forgot_code(app.test_client(), unknown)
    assert again_known.status_code == again_unknown.status_code == 429
    assert again_known.json["error"] == again_unknown.json["error"] == "sms_too_soon"
    # And the reset fails exactly like a wrong code.
    body = {"username": unknown, "sms_code": "123456", "new_password": "Forgot123"}
    res = app.test_client().post("/api/password/forgot", json=body)
    wrong = app.test_client().post(
        "/api/password/forgot", json={**body, "username": active["phone"], "sms_code": "000000"}
    )
    assert res.status_code == wrong.status_code == 422
    assert res.json == wrong.json


@pytest.mark.parametrize("field", ["phone", "id_number"])
def test_a_failing_sms_service_does_not_tell_whether_a_username_has_an_account(app, active, field):
    """When Tencent refuses a real send (an outage, an empty SMS package, its own limit on
    the number), the answer for an account must still be that of a username that names
    none, whose send is only pretended and cannot fail."""
    unknown = {"phone": "13712345678", "id_number": make_id_number(987_001)}[field]
    sandbox = app.test_client()
    sandbox.post(
        "/_sandbox/sms/switches",
        json={"fail": "FailedOperation.InsufficientBalanceInSmsPackage", "times": -1},
    )
    answers = {
        who: [forgot_code(app.test_client(), username) for _ in range(2)]
        for who, username in (("known", active[field]), ("unknown", unknown))
    }
    sandbox.post("/_sandbox/sms/switches", json={"reset": True})
    codes = {who: [(r.status_code, r.json.get("error")) for r in rs] for who, rs in answers.items()}
    assert codes["known"] == codes["unknown"] == [(200, None), (429, "sms_too_soon")]
    assert messages(app.test_client(), active["phone"]) == []


def test_a_slow_failing_sms_service_makes_an_unknown_id_number_wait_as_long(app, clock, active):
    """When the SMS service times out, an account's send waits for it and is then answered
    as sent; a username that names nobody must wait as long, or the answer's time would
    list who has an account for as long as the outage lasts."""
    sandbox = app.test_client()
    switched = sandbox.post(
        "/_sandbox/sms/switches",
        json={"fail": "InternalError.Timeout", "times": -1, "delay_ms": 400},
    )
    assert switched.json["delay_ms"] == 400

    def timed(username):
        started = time.monotonic()
        assert forgot_code(app.test_client(), username).status_code == 200
        return time.monotonic() - started

    try:
        assert timed(active["id_number"]) >= 0.4
        assert timed(make_id_number(987_003)) >= 0.4
    finally:
        sandbox.post("/_sandbox/sms/switches", json={"reset": True})
    assert messages(app, active["phone"]) == []


def test_the_new_password_rules_do_not_tell_whether_a_phone_has_an_account(app, active):
    """Without the code, no rule that needs the account's ID number answers: a password
    holding a phone's last six digits (or the owner's ID number's) is answered like any
    wrong code, for a phone with an account and one without alike."""
    unknown = "13712345678"

    def probe(phone, password):
        body = {"username": phone, "sms_code": "123456", "new_password": password}
        return app.test_client().post("/api/password/forgot", json=body)

    for password in ("abc{}z", "ab1{}"):
        known = probe(active["phone"], password.format(active["phone"][-6:]))
        other = probe(unknown, password.format(unknown[-6:]))
        assert known.status_code == other.status_code == 422
        assert known.json == other.json and known.json["field"] == "sms_code"
    linked = probe(active["phone"], "a1" + active["id_number"][-6:])
    assert linked.json["field"] == "sms_code"  # nor whether this phone is that ID number's


def test_an_unknown_username_waits_as_long_as_a_real_send(app, clock, monkeypatch):
    """The SMS service's round trip is the only slow part of a send: a username with no
    account must not answer at once, or the time would tell who has one."""
    real_send = sms_codes.send_sms

    def over_the_network(*args, **kwargs):
        time.sleep(0.08)
        return real_send(*args, **kwargs)

    monkeypatch.setattr(sms_codes, "send_sms", over_the_network)
    with app.app_context():
        known = [make_trainee(n=950_000 + i).id_number for i in range(3)]
        db.session.commit()
    unknown = [make_id_number(960_000 + i) for i in range(3)]

    def timed(username, n):
        started = time.perf_counter()
        res = app.test_client().post(
            "/api/password/forgot/code",
            json={"username": username},
            environ_base={"REMOTE_ADDR": f"10.9.0.{n}"},
        )
        assert res.status_code == 200
        return time.perf_counter() - started

    known_times = [timed(u, i) for i, u in enumerate(known)]
    unknown_times = [timed(u, 10 + i) for i, u in enumerate(unknown)]
    assert min(known_times) >= 0.08 and min(unknown_times) >= 0.08


def test_an_unknown_id_number_gets_a_steady_made_up_phone(app, clock, active):
    unknown = make_id_number(987654)
    first = forgot_code(app.test_client(), unknown)
    assert first.status_code == 200
    assert re.fullmatch(r"\*{7}\d{4}", first.json["phone_masked"])
    assert first.json["phone_tail"] == first.json["phone_masked"][-4:]
    clock.advance(61)
    second = forgot_code(app.test_client(), unknown)
    assert second.json == first.json  # asking twice does not tell it apart from an account
    assert (
        app.test_client()
        .get("/_sandbox/sms/messages?phone=" + first.json["phone_masked"])
        .json["items"]
        == []
    )


def test_a_rotated_secret_key_leaves_an_unknown_id_numbers_made_up_phone_as_it_was(
    app, clock, active, monkeypatch
):
    """Operators rotate SECRET_KEY. Had the made-up tail followed it, a stranger who asked
    by many ID numbers before and after would see every unknown one change and every
    account's stay: the list of who has an account."""
    unknown = make_id_number(987655)
    before = [forgot_code(app.test_client(), u).json for u in (unknown, active["id_number"])]
    new_key = "a-new-secret-key-of-more-than-32-bytes-0123456789"
    monkeypatch.setitem(app.config, "SECRET_KEY_FALLBACKS", [app.config["SECRET_KEY"]])
    monkeypatch.setitem(app.config, "SECRET_KEY", new_key)
    monkeypatch.setattr(app, "secret_key", new_key)
    clock.advance(61)
    after = [forgot_code(app.test_client(), u).json for u in (unknown, active["id_number"])]
    assert after == before


def test_asked_by_id_number_the_answer_shows_no_prefix_to_tell_an_account_by(app, active):
    """A made-up phone's prefix would have to match the real ones': a 130, 166 or 191 that no
    made-up phone has would prove the ID number registered. Only the tail is shown."""
    with app.app_context():
        victim = make_trainee(name="欧阳娜娜")
        victim.phone = "13012345678"
        db.session.commit()
        victim_id = victim.id_number
    registered = forgot_code(app.test_client(), victim_id)
    assert registered.status_code == 200
    assert registered.json["phone_masked"] == "*******5678"
    assert latest_code(app.test_client(), "13012345678")  # the owner did get the code
    for n in range(3):
        unknown = forgot_code(app.test_client(), make_id_number(555000 + n))
        assert set(unknown.json) == set(registered.json)
        assert re.fullmatch(r"\*{7}\d{4}", unknown.json["phone_masked"])


def test_forgot_password_checks_the_new_password_before_the_code(app, active):
    client = app.test_client()
    forgot_code(client, active["phone"])
    code = latest_code(client, active["phone"])
    body = {"username": active["phone"], "sms_code": code}
    weak = client.post("/api/password/forgot", json={**body, "new_password": "abcdefgh"})
    assert weak.status_code == 422 and weak.json["field"] == "new_password"
    last_six = client.post(
        "/api/password/forgot", json={**body, "new_password": "a1" + active["id_number"][-6:]}
    )
    assert last_six.status_code == 422 and last_six.json["field"] == "new_password"
    ok = client.post("/api/password/forgot", json={**body, "new_password": "Forgot123"})
    assert ok.status_code == 200


def test_five_wrong_codes_burn_the_code(app, active):
    client = app.test_client()
    forgot_code(client, active["phone"])
    code = latest_code(client, active["phone"])
    wrong = [c for c in ("000000", "111111", "222222", "333333", "444444", "555555") if c != code]
    body = {"username": active["phone"], "new_password": "Forgot123"}
    for guess in wrong[:5]:
        res = client.post("/api/password/forgot", json={**body, "sms_code": guess})
        assert res.status_code == 422 and res.json["error"] == "bad_sms_code"
    res = client.post("/api/password/forgot", json={**body, "sms_code": code})
    assert res.status_code == 422 and res.json["error"] == "bad_sms_code"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "username"),
        ({"username": "12345"}, "username"),
        ({"username": "50023119850307001x"}, "username"),
        ({"username": 13800138000}, "username"),
        # Arabic-Indic and full-width digits: \d takes them, no phone or ID number has them.
        ({"username": "١٣٨٠٠١٣٨٠٠٠"}, "username"),
        ({"username": "１３８００１３８０００"}, "username"),
    ],
)
def test_forgot_code_names_a_malformed_username(client, body, field):
    res = client.post("/api/password/forgot/code", json=body)
    assert res.status_code == 422 and res.json["field"] == field


def test_forgot_password_is_rate_limited_per_address(app, monkeypatch):
    """Many usernames from one address: its own budget (400 in 10 minutes; 20 here)."""
    budget = limits.FORGOT_ADDRESS
    monkeypatch.setattr(limits, "FORGOT_ADDRESS", Limit(budget.name, 20, 600, budget.message))
    client = app.test_client()
    statuses = [forgot_code(client, f"1370000{n:04d}").status_code for n in range(21)]
    assert statuses[:20] == [200] * 20
    assert statuses[20] == 429


def test_the_demo_roster_trainee_activates_through_the_sms_sandbox(app, runner):
    """`make run`'s 王刚 (bulk-registered): the initial password, then 激活账号 by SMS."""
    assert runner.invoke(args=["seed-demo", "--once"]).exit_code == 0
    imported = next(t for t in TRAINEES if t.password is None)
    client = app.test_client()
    res = login(client, imported.id_number, imported.login_password)
    assert res.status_code == 200 and res.json["activation_required"] is True
    assert client.post("/api/activation/code", json={}).status_code == 200
    code = latest_code(client, imported.phone)
    res = client.post("/api/activation", json={"sms_code": code, "new_password": "Demo2026ok"})
    assert res.status_code == 200 and res.json["name"] == imported.name


def test_a_units_roster_activates_together_behind_one_address(app):
    """Its staff activate during a training session on the hospital's one address: more
    people than the old per-address budget (20 calls in 10 minutes) get through."""
    with app.app_context():
        unit = make_unit()
        people = [make_trainee(password=None, unit=unit) for _ in range(12)]
        db.session.commit()
        rosters = [{"id": p.id, "phone": p.phone, "id_number": p.id_number} for p in people]
    for person in rosters:  # 24 calls from one address
        client = initial_session(app, person)
        code = activation_code(client, app, person)
        res = client.post("/api/activation", json={"sms_code": code, "new_password": "NewPass123"})
        assert res.status_code == 200, (person, res.json)


def test_one_account_is_limited_in_its_activation_calls(app, roster):
    client = initial_session(app, roster)
    codes = [
        client.post("/api/activation", json={"sms_code": "123456", "new_password": "NewPass123"})
        for _ in range(limits.ACTIVATION.count + 1)
    ]
    assert [c.status_code for c in codes[:3]] == [422] * 3
    assert codes[-1].status_code == 429
    assert codes[-1].json["message"] == limits.ACTIVATION.message


def test_colleagues_reset_their_passwords_behind_one_address(app):
    """忘记密码 counted per username typed: twelve colleagues on one address (24 calls) all
    get their code and their new password."""
    with app.app_context():
        people = [make_trainee() for _ in range(12)]
        db.session.commit()
        phones = [p.phone for p in people]
    for phone in phones:
        client = app.test_client()
        assert forgot_code(client, phone).status_code == 200
        code = latest_code(app.test_client(), phone)
        res = client.post(
            "/api/password/forgot",
            json={"username": phone, "sms_code": code, "new_password": "NewPass123"},
        )
        assert res.status_code == 200, res.json


def test_one_username_is_limited_in_its_reset_calls(app, active):
    client = app.test_client()
    body = {"username": active["phone"], "sms_code": "000000", "new_password": "NewPass123"}
    codes = [
        client.post("/api/password/forgot", json=body).status_code
        for _ in range(limits.FORGOT.count + 1)
    ]
    assert codes[:3] == [422] * 3 and codes[-1] == 429


# --- what one username's sends leave on the phone is not told to another ---------------------


def _nobody(field):
    return {"phone": "13712345678", "id_number": make_id_number(987_002)}[field]


def _answers(replies):
    return [(r.status_code, r.json.get("error"), sorted(r.json)) for r in replies]


@pytest.mark.parametrize("first", ["id_number", "phone"])
def test_a_send_by_one_username_does_not_single_out_the_other_within_the_minute(app, active, first):
    """A stranger who knows the ID number asks for a code by it, then by phones they guess:
    the phone's one send a minute must not answer 429 for the account's phone alone."""
    other = "phone" if first == "id_number" else "id_number"
    stranger = app.test_client()
    assert forgot_code(stranger, active[first]).status_code == 200
    answers = [forgot_code(stranger, name) for name in (active[other], _nobody(other))]
    assert _answers(answers) == [(200, None, sorted(answers[1].json))] * 2
    # Within the phone's minute nothing more reaches it; the code it got stays live.
    assert len(messages(app, active["phone"])) == 1
    body = {"username": active[other], "sms_code": latest_code(app, active["phone"])}
    res = stranger.post("/api/password/forgot", json={**body, "new_password": "Forgot123"})
    assert res.status_code == 200


@pytest.mark.parametrize("first", ["id_number", "phone"])
def test_the_phones_day_spent_by_one_username_does_not_single_out_the_other(
    app, clock, active, first
):
    other = "phone" if first == "id_number" else "id_number"
    stranger = app.test_client()
    for _ in range(sms_limits.PHONE_DAILY_CAP):
        assert forgot_code(stranger, active[first]).status_code == 200
        clock.advance(61)
    refused = forgot_code(stranger, active[first])
    assert refused.status_code == 429 and refused.json["message"] == sms_limits.RESET_CAP_MESSAGE
    answers = [forgot_code(stranger, name) for name in (active[other], _nobody(other))]
    assert _answers(answers) == [(200, None, sorted(answers[1].json))] * 2
    assert len(messages(app, active["phone"])) == sms_limits.PHONE_DAILY_CAP


def test_registering_a_guessed_phone_does_not_tell_it_from_a_reset_by_id_number(app, active):
    """The phone's minute, set by a 忘记密码 asked by ID number, must not show in 自主注册's
    获取验证码 for that phone (anyone may ask one for any phone)."""
    stranger = app.test_client()
    assert forgot_code(stranger, active["id_number"]).status_code == 200
    answers = [
        stranger.post("/api/register/code", json={"phone": phone})
        for phone in (active["phone"], _nobody("phone"))
    ]
    assert _answers(answers) == [(200, None, sorted(answers[1].json))] * 2
    # A registration code has a minute of its own: it reaches the phone.
    assert len(messages(app, active["phone"])) == 2
