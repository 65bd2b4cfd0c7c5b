"""Login, lockout, logout, the forced first password change, and the session guard."""

import pytest

from models import db
from tests.factories import make_trainee, make_unit
from wxapp.accounts.idnumbers import initial_password


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
    cookie = res.headers["Set-Cookie"]
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
    ttl = app.extensions["redis"].ttl(f"login:lock:{trainee['phone']}")
    assert 14 * 60 < ttl <= 15 * 60
    # The other username of the same trainee is counted on its own.
    assert login(client, trainee["id_number"], "Passw0rd!").status_code == 200


def test_unknown_user_gets_the_same_401(client):
    res = login(client, "13900000000", "whatever1")
    assert res.status_code == 401 and res.json["error"] == "bad_credentials"


def test_success_resets_the_failure_count(client, trainee):
    for _ in range(4):
        login(client, trainee["phone"], "nope")
    assert login(client, trainee["phone"], "Passw0rd!").status_code == 200
    for _ in range(4):
        assert login(client, trainee["phone"], "nope").status_code == 401


def test_imported_trainee_must_change_the_initial_password(client, imported):
    res = login(client, imported["id_number"], initial_password(imported["id_number"]))
    assert res.status_code == 200 and res.json["must_change_password"] is True
    for path in ("/api/me", "/api/plans"):
        res = client.get(path)
        assert res.status_code == 403
        assert res.json["error"] == "password_change_required"
    res = client.post(
        "/api/me/password",
        json={
            "old_password": initial_password(imported["id_number"]),
            "new_password": "NewPass123",
        },
    )
    assert res.status_code == 200 and res.json["must_change_password"] is False
    assert client.get("/api/me").status_code == 200
    client.post("/api/logout")
    # The rule's password no longer works; the new one does.
    assert (
        login(client, imported["id_number"], initial_password(imported["id_number"])).status_code
        == 401
    )
    assert login(client, imported["id_number"], "NewPass123").status_code == 200


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
