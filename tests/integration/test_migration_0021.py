"""Migration 0021 makes 忘记密码's made-up-phone key, so a request only reads it: a fresh
worker on a database that takes no writes (a failover, a read-only primary) answers an ID
number of nobody's as it answers one with an account, not with an error."""

from __future__ import annotations

import re

import sqlalchemy as sa
from flask_migrate import upgrade

from models import db
from tests.conftest import app_with
from tests.integration.test_migration_0007 import own_database
from wxapp.accounts.password_reset import MADE_UP_PHONE_KEY
from wxapp.infra.service_secrets import service_secret


def test_the_made_up_phone_key_is_made_by_the_migration_and_only_read(base_config, tmp_path):
    with app_with(base_config, DATABASE_URL=own_database(tmp_path)) as app, app.app_context():
        upgrade(revision="0021")
        with db.engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT name, value FROM service_secrets")).all()
        assert [name for name, _ in rows] == [MADE_UP_PHONE_KEY]
        assert re.fullmatch(r"[0-9a-f]{64}", rows[0][1])
        if db.engine.dialect.name == "postgresql":
            db.session.execute(sa.text("SET TRANSACTION READ ONLY"))
        assert service_secret(MADE_UP_PHONE_KEY) == rows[0][1]
        db.session.rollback()
