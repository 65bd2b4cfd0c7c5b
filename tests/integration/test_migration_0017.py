"""Migration 0017 adds operators.must_change_password: operators of before keep their own
password (false), and it goes back down cleanly (on a database of its own)."""

from __future__ import annotations

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from models import db
from tests.conftest import app_with
from tests.integration.test_migration_0007 import own_database


def _columns() -> set[str]:
    return {c["name"] for c in sa.inspect(db.engine).get_columns("operators")}


def test_existing_operators_keep_their_password(base_config, tmp_path):
    with app_with(base_config, DATABASE_URL=own_database(tmp_path)) as app, app.app_context():
        upgrade(revision="0016")
        with db.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO operators (id, login, display_name, role, password_hash,"
                    " totp_secret, failed_attempts, active, created_at)"
                    " VALUES (1, 'boss', '刘洋', 'admin', 'h', 's', 0, true, CURRENT_TIMESTAMP)"
                )
            )
        upgrade(revision="0017")
        with db.engine.connect() as conn:
            flags = conn.execute(sa.text("SELECT must_change_password FROM operators")).scalars()
            assert list(flags) == [False]
        downgrade(revision="0016")
        assert "must_change_password" not in _columns()
        upgrade(revision="0017")
        assert "must_change_password" in _columns()
        db.engine.dispose()
