"""退款 requested by an operator (the console's use case): one member's share or every
share of a paid order not refunded yet, recorded and then asked of WeChat Pay."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import redis

from models import Order, OrderItem, OrderStatus, Refund, RefundItem, db
from wxapp.errors import Conflict, NotFound, ValidationError
from wxapp.infra.transaction import transaction
from wxapp.orders.refund_gateway import submit
from wxapp.orders.refunds import record_refund, refunded_members
from wxapp.pay.client import PayClient


def refund_view(refund: Refund) -> dict[str, Any]:
    members = db.session.execute(
        db.select(RefundItem.trainee_id).where(RefundItem.refund_id == refund.id)
    ).scalars()
    return {
        "out_refund_no": refund.out_refund_no,
        "out_trade_no": db.session.get(Order, refund.order_id).out_trade_no,
        "amount": refund.amount_fen,
        "status": refund.status,
        "reason": refund.reason,
        "requested_by": refund.requested_by,
        "trainee_ids": sorted(members),
        "refund_id": refund.refund_id,
        "last_error": refund.last_error,
        "created_at": refund.created_at.isoformat(),
        "succeeded_at": refund.succeeded_at.isoformat() if refund.succeeded_at else None,
    }


def record_requested_refund(
    out_trade_no: str,
    reason: str,
    requested_by: str,
    now: datetime,
    trainee_id: int | None = None,
) -> Refund:
    """Record the PENDING refund of one member's share (`trainee_id`) or of every share not
    refunded yet, in the caller's transaction (the console adds its audit row there); the
    caller asks WeChat Pay once it has committed (`refund_gateway.submit`)."""
    reason = reason.strip()
    if not reason:
        raise ValidationError("reason", "请填写退款原因")
    order = db.session.execute(
        db.select(Order).where(Order.out_trade_no == out_trade_no).with_for_update()
    ).scalar_one_or_none()
    if order is None:
        raise NotFound("订单不存在", code="order_not_found")
    if order.status == OrderStatus.REFUND:
        raise Conflict("该订单已全额退款", code="order_refunded")
    if order.status != OrderStatus.SUCCESS:
        raise Conflict("只有已支付的订单可以退款", code="order_not_paid")
    members = set(
        db.session.execute(
            db.select(OrderItem.trainee_id).where(OrderItem.order_id == order.id)
        ).scalars()
    )
    taken = refunded_members(order.id)
    if trainee_id is not None:
        if trainee_id not in members:
            raise ValidationError("trainee_id", "该学员不在本订单中")
        if trainee_id in taken:
            raise Conflict("该学员的费用已退款或正在退款", code="already_refunded")
        targets = [trainee_id]
    else:
        targets = sorted(members - taken)
        if not targets:
            raise Conflict("本订单的费用已全部退款或正在退款", code="already_refunded")
    return record_refund(order, targets, reason, requested_by, now)


def request_refund(
    client: PayClient,
    out_trade_no: str,
    reason: str,
    requested_by: str,
    now: datetime,
    trainee_id: int | None = None,
    r: redis.Redis | None = None,
) -> dict[str, Any]:
    """退款: one member's share (`trainee_id`) or every share of a paid order not refunded
    yet. Recorded, then asked of WeChat Pay; the enrollment rule applies when WeChat Pay
    reports SUCCESS."""
    with transaction():
        refund_id = record_requested_refund(out_trade_no, reason, requested_by, now, trainee_id).id
    submit(client, refund_id, now, r)
    return refund_view(db.session.get(Refund, refund_id))
