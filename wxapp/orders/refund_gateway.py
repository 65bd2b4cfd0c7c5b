"""Refunds asked of WeChat Pay: a recorded refund submitted once committed, the PENDING
ones submitted again and the PROCESSING ones queried by reconciliation. No database
transaction is held across a call to WeChat Pay."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from functools import cache

import redis
import sqlalchemy as sa

from models import Order, Refund, RefundStatus, db
from wxapp.infra.dbutil import execute
from wxapp.infra.transaction import end_read, transaction
from wxapp.orders.refund_rule import wechat_reason
from wxapp.orders.refunds import UPDATED, apply_refund, forget_entitlements
from wxapp.pay.client import PayClient, PayGatewayError

log = logging.getLogger(__name__)


def submit(client: PayClient, refund_id: int, now: datetime, r: redis.Redis | None = None) -> str:
    """Ask WeChat Pay for a recorded refund (once it is committed); its status afterwards.

    No transaction is held across the call. A failure is kept in `last_error` and the refund
    stays PENDING for reconciliation to ask again."""
    refund = db.session.get(Refund, refund_id)
    if refund is None or refund.status != RefundStatus.PENDING:
        return refund.status if refund else "missing"
    order = db.session.get(Order, refund.order_id)
    fields = {
        "out_refund_no": refund.out_refund_no,
        "out_trade_no": order.out_trade_no,
        "reason": wechat_reason(refund.reason),
        "amount": {"refund": refund.amount_fen, "total": order.amount_fen, "currency": "CNY"},
    }
    end_read()
    try:
        _, data = client.call("refund", **fields)
    except PayGatewayError as err:
        log.warning("refund %s not accepted by WeChat Pay: %s", fields["out_refund_no"], err)
        with transaction():
            db.session.execute(
                sa.update(Refund)
                .where(Refund.id == refund_id, Refund.status == RefundStatus.PENDING)
                .values(last_error=f"{err.code or err.status or ''} {err}"[:200], updated_at=now)
                .execution_options(synchronize_session=False)
            )
        return RefundStatus.PENDING
    with transaction():
        _, cancelled = apply_refund(
            {**data, "out_refund_no": fields["out_refund_no"]},
            f"refund:{fields['out_refund_no']}",
            client.mchid,
            now,
        )
    forget_entitlements(r, cancelled)
    return db.session.get(Refund, refund_id).status


def submit_pending(
    client: PayClient,
    now: datetime,
    order_id: int | None = None,
    older_than: timedelta = timedelta(0),
    r: redis.Redis | None = None,
    limit: int = 500,
) -> int:
    """Ask WeChat Pay for the PENDING refunds (of one order, or all older than `older_than`)."""
    if order_id is not None:  # after each payment notification: built once
        ids = list(execute(_pending_of_order(), {"order": order_id, "limit": limit}).scalars())
    else:
        query = db.select(Refund.id).where(
            Refund.status == RefundStatus.PENDING, Refund.created_at <= now - older_than
        )
        ids = list(db.session.execute(query.order_by(Refund.id).limit(limit)).scalars())
    submitted = 0
    for refund_id in ids:
        if submit(client, refund_id, now, r) != RefundStatus.PENDING:
            submitted += 1
    return submitted


@cache
def _pending_of_order() -> sa.Select:
    return (
        sa.select(Refund.id)
        .where(Refund.status == RefundStatus.PENDING, Refund.order_id == sa.bindparam("order"))
        .order_by(Refund.id)
        .limit(sa.bindparam("limit"))
    )


def query_processing(
    client: PayClient,
    now: datetime,
    older_than: timedelta = timedelta(minutes=5),
    r: redis.Redis | None = None,
    limit: int = 500,
) -> int:
    """Ask WeChat Pay about refunds still PROCESSING (a lost REFUND.* notification)."""
    rows = list(
        db.session.execute(
            db.select(Refund.id, Refund.out_refund_no)
            .where(
                Refund.status == RefundStatus.PROCESSING,
                Refund.updated_at <= now - older_than,
            )
            .order_by(Refund.id)
            .limit(limit)
        ).all()
    )
    end_read()
    changed = 0
    for _, no in rows:
        try:
            _, data = client.call("query_refund", out_refund_no=no)
        except PayGatewayError as err:
            log.warning("refund %s could not be queried: %s", no, err)
            continue
        with transaction():
            result, cancelled = apply_refund(
                {**data, "out_refund_no": no}, f"query-refund:{no}", client.mchid, now
            )
        forget_entitlements(r, cancelled)
        changed += result == UPDATED
    return changed
