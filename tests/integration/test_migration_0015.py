"""Migration 0015 takes the reasons typed with name and ID-number corrections out of the
certificate versions made before it: the public verification page showed them to anyone
holding the QR code (on a database of its own, migrated step by step)."""

from __future__ import annotations

import json

import sqlalchemy as sa
from flask_migrate import upgrade

from models import db
from tests.conftest import app_with
from tests.integration.test_migration_0007 import insert_plan, own_database

PRIVATE = "与身份证不一致 本人电话13800138001）已离婚"  # a "）" inside the typed text too
OLD_REASONS = [
    "首次颁发",
    f"姓名：张三 → 张叁（经所在单位更正，理由：{PRIVATE}）；工作单位：A → B",
    "身份证号码：500231********0011 → 500231********0029（经客服更正，理由：录入错误；"
    "经所在单位更正，理由：再次核",  # cut at 500 characters in the middle of a reason
    "姓名：张三 → 张叁（经所在单位更正，理由：身份证（旧）录错，本人电话1380013",  # cut, with a "）"
]
NEW_REASONS = [
    "首次颁发",
    "姓名：张三 → 张叁（经所在单位更正）；工作单位：A → B",
    "身份证号码：500231********0011 → 500231********0029（经客服更正；经所在单位更正",
    "姓名：张三 → 张叁（经所在单位更正",
]


def test_versions_made_before_it_keep_who_corrected_but_not_the_typed_reason(base_config, tmp_path):
    with app_with(base_config, DATABASE_URL=own_database(tmp_path)) as app, app.app_context():
        upgrade(revision="0014")
        with db.engine.begin() as conn:
            insert_plan(conn)
            conn.execute(
                sa.text(
                    "INSERT INTO trainees (id, name, id_number, must_change_password,"
                    " created_at, updated_at) VALUES (1, '张叁', '500231198503070029', false,"
                    " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                )
            )
            for why in (
                PRIVATE,
                "录入错误",
                "再次核对身份证原件",
                "身份证（旧）录错，本人电话13800138001",
            ):
                conn.execute(
                    sa.text(
                        "INSERT INTO profile_changes (trainee_id, field, old_value, new_value,"
                        " reason, actor, changed_at) VALUES (1, 'name', 'a', 'b', :why,"
                        " 'operator:x', CURRENT_TIMESTAMP)"
                    ),
                    {"why": why},
                )
            conn.execute(
                sa.text(
                    "INSERT INTO certificates (id, serial, verify_code, trainee_id, plan_id,"
                    " year, kind, hours, issuer, issued_at, version, content, updated_at)"
                    " VALUES (1, 'S1', 'C1', 1, 1, 2025, 'specialist', 60, '中心',"
                    " '2025-06-01T00:00:00+00:00', 3, :content, '2025-07-01T00:00:00+00:00')"
                ),
                {"content": json.dumps({"name": "张叁"}, ensure_ascii=False)},
            )
            for version, reason in enumerate(OLD_REASONS, start=1):
                conn.execute(
                    sa.text(
                        "INSERT INTO certificate_versions (certificate_id, version, content,"
                        " reason, created_at) VALUES (1, :v, :content, :reason,"
                        " CURRENT_TIMESTAMP)"
                    ),
                    {"v": version, "content": "{}", "reason": reason},
                )
        upgrade(revision="0015")
        with db.engine.connect() as conn:
            reasons = conn.execute(
                sa.text("SELECT reason FROM certificate_versions ORDER BY version")
            ).scalars()
            assert list(reasons) == NEW_REASONS
        db.engine.dispose()
