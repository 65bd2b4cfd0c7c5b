"""Cross-origin writes refused, login rate-limited per address, request ids and /metrics."""

import json
import logging
import sys

import pytest

from models import db
from tests.factories import make_learner, make_trainee
from wxapp.infra.observability import JsonFormatter, RequestIdFilter


@pytest.fixture
def trainee_phone(app):
    with app.app_context():
        t = make_trainee()
        db.session.commit()
        return t.phone


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example.com"},
        {"Referer": "https://evil.example.com/page"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
    ],
)
def test_state_changing_request_from_another_site_is_refused(client, trainee_phone, headers):
    res = client.post(
        "/api/login", json={"username": trainee_phone, "password": "Passw0rd!"}, headers=headers
    )
    assert res.status_code == 403
    assert res.json["error"] == "cross_origin"
    assert "其他网站" in res.json["message"]
    assert "Set-Cookie" not in res.headers


def test_same_origin_write_is_accepted(client, trainee_phone):
    res = client.post(
        "/api/login",
        json={"username": trainee_phone, "password": "Passw0rd!"},
        headers={"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"},
    )
    assert res.status_code == 200


def test_reads_from_another_site_are_not_blocked_by_the_origin_check(client):
    # A GET changes nothing; without a session it is simply 401.
    assert client.get("/api/me", headers={"Origin": "https://evil.example.com"}).status_code == 401


def test_login_attempts_from_one_address_are_rate_limited(client):
    codes = [
        client.post("/api/login", json={"username": f"1390000{i:04d}", "password": "x"}).status_code
        for i in range(31)
    ]
    assert codes[:30] == [401] * 30  # different usernames: none locked on its own
    res = client.post("/api/login", json={"username": "13900009999", "password": "x"})
    assert res.status_code == 429
    assert res.json["error"] == "rate_limited" and "频繁" in res.json["message"]


def test_request_id_is_echoed_or_assigned(client):
    res = client.get("/healthz", headers={"X-Request-Id": "abc12345-from-nginx"})
    assert res.headers["X-Request-Id"] == "abc12345-from-nginx"
    fresh = client.get("/healthz", headers={"X-Request-Id": "bad id with spaces"})
    assert len(fresh.headers["X-Request-Id"]) == 32


def test_json_log_lines_carry_the_request_id(app):
    formatter, flt = JsonFormatter(), RequestIdFilter()
    with app.test_request_context("/api/x"):
        from flask import g

        g.request_id = "req-00000001"
        record = logging.LogRecord("wxapp", logging.INFO, __file__, 1, "登录成功 %s", ("u",), None)
        flt.filter(record)
        line = json.loads(formatter.format(record))
    assert line["request_id"] == "req-00000001"
    assert line["message"] == "登录成功 u"
    assert line["path"] == "/api/x"


def test_metrics_exposes_the_counters(client):
    res = client.get("/metrics")
    assert res.status_code == 200
    text = res.get_data(as_text=True)
    for name in (
        "wxapp_beacons_total",
        "wxapp_completions_total",
        "wxapp_payments_total",
        "wxapp_pushes_total",
    ):
        assert f"# TYPE {name} counter" in text


def test_metrics_token_when_configured(base_config):
    from tests.conftest import app_with

    with app_with(base_config, METRICS_TOKEN="s3cret-token") as app:
        c = app.test_client()
        assert c.get("/metrics").status_code == 401
        assert (
            c.get("/metrics", headers={"Authorization": "Bearer s3cret-token"}).status_code == 200
        )


def test_forwarded_address_is_trusted_only_behind_a_configured_proxy(base_config):
    from tests.conftest import app_with

    def attempts(app, n):
        c = app.test_client()
        return [
            c.post(
                "/api/login",
                json={"username": f"1390000{i:04d}", "password": "x"},
                headers={"X-Forwarded-For": f"10.0.0.{i}"},
            ).status_code
            for i in range(n)
        ]

    with app_with(base_config) as app:  # no proxy: the header is ignored, one address
        assert attempts(app, 31)[-1] == 429
    with app_with(base_config, PROXY_COUNT="1") as app:  # behind nginx: 31 addresses
        app.extensions["redis"].flushdb()
        assert 429 not in attempts(app, 31)


def _counter(client, sample: str) -> float:
    for line in client.get("/metrics").get_data(as_text=True).splitlines():
        if line.startswith(sample + " "):
            return float(line.split()[-1])
    return 0.0


def test_metrics_count_beacons_and_completions(app, client, clock):
    from tests.factories import BeaconPlayer, sign_in

    with app.app_context():
        trainee, plan = make_learner(
            clock.now(), required_hours=30, courses=1, chapters=1, chapter_seconds=30
        )
        chapter = plan.courses[0].course.chapters[0].id
        trainee_id = trainee.id
        db.session.commit()
    sign_in(client, trainee_id)
    ok = 'wxapp_beacons_total{outcome="ok"}'
    chapters = 'wxapp_completions_total{level="chapter"}'
    plans = 'wxapp_completions_total{level="plan"}'
    before = {name: _counter(client, name) for name in (ok, chapters, plans)}
    replies = BeaconPlayer(client, chapter, clock).watch(0, 30)
    assert replies[-1].json["plan_done"] is True
    assert _counter(client, ok) - before[ok] == len(replies)
    assert _counter(client, chapters) - before[chapters] == 1
    assert _counter(client, plans) - before[plans] == 1


def test_security_headers_on_pages_api_and_callback(client):
    """nosniff, no framing by other sites, no Referer to other sites, and a CSP that allows
    no inline script on the pages (the browser tests fail on any CSP violation)."""
    for path in ("/h5/login", "/api/plans", "/wechat?echostr=1", "/healthz", "/nope"):
        res = client.get(path)
        assert res.headers["X-Content-Type-Options"] == "nosniff", path
        assert res.headers["X-Frame-Options"] == "DENY", path
        assert res.headers["Referrer-Policy"] == "same-origin", path
        csp = res.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp, path
        assert "'unsafe-inline'" not in csp.split("script-src")[-1].split(";")[0], path
    page = client.get("/h5/login").headers["Content-Security-Policy"]
    assert "script-src 'self'" in page and "object-src 'none'" in page


def test_beacon_replies_carry_the_headers_too(client):
    res = client.post("/api/beacons", json={})
    assert res.status_code == 401
    assert res.headers["X-Content-Type-Options"] == "nosniff"
    assert res.headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"


def test_wechat_being_unreachable_logs_no_access_token(base_config, caplog):
    """WeChat's API carries the access_token in the URL, and a connection error's text
    repeats the URL: a WeChat outage during a 客服 acknowledgement (which any user can
    cause by sending a text) must not write the token, good for two hours over the whole
    account, into the logs."""
    from tests.conftest import committing_app, free_port
    from wxapp.conversation.dispatch import send_ack

    token = "SECRET_ACCESS_TOKEN_abc123"
    closed = f"http://127.0.0.1:{free_port()}"
    with committing_app(base_config, WECHAT_API_BASE=closed) as app, app.app_context():
        client = app.extensions["wechat"]
        client.session.set(client.access_token_key, token, 3600)
        with caplog.at_level(logging.WARNING):
            assert send_ack(client, "o_someone", "已转给在线客服") is False
    [record] = [r for r in caplog.records if "acknowledgement" in r.getMessage()]
    assert "ConnectionError" in record.getMessage()
    assert token not in caplog.text


def test_log_lines_redact_a_secret_in_a_url_and_its_traceback(app):
    """Whatever path logs such an error, with its traceback, the line carries no secret."""
    url = "http://api.weixin.qq.com/cgi-bin/message/custom/send?access_token=TOKEN123&x=1"
    oauth = "https://api.weixin.qq.com/sns/oauth2/access_token?appid=wx1&secret=APPSECRET9"
    try:
        raise OSError(f"Max retries exceeded with url: {url}")
    except OSError:
        exc_info = sys.exc_info()
    record = logging.LogRecord(
        "wxapp", logging.ERROR, __file__, 1, "failed: %s", (oauth,), exc_info
    )
    line = JsonFormatter().format(record)
    assert "TOKEN123" not in line and "APPSECRET9" not in line
    assert "access_token=***&x=1" in line and "secret=***" in line
