"""The paid transition: a transaction WeChat Pay reports as SUCCESS becomes a paid order.

The same function serves the notification and reconciliation. It checks the transaction
against the order (mchid, appid, amount), then marks the order paid, grants every covered
trainee a paid enrollment and writes the payment_succeeded outbox event, all inside its
caller's `transaction()` block (`orders.settlement`), which commits them as ONE database
transaction; it never commits itself. A conditional UPDATE (`WHERE status IN ('NOTPAY',
'CLOSED')`) makes it idempotent: concurrent duplicates wait on the row lock and then update
nothing.

A member who already held a paid enrollment in the plan (they bought it alone, or another
payer's group order was paid first) paid twice: they get nothing from this order, a
`member_already_enrolled` anomaly is recorded, and a refund of their share is recorded in
the same transaction, to be asked of WeChat Pay once it commits (`orders.refunds`).
"""

from __future__ import annotations

import logging
from datetime import datetime
from functools import cache
from typing import Any

import sqlalchemy as sa

from models import Order, OrderItem, OrderStatus, TrainingPlan, db
from wxapp.events import PaymentSucceeded
from wxapp.infra.clock import reported_time
from wxapp.infra.dbutil import execute
from wxapp.infra.transaction import TransactionMisuse, in_transaction
from wxapp.orders.anomalies import record_anomaly
from wxapp.orders.enrollments import enroll_paid
from wxapp.orders.refund_rule import ALREADY_ENROLLED
from wxapp.orders.refunds import SYSTEM, record_refund
from wxapp.outbox import add_event

__all__ = ["DUPLICATE", "IGNORED", "PAID", "REFUSED", "apply_transaction", "record_anomaly"]

log = logging.getLogger(__name__)

PAID = "paid"
DUPLICATE = "duplicate"
REFUSED = "refused"
IGNORED = "ignored"


def mismatch(tx: dict[str, Any], order: Order | sa.Row, mchid: str, appid: str) -> str | None:
    """Why this SUCCESS transaction cannot pay this order (its `amount_fen`), or None. Pure."""
    if tx.get("mchid") != mchid:
        return "mchid_mismatch"
    if tx.get("appid") != appid:
        return "appid_mismatch"
    amount = tx.get("amount") or {}
    if not isinstance(amount, dict) or amount.get("total") != order.amount_fen:
        return "amount_mismatch"
    if amount.get("currency", "CNY") != "CNY":
        return "currency_mismatch"
    if not tx.get("transaction_id"):
        return "missing_transaction_id"
    return None


def apply_transaction(
    tx: dict[str, Any], source_id: str, mchid: str, appid: str, now: datetime
) -> str:
    """Apply one transaction as WeChat Pay reports it, in the caller's transaction() block.

    Returns what happened: PAID (order, enrollments and event written), REFUSED (only the
    anomaly written), DUPLICATE or IGNORED (nothing written).
    """
    if not in_transaction():  # outside a block the payment would never be committed
        raise TransactionMisuse("apply_transaction() outside a transaction() block")
    if tx.get("trade_state") != "SUCCESS":
        return IGNORED
    # The order's columns and its plan's title in one read, the statements built once: a
    # notification was about 10 % of the web CPU of the year-end rush, most of it spent
    # building statements and loading ORM objects rather than in PostgreSQL.
    order = execute(_order_statement(), {"no": str(tx.get("out_trade_no") or "")}).first()
    reason = "unknown_order" if order is None else mismatch(tx, order, mchid, appid)
    if reason is not None or order is None:
        record_anomaly(source_id, reason or "unknown_order", tx, now)
        return REFUSED
    was_closed = order.status == OrderStatus.CLOSED
    updated = execute(
        _pay_statement(),
        {
            "order_id": order.id,
            "tx_id": tx["transaction_id"],
            "paid_at": reported_time(tx.get("success_time"), now),
            "now": now,
        },
    )
    if updated.rowcount != 1:
        return DUPLICATE  # nothing was written
    trainee_ids = list(execute(_members_statement(), {"order_id": order.id}).scalars())
    # Decided by the insert itself, not a read before it: a concurrent payment of another
    # order for the same member waits on the unique (trainee, plan) row and is seen here.
    entitled = set(enroll_paid(trainee_ids, order.plan_id, now, order_id=order.id))
    twice = sorted(set(trainee_ids) - entitled)
    if twice:
        refund = record_refund(
            db.session.get(Order, order.id), twice, ALREADY_ENROLLED, SYSTEM, now
        )
        record_anomaly(
            source_id,
            "member_already_enrolled",
            tx,
            now,
            {"trainee_ids": twice, "out_refund_no": refund.out_refund_no},
        )
    add_event(
        PaymentSucceeded(
            out_trade_no=order.out_trade_no,
            kind=order.kind,
            plan_id=order.plan_id,
            plan_title=order.plan_title,
            description=order.description,
            amount_fen=order.amount_fen,
            quantity=order.quantity,
            already_enrolled=len(twice),
        ),
        order.payer_id,
        now,
    )
    if was_closed:
        # Paid although we had closed it: honoured (the trainee paid), flagged for a refund check.
        record_anomaly(source_id, "paid_after_close", tx, now)
    log.info(
        "order %s paid (%s), %d enrollment(s) granted, %d already enrolled",
        order.out_trade_no,
        tx["transaction_id"],
        len(entitled),
        len(twice),
    )
    return PAID


@cache
def _order_statement() -> sa.Select:
    return (
        sa.select(
            Order.id,
            Order.out_trade_no,
            Order.kind,
            Order.payer_id,
            Order.plan_id,
            Order.quantity,
            Order.amount_fen,
            Order.description,
            Order.status,
            TrainingPlan.title.label("plan_title"),
        )
        .join(TrainingPlan, TrainingPlan.id == Order.plan_id)
        .where(Order.out_trade_no == sa.bindparam("no"))
    )


@cache
def _pay_statement() -> sa.Update:
    # The conditional UPDATE that makes the transition idempotent (module docstring).
    orders = Order.__table__
    return (
        sa.update(orders)
        .where(
            orders.c.id == sa.bindparam("order_id"),
            orders.c.status.in_((OrderStatus.NOTPAY, OrderStatus.CLOSED)),
        )
        .values(
            status=OrderStatus.SUCCESS,
            transaction_id=sa.bindparam("tx_id"),
            success_time=sa.bindparam("paid_at"),
            updated_at=sa.bindparam("now"),
        )
    )


@cache
def _members_statement() -> sa.Select:
    return sa.select(OrderItem.trainee_id).where(OrderItem.order_id == sa.bindparam("order_id"))
