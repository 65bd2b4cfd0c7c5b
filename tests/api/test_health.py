"""GET /healthz reports the database and Redis, and names the part that is down."""

import redis

from tests.conftest import app_with


def test_healthy(client):
    res = client.get("/healthz")
    assert res.status_code == 200
    assert res.json == {"status": "ok", "database": "ok", "redis": "ok"}


def test_redis_down_is_503_naming_redis(base_config):
    with app_with(base_config) as app:
        app.extensions["redis"] = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
        res = app.test_client().get("/healthz")
    assert res.status_code == 503
    assert res.json["database"] == "ok"
    assert res.json["redis"] in ("timeout", "unreachable: ConnectionError")
    assert "redis" in res.json["message"]


def test_database_down_is_503_naming_database(base_config):
    bad = (
        "postgresql://postgres@127.0.0.1:1/wxapp_test"
        if "postgresql" in base_config["DATABASE_URL"]
        else "sqlite:////nonexistent/dir/x.sqlite3"
    )
    with app_with(base_config, DATABASE_URL=bad) as app:
        res = app.test_client().get("/healthz")
    assert res.status_code == 503
    assert res.json["redis"] == "ok"
    assert res.json["database"].startswith("unreachable")
    assert "database" in res.json["message"]
