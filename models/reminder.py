"""Reminders a unit administrator sent its staff (一键提醒): at most one a week per trainee."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from models.base import db, utcnow


class UnitReminder(db.Model):
    """One reminder to one trainee, sent (through the outbox) by a unit's administrator."""

    __tablename__ = "unit_reminders"

    id: Mapped[int] = mapped_column(primary_key=True)
    trainee_id: Mapped[int] = mapped_column(sa.ForeignKey("trainees.id"))
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"), index=True)
    sent_by: Mapped[int] = mapped_column(sa.ForeignKey("trainees.id"))
    year: Mapped[int]
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        # "Reminded within the last week?" is one index range scan per trainee.
        sa.Index("ix_unit_reminders_trainee_sent", "trainee_id", "sent_at"),
    )
