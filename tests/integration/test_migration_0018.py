"""Migration 0018 drops the WeChat bindings of accounts never activated (made with the
public initial password before activation was required), which the official account's
chat and 一键提醒 still answered; an activated account keeps its binding (on a database of
its own, migrated step by step)."""

from __future__ import annotations

import sqlalchemy as sa
from flask_migrate import upgrade

from models import db
from tests.conftest import app_with
from tests.integration.test_migration_0007 import own_database
from tests.integration.test_migration_0016 import _insert


def test_bindings_of_accounts_never_activated_are_dropped(base_config, tmp_path):
    with app_with(base_config, DATABASE_URL=own_database(tmp_path)) as app, app.app_context():
        upgrade(revision="0017")
        when = "2025-06-01T00:00:00+00:00"
        with db.engine.begin() as conn:
            # 1: activated; 2: never activated (initial password), bound before the rules
            for n in (1, 2):
                _insert(
                    conn, "trainees", id=n, name=f"学员{n}", id_number=f"50023119850307000{n}",
                    must_change_password=n == 2, created_at=when, updated_at=when,
                )  # fmt: skip
                _insert(
                    conn, "wechat_bindings", openid=f"o_before_rules_{n}", trainee_id=n,
                    following=True, bound_at=when, updated_at=when,
                )  # fmt: skip
        upgrade(revision="0018")
        with db.engine.connect() as conn:
            kept = conn.execute(sa.text("SELECT trainee_id, openid FROM wechat_bindings")).all()
        assert kept == [(1, "o_before_rules_1")]
