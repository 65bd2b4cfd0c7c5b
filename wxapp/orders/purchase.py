"""Individual orders and reading orders: create or reuse, look up, list, shape for the API."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from functools import cache
from typing import Any

import sqlalchemy as sa

from models import Invoice, Order, OrderItem, OrderKind, OrderStatus, Trainee, TrainingPlan, db
from wxapp.catalogue.plans import get_plan, on_sale
from wxapp.errors import Conflict
from wxapp.infra.clock import local
from wxapp.infra.dbutil import execute
from wxapp.infra.transaction import transaction
from wxapp.orders.enrollments import paid_plan_ids
from wxapp.orders.invoices import InvoiceRequest, attach_request, drop_request, invoice_view
from wxapp.orders.ownership import require_owner
from wxapp.orders.refund_rule import RefundTotals, order_refunds, reason_views, refund_totals

ORDER_TTL = timedelta(hours=2)
STATUS_TEXT = {
    OrderStatus.NOTPAY: "未支付",
    OrderStatus.SUCCESS: "支付成功",
    OrderStatus.CLOSED: "已关闭",
    OrderStatus.REFUND: "已退款",
}
ALREADY_BOUGHT = "您已购买该培训项目，无需重复购买"


def new_out_trade_no(now: datetime) -> str:
    """Unique merchant order number: Shanghai time to the second + 12 random digits (26 chars)."""
    return f"{local(now):%Y%m%d%H%M%S}{secrets.randbelow(10**12):012d}"


def description(plan: TrainingPlan, quantity: int) -> str:
    text = f"继续教育-{plan.title}" + (f"（团购{quantity}人）" if quantity > 1 else "")
    return text[:127]


def purchasable_plan(plan_id: int, now: datetime) -> TrainingPlan:
    plan = get_plan(plan_id)
    if not on_sale(plan, now):
        raise Conflict("该培训项目当前不在销售期内", code="plan_not_on_sale")
    if plan.price_fen <= 0:
        raise Conflict("该培训项目暂未定价，无法购买", code="plan_not_priced")
    return plan


def lock_payer(trainee_id: int) -> None:
    """Serialise one payer's order creation (row lock; SQLite serialises writers anyway)."""
    execute(_lock_payer_statement(), {"trainee": trainee_id})


# The statements of the buying path are built once and their values bound at execution:
# building them (and the ORM's work around them) cost more CPU than PostgreSQL's running
# them (docs/performance.md).
@cache
def _lock_payer_statement() -> sa.Select:
    # NO KEY UPDATE: mutual exclusion only, without blocking other rows' foreign-key checks.
    return (
        sa.select(Trainee.id)
        .where(Trainee.id == sa.bindparam("trainee"))
        .with_for_update(key_share=True)
    )


def new_order(
    kind: str, payer_id: int, plan: TrainingPlan, trainee_ids: list[int], now: datetime
) -> Order:
    order = Order(
        out_trade_no=new_out_trade_no(now),
        kind=kind,
        payer_id=payer_id,
        plan_id=plan.id,
        quantity=len(trainee_ids),
        unit_price_fen=plan.price_fen,
        amount_fen=plan.price_fen * len(trainee_ids),
        description=description(plan, len(trainee_ids)),
        status=OrderStatus.NOTPAY,
        expires_at=now + ORDER_TTL,
        created_at=now,
        updated_at=now,
    )
    db.session.add(order)
    db.session.flush()
    execute(
        sa.insert(OrderItem.__table__),
        [{"order_id": order.id, "trainee_id": t} for t in trainee_ids],
    )
    return order


def create_individual_order(
    trainee_id: int, plan_id: int, invoice: InvoiceRequest | None, now: datetime
) -> dict[str, Any]:
    """个人购买: a NOTPAY order for the trainee, or their pending one for the same plan.

    The invoice choice of THIS attempt is what the order keeps: 立即申请 replaces an earlier
    request, 以后申请 (`invoice` None) removes it."""
    plan = purchasable_plan(plan_id, now)
    with transaction():
        lock_payer(trainee_id)
        if plan.id in paid_plan_ids(trainee_id):
            raise Conflict(ALREADY_BOUGHT, code="already_enrolled")
        pending = execute(
            _pending_order_statement(),
            {"payer": trainee_id, "plan": plan.id, "now": now, "amount": plan.price_fen},
        ).scalar()
        if pending is None:
            order = new_order(OrderKind.INDIVIDUAL, trainee_id, plan, [trainee_id], now)
            shown: Invoice | None | bool = None  # a new order has no invoice yet
        else:
            # Under the order's row lock, as the payment's UPDATE takes it: a notification
            # that paid it meanwhile is seen here, and this attempt's invoice choice cannot
            # land between the payment and the issuing of the invoice asked before.
            order = db.session.get(Order, pending, with_for_update=True, populate_existing=True)
            if order.status != OrderStatus.NOTPAY:
                raise Conflict(ALREADY_BOUGHT, code="already_enrolled")
            shown = True  # read below, after this attempt's change
        if invoice is not None:
            shown = attach_request(order, invoice, now)
        elif pending is not None:  # 以后申请 this time: a request left by an earlier attempt
            drop_request(order)  # is taken back
        # Shaped before the commit, which would expire what the view reads and have it
        # loaded again: the same values, three queries more.
        view = order_view(order, shown)
    return view


@cache
def _pending_order_statement() -> sa.Select:
    return (
        sa.select(Order.id)
        .where(
            Order.payer_id == sa.bindparam("payer"),
            Order.plan_id == sa.bindparam("plan"),
            Order.kind == OrderKind.INDIVIDUAL,
            Order.status == OrderStatus.NOTPAY,
            Order.expires_at > sa.bindparam("now"),
            Order.amount_fen == sa.bindparam("amount"),
        )
        .order_by(Order.id.desc())
        .limit(1)
    )


def order_view(
    order: Order, invoice: Invoice | None | bool = True, refunds: RefundTotals | None = None
) -> dict[str, Any]:
    """The order as its pages read it; `invoice` and `refunds` when the caller read them
    already for a list (True / None: read here)."""
    if invoice is True:
        invoice = db.session.execute(
            db.select(Invoice).where(Invoice.order_id == order.id)
        ).scalar_one_or_none()
    plan = db.session.get(TrainingPlan, order.plan_id)
    if refunds is None:
        refunds = _refunds(order)
    return _view(order, plan.title if plan else None, invoice or None, refunds)


def _refunds(order: Order | sa.Row) -> RefundTotals:
    """Only a paid order can have refunds: the others (the waiting page's poll) skip the query."""
    if order.status not in (OrderStatus.SUCCESS, OrderStatus.REFUND):
        return RefundTotals()
    return order_refunds(order.id)


def _view(
    order: Order | sa.Row,
    plan_title: str | None,
    invoice: Invoice | None,
    refunds: RefundTotals,
) -> dict[str, Any]:
    return {
        "out_trade_no": order.out_trade_no,
        "kind": order.kind,
        "status": order.status,
        "status_text": STATUS_TEXT[order.status],
        "amount": order.amount_fen,
        "unit_price": order.unit_price_fen,
        "quantity": order.quantity,
        "plan_id": order.plan_id,
        "plan_title": plan_title,
        "description": order.description,
        "created_at": order.created_at.isoformat(),
        "expires_at": order.expires_at.isoformat(),
        "success_time": order.success_time.isoformat() if order.success_time else None,
        "transaction_id": order.transaction_id,
        # A member who had already bought the plan is refunded their share; an operator
        # may refund one member or the rest. The order stays 支付成功 until all is back.
        "refunded": refunds.refunded,
        "refunding": refunds.refunding,
        # Why, in fixed words per reason (never an operator's own note).
        "refund_reasons": reason_views(order.kind, refunds.reasons),
        "invoice": invoice_view(invoice) if invoice else None,
    }


def order_detail(trainee_id: int, out_trade_no: str) -> dict[str, Any]:
    """The order as `order_view` shapes it, in one query when it has no invoice: the 1 s
    poll of the waiting page runs this while the cashier is open."""
    row = execute(_detail_statement(), {"no": out_trade_no}).first()
    require_owner(row.payer_id if row is not None else None, trainee_id)
    invoice = db.session.get(Invoice, row.invoice_id) if row.invoice_id is not None else None
    return _view(row, row.plan_title, invoice, _refunds(row))


@cache
def _detail_statement() -> sa.Select:
    return (
        sa.select(
            Order.id,
            Order.payer_id,
            Order.out_trade_no,
            Order.kind,
            Order.status,
            Order.amount_fen,
            Order.unit_price_fen,
            Order.quantity,
            Order.plan_id,
            Order.description,
            Order.created_at,
            Order.expires_at,
            Order.success_time,
            Order.transaction_id,
            TrainingPlan.title.label("plan_title"),
            Invoice.id.label("invoice_id"),
        )
        .outerjoin(TrainingPlan, TrainingPlan.id == Order.plan_id)
        .outerjoin(Invoice, Invoice.order_id == Order.id)
        .where(Order.out_trade_no == sa.bindparam("no"))
    )


def list_orders(trainee_id: int) -> list[dict[str, Any]]:
    orders = db.session.execute(
        db.select(Order).where(Order.payer_id == trainee_id).order_by(Order.id.desc()).limit(200)
    ).scalars()
    orders = list(orders)
    invoices = {
        inv.order_id: inv
        for inv in db.session.execute(
            db.select(Invoice).where(Invoice.order_id.in_([o.id for o in orders]))
        ).scalars()
    }
    refunds = refund_totals([o.id for o in orders if o.status != OrderStatus.NOTPAY])
    plans = {
        p.id: p.title
        for p in db.session.execute(
            db.select(TrainingPlan).where(TrainingPlan.id.in_({o.plan_id for o in orders}))
        ).scalars()
    }
    return [
        _view(o, plans.get(o.plan_id), invoices.get(o.id), refunds.get(o.id, RefundTotals()))
        for o in orders
    ]
