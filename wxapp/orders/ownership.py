"""Finding the caller's own order: the one rule every order and invoice route shares."""

from __future__ import annotations

from functools import cache

import sqlalchemy as sa

from models import Order, db
from wxapp.errors import NotFound


def get_own_order(trainee_id: int, out_trade_no: str) -> Order:
    """The trainee's own order; another's is reported as missing (404), not forbidden."""
    order = db.session.execute(_order_statement(), {"no": out_trade_no}).scalar_one_or_none()
    require_owner(order.payer_id if order is not None else None, trainee_id)
    return order


def require_owner(payer_id: int | None, trainee_id: int) -> None:
    """404 unless the order (its payer, None when there is no such order) is the trainee's."""
    if payer_id != trainee_id:
        raise order_not_found()


def order_not_found() -> NotFound:
    return NotFound("订单不存在", code="order_not_found")


@cache
def _order_statement() -> sa.Select:
    # Built once: every step of a purchase looks its order up (docs/performance.md).
    return sa.select(Order).where(Order.out_trade_no == sa.bindparam("no"))
