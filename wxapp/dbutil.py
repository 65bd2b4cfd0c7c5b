"""Small SQL helpers that must work on PostgreSQL (production, tests) and SQLite (make run)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from models import db


def insert_ignore(
    table: sa.Table, rows: list[dict[str, Any]] | dict[str, Any], conflict: list[str]
):
    """An INSERT ... ON CONFLICT (conflict) DO NOTHING statement for the session's dialect."""
    dialect = db.session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    return module.insert(table).values(rows).on_conflict_do_nothing(index_elements=conflict)


def dialect_insert(table: sa.Table):
    """The dialect's INSERT (with on_conflict_do_update) for the session's database."""
    dialect = db.session.get_bind().dialect.name
    return (postgresql if dialect == "postgresql" else sqlite).insert(table)
