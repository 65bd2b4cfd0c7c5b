"""GET /api/me/learning-record (学习记录) over HTTP: the trainee's own plays only, the client's
address as the app sees it behind a proxy, and the certificate's verification page showing
only totals."""

from __future__ import annotations

import pytest

from models import db
from tests.conftest import app_with, truncate_all
from tests.factories import BeaconPlayer, enroll, make_plan, make_trainee, make_unit, sign_in
from wxapp.progress import flusher
from wxapp.progress.tracking import get_store

ANDROID_WECHAT = (
    "Mozilla/5.0 (Linux; Android 14; V2309A Build/UP1A.231005.007; wv) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/116.0 Mobile Safari/537.36 XWEB/1160117 MMWEBSDK/20240301 "
    "MicroMessenger/8.0.48.2580(0x28003035) WeChat/arm64 Weixin NetType/WIFI"
)


def seed(app, clock, *, required_hours=60):
    """A trainee of a listed unit, paid into a plan of one 30-学时 course of two 60 s chapters."""
    with app.app_context():
        trainee = make_trainee(name="王五", unit=make_unit())
        plan = make_plan(
            required_hours=required_hours, courses=1, course_hours="30", chapter_seconds=60
        )
        enroll(trainee.id, plan.id, clock.now())
        db.session.commit()
        course = plan.courses[0].course
        return {
            "trainee": trainee.id,
            "plan": plan.id,
            "course": course.id,
            "chapters": [c.id for c in course.chapters],
        }


def learn(app, client, clock, chapters, address="10.2.3.4"):
    client.environ_base.update({"HTTP_USER_AGENT": ANDROID_WECHAT, "REMOTE_ADDR": address})
    for n, chapter in enumerate(chapters):
        BeaconPlayer(client, chapter, clock, play_id=f"play-{n}").watch(0, 60)
    with app.app_context():
        flusher.flush_all(get_store(app), clock.now())


@pytest.fixture
def learned(app, client, clock):
    ids = seed(app, clock)
    sign_in(client, ids["trainee"])
    learn(app, client, clock, ids["chapters"])
    return ids


def test_the_trainee_sees_each_chapter_with_its_plays(client, learned):
    response = client.get(f"/api/me/learning-record?course_id={learned['course']}")
    assert response.status_code == 200
    (course,) = response.json["courses"]
    assert course["id"] == learned["course"]
    assert [ch["id"] for ch in course["chapters"]] == learned["chapters"]
    for chapter in course["chapters"]:
        (play,) = chapter["plays"]
        assert play["watched_seconds"] == 60
        assert (play["device"], play["address"]) == ("Android 微信", "10.2.3.4")
        assert play["started_at"] < play["ended_at"]
    assert response.json["totals"]["plays"] == 2
    assert response.json["totals"]["watched_seconds"] == 120
    assert response.json["totals"]["credited_seconds"] == 120
    everything = client.get("/api/me/learning-record").json
    assert [c["id"] for c in everything["courses"]] == [learned["course"]]


def test_another_trainee_sees_nothing_of_it(app, client, clock, learned):
    with app.app_context():
        other = make_trainee(name="赵六")
        db.session.commit()
        other_id = other.id
    sign_in(client, other_id)
    response = client.get(f"/api/me/learning-record?course_id={learned['course']}")
    assert response.status_code == 404
    assert response.json["error"] == "learning_record_not_found"
    assert response.json["message"] == "没有这门课程的学习记录"
    assert client.get("/api/me/learning-record").json == {
        "courses": [],
        "totals": {
            "plays": 0,
            "watched_seconds": 0,
            "credited_seconds": 0,
            "hours": 0.0,
            "checks_passed": 0,
            "checks_missed": 0,
        },
    }


def test_an_enrolled_course_not_started_shows_its_chapters_without_plays(app, client, clock):
    ids = seed(app, clock)
    sign_in(client, ids["trainee"])
    (course,) = client.get(f"/api/me/learning-record?course_id={ids['course']}").json["courses"]
    assert [ch["plays"] for ch in course["chapters"]] == [[], []]


def test_without_a_session_it_is_401_and_a_bad_course_id_is_named(client, learned):
    bad = client.get("/api/me/learning-record?course_id=abc")
    assert bad.status_code == 422 and bad.json["field"] == "course_id"
    assert client.get("/api/me/learning-record?course_id=0").json["field"] == "course_id"
    client.delete_cookie("wxapp_session")
    assert client.get("/api/me/learning-record").status_code == 401


def test_the_address_is_the_clients_behind_the_proxy(base_config):
    with app_with(base_config, PROXY_COUNT="1") as app:
        try:
            clock = app.extensions["clock"]
            client = app.test_client()
            ids = seed(app, clock)
            sign_in(client, ids["trainee"])
            client.environ_base["HTTP_X_FORWARDED_FOR"] = "198.51.100.23"
            learn(app, client, clock, ids["chapters"][:1], address="127.0.0.1")
            (course,) = client.get("/api/me/learning-record").json["courses"]
            assert course["chapters"][0]["plays"][0]["address"] == "198.51.100.23"
        finally:
            truncate_all(app)


def test_the_verification_page_shows_totals_only(app, client, clock):
    ids = seed(app, clock, required_hours=30)
    sign_in(client, ids["trainee"])
    learn(app, client, clock, ids["chapters"], address="10.9.8.7")
    issued = client.post(f"/api/plans/{ids['plan']}/certificate")
    assert issued.status_code == 201, issued.json
    code = issued.json["verify_url"].rsplit("/", 1)[1]
    client.delete_cookie("wxapp_session")  # the page is public
    html = client.get(f"/verify/{code}").get_data(as_text=True)
    assert "学习记录汇总" in html
    assert "<dt>学习次数</dt><dd>2 次</dd>" in html
    assert "<dt>计入学习时长</dt><dd>0.0 小时</dd>" in html
    assert "<dt>在线确认</dt><dd>通过 0 次</dd>" in html
    for private in ("10.9.8.7", "Android", "微信", "play-0"):
        assert private not in html


def test_a_chapter_watched_again_is_credited_once(app, client, clock):
    """The first chapter watched through twice: each play shows the time it watched, but
    what is 计入 (credited) is the union of the stretches, as the progress engine credits
    it: 60 s, not 120 s."""
    ids = seed(app, clock)
    sign_in(client, ids["trainee"])
    first = ids["chapters"][0]
    learn(app, client, clock, [first])
    clock.advance(30)
    BeaconPlayer(client, first, clock, play_id="again").watch(0, 60)
    with app.app_context():
        flusher.flush_all(get_store(app), clock.now())

    record = client.get(f"/api/me/learning-record?course_id={ids['course']}").json
    (course,) = record["courses"]
    chapter = course["chapters"][0]
    assert [p["watched_seconds"] for p in chapter["plays"]] == [60, 60]
    assert (chapter["totals"]["plays"], chapter["totals"]["watched_seconds"]) == (2, 120)
    assert chapter["totals"]["credited_seconds"] == 60
    assert course["totals"]["credited_seconds"] == 60
    assert record["totals"]["credited_seconds"] == 60
    # The same figure as 我的进度 shows for the chapter.
    (plan,) = client.get("/api/me/progress").json["plans"]
    (progress,) = plan["courses"]
    assert progress["chapters"][0]["watched_seconds"] == 60
