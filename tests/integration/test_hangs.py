"""A hung PostgreSQL or Redis (accepts connections, never answers) is a failure, not a hang.

The stand-in is a local "black hole": a socket that accepts every connection and never
sends a byte, as a stuck server or a half-dead proxy does. Requests get 503 within the
configured timeouts and /healthz answers within 2 s naming the part.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

from models import db
from tests.conftest import app_with
from tests.relay import Relay
from wxapp.app import create_app
from wxapp.infra import replica as replica_module


@pytest.fixture
def black_hole() -> Iterator[int]:
    """A port that accepts connections and never answers; its port number."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            held.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        server.close()


@contextmanager
def app_on(base_config, **overrides) -> Iterator:
    """An app on the given settings, made without touching its Redis (tests' make_app
    flushes it, which a hung Redis would not answer)."""
    app = create_app({**base_config, **overrides})
    try:
        yield app
    finally:
        with app.app_context():
            db.engine.dispose()
        app.extensions["redis"].close()


def timed(call):
    start = time.monotonic()
    result = call()
    return result, time.monotonic() - start


def test_hung_redis_gives_503_within_its_timeout(base_config, black_hole):
    with app_on(
        base_config, REDIS_URL=f"redis://127.0.0.1:{black_hole}/0", REDIS_TIMEOUT_S="0.5"
    ) as app:
        client = app.test_client()
        res, took = timed(
            lambda: client.post("/api/login", json={"username": "x" * 18, "password": "p"})
        )
        assert res.status_code == 503 and res.json["error"] == "unavailable"
        assert took < 2.0
        res, took = timed(lambda: client.get("/healthz"))
        assert res.status_code == 503 and took < 2.0
        assert res.json["database"] == "ok"
        assert res.json["redis"] != "ok"
        assert "redis" in res.json["message"]


def test_hung_redis_with_a_session_cookie_is_503_on_beacons_and_pages(base_config, black_hole):
    """The session check itself asks Redis: a hung Redis there is a 503 too, never a 500."""
    with app_on(
        base_config, REDIS_URL=f"redis://127.0.0.1:{black_hole}/0", REDIS_TIMEOUT_S="0.5"
    ) as app:
        client = app.test_client()
        with client.session_transaction() as s:
            s.update({"tid": 1, "must_change": False, "ep": 0, "sid": "abc"})
        beacon = {"chapter_id": 1, "play_id": "p" * 8, "seq": 1, "from": 0, "to": 5, "position": 5}
        for call in (
            lambda: client.post("/api/beacons", json=beacon),
            lambda: client.get("/api/me"),
        ):
            res, took = timed(call)
            assert res.status_code == 503, res.get_data(as_text=True)
            assert took < 2.0


def test_hung_postgresql_gives_503_and_healthz_answers_in_two_seconds(base_config, black_hole):
    if "postgresql" not in base_config["DATABASE_URL"]:
        pytest.fail("this test needs PostgreSQL (DATABASE_URL)")
    hung = f"postgresql://postgres@127.0.0.1:{black_hole}/wxapp_test"
    with app_with(base_config, DATABASE_URL=hung, DATABASE_CONNECT_TIMEOUT_S="1") as app:
        client = app.test_client()
        res, took = timed(lambda: client.get("/healthz"))
        assert res.status_code == 503 and took < 2.0
        assert res.json["database"] != "ok" and res.json["redis"] == "ok"
        res, took = timed(
            lambda: client.post("/api/login", json={"username": "x" * 18, "password": "p"})
        )
        assert res.status_code == 503 and res.json["error"] == "unavailable"
        assert took < 3.0


def test_a_replica_gone_silent_holds_no_request(base_config):
    """Pages read the primary when the replica cannot be reached: a pooled connection to a
    replica that went silent must not hold every report request until TCP gives up."""
    url = sa.engine.make_url(base_config["DATABASE_URL"])
    if url.get_backend_name() != "postgresql":
        pytest.fail("this test needs PostgreSQL (DATABASE_URL)")
    proxy = Relay(url.host or "127.0.0.1", url.port or 5432)
    replica = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    try:
        with app_with(base_config, DATABASE_READ_URL=replica, DATABASE_READ_CHECK_S="0.05") as app:
            reader = app.extensions["read_db"]
            with app.app_context():
                primary = db.engine
            assert reader.fresh(primary) is False  # answered through the relay (not in recovery)
            proxy.silent.set()
            time.sleep(0.1)  # the verdict is due again
            answers: list[tuple[bool, float]] = []

            def ask() -> None:
                answers.append(timed(lambda: reader.fresh(primary)))

            threads = [threading.Thread(target=ask, daemon=True) for _ in range(3)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=replica_module.CHECK_DEADLINE_S + 3)
            assert len(answers) == 3, f"{3 - len(answers)} of 3 requests still waiting"
            assert all(fresh is False for fresh, _ in answers)
            assert max(took for _, took in answers) < replica_module.CHECK_DEADLINE_S + 0.5
    finally:
        proxy.close()
