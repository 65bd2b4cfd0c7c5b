"""A database error in a request is logged without the statement's values: when PostgreSQL
is slow or locked, the ERROR line must not carry the ID number or phone someone typed, nor a
new account's name and password hash (the engine hides bound parameters)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from tests.conftest import DATABASE_URL, rolled_back_app
from tests.factories import make_id_number, make_phone
from tests.sms import latest_code
from wxapp.infra.observability import JsonFormatter


@contextmanager
def trainees_locked(mode: str) -> Iterator[None]:
    """Another connection holds the trainees table locked in `mode` until the block ends, so
    the app's statement on it runs into statement_timeout."""
    engine = sa.create_engine(DATABASE_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    conn = engine.connect()
    try:
        conn.execute(sa.text(f"LOCK TABLE trainees IN {mode} MODE"))
        yield
    finally:
        conn.rollback()
        conn.close()
        engine.dispose()


def error_lines(caplog) -> str:
    """The ERROR lines as production writes them (JSON, traceback included)."""
    formatter = JsonFormatter()
    return "\n".join(formatter.format(r) for r in caplog.records if r.levelno >= logging.ERROR)


def test_a_timed_out_password_reset_logs_no_id_number(base_config, caplog):
    id_number = make_id_number(987_654)
    with (
        rolled_back_app(base_config, DATABASE_STATEMENT_TIMEOUT_MS="200") as app,
        trainees_locked("ACCESS EXCLUSIVE"),
        caplog.at_level(logging.ERROR),
    ):
        reply = app.test_client().post("/api/password/forgot/code", json={"username": id_number})
    assert reply.status_code == 503
    logged = error_lines(caplog)
    assert "backing service unavailable" in logged  # the outage itself is logged
    assert id_number not in logged


def test_a_timed_out_registration_logs_nothing_of_the_new_account(base_config, caplog):
    id_number, phone = make_id_number(987_655), make_phone(987_655)
    with rolled_back_app(base_config, DATABASE_STATEMENT_TIMEOUT_MS="300") as app:
        client = app.test_client()
        assert client.post("/api/register/code", json={"phone": phone}).status_code == 200
        body = {
            "name": "李青山",
            "id_number": id_number,
            "phone": phone,
            "password": "Xq7#mountain2025",
            "sms_code": latest_code(client, phone),
            "archive_district": "垫江县",
        }
        # SHARE: the checks' reads pass, the INSERT waits and times out
        with trainees_locked("SHARE"), caplog.at_level(logging.ERROR):
            reply = client.post("/api/register", json=body)
    assert reply.status_code == 503, reply.json
    logged = error_lines(caplog)
    assert "backing service unavailable" in logged
    for secret in (id_number, phone, "李青山", "$argon2"):
        assert secret not in logged, secret
