"""Login, lockout, logout, the forced first password change, and the session guard."""

import threading
import time

import pytest
from werkzeug.security import generate_password_hash

from models import db
from tests.factories import make_trainee, make_unit, sign_in
from wxapp.accounts import lockout, passwords
from wxapp.accounts import trainees as accounts
from wxapp.accounts.idnumbers import initial_password
from wxapp.accounts.passwords import hash_password, verify_password


@pytest.fixture
def trainee(app):
    with app.app_context():
        t = make_trainee(name="王五", unit=make_unit())
        db.session.commit()
        return {"id": t.id, "phone": t.phone, "id_number": t.id_number}


@pytest.fixture
def imported(app):
    """A bulk-imported trainee: no hash, initial password by rule, must change."""
    with app.app_context():
        t = make_trainee(name="赵六", password=None)
        db.session.commit()
        return {"id": t.id, "phone": t.phone, "id_number": t.id_number}


def login(client, username, password):
    return client.post("/api/login", json={"username": username, "password": password})


def test_login_by_phone_or_id_number_starts_a_session(client, trainee):
    for username in (trainee["phone"], trainee["id_number"]):
        res = login(client, username, "Passw0rd!")
        assert res.status_code == 200
        assert res.json["name"] == "王五"
        assert res.json["unit"]["district"] == "垫江县"
        assert trainee["id_number"] not in res.get_data(as_text=True)  # masked
        me = client.get("/api/me")
        assert me.status_code == 200 and me.json["id"] == trainee["id"]
        client.post("/api/logout")
        assert client.get("/api/me").status_code == 401


def test_session_cookie_is_httponly_and_lax(client, trainee):
    res = login(client, trainee["phone"], "Passw0rd!")
    (cookie,) = [c for c in res.headers.getlist("Set-Cookie") if c.startswith("wxapp_session=")]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain http in tests; https turns it on (see test_config)


def test_wrong_password_is_401_then_locked_after_five(client, trainee, app):
    for attempt in range(4):
        res = login(client, trainee["phone"], "nope")
        assert res.status_code == 401
        assert res.json["error"] == "bad_credentials"
        assert f"还可尝试 {4 - attempt} 次" in res.json["message"]
    res = login(client, trainee["phone"], "nope")
    assert res.status_code == 429 and res.json["error"] == "locked"
    # Locked even with the right password, for 15 minutes.
    res = login(client, trainee["phone"], "Passw0rd!")
    assert res.status_code == 429
    assert "锁定" in res.json["message"]
    assert 14 * 60 < res.json["retry_after"] <= 15 * 60
    # The lock is the account's, kept with its other Redis keys (hash tag {t:<id>}).
    r = app.extensions["redis"]
    lock = lockout.account_keys(r, trainee["id"], None, lockout.BY_PHONE).lock
    assert lock.startswith(f"{{t:{trainee['id']}}}:")
    assert 14 * 60 < r.ttl(lock) <= 15 * 60


@pytest.mark.parametrize("first", ["phone", "id_number"])
def test_failures_by_one_username_do_not_show_on_the_other(client, trainee, first):
    """A stranger who knows the ID number and guesses a phone must not learn from the tries
    left, or from the lock, whether the phone is the account's: each username has a count
    and a lock of its own, and the other answers as a username that names nobody does."""
    other = "id_number" if first == "phone" else "phone"
    nobody = "13900000000" if other == "phone" else "500101199001011236"
    for _ in range(3):
        login(client, trainee[first], "nope")
    told = [login(client, name, "nope").json["message"] for name in (trainee[other], nobody)]
    assert told == ["用户名或密码错误（还可尝试 4 次）"] * 2
    for _ in range(2):
        login(client, trainee[first], "nope")
    assert login(client, trainee[first], "Passw0rd!").json["error"] == "locked"
    res = login(client, trainee[other], "nope")
    assert res.status_code == 401 and "还可尝试 3 次" in res.json["message"]
    # The owner, who uses the other username, is not kept out by the stranger's lock.
    assert login(client, trainee[other], "Passw0rd!").status_code == 200


def test_lift_lockout_opens_the_account_again(client, trainee, app):
    for username in (trainee["phone"], trainee["id_number"]):
        for _ in range(5):
            login(client, username, "nope")
        assert login(client, username, "Passw0rd!").status_code == 429
    assert lockout.is_locked(app.extensions["redis"], trainee["id"])
    lockout.lift_lockout(app.extensions["redis"], trainee["id"])
    assert not lockout.is_locked(app.extensions["redis"], trainee["id"])
    for username in (trainee["phone"], trainee["id_number"]):
        assert login(client, username, "Passw0rd!").status_code == 200


def test_a_lock_taken_as_the_last_lifts_day_runs_out_still_holds(client, trainee, app):
    """Counts and locks are kept under the account's lift generation, remembered a day.
    Were it to lapse within a lock, the generation would read 0 again and the lock be
    forgotten: a stranger who saw the owner's reset would know when to get 5 more guesses."""
    r = app.extensions["redis"]
    lockout.lift_lockout(r, trainee["id"])
    generation = lockout.account_keys(r, trainee["id"], None).generation
    assert r.pexpire(generation, 1000)  # a day after that lift, but for one second
    for _ in range(5):
        login(client, trainee["id_number"], "nope")
    time.sleep(1.1)
    res = login(client, trainee["id_number"], "nope")
    assert res.status_code == 429 and res.json["error"] == "locked"


def test_unknown_user_gets_the_same_401(client):
    res = login(client, "13900000000", "whatever1")
    assert res.status_code == 401 and res.json["error"] == "bad_credentials"


def test_an_unknown_username_is_answered_like_a_wrong_password(client, trainee):
    """Same statuses, codes and messages, attempt by attempt, lock included."""
    for username in ("13900000000", trainee["phone"]):
        answers = [login(client, username, "nope") for _ in range(6)]
        assert [(r.status_code, r.json["error"], r.json["message"]) for r in answers] == [
            (401, "bad_credentials", "用户名或密码错误（还可尝试 4 次）"),
            (401, "bad_credentials", "用户名或密码错误（还可尝试 3 次）"),
            (401, "bad_credentials", "用户名或密码错误（还可尝试 2 次）"),
            (401, "bad_credentials", "用户名或密码错误（还可尝试 1 次）"),
            (429, "locked", lockout.LOCKED_MESSAGE),
            (429, "locked", lockout.LOCKED_MESSAGE),
        ]


@pytest.fixture
def hash_checks(monkeypatch):
    """Every password hash the accounts module checks, as (stored hash, password)."""
    seen: list[tuple[str, str]] = []

    def spy(pwhash: str, password: str) -> bool:
        seen.append((pwhash, password))
        return verify_password(pwhash, password)

    monkeypatch.setattr(accounts, "verify_password", spy)
    monkeypatch.setattr(passwords, "verify_password", spy)  # the dummy hash's check
    return seen


def _method(pwhash: str) -> str:
    """The method and its cost: "$argon2id$v=19$m=19456,t=2,p=1" (or werkzeug's "scrypt:...")."""
    if pwhash.startswith("$argon2"):
        return pwhash.rsplit("$", 2)[0]
    return pwhash.split("$", 1)[0]


def test_an_unknown_username_costs_one_password_hash(client, hash_checks):
    """So an unknown username answers as slowly as a known one: timing tells nothing."""
    for username in ("13900000000", "500101199001011234", "nobody"):
        hash_checks.clear()
        assert login(client, username, "whatever1").status_code == 401
        assert len(hash_checks) == 1
        pwhash, password = hash_checks[0]
        assert password == "whatever1"
        # The same method and cost as every password set through the service.
        assert _method(pwhash) == _method(hash_password("x"))


def test_a_bulk_imported_account_costs_one_password_hash(client, imported, hash_checks):
    """No stored hash yet: the initial password is compared, and a dummy hash checked."""
    assert login(client, imported["phone"], "whatever1").status_code == 401
    assert len(hash_checks) == 1
    assert _method(hash_checks[0][0]) == _method(hash_password("x"))
    hash_checks.clear()
    res = login(client, imported["id_number"], initial_password(imported["id_number"]))
    assert res.status_code == 200 and len(hash_checks) == 1


def test_the_initial_password_opens_a_roster_account_by_its_id_number_only(client, imported):
    """The roster's username is its ID number (the notice: 用户名统一为身份证号码). Typed
    with a phone, the initial password (public: edu@ and the ID number's last six) would
    tell a stranger which guessed phone is the account's: it is answered exactly as for a
    phone of nobody's."""
    initial = initial_password(imported["id_number"])
    answers = [login(client, phone, initial) for phone in (imported["phone"], "13700000000")]
    assert [(r.status_code, r.json) for r in answers] == [
        (401, {"error": "bad_credentials", "message": "用户名或密码错误（还可尝试 4 次）"})
    ] * 2
    assert login(client, imported["id_number"], initial).status_code == 200


def test_a_hash_of_before_is_replaced_by_argon2id_at_the_next_login(client, app):
    """Hashes stored by werkzeug (scrypt, pbkdf2) still log in, and the login stores the
    password again as argon2id, so the cheap-to-check cost goes away account by account."""
    with app.app_context():
        t = make_trainee(name="钱七")
        t.password_hash = generate_password_hash("Passw0rd!", method="scrypt")
        db.session.commit()
        phone, trainee_id = t.phone, t.id
    assert login(client, phone, "Passw0rd!").status_code == 200
    with app.app_context():
        stored = db.session.get(type(t), trainee_id).password_hash
    assert _method(stored) == "$argon2id$v=19$m=19456,t=2,p=1"
    client.post("/api/logout")
    assert login(client, phone, "Passw0rd!").status_code == 200  # the new hash works
    assert login(client, phone, "wrong-one1").status_code == 401


def test_logins_wait_for_a_hash_slot_and_get_503_when_none_frees(client, trainee, app):
    """A burst of logins cannot take every thread: with the process's slots all held, a
    login waits PASSWORD_HASH_WAIT_S, then answers 503 `busy` in Chinese, and counts no
    failure against the account."""
    app.config.update(PASSWORD_HASH_SLOTS=1, PASSWORD_HASH_WAIT_S=0.2)
    semaphore = passwords._semaphore(1)
    assert semaphore.acquire(timeout=1)
    try:
        res = login(client, trainee["phone"], "Passw0rd!")
    finally:
        semaphore.release()
    assert res.status_code == 503
    assert res.json == {"error": "busy", "message": passwords.BUSY_MESSAGE, "retry_after": 5}
    assert login(client, trainee["phone"], "Passw0rd!").status_code == 200


def test_success_resets_the_failure_count(client, trainee):
    for _ in range(4):
        login(client, trainee["phone"], "nope")
    assert login(client, trainee["phone"], "Passw0rd!").status_code == 200
    for _ in range(4):
        assert login(client, trainee["phone"], "nope").status_code == 401


def test_imported_trainee_activates_by_sms_not_by_a_password_change(client, imported):
    """The initial password is public: it opens only 激活账号 (tests/api/test_account_recovery.py)."""
    res = login(client, imported["id_number"], initial_password(imported["id_number"]))
    assert res.status_code == 200 and res.json["must_change_password"] is True
    assert res.json["activation_required"] is True and "name" not in res.json
    for path in ("/api/me", "/api/plans"):
        res = client.get(path)
        assert res.status_code == 403
        assert res.json["error"] == "activation_required"
    res = client.post(
        "/api/me/password",
        json={
            "old_password": initial_password(imported["id_number"]),
            "new_password": "NewPass123",
        },
    )
    assert res.status_code == 403 and res.json["error"] == "activation_required"
    client.post("/api/logout")
    # Still the initial password, still only the activation step.
    res = login(client, imported["id_number"], initial_password(imported["id_number"]))
    assert res.status_code == 200 and res.json["activation_required"] is True
    assert login(client, imported["id_number"], "NewPass123").status_code == 401


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"old_password": "bad", "new_password": "NewPass123"}, "old_password"),
        ({"old_password": "Passw0rd!", "new_password": "short1"}, "new_password"),
        ({"old_password": "Passw0rd!", "new_password": "onlyletters"}, "new_password"),
        ({"old_password": "Passw0rd!", "new_password": "Passw0rd!"}, "new_password"),
        ({"old_password": "Passw0rd!"}, "new_password"),
        ({"old_password": 5, "new_password": "NewPass123"}, "old_password"),
    ],
)
def test_bad_password_changes_name_the_field(client, trainee, body, field):
    login(client, trainee["phone"], "Passw0rd!")
    res = client.post("/api/me/password", json=body)
    assert res.status_code == 422
    assert res.json["field"] == field
    assert res.json["message"]


def weak_passwords(id_number: str) -> list[tuple[str, str]]:
    """(new password, what the message says), one per rule of the password rule."""
    tail = id_number[-6:]
    return [
        ("Ab1" * 2 + "c", "8～64 位"),  # 7 characters
        ("Ab1" * 21 + "cd", "64"),  # 65 characters: the request check answers first
        ("onlyletters", "字母和数字"),
        ("1234567890", "字母和数字"),
        ("密码密码密码12345", "字母和数字"),  # Chinese characters are not letters here
        (initial_password(id_number), "初始密码"),
        (f"Abc{tail}", "身份证号码后六位"),
        (f"{tail}Xyz9", "身份证号码后六位"),
        (f"New{tail.lower()}pass", "身份证号码后六位"),
    ]


def test_weak_new_passwords_are_refused_naming_the_field(client, trainee):
    login(client, trainee["phone"], "Passw0rd!")
    for new, says in weak_passwords(trainee["id_number"]):
        res = client.post(
            "/api/me/password", json={"old_password": "Passw0rd!", "new_password": new}
        )
        assert res.status_code == 422, new
        assert res.json["field"] == "new_password"
        message = res.json["message"]
        assert ("新密码" in message or "new_password" in message) and says in message, new


def test_a_good_new_password_is_accepted(client, trainee):
    login(client, trainee["phone"], "Passw0rd!")
    good = "Abcdefg1" + "x" * 56  # 64 characters, the longest allowed
    res = client.post("/api/me/password", json={"old_password": "Passw0rd!", "new_password": good})
    assert res.status_code == 200
    assert login(client, trainee["phone"], good).status_code == 200


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"data": "not json", "content_type": "application/json"}, "body"),
        ({"json": ["a", "b"]}, "body"),
        ({"json": {}}, "username"),
        ({"json": {"username": "13900000000"}}, "password"),
        ({"json": {"username": 139, "password": "x"}}, "username"),
        ({"json": {"username": "13900000000", "password": None}}, "password"),
        ({"json": {"username": "1" * 40, "password": "x"}}, "username"),
        ({"json": {"username": "  ", "password": "x"}}, "username"),
    ],
)
def test_malformed_login_is_422_naming_the_field(client, kwargs, field):
    res = client.post("/api/login", **kwargs)
    assert res.status_code == 422
    assert res.json["field"] == field


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/me"),
        ("post", "/api/me/password"),
        ("get", "/api/plans"),
        ("get", "/api/plans/1"),
        ("get", "/api/courses/1"),
    ],
)
def test_every_api_route_needs_a_session(client, method, path):
    res = getattr(client, method)(path)
    assert res.status_code == 401
    assert res.json == {"error": "unauthorized", "message": "请先登录"}


# --- a login racing a password change ---------------------------------------------------------


def test_a_login_racing_a_password_change_does_not_outlive_it(app, monkeypatch):
    """Someone who knows the old password logs in while the owner changes it: the change
    commits during the login's hash check. The login is refused, not given a session under
    the new epoch."""
    with app.app_context():
        t = make_trainee(name="王五")
        db.session.commit()
        tid, id_number = t.id, t.id_number
    owner = app.test_client()
    sign_in(owner, tid)
    real, fired = accounts.verify_password, []

    def change_during_the_check(stored, password):
        ok = real(stored, password)
        if password == "Passw0rd!" and not fired:
            fired.append(1)
            changed = owner.post(
                "/api/me/password",
                json={"old_password": "Passw0rd!", "new_password": "N3wSecret99"},
            )
            assert changed.status_code == 200
        return ok

    monkeypatch.setattr(accounts, "verify_password", change_during_the_check)
    attacker = app.test_client()
    res = attacker.post("/api/login", json={"username": id_number, "password": "Passw0rd!"})
    assert fired and res.status_code == 401 and res.json["error"] == "password_changed"
    assert attacker.get("/api/me").status_code == 401
    assert owner.get("/api/me").status_code == 200


def test_a_login_replacing_an_old_hash_never_brings_back_a_changed_password(live_app, monkeypatch):
    """The login that upgrades a hash of before to argon2id must not write it over a change
    committed meanwhile (the old password would work again, the new one not)."""
    with live_app.app_context():
        t = make_trainee(name="王五")
        t.password_hash = generate_password_hash("Passw0rd!", method="pbkdf2:sha256:1000")
        db.session.commit()
        tid, id_number = t.id, t.id_number
    real = accounts.verify_password
    checked, go_on = threading.Event(), threading.Event()

    def paused(stored, password):
        ok = real(stored, password)
        if threading.current_thread().name == "attacker":
            checked.set()
            assert go_on.wait(10)
        return ok

    monkeypatch.setattr(accounts, "verify_password", paused)
    out = {}

    def attacker():
        c = live_app.test_client()
        out["login"] = c.post("/api/login", json={"username": id_number, "password": "Passw0rd!"})

    thread = threading.Thread(target=attacker, name="attacker")
    thread.start()
    assert checked.wait(10)
    owner = live_app.test_client()
    sign_in(owner, tid)
    changed = owner.post(
        "/api/me/password", json={"old_password": "Passw0rd!", "new_password": "N3wSecret99"}
    )
    assert changed.status_code == 200
    go_on.set()
    thread.join(10)
    monkeypatch.setattr(accounts, "verify_password", real)
    assert out["login"].status_code == 401
    fresh = live_app.test_client()
    old = fresh.post("/api/login", json={"username": id_number, "password": "Passw0rd!"})
    new = fresh.post("/api/login", json={"username": id_number, "password": "N3wSecret99"})
    assert old.status_code == 401 and new.status_code == 200
