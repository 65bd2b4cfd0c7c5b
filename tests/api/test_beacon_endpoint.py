"""POST /api/beacons is served in front of Flask's dispatch (handlers/beacons.py): it must
answer every request exactly as the rest of /api/ does — guards, errors, request ids, logs."""

import io
import json
import logging

import pytest

from handlers import beacons
from models import db
from tests.factories import BeaconPlayer, make_learner, sign_in
from wxapp.infra.observability import JsonFormatter, RequestIdFilter


@pytest.fixture
def chapter(app, clock):
    with app.app_context():
        trainee, plan = make_learner(clock.now(), courses=1, chapter_seconds=60)
        db.session.commit()
        return {"trainee": trainee.id, "id": plan.courses[0].course.chapters[0].id}


@pytest.fixture
def player(client, chapter, clock):
    sign_in(client, chapter["trainee"])
    return BeaconPlayer(client, chapter["id"], clock)


def body(chapter_id: int, **extra) -> dict:
    beacon = {"chapter_id": chapter_id, "play_id": "p1", "seq": 0, "from": 0, "to": 0}
    return {**beacon, "position": 0, **extra}


def test_a_beacon_echoes_the_request_id_and_does_not_slide_the_session(player):
    res = player.client.post(
        "/api/beacons",
        json=body(player.chapter_id),
        headers={"X-Request-Id": "nginx-req-0001"},
    )
    assert res.status_code == 200
    assert res.headers["X-Request-Id"] == "nginx-req-0001"
    assert res.headers["Content-Type"] == "application/json"
    assert "Set-Cookie" not in res.headers
    assert len(player.client.post("/api/beacons").headers["X-Request-Id"]) == 32


def test_errors_have_the_same_body_as_every_api_route(client, player):
    no_session = client.application.test_client()
    res = no_session.post("/api/beacons", json=body(player.chapter_id))
    assert (res.status_code, res.json["error"], res.json["message"]) == (
        401,
        "unauthorized",
        "请先登录",
    )
    res = player.client.post("/api/beacons", json=body(player.chapter_id, seq="x"))
    assert res.status_code == 422
    assert res.json == {"error": "invalid", "field": "seq", "message": "序号应为整数"}
    res = player.client.post("/api/beacons", json=body(10**6))
    assert (res.status_code, res.json["error"]) == (404, "chapter_not_found")


def test_a_body_that_is_not_json_names_the_body(player):
    res = player.client.post(
        "/api/beacons", data="chapter_id=1", content_type="application/x-www-form-urlencoded"
    )
    assert res.status_code == 422
    assert res.json["field"] == "body" and "JSON" in res.json["message"]


@pytest.mark.parametrize(
    ("content_type", "status"),
    [
        ("application/json; charset=utf-8", 200),
        ("Application/JSON", 200),
        ("application/merge-patch+json", 200),
        ("text/plain", 422),  # JSON text, but not said to be: as request.get_json answers
        ("", 422),
    ],
)
def test_the_body_is_json_by_its_content_type(player, content_type, status):
    res = player.client.post(
        "/api/beacons", data=json.dumps(body(player.chapter_id)), content_type=content_type
    )
    assert res.status_code == status
    if status == 422:
        assert res.json["field"] == "body"


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_other_methods_are_refused_with_405(player, method):
    res = player.client.open("/api/beacons", method=method)
    assert res.status_code == 405
    assert res.json == {"error": "method_not_allowed", "message": "不支持该请求方式"}
    assert res.headers["Allow"] == "POST"


def test_paths_below_the_beacon_are_flasks_404(player):
    res = player.client.post("/api/beacons/extra", json=body(player.chapter_id))
    assert res.status_code == 404
    assert res.json["error"] == "not_found"


def test_a_body_over_the_limit_is_refused_before_it_is_read(player):
    big = json.dumps(body(player.chapter_id, play_id="x" * 5000))
    res = player.client.post("/api/beacons", data=big, content_type="application/json")
    assert res.status_code == 413
    assert res.json == {"error": "too_large", "message": "请求内容过大"}


def test_chunked_bodies_are_read_whole_or_refused(player):
    def chunked(text: str):
        return player.client.post(
            "/api/beacons",
            input_stream=io.BytesIO(text.encode()),
            content_type="application/json",
            environ_overrides={"wsgi.input_terminated": True},
        )

    assert chunked(json.dumps(body(player.chapter_id))).status_code == 200
    assert chunked(json.dumps(body(player.chapter_id, play_id="y" * 5000))).status_code == 413


@pytest.mark.parametrize(
    "headers",
    [{"Origin": "https://evil.example.com"}, {"Sec-Fetch-Site": "cross-site"}, {"Origin": "null"}],
)
def test_beacons_sent_from_another_site_are_refused(player, headers):
    res = player.client.post("/api/beacons", json=body(player.chapter_id), headers=headers)
    assert res.status_code == 403
    assert res.json["error"] == "cross_origin"


def test_a_beacon_from_the_page_itself_is_accepted(player):
    res = player.client.post(
        "/api/beacons",
        json=body(player.chapter_id),
        headers={"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"},
    )
    assert res.status_code == 200


def test_behind_nginx_the_origin_is_checked_against_the_forwarded_host(base_config, clock):
    from tests.conftest import app_with

    with app_with(base_config, PROXY_COUNT="1") as app, app.app_context():
        trainee, plan = make_learner(app.extensions["clock"].now(), courses=1, chapter_seconds=60)
        db.session.commit()
        c = app.test_client()
        sign_in(c, trainee.id)
        chapter_id = plan.courses[0].course.chapters[0].id
        forwarded = {"X-Forwarded-Host": "study.example.cn", "X-Forwarded-Proto": "https"}
        ok = c.post(
            "/api/beacons",
            json=body(chapter_id),
            headers={**forwarded, "Origin": "https://study.example.cn"},
        )
        other = c.post(
            "/api/beacons",
            json=body(chapter_id, seq=1),
            headers={**forwarded, "Origin": "https://elsewhere.example.cn"},
        )
        assert ok.status_code == 200, ok.json
        assert other.status_code == 403


def test_an_initial_password_session_must_activate_first(client, chapter):
    with client.session_transaction() as session:
        session["tid"] = chapter["trainee"]
        session["must_change"] = True
        session.permanent = True
    res = client.post("/api/beacons", json=body(chapter["id"]))
    assert res.status_code == 403
    assert res.json["error"] == "activation_required"


def test_an_unexpected_failure_is_a_500_logged_with_the_request(player, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(beacons.tracking, "record_beacon", broken)
    formatter, request_ids = JsonFormatter(), RequestIdFilter()
    lines = []

    class Capture(logging.Handler):
        def emit(self, record):
            request_ids.filter(record)
            lines.append(json.loads(formatter.format(record)))

    handler = Capture()
    logging.getLogger().addHandler(handler)
    try:
        res = player.client.post(
            "/api/beacons", json=body(player.chapter_id), headers={"X-Request-Id": "req-boom-01"}
        )
    finally:
        logging.getLogger().removeHandler(handler)
    assert res.status_code == 500
    assert res.json == {"error": "internal", "message": "系统繁忙，请稍后再试"}
    line = next(x for x in lines if "unhandled error" in x["message"])
    assert (line["request_id"], line["method"], line["path"]) == (
        "req-boom-01",
        "POST",
        "/api/beacons",
    )
    assert "RuntimeError: boom" in line["exc"]


def test_redis_down_is_a_503_not_a_500(player, monkeypatch):
    from redis.exceptions import ConnectionError as RedisConnectionError

    def down(*args, **kwargs):
        raise RedisConnectionError("Connection refused")

    monkeypatch.setattr(beacons.tracking, "record_beacon", down)
    res = player.client.post("/api/beacons", json=body(player.chapter_id))
    assert res.status_code == 503
    assert res.json["error"] == "unavailable"
