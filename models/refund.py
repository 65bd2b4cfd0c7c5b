"""Refunds (退款) of paid orders through WeChat Pay, and the trainees each one pays back."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from models.base import db, utcnow


class RefundStatus(enum.StrEnum):
    """A refund's state: ours before WeChat Pay accepts it, then WeChat Pay's own words."""

    PENDING = "PENDING"  # recorded here, not yet accepted by WeChat Pay (retried)
    PROCESSING = "PROCESSING"  # 退款处理中
    SUCCESS = "SUCCESS"  # 退款成功
    CLOSED = "CLOSED"  # 退款关闭
    ABNORMAL = "ABNORMAL"  # 退款异常: an operator must act in 商户平台


class Refund(db.Model):
    """One WeChat Pay refund of (part of) a paid order: a member's share or the whole rest."""

    __tablename__ = "refunds"

    id: Mapped[int] = mapped_column(primary_key=True)
    out_refund_no: Mapped[str] = mapped_column(sa.String(64), unique=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("orders.id"), index=True)
    amount_fen: Mapped[int]
    # Why: "already_enrolled" (a member paid twice) or an operator's words.
    reason: Mapped[str] = mapped_column(sa.String(80))
    # Who asked: "system" for the automatic refund of a double payment, else the operator.
    requested_by: Mapped[str] = mapped_column(sa.String(80))
    status: Mapped[str] = mapped_column(sa.String(16), default=RefundStatus.PENDING)
    refund_id: Mapped[str | None] = mapped_column(sa.String(64))  # WeChat Pay's
    last_error: Mapped[str | None] = mapped_column(sa.String(200))
    succeeded_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (
        sa.CheckConstraint(
            "status in ('PENDING', 'PROCESSING', 'SUCCESS', 'CLOSED', 'ABNORMAL')", name="status"
        ),
        sa.CheckConstraint("amount_fen > 0", name="amount_positive"),
        # Refunds still waiting for WeChat Pay are retried by reconciliation.
        sa.Index("ix_refunds_status_created_at", "status", "created_at"),
    )


class RefundItem(db.Model):
    """A trainee whose share of the order a refund pays back."""

    __tablename__ = "refund_items"

    refund_id: Mapped[int] = mapped_column(
        sa.ForeignKey("refunds.id", ondelete="CASCADE"), primary_key=True
    )
    trainee_id: Mapped[int] = mapped_column(sa.ForeignKey("trainees.id"), primary_key=True)
    # The order again, so "is this member's share already refunded" is one indexed lookup.
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("orders.id"))

    __table_args__ = (sa.Index("ix_refund_items_order_id_trainee_id", "order_id", "trainee_id"),)
