"""Orders (订单), the trainees an order pays for, invoices (电子发票) and refused pay notifications."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from models.base import JSONType, db, utcnow


class OrderStatus(enum.StrEnum):
    """An order's state, in WeChat Pay's own words (trade_state)."""

    NOTPAY = "NOTPAY"  # 未支付
    SUCCESS = "SUCCESS"  # 支付成功
    CLOSED = "CLOSED"  # 已关闭
    REFUND = "REFUND"  # 已退款


class OrderKind(enum.StrEnum):
    INDIVIDUAL = "individual"  # 个人购买
    GROUP = "group"  # 团体购买


class InvoiceStatus(enum.StrEnum):
    REQUESTED = "requested"  # waiting for payment or for the issuer
    ISSUED = "issued"
    REFUSED = "refused"  # refused by finance, with a reason the trainee sees (可重新申请)


def _one_of(column: str, values: type[enum.StrEnum]) -> str:
    return f"{column} in ({', '.join(repr(v.value) for v in values)})"


class Order(db.Model):
    """One WeChat Pay order: a trainee buying a plan for themselves or, as a group, for others."""

    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    out_trade_no: Mapped[str] = mapped_column(sa.String(32), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(16))  # OrderKind
    payer_id: Mapped[int] = mapped_column(sa.ForeignKey("trainees.id"), index=True)
    plan_id: Mapped[int] = mapped_column(sa.ForeignKey("training_plans.id"), index=True)
    quantity: Mapped[int]
    unit_price_fen: Mapped[int]
    amount_fen: Mapped[int]
    description: Mapped[str] = mapped_column(sa.String(127))
    status: Mapped[str] = mapped_column(sa.String(16), default=OrderStatus.NOTPAY)
    trade_type: Mapped[str | None] = mapped_column(sa.String(16))  # JSAPI | NATIVE, last used
    prepay_id: Mapped[str | None] = mapped_column(sa.String(64))
    code_url: Mapped[str | None] = mapped_column(sa.String(256))
    expires_at: Mapped[datetime]
    transaction_id: Mapped[str | None] = mapped_column(sa.String(32), unique=True)
    success_time: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (
        sa.CheckConstraint(_one_of("kind", OrderKind), name="kind"),
        sa.CheckConstraint(_one_of("status", OrderStatus), name="status"),
        sa.CheckConstraint("amount_fen > 0", name="amount_positive"),
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
        # Reconciliation scans the unpaid orders oldest first.
        sa.Index("ix_orders_status_created_at", "status", "created_at"),
    )


class OrderItem(db.Model):
    """A trainee an order pays for: the payer alone for 个人购买, each accepted line for 团体购买."""

    __tablename__ = "order_items"

    order_id: Mapped[int] = mapped_column(
        sa.ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True
    )
    trainee_id: Mapped[int] = mapped_column(
        sa.ForeignKey("trainees.id"), primary_key=True, index=True
    )


class Invoice(db.Model):
    """An electronic invoice request on an order, issued once the order is paid."""

    __tablename__ = "invoices"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("orders.id"), unique=True)
    trainee_id: Mapped[int] = mapped_column(sa.ForeignKey("trainees.id"), index=True)
    title_type: Mapped[str] = mapped_column(sa.String(8))  # 个人 | 单位
    title: Mapped[str] = mapped_column(sa.String(100))
    tax_number: Mapped[str | None] = mapped_column(sa.String(18))
    email: Mapped[str] = mapped_column(sa.String(254))
    amount_fen: Mapped[int]
    # requested (waiting for payment or the issuer) -> issued
    status: Mapped[str] = mapped_column(sa.String(16), default=InvoiceStatus.REQUESTED)
    number: Mapped[str | None] = mapped_column(sa.String(32))
    issued_at: Mapped[datetime | None]
    modified_count: Mapped[int] = mapped_column(default=0)
    # Why finance refused the request (shown in 我的订单); cleared when the trainee re-applies.
    refusal_reason: Mapped[str | None] = mapped_column(sa.String(200))
    pdf: Mapped[bytes | None] = mapped_column(sa.LargeBinary, deferred=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (
        sa.CheckConstraint("title_type in ('个人', '单位')", name="title_type"),
        sa.CheckConstraint(_one_of("status", InvoiceStatus), name="status"),
    )


class PaymentAnomaly(db.Model):
    """A pay notification or query result that was authentic but refused, kept for an operator."""

    __tablename__ = "payment_anomalies"

    id: Mapped[int] = mapped_column(primary_key=True)
    # WeChat's notification id, or "query:<out_trade_no>" when found by reconciliation.
    source_id: Mapped[str] = mapped_column(sa.String(80))
    reason: Mapped[str] = mapped_column(sa.String(40))
    out_trade_no: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    transaction_id: Mapped[str | None] = mapped_column(sa.String(64))
    detail: Mapped[dict] = mapped_column(JSONType, default=dict)
    resolved_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        # The same notification retried by WeChat is kept once.
        sa.UniqueConstraint("source_id", "reason", name="uq_payment_anomalies_source_reason"),
    )
