"""Refunds (退款) through WeChat Pay v3: a member's share of a paid order, or the whole rest.

How a refund goes:
1. It is recorded here first (`record_refund`, status PENDING, with the members it pays
   back), in the caller's transaction: by the paid transition for a member who paid twice
   (`orders.payment`), or by `refund_requests.request_refund`, the use case the operator
   console calls.
2. After that commit it is asked of WeChat Pay (`refund_gateway.submit`: POST /v3/refund/domestic/refunds,
   with no database transaction open). A failed call leaves it PENDING; reconciliation
   asks again with the same out_refund_no, which WeChat Pay refunds only once.
3. WeChat Pay's answer and then its REFUND.* notification (`apply_refund`) move it on:
   PROCESSING, then SUCCESS, CLOSED or ABNORMAL, each by a conditional UPDATE from the
   states before it, so a replayed or late notification changes nothing twice.

What a successful refund does (`refund_rule.after_success`; docs/operations.md "Refunds"):
- Money is integer 分; a member's share is the order's unit price. A member's share is
  refunded at most once (a CLOSED refund frees it again; an ABNORMAL one keeps it while an
  operator mends it in 商户平台, after which WeChat Pay reports it SUCCESS or CLOSED).
- Each refunded member whose enrollment this order paid for keeps it if another paid order
  of the plan covers them (their share there not refunded): the enrollment moves to that
  order. Otherwise it becomes REFUNDED: the member can no longer learn the plan, and their
  certificate of the plan, if issued, is revoked in the same transaction
  (`certificates.revocation`): its verification page says 该证书已撤销 (培训费已退款) and they
  can no longer view or print it. What they learned is kept (chapter progress, course
  completions); a later paid order makes the enrollment paid again and counts it, and
  issuing the certificate then (申请证书) clears the revocation, same serial and code.
- A member who paid twice never got an enrollment from the second order, so refunding that
  share changes nothing of their learning.
- The order becomes REFUND (已退款) once all of its amount is refunded; a partial refund
  leaves it SUCCESS.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import redis
import sqlalchemy as sa

from models import Order, Refund, RefundItem, RefundStatus, db
from wxapp.infra.clock import reported_time
from wxapp.orders.anomalies import record_anomaly
from wxapp.orders.refund_rule import HOLDING, after_success
from wxapp.progress.store import drop_entitlements_of

SYSTEM = "system"


# Refund outcomes of `apply_refund`.
UPDATED = "updated"
DUPLICATE = "duplicate"
REFUSED = "refused"
UNKNOWN = "unknown"

# Which states each reported state may replace (the rest are final).
# ABNORMAL is not final: once 财务 has mended it in 商户平台 (a frozen card, say) WeChat
# Pay refunds it after all and reports PROCESSING, then SUCCESS (or CLOSED).
_FROM = {
    RefundStatus.PROCESSING: (RefundStatus.PENDING, RefundStatus.ABNORMAL),
    RefundStatus.SUCCESS: (RefundStatus.PENDING, RefundStatus.PROCESSING, RefundStatus.ABNORMAL),
    RefundStatus.CLOSED: (RefundStatus.PENDING, RefundStatus.PROCESSING, RefundStatus.ABNORMAL),
    RefundStatus.ABNORMAL: (RefundStatus.PENDING, RefundStatus.PROCESSING),
}


def refunded_members(order_id: int) -> set[int]:
    """Members of the order whose share a refund already holds."""
    return set(
        db.session.execute(
            db.select(RefundItem.trainee_id)
            .join(Refund, Refund.id == RefundItem.refund_id)
            .where(RefundItem.order_id == order_id, Refund.status.in_(HOLDING))
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


def _mismatch(data: dict[str, Any], refund: Refund, order: Order, mchid: str) -> str | None:
    # The refund API's and the query's answers carry no mchid (the notification does); every
    # one of them names the order, which must be the refund's.
    if data.get("mchid", mchid) != mchid:
        return "refund_mchid_mismatch"
    if str(data.get("out_trade_no") or "") != order.out_trade_no:
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
        # WeChat Pay's time, not when we learned it: the day's bill counts the refund on it.
        changes["succeeded_at"] = reported_time(data.get("success_time"), now)
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
        return UPDATED, after_success(refund, order, now)
    if status in (RefundStatus.CLOSED, RefundStatus.ABNORMAL):
        record_anomaly(source_id, f"refund_{status.lower()}", data, now, {"out_refund_no": no})
    return UPDATED, []


def forget_entitlements(r: redis.Redis | None, trainee_ids: list[int]) -> None:
    """Drop the cached entitlements of members who can no longer learn (the beacon re-reads).
    A beacon that read the paid plans before this refund committed cannot write them back
    for the cache's hour (store.drop_entitlements); the members' other plans are read and
    cached afresh at once."""
    if r is not None:
        drop_entitlements_of(r, trainee_ids)
