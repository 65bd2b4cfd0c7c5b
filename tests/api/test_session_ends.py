"""Sessions that end: a password change, an unbind and a logout end the sessions they should,
and an ended cookie is refused at once on every route, the beacon included
(wxapp/accounts/session_ends.py, session_rules.py); the session lifetime is a setting."""

from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import pytest
from flask.sessions import SecureCookieSessionInterface

from models import SessionEnd, Trainee, db
from tests.conftest import app_with
from tests.factories import (
    BeaconPlayer,
    make_binding,
    make_learner,
    make_trainee,
    session_cookie,
)
from wxapp.accounts import session_ends, session_rules, sessions
from wxapp.config import ConfigError, load_config
from wxapp.progress import store

COOKIE = "wxapp_session"
ENDED = (401, "session_ended", "登录已失效，请重新登录")


@pytest.fixture
def world(app, clock):
    """A trainee (password Passw0rd!) enrolled in a plan, and one of its chapters."""
    with app.app_context():
        trainee, plan = make_learner(clock.now(), courses=1, chapter_seconds=600)
        db.session.commit()
        return {
            "trainee": trainee.id,
            "phone": trainee.phone,
            "chapter": plan.courses[0].course.chapters[0].id,
        }


def browser(app, world, password="Passw0rd!"):
    """A new browser that logs in with the password."""
    client = app.test_client()
    res = client.post("/api/login", json={"username": world["phone"], "password": password})
    assert res.status_code == 200, res.json
    return client


def cookie_of(client) -> str:
    return client.get_cookie(COOKIE).value


def replaying(app, cookie: str):
    """Another browser sending exactly this session cookie."""
    client = app.test_client()
    client.set_cookie(COOKIE, cookie)
    return client


def beacon(client, world, clock, play_id="p1"):
    return BeaconPlayer(client, world["chapter"], clock, play_id=play_id).send(0, 0)


def answers(res) -> tuple:
    return (res.status_code, res.json["error"], res.json["message"])


def assert_ended(app, cookie: str, world, clock):
    """The cookie gets 401 session_ended on /api/me, another route, and the beacon."""
    client = replaying(app, cookie)
    assert answers(client.get("/api/me")) == ENDED
    assert answers(client.get("/api/me/orders")) == ENDED
    assert answers(beacon(client, world, clock, play_id="replayed")) == ENDED


def assert_alive(client, world, clock, play_id="alive"):
    assert client.get("/api/me").status_code == 200
    assert client.get("/api/me/orders").status_code == 200
    assert beacon(client, world, clock, play_id=play_id).status_code == 200


def test_a_password_change_ends_every_other_session_and_keeps_this_one(app, world, clock):
    changer, other = browser(app, world), browser(app, world)
    before = cookie_of(changer)
    assert_alive(other, world, clock, "other")
    res = changer.post(
        "/api/me/password", json={"old_password": "Passw0rd!", "new_password": "NewPass123"}
    )
    assert res.status_code == 200
    assert cookie_of(changer) != before  # a fresh session for the browser that changed it
    assert_ended(app, before, world, clock)
    assert_ended(app, cookie_of(other), world, clock)
    assert_alive(changer, world, clock)
    # Logging in again with the new password works; the old password does not.
    assert_alive(browser(app, world, "NewPass123"), world, clock, "new")


def test_a_failed_password_change_ends_nothing(app, world, clock):
    changer, other = browser(app, world), browser(app, world)
    res = changer.post(
        "/api/me/password", json={"old_password": "wrong-one1", "new_password": "NewPass123"}
    )
    assert res.status_code == 422
    assert_alive(changer, world, clock, "a")
    assert_alive(other, world, clock, "b")


def test_a_logged_out_cookie_is_refused_and_other_sessions_go_on(app, world, clock):
    leaving, staying = browser(app, world), browser(app, world)
    cookie = cookie_of(leaving)
    assert leaving.post("/api/logout").json == {"ok": True}
    assert leaving.get("/api/me").status_code == 401  # the browser dropped its cookie
    assert_ended(app, cookie, world, clock)
    assert_alive(staying, world, clock)
    # Logging out again with the replayed cookie is harmless, and logs in again fine.
    assert replaying(app, cookie).post("/api/logout").status_code == 200
    assert_alive(browser(app, world), world, clock, "again")


def test_logging_in_and_out_in_a_loop_cannot_grow_the_ended_sessions_without_bound(
    app, world, clock, monkeypatch, redis_client
):
    """Past MAX_ENDED sessions ended one by one, a logout ends every session (one epoch)."""
    monkeypatch.setattr(session_ends, "MAX_ENDED", 5)
    staying = browser(app, world)
    for n in range(5):
        assert browser(app, world).post("/api/logout").status_code == 200
        assert_alive(staying, world, clock, f"alive{n}")
    assert browser(app, world).post("/api/logout").status_code == 200  # the sixth
    assert_ended(app, cookie_of(staying), world, clock)
    assert redis_client.hlen(session_ends.key(world["trainee"])) == 1  # the epoch alone
    assert_alive(browser(app, world), world, clock, "again")


def test_a_logout_redis_cannot_record_says_so_and_the_cookie_stays_its_owners(
    app, world, clock, monkeypatch
):
    """While Redis cannot be reached a logout ends nothing: it answers 503 (the page asks
    to try again) rather than {"ok": true}, and once Redis is back the same logout ends it."""
    leaving = browser(app, world)
    cookie = cookie_of(leaving)

    def down(*args, **kwargs):
        raise sessions.redis.ConnectionError("Redis unreachable")

    monkeypatch.setattr(sessions, "has_ended", down)
    refused = leaving.post("/api/logout")
    assert refused.status_code == 503 and refused.json["error"] == "unavailable"
    monkeypatch.undo()
    assert leaving.post("/api/logout").json == {"ok": True}
    assert_ended(app, cookie, world, clock)


def test_logout_of_a_cookie_from_before_session_ids_ends_every_session(app, world, clock):
    """Such a cookie cannot be told from the trainee's others: all of them end."""
    legacy = legacy_cookie(app, world["trainee"])
    other = browser(app, world)
    assert replaying(app, legacy).post("/api/logout").status_code == 200
    assert_ended(app, legacy, world, clock)
    assert_ended(app, cookie_of(other), world, clock)


def test_an_unbind_ends_every_other_session_and_keeps_this_one(app, world, clock):
    with app.app_context():
        make_binding(db.session.get(Trainee, world["trainee"]))
        db.session.commit()
    unbinding, other = browser(app, world), browser(app, world)
    before = cookie_of(unbinding)
    res = unbinding.post("/api/me/wechat/unbind")
    assert res.json == {"wechat_bound": False, "was_bound": True}
    assert_ended(app, before, world, clock)
    assert_ended(app, cookie_of(other), world, clock)
    assert_alive(unbinding, world, clock)
    # Nothing bound any more: a second unbind ends nothing.
    kept = cookie_of(unbinding)
    assert unbinding.post("/api/me/wechat/unbind").json["was_bound"] is False
    assert_alive(replaying(app, kept), world, clock, "kept")


def test_end_all_ends_every_session_of_the_trainee_only(app, world, clock):
    """The function 忘记密码 will call once the phone is proven."""
    first, second = browser(app, world), browser(app, world)
    with app.app_context():
        someone_else = make_trainee()
        db.session.commit()
        other_cookie = session_cookie(app, someone_else.id).split("=", 1)[1]
        r = app.extensions["redis"]
        epoch = session_ends.end_all(r, world["trainee"], clock.now())
        # An ending never goes down, even when the clock does.
        assert session_ends.end_all(r, world["trainee"], clock.now() - timedelta(hours=1)) > epoch
    for client in (first, second):
        assert_ended(app, cookie_of(client), world, clock)
    assert replaying(app, other_cookie).get("/api/me").status_code == 200
    assert_alive(browser(app, world), world, clock, "after")


def legacy_cookie(app, trainee_id: int) -> str:
    """A cookie as signed before this change: no epoch, no session id."""
    payload = {"tid": trainee_id, "must_change": False, "_permanent": True}
    return SecureCookieSessionInterface().get_signing_serializer(app).dumps(payload)


def test_cookies_from_before_epochs_still_work(app, world, clock):
    assert_alive(replaying(app, legacy_cookie(app, world["trainee"])), world, clock)


def test_a_redis_flush_logs_nobody_out_and_the_next_ending_still_ends_all(
    app, world, clock, redis_client
):
    changer = browser(app, world)
    new_password = {"old_password": "Passw0rd!", "new_password": "NewPass123"}
    assert changer.post("/api/me/password", json=new_password).status_code == 200
    alive, leaving = browser(app, world, "NewPass123"), browser(app, world, "NewPass123")
    redis_client.flushdb()  # Redis restarted without persistence: the epoch is gone
    for name, client in {"a": changer, "b": alive, "c": leaving}.items():
        assert_alive(client, world, clock, name)
    # Endings after the loss still end what they should: one session by its id...
    left = cookie_of(leaving)
    leaving.post("/api/logout")
    assert_ended(app, left, world, clock)
    assert_alive(alive, world, clock, "d")
    # ...and every session started before, though the epoch starts again from nothing.
    clock.advance(60)
    before = cookie_of(alive)
    again = {"old_password": "NewPass123", "new_password": "Other4567"}
    assert changer.post("/api/me/password", json=again).status_code == 200
    assert_ended(app, before, world, clock)
    assert_alive(changer, world, clock, "e")


def restore(app, *args: str) -> str:
    result = app.test_cli_runner().invoke(args=["sessions", "restore", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_endings_redis_lost_are_restored_and_their_cookies_refused_again(
    app, world, clock, redis_client
):
    """A password change and a logout, then Redis loses everything (a restore of an older
    copy, or a flush): the cookies they ended would work again; `sessions restore` writes
    the kept endings back and they are refused again, while the live sessions go on."""
    changer, other, leaving = browser(app, world), browser(app, world), browser(app, world)
    ended_by_change = cookie_of(other)
    new_password = {"old_password": "Passw0rd!", "new_password": "NewPass123"}
    assert changer.post("/api/me/password", json=new_password).status_code == 200
    clock.advance(60)
    staying, leaving = browser(app, world, "NewPass123"), browser(app, world, "NewPass123")
    logged_out = cookie_of(leaving)
    leaving.post("/api/logout")

    redis_client.flushdb()
    assert replaying(app, ended_by_change).get("/api/me").status_code == 200  # the hazard
    assert replaying(app, logged_out).get("/api/me").status_code == 200

    assert "已写回 1 名学员的 2 条会话结束记录" in restore(app)
    assert_ended(app, ended_by_change, world, clock)
    assert_ended(app, logged_out, world, clock)
    assert_alive(changer, world, clock, "changer")
    assert_alive(staying, world, clock, "staying")
    # Restoring twice changes nothing; a later ending still ends what it should.
    restore(app)
    assert_alive(staying, world, clock, "again")
    clock.advance(60)
    before = cookie_of(staying)
    again = {"old_password": "NewPass123", "new_password": "Other4567"}
    assert changer.post("/api/me/password", json=again).status_code == 200
    assert_ended(app, before, world, clock)


def test_a_failover_losing_the_last_endings_is_closed_by_the_timed_restore(
    app, world, clock, redis_client
):
    """The timed run writes back only the last minutes (a failover loses the last writes):
    an ending older than that, still in Redis, is left as it is."""
    early, late = browser(app, world), browser(app, world)
    early_cookie = cookie_of(early)
    early.post("/api/logout")
    clock.advance(3600)
    late_cookie = cookie_of(late)
    late.post("/api/logout")
    field = session_ends.ended_field(session_id_of(app, late_cookie))
    redis_client.hdel(session_ends.key(world["trainee"]), field)  # lost in the failover
    assert replaying(app, late_cookie).get("/api/me").status_code == 200

    assert "已写回 1 名学员的 1 条会话结束记录" in restore(app, "--minutes", "15")
    assert_ended(app, late_cookie, world, clock)
    assert_ended(app, early_cookie, world, clock)


def test_kept_endings_go_once_no_cookie_they_ended_can_be_alive(app, world, clock):
    leaving = browser(app, world)
    leaving.post("/api/logout")
    clock.advance(session_ends.KEEP_S + 60)
    assert "已写回 0 名学员的 0 条会话结束记录；删除 1 条过期记录" in restore(app)
    with app.app_context():
        assert db.session.execute(db.select(db.func.count(SessionEnd.id))).scalar() == 0


def session_id_of(app, cookie: str) -> str:
    data = SecureCookieSessionInterface().get_signing_serializer(app).loads(cookie)
    return data[session_rules.SESSION_ID]


def test_the_epoch_shares_the_trainees_hash_tag():
    """The beacon script reads it in its one call: same Redis Cluster slot as the play."""
    assert session_ends.key(42).startswith(store.tag(42) + ":")


def test_the_session_lifetime_is_seven_days_by_default(app, world):
    assert app.permanent_session_lifetime == timedelta(days=7)
    res = app.test_client().post(
        "/api/login", json={"username": world["phone"], "password": "Passw0rd!"}
    )
    (cookie,) = [c for c in res.headers.getlist("Set-Cookie") if c.startswith("wxapp_session=")]
    expires = cookie.split("Expires=", 1)[1].split(";", 1)[0]
    left = parsedate_to_datetime(expires) - datetime.now(UTC)
    assert timedelta(days=7) - timedelta(minutes=1) < left <= timedelta(days=7)


def test_a_cookie_older_than_the_lifetime_is_refused(app, world, clock, monkeypatch):
    client = browser(app, world)
    cookie = cookie_of(client)
    now = sessions.time.time()
    monkeypatch.setattr(sessions.time, "time", lambda: now + 6 * 86400)
    assert replaying(app, cookie).get("/api/me").status_code == 200
    monkeypatch.setattr(sessions.time, "time", lambda: now + 7 * 86400 + 5)
    assert replaying(app, cookie).get("/api/me").status_code == 401
    assert beacon(replaying(app, cookie), world, clock).status_code == 401


def test_the_lifetime_setting_is_applied(base_config):
    with app_with(base_config, SESSION_LIFETIME_DAYS="0.5") as short:
        assert short.permanent_session_lifetime == timedelta(hours=12)


@pytest.mark.parametrize("value", ["soon", "0", "-1", "32", "nan"])
def test_a_bad_lifetime_refuses_to_start_naming_it(tmp_path, value):
    with pytest.raises(ConfigError, match="SESSION_LIFETIME_DAYS"):
        load_config(tmp_path, {"WXAPP_SANDBOX": "1", "SESSION_LIFETIME_DAYS": value})
