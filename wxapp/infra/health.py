"""Liveness of the parts the service cannot work without."""

from __future__ import annotations

import redis
import sqlalchemy as sa

from models import db


def check(r: redis.Redis) -> dict[str, str]:
    """{"database": "ok"|error, "redis": "ok"|error}; never raises."""
    result: dict[str, str] = {}
    try:
        db.session.execute(sa.text("SELECT 1"))
        result["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        # Only resets the session the failed probe left unusable: no use case's write is
        # involved (listed as allowed in tests/unit/test_who_commits.py).
        db.session.rollback()
        result["database"] = f"unreachable: {type(exc).__name__}"
    try:
        r.ping()
        result["redis"] = "ok"
    except Exception as exc:  # noqa: BLE001
        result["redis"] = f"unreachable: {type(exc).__name__}"
    return result
