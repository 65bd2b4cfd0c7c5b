"""The outbox: events written in the same transaction as what caused them, sent later."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from models.base import JSONType, db, utcnow


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"  # waiting to be sent (or retried)
    SENT = "sent"  # accepted by WeChat (its delivery report may still send it back)
    GIVEN_UP = "given_up"  # permanently refused, or out of attempts
    SKIPPED = "skipped"  # no bound, following openid, or no template for the event


class Outbox(db.Model):
    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    # payment_succeeded, chapter_learned, course_learned, plan_completed, certificate_issued
    event_type: Mapped[str] = mapped_column(sa.String(40))
    trainee_id: Mapped[int] = mapped_column(sa.ForeignKey("trainees.id"), index=True)
    # What the event is about, e.g. "course:12" or "order:2025..."; unique per type and trainee.
    subject: Mapped[str] = mapped_column(sa.String(100))
    payload: Mapped[dict] = mapped_column(JSONType, default=dict)
    # pending -> sent | given_up | skipped (no bound, following openid)
    status: Mapped[str] = mapped_column(sa.String(16), default=OutboxStatus.PENDING, index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    claimed_until: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    # WeChat's msgid of the latest send it accepted: its TEMPLATESENDJOBFINISH report names it.
    wechat_msgid: Mapped[int | None] = mapped_column(sa.BigInteger, index=True)
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        sa.UniqueConstraint("event_type", "trainee_id", "subject", name="uq_outbox_event"),
    )
