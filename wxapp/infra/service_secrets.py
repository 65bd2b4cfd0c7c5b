"""Keys the service makes for itself, once, and keeps in the database (`ServiceSecret`).

For what must answer the same for ever, whatever the operators do with SECRET_KEY: a
rotation of a key that such an answer hangs on would change it for everyone it is made up
for, and for nobody else. Each one's migration makes it; a request only reads it, then
keeps it in the app's memory.
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from flask import current_app

from models import ServiceSecret, db, utcnow
from wxapp.infra.dbutil import insert_ignore
from wxapp.infra.transaction import transaction

_CACHE = "service_secrets"  # app.extensions: name -> value


def service_secret(name: str) -> str:
    """The service's own random key called `name` (64 hex digits). Its migration makes it,
    so this only reads it (a database that takes no writes still answers); made here if
    there is none (a database built without the migrations)."""
    cache: dict[str, str] = current_app.extensions.setdefault(_CACHE, {})
    value = cache.get(name)
    if value is None:
        value = _read(name)
    if value is None:
        with transaction():
            db.session.execute(
                insert_ignore(
                    ServiceSecret.__table__,
                    {"name": name, "value": secrets.token_hex(32), "created_at": utcnow()},
                    ["name"],
                )
            )
            value = _read(name)
        assert value is not None  # inserted, or by a concurrent caller: committed either way
    cache[name] = value
    return value


def _read(name: str) -> str | None:
    return db.session.execute(
        sa.select(ServiceSecret.value).where(ServiceSecret.name == name)
    ).scalar_one_or_none()
