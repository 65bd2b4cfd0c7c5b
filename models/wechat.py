"""The binding of a WeChat user (openid of this official account) to a trainee."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from models.base import db, utcnow


class WechatBinding(db.Model):
    """At most one openid per trainee and one trainee per openid."""

    __tablename__ = "wechat_bindings"

    id: Mapped[int] = mapped_column(primary_key=True)
    openid: Mapped[str] = mapped_column(sa.String(64), unique=True)
    trainee_id: Mapped[int] = mapped_column(sa.ForeignKey("trainees.id"), unique=True)
    # False after `unsubscribe`: notifications stop until the user follows again.
    following: Mapped[bool] = mapped_column(default=True)
    # WeChat's time (CreateTime) of the subscribe or unsubscribe that set `following`: one
    # older than it, delivered late, changes nothing. None until the first event.
    following_at: Mapped[datetime | None]
    bound_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
