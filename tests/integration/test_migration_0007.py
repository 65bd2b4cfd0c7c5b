"""Migration 0007 gives every certificate issued before it a version history: its current
version, copied into certificate_versions (on a database of its own, migrated step by step)."""

from __future__ import annotations

import json

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade
from sqlalchemy.engine import make_url

from models import db
from tests.conftest import DATABASE_URL, app_with
from tests.pgreset import empty_database


def own_database(tmp_path) -> str:
    if not DATABASE_URL:
        return f"sqlite:///{tmp_path / 'migration.sqlite3'}"
    url = make_url(DATABASE_URL)
    own = url.set(database=f"{url.database}_migration").render_as_string(hide_password=False)
    empty_database(own, name_must_contain="test")
    return own


def insert_plan(conn) -> None:
    """Plan 1, as the tables stood from the first migrations on."""
    conn.execute(
        sa.text(
            "INSERT INTO training_plans (id, code, year, kind, title, provider,"
            " required_hours, price_per_hour_fen, created_at) VALUES (1, 'p', 2025,"
            " 'specialist', '项目', '中心', 60, 150, CURRENT_TIMESTAMP)"
        )
    )


def test_existing_certificates_get_their_current_version_as_history(base_config, tmp_path):
    with app_with(base_config, DATABASE_URL=own_database(tmp_path)) as app, app.app_context():
        upgrade(revision="0005")
        with db.engine.begin() as conn:
            insert_plan(conn)
            for n, name in ((1, "张三"), (2, "李四")):
                conn.execute(
                    sa.text(
                        "INSERT INTO trainees (id, name, id_number, must_change_password,"
                        " created_at, updated_at) VALUES (:id, :name, :idn, false,"
                        " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                    ),
                    {"id": n, "name": name, "idn": f"50023119850307000{n}"},
                )
            for n, version in ((1, 1), (2, 3)):
                conn.execute(
                    sa.text(
                        "INSERT INTO certificates (id, serial, verify_code, trainee_id, plan_id,"
                        " year, kind, hours, issuer, issued_at, version, content, updated_at)"
                        " VALUES (:id, :s, :c, :id, 1, 2025, 'specialist', 60, '中心',"
                        " '2025-06-01T00:00:00+00:00', :v, :content, '2025-07-01T00:00:00+00:00')"
                    ),
                    {
                        "id": n,
                        "s": f"S{n}",
                        "c": f"C{n}",
                        "v": version,
                        "content": json.dumps({"name": f"学员{n}"}, ensure_ascii=False),
                    },
                )
        upgrade(revision="0007")
        with db.engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT certificate_id, version, content, reason FROM certificate_versions"
                    " ORDER BY certificate_id"
                )
            ).all()
        contents = [r[2] if isinstance(r[2], dict) else json.loads(r[2]) for r in rows]
        assert [(r[0], r[1], r[3]) for r in rows] == [
            (1, 1, "首次颁发"),
            (2, 3, "启用版本记录时的当前版本（此前的变更未记录）"),
        ]
        assert contents == [{"name": "学员1"}, {"name": "学员2"}]
        downgrade(revision="0005")  # and back: the two tables go, nothing else
        with db.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM certificates")).scalar() == 2
        db.engine.dispose()
