"""网页授权 start (state, no open redirect), the bind API with the login rules, unbind,
and the sandbox pages (consent, phone, inbox) over the test client."""

from urllib.parse import parse_qs, urlsplit

import pytest

from models import WechatBinding, db
from tests.factories import make_binding, make_trainee
from wxapp.wechat.oauth import safe_next

OPENID = "o_pending_00000000000000001"


@pytest.fixture
def trainee(app):
    with app.app_context():
        t = make_trainee(name="王五")
        db.session.commit()
        return {"id": t.id, "phone": t.phone, "id_number": t.id_number}


def pending(client, openid=OPENID):
    with client.session_transaction() as sess:
        sess["wx_openid"] = openid


def binding_of(app, trainee_id):
    with app.app_context():
        return db.session.execute(
            db.select(WechatBinding.openid).where(WechatBinding.trainee_id == trainee_id)
        ).scalar_one_or_none()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("/h5/plan?id=3", "/h5/plan?id=3"),
        ("https://evil.example/x", "/h5/progress"),
        ("//evil.example/x", "/h5/progress"),
        ("/\\evil.example", "/h5/progress"),
        ("javascript:alert(1)", "/h5/progress"),
        ("/h5/x\r\nSet-Cookie: a=b", "/h5/progress"),
        (None, "/h5/progress"),
    ],
)
def test_next_must_be_a_local_path(raw, expected):
    assert safe_next(raw) == expected


def test_start_redirects_to_authorize_with_a_single_use_state(client, app, redis_client):
    res = client.get("/auth/wechat?next=https://evil.example/")
    assert res.status_code == 302
    url = urlsplit(res.headers["Location"])
    assert f"{url.scheme}://{url.netloc}{url.path}" == (
        app.config["WECHAT_OAUTH_BASE"] + "/connect/oauth2/authorize"
    )
    assert url.fragment == "wechat_redirect"
    query = parse_qs(url.query)
    assert query["appid"] == [app.config["WECHAT_APP_ID"]]
    assert query["scope"] == ["snsapi_base"]
    assert query["redirect_uri"] == [app.config["PUBLIC_BASE_URL"] + "/auth/wechat/return"]
    state = query["state"][0]
    assert redis_client.get(f"wechat:oauth-state:{state}") == "/h5/progress"
    other = parse_qs(urlsplit(client.get("/auth/wechat").headers["Location"]).query)
    assert other["state"][0] != state


def test_return_with_unknown_state_is_400(client):
    res = client.get("/auth/wechat/return?code=abc&state=forged")
    assert res.status_code == 400 and res.json["error"] == "bad_state"
    assert client.get("/auth/wechat/return?code=abc").status_code == 400


def test_bind_needs_the_openid_from_wechat(client, trainee):
    res = client.post(
        "/api/wechat/bind", json={"username": trainee["phone"], "password": "Passw0rd!"}
    )
    assert res.status_code == 401 and res.json["error"] == "no_wechat_openid"


def test_bind_validates_fields(client):
    pending(client)
    res = client.post("/api/wechat/bind", json={"username": "13900000000"})
    assert res.status_code == 422 and res.json["field"] == "password"


def test_bind_logs_in_and_binds(client, app, trainee):
    pending(client)
    res = client.post(
        "/api/wechat/bind", json={"username": trainee["id_number"], "password": "Passw0rd!"}
    )
    assert res.status_code == 200 and res.json["wechat_bound"] is True
    assert client.get("/api/me").json["id"] == trainee["id"]
    assert binding_of(app, trainee["id"]) == OPENID


def test_bind_replaces_older_bindings_of_either_side(client, app, trainee):
    with app.app_context():
        other = make_trainee(name="赵六")
        make_binding(other, OPENID)
        db.session.commit()
        other_id = other.id
    pending(client)
    res = client.post(
        "/api/wechat/bind", json={"username": trainee["phone"], "password": "Passw0rd!"}
    )
    assert res.status_code == 200
    assert binding_of(app, trainee["id"]) == OPENID
    assert binding_of(app, other_id) is None


def test_bind_follows_the_lockout_rules(client, app, trainee):
    pending(client)
    for _ in range(4):
        res = client.post(
            "/api/wechat/bind", json={"username": trainee["phone"], "password": "wrong1234"}
        )
        assert res.status_code == 401
    res = client.post(
        "/api/wechat/bind", json={"username": trainee["phone"], "password": "wrong1234"}
    )
    assert res.status_code == 429
    res = client.post(
        "/api/wechat/bind", json={"username": trainee["phone"], "password": "Passw0rd!"}
    )
    assert res.status_code == 429 and res.json["error"] == "locked"
    assert binding_of(app, trainee["id"]) is None


def test_unbind(client, app, trainee):
    pending(client)
    client.post("/api/wechat/bind", json={"username": trainee["phone"], "password": "Passw0rd!"})
    res = client.post("/api/me/wechat/unbind")
    assert res.status_code == 200 and res.json == {"wechat_bound": False, "was_bound": True}
    assert binding_of(app, trainee["id"]) is None
    assert client.post("/api/me/wechat/unbind").json["was_bound"] is False
    client.post("/api/logout")
    assert client.post("/api/me/wechat/unbind").status_code == 401


def test_sandbox_pages_render(client, app):
    base = app.config["PUBLIC_BASE_URL"]
    consent = client.get(
        "/_sandbox/connect/oauth2/authorize",
        query_string={
            "appid": app.config["WECHAT_APP_ID"],
            "redirect_uri": base + "/auth/wechat/return",
            "response_type": "code",
            "scope": "snsapi_base",
            "state": "s1",
        },
    )
    assert consent.status_code == 200 and "允许" in consent.get_data(as_text=True)
    evil = client.get(
        "/_sandbox/connect/oauth2/authorize",
        query_string={
            "appid": app.config["WECHAT_APP_ID"],
            "redirect_uri": "https://evil.example/",
        },
    )
    assert evil.status_code == 400
    assert "我的进度" in client.get("/_sandbox/phone").get_data(as_text=True)
    assert client.get("/_sandbox/inbox?openid=o1").status_code == 200


@pytest.mark.parametrize("mode", ["plain", "aes"])
def test_sandbox_phone_talks_to_the_callback(client, mode):
    res = client.post(
        "/_sandbox/phone/send",
        json={"openid": "o_phone_1", "kind": "click", "key": "MY_PROGRESS", "mode": mode},
    )
    assert res.status_code == 200
    assert "点此登录并绑定" in res.json["reply"]["content"]
    text = client.post(
        "/_sandbox/phone/send",
        json={"openid": "o_phone_1", "kind": "text", "content": "帮助", "mode": mode},
    )
    assert "400-023-9229" in text.json["reply"]["content"]
