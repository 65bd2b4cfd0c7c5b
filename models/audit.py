"""Audit records for the operator console: every 团体购买 paste, who sent it and what it revealed."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from models.base import db, utcnow


class GroupPasteAudit(db.Model):
    """One paste of ID numbers to POST /api/group-orders, answered or refused by the cap."""

    __tablename__ = "group_paste_audits"

    id: Mapped[int] = mapped_column(primary_key=True)
    payer_id: Mapped[int] = mapped_column(sa.ForeignKey("trainees.id"))
    plan_id: Mapped[int] = mapped_column(sa.ForeignKey("training_plans.id"))
    lines: Mapped[int]  # non-blank lines pasted
    checked: Mapped[int]  # well-formed distinct ID numbers looked up (what a stranger learns about)
    accepted: Mapped[int]
    rejected: Mapped[int]
    # "checked" (answered line by line) or "capped" (refused: the daily cap was reached).
    outcome: Mapped[str] = mapped_column(sa.String(16))
    out_trade_no: Mapped[str | None] = mapped_column(sa.String(32))
    client_ip: Mapped[str] = mapped_column(sa.String(45))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    __table_args__ = (
        sa.CheckConstraint("outcome in ('checked', 'capped')", name="outcome"),
        sa.Index("ix_group_paste_audits_payer_id_created_at", "payer_id", "created_at"),
    )
