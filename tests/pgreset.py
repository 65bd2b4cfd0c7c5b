"""Empty a PostgreSQL database for a run: the test session and the benchmarks share it."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import make_url


def empty_database(url: str, *, name_must_contain: str) -> None:
    """Create the database if missing and give it an empty `public` schema.

    `name_must_contain` guards against pointing a run at a database that holds real data.
    """
    target = make_url(url).set(drivername="postgresql+psycopg")
    name = target.database or ""
    if name_must_contain not in name:
        raise RuntimeError(
            f"refusing to reset database {name!r}: its name must contain {name_must_contain!r}"
        )
    admin = sa.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(
            sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
        ).first()
        if not exists:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    engine = sa.create_engine(target, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()
