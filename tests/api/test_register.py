"""自主注册 over HTTP: each field rule, the SMS code read from the sandbox's inbox, what a taken
ID number or phone tells (only that it is taken, and only to whoever proved a phone), the
race on the unique columns, the per-address limit, and binding the WeChat user that
网页授权 left pending in the browser (through the real sandbox OAuth flow)."""

from __future__ import annotations

import json
import re
import threading
from html import unescape

import pytest
import requests

from models import Trainee, WechatBinding, db
from tests.factories import make_binding, make_id_number, make_phone, make_trainee, make_unit
from tests.sms import latest_code, messages
from wxapp.accounts import registration
from wxapp.accounts.idnumbers import initial_password, mask_id_number
from wxapp.accounts.sms_codes import Purpose, mask_phone, send_code
from wxapp.infra import limits
from wxapp.infra.ratelimit import Limit

PASSWORD = "Qingshan2025"


def id_number_ending_in_x() -> str:
    n = 500
    while not (number := make_id_number(n)).endswith("X"):
        n += 1
    return number


@pytest.fixture
def unit_id(app):
    with app.app_context():
        unit = make_unit(name="垫江县第一人民医院", district="垫江县")
        db.session.commit()
        return unit.id


def send(client, phone):
    res = client.post("/api/register/code", json={"phone": phone})
    assert res.status_code == 200, res.json
    return res


def code_for(client, phone) -> str:
    send(client, phone)
    return latest_code(client, phone)


def form(unit_id=None, **overrides):
    n = overrides.pop("n", None)
    body = {
        "name": "李青山",
        "id_number": make_id_number(n),
        "phone": make_phone(n),
        "password": PASSWORD,
        "unit_id": unit_id,
    }
    body.update(overrides)
    return body


def register(client, body, code=None):
    if code is None and "sms_code" not in body:
        code = code_for(client, body["phone"])
    payload = {**body, **({"sms_code": code} if code is not None else {})}
    return client.post("/api/register", json=payload)


def trainee_count(app) -> int:
    with app.app_context():
        return db.session.execute(db.select(db.func.count(Trainee.id))).scalar_one()


def test_register_creates_an_activated_account_and_logs_it_in(client, app, unit_id):
    body = form(unit_id)
    sent = send(client, body["phone"]).json
    assert sent["phone_tail"] == body["phone"][-4:]
    assert sent["phone_masked"] == mask_phone(body["phone"])
    assert sent["resend_after_s"] == 60 and sent["expires_in_s"] == 300
    inbox = messages(client, body["phone"])
    assert len(inbox) == 1 and inbox[0]["template_id"] == app.config["SMS_TEMPLATE_REGISTER"]
    assert "注册" in inbox[0]["text"]

    res = register(client, body, latest_code(client, body["phone"]))
    assert res.status_code == 201, res.json
    me = client.get("/api/me")
    assert me.status_code == 200
    profile = me.json
    assert profile["name"] == "李青山" and profile["phone"] == body["phone"]
    assert profile["must_change_password"] is False
    assert profile["unit"]["id"] == unit_id and profile["archive_district"] is None
    assert profile["id_number_masked"] == mask_id_number(body["id_number"])
    # 第 17 位 of make_id_number's numbers: odd for n % 999 + 1 odd.
    assert profile["gender"] == ("男" if int(body["id_number"][16]) % 2 else "女")
    assert res.json["wechat_bound"] is False
    client.post("/api/logout")
    login = client.post("/api/login", json={"username": body["id_number"], "password": PASSWORD})
    assert login.status_code == 200 and login.json["must_change_password"] is False


def test_the_district_of_the_archive_instead_of_a_unit(client):
    body = form(archive_district="沙坪坝区")
    res = register(client, body)
    assert res.status_code == 201, res.json
    assert res.json["unit"] is None and res.json["archive_district"] == "沙坪坝区"


def test_gender_comes_from_the_id_number(client):
    x = id_number_ending_in_x()
    res = register(client, form(archive_district="垫江县", id_number=x))
    assert res.status_code == 201, res.json
    assert res.json["gender"] == ("男" if int(x[16]) % 2 else "女")


def test_one_of_unit_and_district_is_required(client, app):
    body = form()
    body.pop("unit_id")
    res = register(client, body)
    assert res.status_code == 422 and res.json["field"] == "unit_id"
    assert "档案所在区县" in res.json["message"]
    bad = register(client, {**form(), "archive_district": "成都市"}, "123456")
    assert bad.status_code == 422 and bad.json["field"] == "archive_district"
    missing = register(client, form(unit_id=999999), "123456")
    assert missing.status_code == 422 and missing.json["error"] == "unit_not_found"
    assert trainee_count(app) == 0


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("", "name_missing"),
        ("李 青山", "name_space"),
        ("李青山2", "name_symbol"),
        ("李青山（临）", "name_symbol"),
        ("李" * 51, "name_too_long"),
        # a stranger's markup and spreadsheet formulas where a name goes
        ("<script>alert(1)</script>", "name_symbol"),
        ('=HYPERLINK("http://evil.example/x","点击查看详情")', "name_symbol"),
        ("=cmd|' /C calc'!A0", "name_space"),  # refused for its space first
        ("+李青山", "name_symbol"),
        ("-李青山", "name_symbol"),
        ("@李青山", "name_symbol"),
    ],
)
def test_names_follow_the_rosters_rules(client, unit_id, name, code):
    res = register(client, form(unit_id, name=name), "123456")
    assert res.status_code == 422 and res.json["field"] == "name"
    assert res.json["error"] == code


def test_names_the_roster_accepts_are_accepted(client, unit_id):
    res = register(client, form(unit_id, name="买买提·艾力"))
    assert res.status_code == 201, res.json
    assert res.json["name"] == "买买提·艾力"


def test_a_lower_case_x_is_refused_with_a_clear_message(client, unit_id, app):
    lower = id_number_ending_in_x()[:17] + "x"
    res = register(client, form(unit_id, id_number=lower))
    assert res.status_code == 422 and res.json["field"] == "id_number"
    assert res.json["message"] == "身份证号码中的字母 X 请使用大写"
    assert res.json["error"] == "id_lowercase_x"
    assert trainee_count(app) == 0


@pytest.mark.parametrize(
    ("id_number", "code"),
    [
        ("", "missing"),
        ("50023119850307001", "id_format"),
        ("5002311985030700 1X", "id_format"),
        ("500231198502300012", "id_birth_date"),
    ],
)
def test_malformed_id_numbers_are_refused(client, unit_id, id_number, code):
    res = register(client, form(unit_id, id_number=id_number), "123456")
    assert res.status_code == 422 and res.json["field"] == "id_number"
    assert res.json["error"] == code


def test_a_wrong_check_digit_is_refused(client, unit_id, app):
    good = make_id_number()
    wrong = good[:17] + ("1" if good[17] != "1" else "2")
    res = register(client, form(unit_id, id_number=wrong))
    assert res.status_code == 422 and res.json["field"] == "id_number"
    assert res.json["error"] == "id_checksum" and "校验位" in res.json["message"]
    assert trainee_count(app) == 0


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short1a", "密码长度应为 8～64 位"),
        ("a1" * 33, "密码长度应为 8～64 位"),
        ("onlyletters", "密码须同时包含英文字母和数字"),
        ("1234567890", "密码须同时包含英文字母和数字"),
    ],
)
def test_password_rules(client, unit_id, password, message):
    res = register(client, form(unit_id, password=password), "123456")
    assert res.status_code == 422 and res.json["field"] == "password"
    assert res.json["message"] == message


def test_the_password_may_not_be_the_initial_one_or_hold_the_last_six(client, unit_id):
    body = form(unit_id)
    last6 = body["id_number"][-6:]
    res = register(client, {**body, "password": initial_password(body["id_number"])}, "123456")
    assert res.status_code == 422 and res.json["field"] == "password"
    res = register(client, {**body, "password": f"ab{last6}cd"}, "123456")
    assert res.status_code == 422 and res.json["field"] == "password"
    assert res.json["message"] == "密码不能包含身份证号码后六位"


def test_phone_must_be_eleven_digits(client):
    for phone in ("", "1390000000", "23900000000", "139000000001", "1390000000a"):
        res = client.post("/api/register/code", json={"phone": phone})
        assert res.status_code == 422 and res.json["field"] == "phone", phone
    assert client.post("/api/register/code", json={}).json["field"] == "phone"


def test_a_wrong_code_creates_nothing_and_five_wrong_tries_burn_it(client, unit_id, app):
    body = form(unit_id)
    right = code_for(client, body["phone"])
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    res = register(client, body, wrong)
    assert res.status_code == 422 and res.json["field"] == "sms_code"
    assert res.json["error"] == "bad_sms_code"
    for _ in range(4):
        assert register(client, body, wrong).status_code == 422
    burnt = register(client, body, right)
    assert burnt.status_code == 422 and burnt.json["field"] == "sms_code"
    assert trainee_count(app) == 0
    assert client.get("/api/me").status_code == 401


def test_a_code_is_for_one_registration_and_one_phone(client, unit_id, app):
    first = form(unit_id)
    code = code_for(client, first["phone"])
    assert register(client, first, code).status_code == 201
    client.post("/api/logout")
    # Reused: the code was consumed (and the answer says nothing about the phone being taken).
    again = register(client, form(unit_id, phone=first["phone"]), code)
    assert again.status_code == 422 and again.json["field"] == "sms_code"
    # Another phone's code does not prove this phone.
    other = form(unit_id)
    someone_elses = code_for(client, make_phone())
    res = register(client, other, someone_elses)
    assert res.status_code == 422 and res.json["field"] == "sms_code"
    assert trainee_count(app) == 1


def test_a_code_for_another_purpose_does_not_register(client, unit_id, app, redis_client, clock):
    body = form(unit_id)
    with app.app_context():
        send_code(redis_client, app.config, body["phone"], Purpose.RESET, "127.0.0.1", clock.now())
    res = register(client, body, latest_code(client, body["phone"]))
    assert res.status_code == 422 and res.json["field"] == "sms_code"


def test_fields_are_checked_before_the_code_is_spent(client, unit_id, app):
    body = form(unit_id)
    code = code_for(client, body["phone"])
    res = register(client, {**body, "password": "weak"}, code)
    assert res.status_code == 422 and res.json["field"] == "password"
    assert trainee_count(app) == 0
    assert register(client, body, code).status_code == 201


@pytest.fixture
def existing(app):
    with app.app_context():
        t = make_trainee(name="王秀英")
        db.session.commit()
        return {"id": t.id, "id_number": t.id_number, "phone": t.phone, "name": t.name}


def _reveals_nothing(res, existing) -> None:
    text = json.dumps(res.json, ensure_ascii=False)
    for secret in (
        existing["name"],
        existing["phone"],
        existing["phone"][-4:],
        mask_phone(existing["phone"]),
        existing["id_number"],
        mask_id_number(existing["id_number"]),
    ):
        assert secret not in text, secret
    assert "忘记密码" in res.json["message"]


def test_a_registered_id_number_points_to_forgot_password_and_reveals_nothing(
    client, unit_id, app, existing
):
    body = form(unit_id, id_number=existing["id_number"])
    res = register(client, body)
    assert res.status_code == 409, res.json
    assert res.json["error"] == "already_registered" and res.json["field"] == "id_number"
    assert "身份证号码已注册" in res.json["message"]
    # The code is used up: someone who mistyped is told to fetch a new one.
    assert "请改正后重新获取验证码" in res.json["message"]
    _reveals_nothing(res, existing)
    assert trainee_count(app) == 1
    assert client.get("/api/me").status_code == 401


def test_a_registered_phone_points_to_forgot_password_and_reveals_nothing(
    client, unit_id, app, existing
):
    # The code goes to the phone as for any other: its owner alone learns it is registered.
    body = form(unit_id, phone=existing["phone"])
    res = register(client, body)
    assert res.status_code == 409, res.json
    assert res.json["error"] == "already_registered" and res.json["field"] == "phone"
    assert "手机号已注册" in res.json["message"]
    text = json.dumps(res.json, ensure_ascii=False)
    assert existing["name"] not in text and existing["id_number"][-6:] not in text
    assert trainee_count(app) == 1


def test_without_a_proven_phone_a_taken_id_number_is_not_told(client, unit_id, existing):
    res = register(client, form(unit_id, id_number=existing["id_number"]), "000000")
    assert res.status_code == 422 and res.json["field"] == "sms_code"
    assert "已注册" not in res.json["message"]


def test_a_race_on_the_unique_columns_is_the_same_409(client, unit_id, app, monkeypatch):
    body = form(unit_id)
    code = code_for(client, body["phone"])
    with app.app_context():
        # Another registration commits the same ID number after this one's check.
        db.session.add(
            Trainee(name="赵敏", id_number=body["id_number"], phone=make_phone(), gender="女")
        )
        db.session.commit()
    monkeypatch.setattr(registration, "_taken_field", lambda id_number, phone: None)
    res = register(client, body, code)
    assert res.status_code == 409 and res.json["error"] == "already_registered"
    assert res.json["field"] == "id_number" and "忘记密码" in res.json["message"]
    assert trainee_count(app) == 1
    assert client.get("/api/me").status_code == 401


def test_concurrent_registrations_of_one_id_number_give_one_account(live_app, unit_id_live):
    body = form(unit_id_live)
    clients = [live_app.test_client() for _ in range(4)]
    bodies = []
    for c in clients:
        phone = make_phone()
        bodies.append({**body, "phone": phone, "sms_code": code_for(c, phone)})
    barrier = threading.Barrier(len(clients))
    statuses: list[int] = []

    def go(c, b):
        barrier.wait(10)
        statuses.append(c.post("/api/register", json=b).status_code)

    threads = [threading.Thread(target=go, args=pair) for pair in zip(clients, bodies, strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(statuses) == [201, 409, 409, 409]
    with live_app.app_context():
        assert (
            db.session.execute(
                db.select(db.func.count(Trainee.id)).where(Trainee.id_number == body["id_number"])
            ).scalar_one()
            == 1
        )


@pytest.fixture
def unit_id_live(live_app):
    with live_app.app_context():
        unit = make_unit(name="垫江县中医院", district="垫江县")
        db.session.commit()
        return unit.id


def test_registration_is_limited_per_phone_and_per_address(client, monkeypatch):
    phone = make_phone()
    for _ in range(20):  # one phone number, wrong codes: one budget for it
        assert client.post("/api/register", json={"phone": phone}).status_code == 422
    res = client.post("/api/register", json={"phone": phone})
    assert res.status_code == 429 and res.json["error"] == "rate_limited"
    assert res.json["retry_after"] > 0
    # Another phone number from the same address is someone else: not refused.
    assert client.post("/api/register/code", json={"phone": make_phone()}).status_code == 200
    # The address has a budget of its own, larger (a unit behind one NAT address).
    monkeypatch.setattr(limits, "REGISTER_ADDRESS", Limit("register_addr", 3, 600, "太多"))
    answers = [
        client.post(
            "/api/register/code",
            json={"phone": make_phone()},
            environ_base={"REMOTE_ADDR": "10.0.0.9"},
        ).status_code
        for _ in range(4)
    ]
    assert answers == [200, 200, 200, 429]


def test_the_unit_chooser_and_districts_need_no_session(client, unit_id):
    items = client.get("/api/register/units?q=垫江").json["items"]
    assert items == [{"id": unit_id, "name": "垫江县第一人民医院", "district": "垫江县"}]
    assert client.get("/api/register/units?q=%25").json["items"] == []
    bad = client.get("/api/register/units?district=成都市")
    assert bad.status_code == 422 and bad.json["field"] == "district"
    districts = client.get("/api/register/districts").json["items"]
    assert len(districts) == 38 and "垫江县" in districts


def test_the_register_page_is_served_and_linked_from_login(client):
    page = client.get("/h5/register")
    assert page.status_code == 200
    assert "/static/js/pages/register.js" in page.get_data(as_text=True)
    with client.get("/static/js/pages/login.js") as login_js:
        assert "/h5/register" in login_js.get_data(as_text=True)


# --- inside WeChat: the openid 网页授权 left pending is bound to the new account ---

OPENID = "o_register_0000000000000001"


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


def bound_trainee(app, openid=OPENID):
    with app.app_context():
        return db.session.execute(
            db.select(WechatBinding.trainee_id).where(WechatBinding.openid == openid)
        ).scalar_one_or_none()


def register_over_http(s: requests.Session, base: str, body: dict) -> requests.Response:
    assert s.post(f"{base}/api/register/code", json={"phone": body["phone"]}).status_code == 200
    code = latest_code(base, body["phone"])
    return s.post(f"{base}/api/register", json={**body, "sms_code": code})


def test_registering_inside_wechat_binds_the_pending_openid(live_server):
    base, app = live_server.url, live_server.app
    body = form(archive_district="垫江县")
    with requests.Session() as s:
        res = s.get(authorize(s, base, "/h5/progress"), allow_redirects=False)
        assert res.status_code == 302 and res.headers["Location"].startswith("/h5/bind?")
        assert s.get(f"{base}/api/me").status_code == 401
        res = register_over_http(s, base, body)
        assert res.status_code == 201, res.text
        assert res.json()["wechat_bound"] is True
        new_id = res.json()["id"]
        assert s.get(f"{base}/api/me").json()["id"] == new_id
    assert bound_trainee(app) == new_id
    # From now on 网页授权 logs this WeChat user straight into the new account.
    with requests.Session() as s:
        res = s.get(authorize(s, base, "/h5/orders"), allow_redirects=False)
        assert res.status_code == 302 and res.headers["Location"] == "/h5/orders"
        assert s.get(f"{base}/api/me").json()["id"] == new_id


def test_an_openid_bound_to_someone_else_is_not_rebound(live_server):
    base, app = live_server.url, live_server.app
    with app.app_context():
        owner = make_trainee(name="孙丽")
        make_binding(owner, OPENID)
        db.session.commit()
        owner_id = owner.id
    body = form(archive_district="垫江县")
    with requests.Session() as s:
        res = s.get(authorize(s, base, "/h5/progress"), allow_redirects=False)
        assert res.status_code == 302 and res.headers["Location"] == "/h5/progress"
        res = register_over_http(s, base, body)
        assert res.status_code == 201, res.text
        assert res.json()["wechat_bound"] is False
        assert res.json()["wechat_bound_elsewhere"] is True
        assert s.get(f"{base}/api/me").json()["id"] == res.json()["id"]
    assert bound_trainee(app) == owner_id


def test_a_binding_made_while_registering_is_not_replaced(live_server, monkeypatch):
    """The WeChat user binds their other account (in another tab) while this registration
    runs: the registration saw the openid free, but the binding committed since is kept."""
    base, app = live_server.url, live_server.app
    with app.app_context():
        owner = make_trainee(name="孙丽")
        db.session.commit()
        owner_id = owner.id
    body = form(archive_district="垫江县")
    with requests.Session() as s:
        res = s.get(authorize(s, base, "/h5/progress"), allow_redirects=False)
        assert res.headers["Location"].startswith("/h5/bind?")
        assert s.post(f"{base}/api/register/code", json={"phone": body["phone"]}).ok
        code = latest_code(base, body["phone"])
        # The other tab's binding lands after this request's look at the openid.
        with app.app_context():
            make_binding(db.session.get(Trainee, owner_id), OPENID)
            db.session.commit()
        monkeypatch.setattr(registration.bindings, "trainee_for_openid", lambda *a, **k: None)
        res = s.post(f"{base}/api/register", json={**body, "sms_code": code})
        assert res.status_code == 201, res.text
        assert res.json()["wechat_bound"] is False
        assert res.json()["wechat_bound_elsewhere"] is True
    assert bound_trainee(app) == owner_id


def test_a_registration_outside_wechat_binds_nothing(client, app, unit_id):
    res = register(client, form(unit_id))
    assert res.status_code == 201
    with app.app_context():
        assert db.session.execute(db.select(db.func.count(WechatBinding.openid))).scalar_one() == 0


def test_colleagues_register_together_behind_one_address(app, unit_id):
    """After the unit's notice its staff register on the hospital's one address: more of
    them than the old per-address budget (20 calls in 10 minutes) get through."""
    names = "甲乙丙丁戊己庚辛壬癸子丑"
    for n, name in enumerate(names):  # 24 calls from one address
        res = register(app.test_client(), form(unit_id, n=7000 + n, name=f"李{name}"))
        assert res.status_code == 201, (n, res.json)


def test_one_phone_number_is_limited_in_its_registration_calls(client, unit_id):
    body = form(unit_id, n=7100)
    codes = [
        client.post("/api/register", json={**body, "sms_code": "000000"}).status_code
        for _ in range(limits.REGISTER.count + 1)
    ]
    assert codes[:3] == [422] * 3 and codes[-1] == 429
    other = form(unit_id, n=7101)  # another person, same address: not refused
    assert register(client, other).status_code == 201


def test_a_missing_phone_is_named_however_many_others_forgot_it(app):
    """Everyone who leaves the phone empty (each from their own address) is told to fill
    it in: they do not share one budget that would answer 频繁 to the next."""
    for n in range(limits.REGISTER.count + 2):
        res = app.test_client().post(
            "/api/register/code", json={}, headers={"X-Forwarded-For": f"10.7.{n}.1"}
        )
        assert res.status_code == 422 and res.json["field"] == "phone", (n, res.json)
