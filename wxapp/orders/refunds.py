"""Refunds (退款) through WeChat Pay v3: a member's share of a paid order, or the whole rest.

How a refund goes:
1. It is recorded here first (`record_refund`, status PENDING, with the members it pays
   back), in the caller's transaction: by the paid transition for a member who paid twice
   (`orders.payment`), or by `request_refund`, the use case the operator console calls.
2. After that commit it is asked of WeChat Pay (`submit`: POST /v3/refund/domestic/refunds,
   with no database transaction open). A failed call leaves it PENDING; reconciliation
   asks again with the same out_refund_no, which WeChat Pay refunds only once.
3. WeChat Pay's answer and then its REFUND.* notification (`apply_refund`) move it on:
   PROCESSING, then SUCCESS, CLOSED or ABNORMAL, each by a conditional UPDATE from the
   states before it, so a replayed or late notification changes nothing twice.

What a successful refund does (the rule, docs/operations.md "Refunds"):
- Money is integer 分; a member's share is the order's unit price. A member's share is
  refunded at most once (a CLOSED refund frees it again; an ABNORMAL one waits for an
  operator).
- Each refunded member whose enrollment this order paid for keeps it if another paid order
  of the plan covers them (their share there not refunded): the enrollment moves to that
  order. Otherwise it becomes REFUNDED: the member can no longer learn the plan. What they
  learned is kept (chapter progress, course completions, certificates already issued); a
  later paid order makes the enrollment paid again and counts it.
- A member who paid twice never got an enrollment from the second order, so refunding that
  share changes nothing of their learning.
- The order becomes REFUND (已退款) once all of its amount is refunded; a partial refund
  leaves it SUCCESS.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

import redis
import sqlalchemy as sa

from models import (
    Enrollment,
    EnrollmentStatus,
    Order,
    OrderItem,
    OrderStatus,
    Refund,
    RefundItem,
    RefundStatus,
    db,
)
from wxapp.errors import Conflict, NotFound, ValidationError
from wxapp.infra.transaction import end_read, transaction
from wxapp.orders.anomalies import record_anomaly
from wxapp.pay.client import PayClient, PayGatewayError
from wxapp.progress.store import entitlement_key

log = logging.getLogger(__name__)

ALREADY_ENROLLED = "already_enrolled"  # a member paid twice for the same plan
SYSTEM = "system"
REASON_TEXT = {ALREADY_ENROLLED: "学员已购买该培训项目，重复支付的费用退回"}

# Refund outcomes of `apply_refund`.
UPDATED = "updated"
DUPLICATE = "duplicate"
REFUSED = "refused"
UNKNOWN = "unknown"

# A member's share is taken while one of its refunds is in these states.
_HOLDING = (
    RefundStatus.PENDING,
    RefundStatus.PROCESSING,
    RefundStatus.SUCCESS,
    RefundStatus.ABNORMAL,
)
# Which states each reported state may replace (the rest are final).
_FROM = {
    RefundStatus.PROCESSING: (RefundStatus.PENDING,),
    RefundStatus.SUCCESS: (RefundStatus.PENDING, RefundStatus.PROCESSING),
    RefundStatus.CLOSED: (RefundStatus.PENDING, RefundStatus.PROCESSING),
    RefundStatus.ABNORMAL: (RefundStatus.PENDING, RefundStatus.PROCESSING),
}


def refunded_members(order_id: int) -> set[int]:
    """Members of the order whose share a refund already holds."""
    return set(
        db.session.execute(
            db.select(RefundItem.trainee_id)
            .join(Refund, Refund.id == RefundItem.refund_id)
            .where(RefundItem.order_id == order_id, Refund.status.in_(_HOLDING))
        ).scalars()
    )


def record_refund(
    order: Order, trainee_ids: list[int], reason: str, requested_by: str, now: datetime
) -> Refund:
    """A PENDING refund of these members' shares of a paid order; adds, never commits.

    The caller holds the order's row (its paid transition's UPDATE, or FOR UPDATE)."""
    count = db.session.execute(
        db.select(sa.func.count()).select_from(Refund).where(Refund.order_id == order.id)
    ).scalar_one()
    refund = Refund(
        out_refund_no=f"{order.out_trade_no}R{count + 1:02d}",
        order_id=order.id,
        amount_fen=order.unit_price_fen * len(trainee_ids),
        reason=reason[:80],
        requested_by=requested_by[:80],
        status=RefundStatus.PENDING,
        created_at=now,
        updated_at=now,
    )
    db.session.add(refund)
    db.session.flush()
    db.session.execute(
        db.insert(RefundItem),
        [{"refund_id": refund.id, "trainee_id": t, "order_id": order.id} for t in trainee_ids],
    )
    return refund


def _after_success(refund: Refund, order: Order, now: datetime) -> list[int]:
    """The enrollment rule of a successful refund; the members who can no longer learn."""
    members = list(
        db.session.execute(
            db.select(RefundItem.trainee_id).where(RefundItem.refund_id == refund.id)
        ).scalars()
    )
    paid_here = list(
        db.session.execute(
            db.select(Enrollment)
            .where(
                Enrollment.order_id == order.id,
                Enrollment.plan_id == order.plan_id,
                Enrollment.status == EnrollmentStatus.PAID,
                Enrollment.trainee_id.in_(members),
            )
            .with_for_update()
        ).scalars()
    )
    covers: dict[int, int] = {}
    if paid_here:
        share_refunded = (
            sa.select(RefundItem.trainee_id)
            .join(Refund, Refund.id == RefundItem.refund_id)
            .where(
                RefundItem.order_id == Order.id,
                RefundItem.trainee_id == OrderItem.trainee_id,
                Refund.status.in_(_HOLDING),
            )
            .exists()
        )
        rows = db.session.execute(
            db.select(OrderItem.trainee_id, Order.id)
            .join(Order, Order.id == OrderItem.order_id)
            .where(
                Order.plan_id == order.plan_id,
                Order.status == OrderStatus.SUCCESS,
                Order.id != order.id,
                OrderItem.trainee_id.in_([e.trainee_id for e in paid_here]),
                ~share_refunded,
            )
            .order_by(Order.id)
        ).all()
        for trainee_id, other_order_id in rows:
            covers.setdefault(trainee_id, other_order_id)
    cancelled = []
    for enrollment in paid_here:
        if enrollment.trainee_id in covers:
            enrollment.order_id = covers[enrollment.trainee_id]
        else:
            enrollment.status = EnrollmentStatus.REFUNDED
            cancelled.append(enrollment.trainee_id)
    refunded = db.session.execute(
        db.select(sa.func.coalesce(sa.func.sum(Refund.amount_fen), 0)).where(
            Refund.order_id == order.id, Refund.status == RefundStatus.SUCCESS
        )
    ).scalar_one()
    if refunded >= order.amount_fen:
        order.status, order.updated_at = OrderStatus.REFUND, now
    log.info(
        "refund %s of order %s succeeded: %d fen, %d member(s), %d enrollment(s) cancelled",
        refund.out_refund_no,
        order.out_trade_no,
        refund.amount_fen,
        len(members),
        len(cancelled),
    )
    return cancelled


def _mismatch(data: dict[str, Any], refund: Refund, order: Order, mchid: str) -> str | None:
    if data.get("mchid", mchid) != mchid:
        return "refund_mchid_mismatch"
    if str(data.get("out_trade_no") or order.out_trade_no) != order.out_trade_no:
        return "refund_order_mismatch"
    amount = data.get("amount") or {}
    if not isinstance(amount, dict) or amount.get("refund") != refund.amount_fen:
        return "refund_amount_mismatch"
    return None


def apply_refund(
    data: dict[str, Any], source_id: str, mchid: str, now: datetime
) -> tuple[str, list[int]]:
    """Apply a refund's state as WeChat Pay reports it (its answer to the refund call, a
    REFUND.* notification or a query), in the caller's transaction() block.

    Returns (UPDATED | DUPLICATE | REFUSED | UNKNOWN, members who can no longer learn).
    """
    no = str(data.get("out_refund_no") or "")
    refund = db.session.execute(
        db.select(Refund).where(Refund.out_refund_no == no)
    ).scalar_one_or_none()
    if refund is None:  # e.g. refunded by hand in 商户平台: the operator should know
        record_anomaly(source_id, "unknown_refund", data, now)
        return UNKNOWN, []
    order = db.session.get(Order, refund.order_id)
    reason = _mismatch(data, refund, order, mchid)
    if reason is not None:
        record_anomaly(source_id, reason, data, now, {"out_refund_no": no})
        return REFUSED, []
    try:
        status = RefundStatus(str(data.get("refund_status") or data.get("status") or ""))
    except ValueError:
        return DUPLICATE, []
    if status not in _FROM:
        return DUPLICATE, []
    changes: dict[str, Any] = {"status": status, "updated_at": now, "last_error": None}
    if data.get("refund_id"):
        changes["refund_id"] = str(data["refund_id"])[:64]
    if status == RefundStatus.SUCCESS:
        changes["succeeded_at"] = now
    updated = db.session.execute(
        sa.update(Refund)
        .where(Refund.id == refund.id, Refund.status.in_(_FROM[status]))
        .values(**changes)
        .execution_options(synchronize_session=False)
    )
    if updated.rowcount != 1:
        return DUPLICATE, []
    db.session.refresh(refund)
    if status == RefundStatus.SUCCESS:
        db.session.refresh(order, with_for_update=True)
        return UPDATED, _after_success(refund, order, now)
    if status in (RefundStatus.CLOSED, RefundStatus.ABNORMAL):
        record_anomaly(source_id, f"refund_{status.lower()}", data, now, {"out_refund_no": no})
    return UPDATED, []


def forget_entitlements(r: redis.Redis | None, trainee_ids: list[int]) -> None:
    """Drop the cached entitlements of members who can no longer learn (the beacon re-reads)."""
    if r is not None and trainee_ids:
        r.delete(*[entitlement_key(t) for t in trainee_ids])


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
        "reason": REASON_TEXT.get(refund.reason, refund.reason)[:80],
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
    query = db.select(Refund.id).where(Refund.status == RefundStatus.PENDING)
    if order_id is not None:
        query = query.where(Refund.order_id == order_id)
    else:
        query = query.where(Refund.created_at <= now - older_than)
    ids = list(db.session.execute(query.order_by(Refund.id).limit(limit)).scalars())
    submitted = 0
    for refund_id in ids:
        if submit(client, refund_id, now, r) != RefundStatus.PENDING:
            submitted += 1
    return submitted


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


def request_refund(
    client: PayClient,
    out_trade_no: str,
    reason: str,
    requested_by: str,
    now: datetime,
    trainee_id: int | None = None,
    r: redis.Redis | None = None,
) -> dict[str, Any]:
    """退款 (for the operator console): one member's share (`trainee_id`) or every share of a
    paid order not refunded yet. Recorded, then asked of WeChat Pay; the enrollment rule
    applies when WeChat Pay reports SUCCESS."""
    reason = reason.strip()
    if not reason:
        raise ValidationError("reason", "请填写退款原因")
    with transaction():
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
        refund_id = record_refund(order, targets, reason, requested_by, now).id
    submit(client, refund_id, now, r)
    return refund_view(db.session.get(Refund, refund_id))
