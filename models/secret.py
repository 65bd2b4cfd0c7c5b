"""Secrets the service makes for itself and keeps for ever (never rotated with SECRET_KEY)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from models.base import db, utcnow


class ServiceSecret(db.Model):
    """A random key made once on first use (wxapp/infra/service_secrets.py), for what must
    give the same answer for ever: 忘记密码's made-up phone of an unknown ID number."""

    __tablename__ = "service_secrets"

    name: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    value: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
