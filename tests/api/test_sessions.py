"""The session cookie (wxapp/accounts/sessions.py): Flask's own format and rules, opened once per
process. What a remembered cookie must never change: expiry, forgery, key rotation."""

import pytest
from flask.sessions import SecureCookieSessionInterface

from models import db
from tests.factories import make_trainee, session_cookie
from wxapp.accounts import sessions


@pytest.fixture
def trainee_id(app):
    with app.app_context():
        trainee = make_trainee()
        db.session.commit()
        return trainee.id


def cookie_for(app, trainee_id: int, interface=None) -> str:
    """A session cookie as Flask's stock interface (or `interface`) signs it."""
    return session_cookie(app, trainee_id, interface or SecureCookieSessionInterface())


def me(app, cookie: str):
    """GET /api/me sending exactly the cookies of `cookie` ("a=b; c=d")."""
    client = app.test_client()
    for pair in cookie.split("; "):
        name, value = pair.split("=", 1)
        client.set_cookie(name, value)
    return client.get("/api/me")


def test_cookies_of_flasks_own_interface_open_and_ours_open_in_flask(app, trainee_id):
    assert me(app, cookie_for(app, trainee_id)).status_code == 200
    ours = cookie_for(app, trainee_id, app.session_interface).split("=", 1)[1]
    opened = SecureCookieSessionInterface().get_signing_serializer(app).loads(ours)
    assert opened["tid"] == trainee_id


def test_an_altered_cookie_is_refused_even_after_the_genuine_one_was_opened(app, trainee_id):
    genuine = cookie_for(app, trainee_id)
    assert me(app, genuine).status_code == 200
    body, signature = genuine.rsplit(".", 1)
    forged = f"{body}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}"
    for _ in range(2):
        assert me(app, forged).status_code == 401


def test_a_remembered_cookie_still_expires(app, trainee_id, monkeypatch):
    cookie = cookie_for(app, trainee_id)
    assert me(app, cookie).status_code == 200
    lifetime = app.permanent_session_lifetime.total_seconds()
    later = sessions.time.time() + lifetime + 5
    monkeypatch.setattr(sessions.time, "time", lambda: later)
    res = me(app, cookie)
    assert res.status_code == 401 and res.json["message"] == "请先登录"


def test_a_new_secret_key_refuses_old_cookies_unless_listed_as_fallback(app, trainee_id):
    old_cookie = cookie_for(app, trainee_id)
    assert me(app, old_cookie).status_code == 200
    old_key = app.config["SECRET_KEY"]
    app.config["SECRET_KEY"] = "rotated-" + "y" * 32  # same process, same cache
    assert me(app, old_cookie).status_code == 401
    app.config["SECRET_KEY_FALLBACKS"] = [old_key]
    assert me(app, old_cookie).status_code == 200


def test_a_long_cookie_header_is_opened_without_being_remembered(app, trainee_id):
    cookie = cookie_for(app, trainee_id) + "; tracking=" + "z" * 600
    before = sessions._opened.cache_info().currsize
    assert me(app, cookie).status_code == 200
    assert sessions._opened.cache_info().currsize == before


def test_each_request_gets_its_own_session_object(app, trainee_id):
    cookie = cookie_for(app, trainee_id)
    interface = app.session_interface
    with app.test_request_context("/", headers={"Cookie": cookie}) as ctx:
        first = interface.open_session(app, ctx.request)
        first["tid"] = -1
        second = interface.open_session(app, ctx.request)
    assert second["tid"] == trainee_id
    assert first is not second


def test_rotating_the_key_through_the_settings_keeps_trainees_signed_in(base_config, app):
    """SECRET_KEY_FALLBACKS (comma-separated) opens cookies signed with an earlier key."""
    from tests.conftest import app_with

    old_cookie, old_key = cookie_for(app, 4242), app.config["SECRET_KEY"]

    def opened(rotated) -> dict:
        with rotated.test_request_context("/", headers={"Cookie": old_cookie}) as ctx:
            return dict(rotated.session_interface.open_session(rotated, ctx.request))

    new_key = "k2-" + "n" * 40
    with app_with(base_config, SECRET_KEY=new_key) as rotated:
        assert rotated.config["SECRET_KEY_FALLBACKS"] == []
        assert opened(rotated) == {}  # signed out
    fallbacks = f"k1-{'o' * 40}, {old_key}"
    with app_with(base_config, SECRET_KEY=new_key, SECRET_KEY_FALLBACKS=fallbacks) as rotated:
        assert rotated.config["SECRET_KEY_FALLBACKS"] == ["k1-" + "o" * 40, old_key]
        assert opened(rotated)["tid"] == 4242


def sent_cookie(res, app) -> str | None:
    """The session cookie a reply sets, as the next request's Cookie header, or None."""
    name = app.config["SESSION_COOKIE_NAME"]
    for header in res.headers.getlist("Set-Cookie"):
        if header.startswith(f"{name}="):
            return header.split(";", 1)[0]
    return None


def test_a_page_reply_does_not_sign_a_fresh_session_again(app, trainee_id):
    res = me(app, session_cookie(app, trainee_id))
    assert res.status_code == 200
    assert sent_cookie(res, app) is None


def test_the_lifetime_still_slides_by_the_hour(app, trainee_id, monkeypatch):
    """A cookie signed over an hour ago is signed again by the next page reply, and the new
    one outlives the first: a trainee who keeps using the pages stays signed in."""
    first = session_cookie(app, trainee_id)
    now = sessions.time.time()
    monkeypatch.setattr(sessions.time, "time", lambda: now + sessions.REFRESH_AFTER_S - 60)
    assert sent_cookie(me(app, first), app) is None  # under the hour: not re-sent

    monkeypatch.setattr(sessions.time, "time", lambda: now + sessions.REFRESH_AFTER_S + 60)
    res = me(app, first)
    second = sent_cookie(res, app)
    assert res.status_code == 200 and second is not None and second != first

    lifetime = app.permanent_session_lifetime.total_seconds()
    monkeypatch.setattr(sessions.time, "time", lambda: now + lifetime + 5)
    assert me(app, first).status_code == 401  # the first cookie has expired
    res = me(app, second)
    assert res.status_code == 200 and res.json["id"] == trainee_id
