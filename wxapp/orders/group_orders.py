"""团购订单: a payer's group orders, each with its trainees and whether they are learning.

What a unit's payer sees of the people it paid for: the name (masked, 王*, until the order
is paid: anyone logged in can paste ID numbers, which are public, into an order and need
not learn whose they are), the ID number masked, whether their share of this order was
refunded and why (in fixed words per reason: an operator's note stays in the console),
and, once the order is paid, whether they hold a paid place in the plan (from this order
or any other) and the plan's 计划完成度 (学时 counted toward the plan / the plan's
requirement). Before the order is paid, neither: else an order never paid would follow a
stranger's buying and learning; nor after the member's share is refunded (the name is masked
again). Nothing else of them (no phone, no account state). Members
come a page at a time: an order may cover thousands.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from models import (
    Enrollment,
    EnrollmentStatus,
    Invoice,
    Order,
    OrderItem,
    OrderKind,
    OrderStatus,
    Refund,
    RefundItem,
    RefundStatus,
    Trainee,
    TrainingPlan,
    db,
)
from wxapp.accounts.idnumbers import mask_id_number
from wxapp.errors import NotFound
from wxapp.infra.texts import mask_name
from wxapp.orders.ownership import get_own_order
from wxapp.orders.purchase import order_view
from wxapp.orders.refund_rule import (
    HOLDING,
    RefundTotals,
    member_text,
    reason_code,
    refund_totals,
    share_held,
)
from wxapp.progress.core import plan_percent

ORDERS_SHOWN = 50
# An order whose payer paid for its members (wholly refunded since: each share is then held
# by a refund, and the member shows as refunded, masked, with nothing of their learning).
PAID_FOR = (OrderStatus.SUCCESS, OrderStatus.REFUND)
MEMBERS_PER_PAGE = 50


def member_refund(reason: str | None, status: str | None, amount: int) -> dict[str, Any] | None:
    """A member's refunded share (reason code, refund status), or None. Pure."""
    if reason is None:
        return None
    done = status == RefundStatus.SUCCESS
    return {
        "status": "refunded" if done else "refunding",
        "amount": amount,
        "reason": reason,
        "text": member_text(reason, done),
    }


def _members(
    orders: list[Order], plans: Mapping[int, TrainingPlan], offset: int, limit: int
) -> dict[int, list[dict[str, Any]]]:
    """Per order, its members in trainee order from `offset`, at most `limit`: one query for
    all the orders. The window numbers only the order items, so the joins touch one page each."""
    if not orders:
        return {}
    ranked = (
        db.select(
            OrderItem.order_id,
            OrderItem.trainee_id,
            sa.func.row_number()
            .over(partition_by=OrderItem.order_id, order_by=OrderItem.trainee_id)
            .label("position"),
        )
        .where(OrderItem.order_id.in_([o.id for o in orders]))
        .subquery()
    )
    # A member's share is held by one refund at most (wxapp/orders/refunds.py).
    refunded = (
        db.select(RefundItem.order_id, RefundItem.trainee_id, Refund.status, Refund.reason)
        .join(Refund, Refund.id == RefundItem.refund_id)
        .where(
            RefundItem.order_id.in_([o.id for o in orders]),
            Refund.status.in_(HOLDING),
        )
        .subquery()
    )
    rows = db.session.execute(
        db.select(
            ranked.c.order_id,
            Order.status,
            Order.unit_price_fen,
            Trainee.name,
            Trainee.id_number,
            Enrollment.status,
            Enrollment.hours_done,
            refunded.c.status,
            sa.case((refunded.c.reason.is_not(None), reason_code(refunded.c.reason))),
        )
        .select_from(ranked)
        .join(Order, Order.id == ranked.c.order_id)
        .join(Trainee, Trainee.id == ranked.c.trainee_id)
        .outerjoin(
            Enrollment,
            sa.and_(Enrollment.trainee_id == Trainee.id, Enrollment.plan_id == Order.plan_id),
        )
        .outerjoin(
            refunded,
            sa.and_(
                refunded.c.order_id == ranked.c.order_id,
                refunded.c.trainee_id == ranked.c.trainee_id,
            ),
        )
        .where(ranked.c.position > offset, ranked.c.position <= offset + limit)
        .order_by(ranked.c.order_id, ranked.c.position)
    ).all()
    required = {o.id: plans[o.plan_id].required_hours for o in orders}
    members: dict[int, list[dict[str, Any]]] = {o.id: [] for o in orders}
    for row in rows:
        order_id, order_status, price, name, id_number, status, hours, refund, reason = row
        # Until the order is paid, nothing of a member's learning: else pasting a stranger's
        # ID number into an order never paid would follow their buying and their hours. Nor
        # once their share is refunded (held by a refund): paying and then taking the money
        # back must not buy a lasting view of someone.
        paid_for = order_status in PAID_FOR and refund is None
        enrolled = paid_for and status == EnrollmentStatus.PAID
        done = Decimal(hours or 0) if enrolled else Decimal(0)
        members[order_id].append(
            {
                "name": name if paid_for else mask_name(name),
                "id_number_masked": mask_id_number(id_number),
                "enrolled": enrolled,
                "hours_done": float(done),
                "required_hours": required[order_id],
                "percent": plan_percent(done, required[order_id]) if enrolled else 0,
                "refund": member_refund(reason, refund, price),
            }
        )
    return members


def _counts(order_ids: list[int]) -> dict[int, tuple[int, int]]:
    """Per order: (members with a paid place in the plan, members who met its requirement)."""
    if not order_ids:
        return {}
    rows = db.session.execute(
        db.select(
            OrderItem.order_id,
            sa.func.count(Enrollment.id),
            sa.func.count(
                sa.case((Enrollment.hours_done >= TrainingPlan.required_hours, Enrollment.id))
            ),
        )
        .select_from(OrderItem)
        .join(Order, Order.id == OrderItem.order_id)
        .join(TrainingPlan, TrainingPlan.id == Order.plan_id)
        .join(
            Enrollment,
            sa.and_(
                Enrollment.trainee_id == OrderItem.trainee_id,
                Enrollment.plan_id == Order.plan_id,
                Enrollment.status == EnrollmentStatus.PAID,
            ),
        )
        .where(
            OrderItem.order_id.in_(order_ids),
            Order.status.in_(PAID_FOR),
            ~share_held(OrderItem.order_id, OrderItem.trainee_id),
        )
        .group_by(OrderItem.order_id)
    ).all()
    return {order_id: (enrolled, done) for order_id, enrolled, done in rows}


def _group_view(
    order: Order,
    invoice: Invoice | None,
    counts: tuple[int, int],
    plan: TrainingPlan,
    members: list[dict[str, Any]],
    refunds: RefundTotals,
) -> dict[str, Any]:
    view = order_view(order, invoice, refunds)
    view["enrolled_count"], view["completed_count"] = counts
    view["required_hours"] = plan.required_hours
    view["members"] = members
    view["members_total"] = order.quantity
    return view


def list_group_orders(payer_id: int) -> list[dict[str, Any]]:
    """The payer's newest group orders (at most ORDERS_SHOWN), each with its invoice, its
    counts and the first page of its members."""
    orders = list(
        db.session.execute(
            db.select(Order)
            .where(Order.payer_id == payer_id, Order.kind == OrderKind.GROUP)
            .order_by(Order.id.desc())
            .limit(ORDERS_SHOWN)
        ).scalars()
    )
    ids = [o.id for o in orders]
    invoices = {
        inv.order_id: inv
        for inv in db.session.execute(db.select(Invoice).where(Invoice.order_id.in_(ids))).scalars()
    }
    plans = {
        p.id: p
        for p in db.session.execute(
            db.select(TrainingPlan).where(TrainingPlan.id.in_({o.plan_id for o in orders}))
        ).scalars()
    }
    counts = _counts(ids)
    members = _members(orders, plans, 0, MEMBERS_PER_PAGE)
    refunds = refund_totals(ids)  # one query for the list, not one per paid order
    return [
        _group_view(
            o,
            invoices.get(o.id),
            counts.get(o.id, (0, 0)),
            plans[o.plan_id],
            members[o.id],
            refunds.get(o.id, RefundTotals()),
        )
        for o in orders
    ]


def group_order_members(
    payer_id: int, out_trade_no: str, offset: int, limit: int = MEMBERS_PER_PAGE
) -> dict[str, Any]:
    """One page of a group order's members (404 for another payer's or a personal order)."""
    order = get_own_order(payer_id, out_trade_no)
    if order.kind != OrderKind.GROUP:
        raise NotFound("团购订单不存在", code="order_not_found")
    plan = db.session.get(TrainingPlan, order.plan_id)
    return {
        "out_trade_no": order.out_trade_no,
        "total": order.quantity,
        "offset": offset,
        "members": _members([order], {plan.id: plan}, offset, limit)[order.id],
    }
