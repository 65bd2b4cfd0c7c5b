"""网页授权 start (a state tied to this browser, no open redirect), the bind API with the
login rules (activated accounts only, an SMS code to re-bind), unbind, a password change
dropping the binding, and the sandbox pages (consent, phone, inbox) over the test client.
The whole flow through the sandbox's consent over real HTTP: tests/api/test_oauth_csrf.py."""

import hashlib
import json
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from models import Outbox, Trainee, WechatBinding, db
from tests.factories import make_binding, make_trainee
from wxapp.accounts.idnumbers import initial_password
from wxapp.infra import limits
from wxapp.infra.ratelimit import Limit
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
        # No host when parsed, but the Location header's encoding makes "//evil.example".
        ("///evil.example/x", "/h5/progress"),
        ("////evil.example/phish", "/h5/progress"),
        ("/\\evil.example", "/h5/progress"),
        ("javascript:alert(1)", "/h5/progress"),
        ("/h5/x\r\nSet-Cookie: a=b", "/h5/progress"),
        ("/\t/evil.example", "/h5/progress"),
        ("/\n/evil.example", "/h5/progress"),
        ("/\x7f/evil.example", "/h5/progress"),
        ("/h5/progress?year=2025#top", "/h5/progress?year=2025#top"),
        # Dot segments: a browser turns "/.//evil.example" into the path "//evil.example".
        ("/.//evil.example/login", "/h5/progress"),
        ("/..//evil.example/login", "/h5/progress"),
        ("/%2e//evil.example/login", "/h5/progress"),
        ("/h5/%2E%2E//evil.example", "/h5/progress"),
        ("/h5/./plan?id=3", "/h5/progress"),
        ("/h5/plan?next=/../x", "/h5/plan?next=/../x"),  # the query is not a path
        ("/h5/plan?id=3&x=" + "a" * 600, "/h5/progress"),  # no page of ours is that long
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
    # The state's record keeps `next` and the hash of this browser's nonce, never the nonce.
    with client.session_transaction() as sess:
        nonce = sess["wx_oauth_nonce"]
    record = json.loads(redis_client.get(f"wechat:oauth-state:{state}"))
    assert record == {"next": "/h5/progress", "nonce": hashlib.sha256(nonce.encode()).hexdigest()}
    assert nonce not in redis_client.get(f"wechat:oauth-state:{state}")
    other = parse_qs(urlsplit(client.get("/auth/wechat").headers["Location"]).query)
    assert other["state"][0] != state
    with client.session_transaction() as sess:
        assert sess["wx_oauth_nonce"] == nonce  # one nonce per browser: two tabs both work


def test_a_script_cannot_fill_redis_with_login_states(app, redis_client, monkeypatch):
    """Each start keeps a state for ten minutes: one address gets OAUTH_START of them a
    minute (then a Chinese page), a colleague elsewhere is not refused, and a long `next`
    is never kept."""
    monkeypatch.setattr(
        limits, "OAUTH_START", Limit("oauth_start", 3, 60, limits.OAUTH_START.message)
    )
    accept = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    browser = app.test_client()
    long_next = "/h5/plan?x=" + "a" * 4000
    answers = [
        browser.get(f"/auth/wechat?next={long_next}", headers=accept).status_code for _ in range(4)
    ]
    assert answers == [302, 302, 302, 429]
    refused = browser.get("/auth/wechat", headers=accept)
    assert refused.mimetype == "text/html" and "请求过于频繁" in refused.get_data(as_text=True)
    kept = [json.loads(redis_client.get(k)) for k in redis_client.scan_iter("wechat:oauth-state:*")]
    assert len(kept) == 3 and {r["next"] for r in kept} == {"/h5/progress"}
    elsewhere = app.test_client().get("/auth/wechat", environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert elsewhere.status_code == 302


def test_return_with_unknown_state_is_400(client):
    res = client.get("/auth/wechat/return?code=abc&state=forged")
    assert res.status_code == 400 and res.json["error"] == "bad_state"
    assert client.get("/auth/wechat/return?code=abc").status_code == 400


def test_return_in_another_browser_is_403_and_spends_the_state(app, client, redis_client):
    start = client.get("/auth/wechat?next=/h5/orders")
    state = parse_qs(urlsplit(start.headers["Location"]).query)["state"][0]
    other = app.test_client()  # a browser that did not start this flow
    res = other.get(f"/auth/wechat/return?code=abc&state={state}")
    assert res.status_code == 403 and res.json["error"] == "state_mismatch"
    assert redis_client.get(f"wechat:oauth-state:{state}") is None
    # Spent: not even the browser that started it can use it now.
    res = client.get(f"/auth/wechat/return?code=abc&state={state}")
    assert res.status_code == 400 and res.json["error"] == "bad_state"


def test_a_browser_is_shown_a_chinese_page(app, client):
    start = client.get("/auth/wechat")
    state = parse_qs(urlsplit(start.headers["Location"]).query)["state"][0]
    accept = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    res = app.test_client().get(f"/auth/wechat/return?code=abc&state={state}", headers=accept)
    assert res.status_code == 403 and res.mimetype == "text/html"
    text = res.get_data(as_text=True)
    assert "不是在本微信中打开的" in text and "未登录任何账号，也未绑定任何微信" in text


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


def test_bind_refuses_the_initial_password(client, app):
    """A roster account not yet activated binds nothing, not even to its own password."""
    with app.app_context():
        t = make_trainee(password=None)
        db.session.commit()
        tid, id_number = t.id, t.id_number
    pending(client)
    res = client.post(
        "/api/wechat/bind",
        json={"username": id_number, "password": initial_password(id_number)},
    )
    assert res.status_code == 403 and res.json["error"] == "activation_required"
    assert "激活" in res.json["message"]
    assert binding_of(app, tid) is None
    assert client.get("/api/me").status_code == 401


def _bound_elsewhere(app, trainee, openid="o_old_wechat_user_000000001"):
    with app.app_context():
        make_binding(db.session.get(Trainee, trainee["id"]), openid)
        db.session.commit()
    return openid


def test_rebind_answers_409_with_the_phone_tail_and_changes_nothing(client, app, trainee):
    old = _bound_elsewhere(app, trainee)
    pending(client)
    res = client.post(
        "/api/wechat/bind", json={"username": trainee["phone"], "password": "Passw0rd!"}
    )
    assert res.status_code == 409 and res.json["error"] == "rebind_needs_sms"
    assert res.json["phone_tail"] == trainee["phone"][-4:]
    assert res.json["phone_masked"] == trainee["phone"][:3] + "****" + trainee["phone"][-4:]
    assert f"尾号 {trainee['phone'][-4:]}" in res.json["message"]
    res = client.post(
        "/api/wechat/bind",
        json={"username": trainee["phone"], "password": "Passw0rd!", "sms_code": "123456"},
    )
    assert res.status_code == 422 and res.json["error"] == "bad_sms_code"
    assert binding_of(app, trainee["id"]) == old
    assert client.get("/api/me").status_code == 401
    with app.app_context():
        assert db.session.execute(db.select(Outbox)).first() is None


def test_the_owners_bind_landing_first_is_not_replaced_without_a_code(
    client, app, trainee, monkeypatch
):
    """Two binds of one unbound account at once: the owner's commits while another WeChat
    user's (someone with the password) is past its checks. The second must not replace the
    owner's binding silently, with no SMS code and no 改绑 message: it is refused."""
    from wxapp.accounts import wechat_login

    checked = wechat_login._other_binding
    calls = []

    def owner_binds_meanwhile(*args, **kwargs):
        found = checked(*args, **kwargs)
        if not calls:  # right after the first check: the owner's bind commits
            calls.append(found)
            with app.app_context():
                owner = db.session.get(Trainee, trainee["id"])
                make_binding(owner, "o_owner_000000000000000001")
                db.session.commit()
        return found

    pending(client)
    with monkeypatch.context() as m:
        m.setattr(wechat_login, "_other_binding", owner_binds_meanwhile)
        res = client.post(
            "/api/wechat/bind", json={"username": trainee["phone"], "password": "Passw0rd!"}
        )
    assert calls == [None]  # the account was unbound when this bind checked
    assert res.status_code == 409 and res.json["error"] == "bind_conflict", res.json
    # (The owner's binding shares this test's outer transaction, which the refusal's
    # rollback takes back too: what counts is that this WeChat user was not bound.)
    assert binding_of(app, trainee["id"]) != OPENID
    with app.app_context():
        assert db.session.execute(db.select(Outbox)).first() is None


def test_rebind_code_needs_the_password(client, app, trainee):
    _bound_elsewhere(app, trainee)
    body = {"username": trainee["phone"], "password": "wrong1234"}
    assert client.post("/api/wechat/bind/sms", json=body).status_code == 401  # no openid
    pending(client)
    res = client.post("/api/wechat/bind/sms", json=body)
    assert res.status_code == 401 and res.json["error"] == "bad_credentials"
    res = client.post("/api/wechat/bind/sms", json={"username": trainee["phone"]})
    assert res.status_code == 422 and res.json["field"] == "password"


def test_rebind_code_is_refused_when_no_rebind_is_needed(client, app, trainee):
    pending(client)
    body = {"username": trainee["phone"], "password": "Passw0rd!"}
    res = client.post("/api/wechat/bind/sms", json=body)
    assert res.status_code == 409 and res.json["error"] == "rebind_not_needed"
    # Bound to this very WeChat user already: binding again needs nothing more.
    assert client.post("/api/wechat/bind", json=body).status_code == 200
    pending(client)
    res = client.post("/api/wechat/bind/sms", json=body)
    assert res.status_code == 409 and res.json["error"] == "rebind_not_needed"
    assert client.post("/api/wechat/bind", json=body).status_code == 200


def test_rebind_without_a_phone_goes_to_customer_service(client, app, trainee):
    _bound_elsewhere(app, trainee)
    with app.app_context():
        db.session.get(Trainee, trainee["id"]).phone = None
        db.session.commit()
    pending(client)
    body = {"username": trainee["id_number"], "password": "Passw0rd!"}
    for path in ("/api/wechat/bind", "/api/wechat/bind/sms"):
        res = client.post(path, json=body)
        assert res.status_code == 409 and res.json["error"] == "rebind_needs_service"
        assert "400-023-9229" in res.json["message"]


def test_a_password_change_drops_the_binding(client, app, trainee):
    """Whoever bound a WeChat user with the old password is not let in by it any more."""
    pending(client)
    body = {"username": trainee["phone"], "password": "Passw0rd!"}
    assert client.post("/api/wechat/bind", json=body).status_code == 200
    assert binding_of(app, trainee["id"]) == OPENID
    res = client.post(
        "/api/me/password", json={"old_password": "Passw0rd!", "new_password": "N3wSecret!"}
    )
    assert res.status_code == 200
    assert binding_of(app, trainee["id"]) is None
    # Bound again with the new password (nothing else bound: no SMS needed).
    pending(client)
    body = {"username": trainee["phone"], "password": "N3wSecret!"}
    assert client.post("/api/wechat/bind", json=body).status_code == 200
    assert binding_of(app, trainee["id"]) == OPENID


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


def test_a_next_of_many_slashes_is_not_kept_for_the_return(client, redis_client):
    """A next of "////evil.example" would come back as the Location "//evil.example" once a bound
    trainee was signed in silently: another site, asking for their password."""
    start = client.get("/auth/wechat?next=////evil.example/phish")
    state = parse_qs(urlsplit(start.headers["Location"]).query)["state"][0]
    kept = redis_client.get(f"wechat:oauth-state:{state}")
    kept = kept.decode() if isinstance(kept, bytes) else kept
    assert "evil.example" not in kept and "/h5/progress" in kept


def test_a_bind_with_a_password_changed_meanwhile_binds_nothing(app, monkeypatch):
    """Whoever knows the old password binds their WeChat while the owner changes it: the
    change drops every binding, and the bind checked just before must not commit one after
    it (its WeChat user would then log in by 网页授权 with the old password's binding)."""
    from tests.factories import sign_in
    from wxapp.accounts import trainees as accounts

    with app.app_context():
        owner_account = make_trainee(name="王五")
        db.session.commit()
        tid, id_number = owner_account.id, owner_account.id_number
    owner = app.test_client()
    sign_in(owner, tid)
    checked = accounts.verify_password
    changed: list[int] = []

    def owner_changes_it_meanwhile(stored, password):
        matched = checked(stored, password)
        if not changed:  # the bind's check (the change's own check comes inside)
            changed.append(0)
            reply = owner.post(
                "/api/me/password",
                json={"old_password": "Passw0rd!", "new_password": "N3wSecret99"},
            )
            changed[0] = reply.status_code
        return matched

    monkeypatch.setattr(accounts, "verify_password", owner_changes_it_meanwhile)
    stranger = app.test_client()
    with stranger.session_transaction() as session:
        session["wx_openid"] = "o_old_password_holder_0000001"
    reply = stranger.post("/api/wechat/bind", json={"username": id_number, "password": "Passw0rd!"})

    assert changed == [200]
    assert reply.status_code == 401 and reply.json["error"] == "password_changed"
    with app.app_context():
        assert db.session.execute(sa.select(WechatBinding.id)).first() is None
