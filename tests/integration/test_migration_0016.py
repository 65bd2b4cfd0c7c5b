"""Migration 0016 revokes the certificates of plans refunded before it (the enrollment
refunded), dated by the trainee's last successful refund of the plan, each with a version
saying so; certificates of plans still paid for are left as they were (on a database of
its own, migrated step by step)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import sqlalchemy as sa
from flask_migrate import upgrade

from models import db
from tests.conftest import app_with
from tests.integration.test_migration_0007 import insert_plan, own_database

REFUNDED_AT = datetime(2025, 7, 2, 8, 30, tzinfo=UTC)


def _insert(conn, table: str, **values) -> None:
    names = ", ".join(values)
    conn.execute(
        sa.text(f"INSERT INTO {table} ({names}) VALUES ({', '.join(':' + n for n in values)})"),
        values,
    )


def test_certificates_of_refunded_plans_are_revoked(base_config, tmp_path):
    with app_with(base_config, DATABASE_URL=own_database(tmp_path)) as app, app.app_context():
        upgrade(revision="0015")
        when = "2025-06-01T00:00:00+00:00"
        with db.engine.begin() as conn:
            insert_plan(conn)
            # 1: refunded by WeChat Pay; 2: still paid; 3: refunded, its refund not on record.
            for n in (1, 2, 3):
                _insert(
                    conn, "trainees", id=n, name=f"学员{n}", id_number=f"50023119850307000{n}",
                    must_change_password=False, created_at=when, updated_at=when,
                )  # fmt: skip
                _insert(
                    conn, "enrollments", trainee_id=n, plan_id=1, hours_done=60, created_at=when,
                    status="paid" if n == 2 else "refunded",
                )  # fmt: skip
                _insert(
                    conn, "certificates", id=n, serial=f"S{n}", verify_code=f"C{n}",
                    trainee_id=n, plan_id=1, year=2025, kind="specialist", hours=60,
                    issuer="中心", issued_at=when, version=1, updated_at=when,
                    content=json.dumps({"name": f"学员{n}"}, ensure_ascii=False),
                )  # fmt: skip
                _insert(
                    conn, "certificate_versions", certificate_id=n, version=1,
                    content=json.dumps({"name": f"学员{n}"}, ensure_ascii=False),
                    reason="首次颁发", created_at=when,
                )  # fmt: skip
            _insert(
                conn, "orders", id=1, out_trade_no="T1", kind="individual", payer_id=1, plan_id=1,
                quantity=1, unit_price_fen=9000, amount_fen=9000, description="项目",
                status="REFUND", expires_at=when, created_at=when, updated_at=when,
            )  # fmt: skip
            _insert(
                conn, "refunds", id=1, out_refund_no="T1R01", order_id=1, amount_fen=9000,
                reason="operator", requested_by="operator:x", status="SUCCESS",
                succeeded_at=REFUNDED_AT.isoformat(), created_at=when, updated_at=when,
            )  # fmt: skip
            _insert(conn, "refund_items", refund_id=1, trainee_id=1, order_id=1)

        started = datetime.now(UTC)
        upgrade(revision="0016")
        with db.engine.connect() as conn:
            certs = {
                row.id: row
                for row in conn.execute(
                    sa.text(
                        "SELECT id, version, revoked_at, revoked_reason, updated_at"
                        " FROM certificates"
                    )
                )
            }
            versions = conn.execute(
                sa.text(
                    "SELECT certificate_id, version, reason, content FROM certificate_versions"
                    " ORDER BY certificate_id, version"
                )
            ).all()

        def aware(value) -> datetime:
            value = datetime.fromisoformat(value) if isinstance(value, str) else value
            return value if value.tzinfo else value.replace(tzinfo=UTC)

        assert (certs[1].version, certs[1].revoked_reason) == (2, "培训费已退款")
        assert aware(certs[1].revoked_at) == aware(certs[1].updated_at) == REFUNDED_AT
        assert (certs[2].version, certs[2].revoked_at, certs[2].revoked_reason) == (1, None, None)
        assert (certs[3].version, certs[3].revoked_reason) == (2, "培训费已退款")
        assert aware(certs[3].revoked_at) >= started
        assert [(c, v, r) for c, v, r, _ in versions] == [
            (1, 1, "首次颁发"),
            (1, 2, "撤销：培训费已退款"),
            (2, 1, "首次颁发"),
            (3, 1, "首次颁发"),
            (3, 2, "撤销：培训费已退款"),
        ]
        content = versions[1][3]
        assert (json.loads(content) if isinstance(content, str) else content) == {"name": "学员1"}
        db.engine.dispose()
