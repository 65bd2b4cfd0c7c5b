"""Finding the caller's own order: the one rule every order and invoice route shares."""

from __future__ import annotations

from models import Order, db
from wxapp.errors import NotFound


def get_own_order(trainee_id: int, out_trade_no: str) -> Order:
    """The trainee's own order; another's is reported as missing (404), not forbidden."""
    order = db.session.execute(
        db.select(Order).where(Order.out_trade_no == out_trade_no)
    ).scalar_one_or_none()
    if order is None or order.payer_id != trainee_id:
        raise NotFound("订单不存在", code="order_not_found")
    return order
