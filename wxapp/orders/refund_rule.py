"""What a successful refund does to enrollments and to the order (the rule in
wxapp/orders/refunds.py's docstring and docs/operations.md "Refunds"), what an
order's refunds add up to (我的订单 shows it; an invoice is for the rest), and why they were
made, as the payer may read it."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from models import (
    Enrollment,
    EnrollmentStatus,
    Invoice,
    InvoiceStatus,
    Order,
    OrderItem,
    OrderKind,
    OrderStatus,
    Refund,
    RefundItem,
    RefundStatus,
    db,
)
from wxapp.certificates.revocation import revoke_for_refund
from wxapp.orders.anomalies import record_anomaly

log = logging.getLogger(__name__)

# A member's share is taken while one of its refunds is in these states.
HOLDING = (
    RefundStatus.PENDING,
    RefundStatus.PROCESSING,
    RefundStatus.SUCCESS,
    RefundStatus.ABNORMAL,
)


# Why a refund was made. `Refund.reason` holds ALREADY_ENROLLED for the automatic refund of
# a member who paid twice, or else the words an operator typed in the console: those are
# internal (a phone call, a name) and never leave it. What anyone outside reads is the
# reason's code, OPERATOR for any operator's refund, in the fixed words below.
ALREADY_ENROLLED = "already_enrolled"  # a member paid twice for the same plan
OPERATOR = "operator"


@dataclass(frozen=True)
class ReasonWords:
    """One refund reason, worded for each who reads it."""

    individual: str  # 我的订单: the payer of an order for themself
    group: str  # 团购订单: the payer of a group order, for the order
    member_refunded: str  # 团购订单: beside a member's share, paid back
    member_refunding: str  # … on its way back
    wechat: str  # sent to WeChat Pay, which may show it in its refund message
    console: str  # the operators' console (an operator's refund shows its note there)


REASON_WORDS = {
    ALREADY_ENROLLED: ReasonWords(
        individual="您已购买该项目（如所在单位已为您团体购买），本次重复支付的费用原路退回",
        group="有学员已购买该项目，其重复支付的费用原路退回",
        member_refunded="已购买该项目，已自动退款",
        member_refunding="已购买该项目，正在自动退款",
        wechat="学员已购买该培训项目，重复支付的费用退回",
        console="学员重复购买，自动退款",
    ),
    OPERATOR: ReasonWords(
        individual="平台客服已为您办理退款，费用原路退回",
        group="平台客服已办理退款，费用原路退回",
        member_refunded="客服已办理退款",
        member_refunding="客服办理退款中",
        wechat="平台客服办理的退款，费用原路退回",
        console="客服办理退款",
    ),
}


def share_held(order_id: sa.ColumnElement[int], trainee_id: sa.ColumnElement[int]) -> sa.Exists:
    """EXISTS: the member's share of the order is held by a refund (one in HOLDING)."""
    return (
        sa.select(RefundItem.trainee_id)
        .join(Refund, Refund.id == RefundItem.refund_id)
        .where(
            RefundItem.order_id == order_id,
            RefundItem.trainee_id == trainee_id,
            Refund.status.in_(HOLDING),
        )
        .exists()
    )


def reason_code(column: sa.ColumnElement[str]) -> sa.ColumnElement[str]:
    """`Refund.reason` (or a column holding it) as the code a payer may see."""
    return sa.case((column == ALREADY_ENROLLED, ALREADY_ENROLLED), else_=OPERATOR)


def reason_views(kind: str, codes: tuple[str, ...]) -> list[dict[str, str]]:
    """Each reason code with its fixed text for an order of `kind`. Pure."""
    return [
        {
            "reason": code,
            "text": REASON_WORDS[code].group
            if kind == OrderKind.GROUP
            else REASON_WORDS[code].individual,
        }
        for code in codes
    ]


def member_text(code: str, refunded: bool) -> str:
    """A group member's refunded share, paid back or on its way, in the payer's words."""
    words = REASON_WORDS[code]
    return words.member_refunded if refunded else words.member_refunding


def console_reason(reason: str | None) -> str:
    """A refund's reason as operators read it: the fixed words of an automatic refund, else
    the note the operator typed (internal, shown only in the console)."""
    if reason == ALREADY_ENROLLED or not reason:
        return REASON_WORDS[reason or OPERATOR].console
    return reason


def wechat_reason(reason: str) -> str:
    """The refund reason WeChat Pay receives for a refund recorded with `reason`."""
    return REASON_WORDS[ALREADY_ENROLLED if reason == ALREADY_ENROLLED else OPERATOR].wechat


@dataclass(frozen=True)
class RefundTotals:
    """What of an order's amount was paid back (SUCCESS) and what is on its way (the other
    holding states), in 分, and the reason codes of those refunds (sorted)."""

    refunded: int = 0
    refunding: int = 0
    reasons: tuple[str, ...] = ()

    @property
    def held(self) -> int:
        return self.refunded + self.refunding


def refund_totals(order_ids: list[int]) -> dict[int, RefundTotals]:
    """The refund totals of each order that has a holding refund (one query)."""
    if not order_ids:
        return {}
    code = reason_code(Refund.reason).label("code")
    rows = db.session.execute(
        sa.select(Refund.order_id, Refund.status, code, sa.func.sum(Refund.amount_fen))
        .where(Refund.order_id.in_(order_ids), Refund.status.in_(HOLDING))
        .group_by(Refund.order_id, Refund.status, code)
    ).all()
    sums: dict[int, list[int]] = {}
    reasons: dict[int, set[str]] = {}
    for order_id, status, reason, amount in rows:
        pair = sums.setdefault(order_id, [0, 0])
        pair[0 if status == RefundStatus.SUCCESS else 1] += int(amount)
        reasons.setdefault(order_id, set()).add(reason)
    return {
        order_id: RefundTotals(*pair, tuple(sorted(reasons[order_id])))
        for order_id, pair in sums.items()
    }


def order_refunds(order_id: int) -> RefundTotals:
    """One order's refund totals (zeros when it has none)."""
    return refund_totals([order_id]).get(order_id, RefundTotals())


def net_amount(order: Order) -> int:
    """What the payer paid and keeps paid: the amount less every refund holding a share
    (an invoice is for this, never for money on its way back)."""
    return order.amount_fen - order_refunds(order.id).held


def _flag_issued_invoice(refund: Refund, order: Order, kept: int, now: datetime) -> None:
    """An invoice already issued for more than the payer now keeps paid: 财务 must reverse
    it (红字发票) in the tax system. Put in their 支付异常 queue, where they resolve it with
    what they did; nothing else would tell them."""
    invoice = db.session.execute(
        sa.select(Invoice).where(
            Invoice.order_id == order.id, Invoice.status == InvoiceStatus.ISSUED
        )
    ).scalar_one_or_none()
    if invoice is None or invoice.amount_fen <= kept:
        return
    record_anomaly(
        f"refund:{refund.out_refund_no}",
        "invoice_needs_reversal",
        {"out_trade_no": order.out_trade_no, "transaction_id": order.transaction_id},
        now,
        {
            "out_refund_no": refund.out_refund_no,
            "invoice_number": invoice.number,
            "invoice_amount_fen": invoice.amount_fen,
            "kept_fen": kept,
        },
    )


def after_success(refund: Refund, order: Order, now: datetime) -> list[int]:
    """The enrollment rule of a successful refund; the members who can no longer learn.
    Their certificates of the plan are revoked with it (a member whose enrollment moves to
    another paid order keeps theirs)."""
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
        share_refunded = share_held(Order.id, OrderItem.trainee_id)
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
    revoked = revoke_for_refund(cancelled, order.plan_id, now)
    refunded = order_refunds(order.id).refunded
    if refunded >= order.amount_fen:
        order.status, order.updated_at = OrderStatus.REFUND, now
    _flag_issued_invoice(refund, order, order.amount_fen - refunded, now)
    log.info(
        "refund %s of order %s succeeded: %d fen, %d member(s), %d enrollment(s) cancelled, "
        "%d certificate(s) revoked",
        refund.out_refund_no,
        order.out_trade_no,
        refund.amount_fen,
        len(members),
        len(cancelled),
        len(revoked),
    )
    return cancelled
