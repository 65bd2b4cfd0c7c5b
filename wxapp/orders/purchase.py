"""Individual orders and reading orders: create or reuse, look up, list, shape for the API."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from models import Invoice, Order, OrderItem, OrderKind, OrderStatus, Trainee, TrainingPlan, db
from wxapp.catalogue.plans import get_plan, on_sale
from wxapp.errors import Conflict
from wxapp.infra.clock import local
from wxapp.infra.transaction import transaction
from wxapp.orders.enrollments import paid_plan_ids
from wxapp.orders.invoices import InvoiceRequest, attach_request, drop_request, invoice_view
from wxapp.orders.ownership import get_own_order

ORDER_TTL = timedelta(hours=2)
STATUS_TEXT = {
    OrderStatus.NOTPAY: "未支付",
    OrderStatus.SUCCESS: "支付成功",
    OrderStatus.CLOSED: "已关闭",
    OrderStatus.REFUND: "已退款",
}


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
    db.session.execute(db.select(Trainee.id).where(Trainee.id == trainee_id).with_for_update())


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
    db.session.execute(
        db.insert(OrderItem), [{"order_id": order.id, "trainee_id": t} for t in trainee_ids]
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
            raise Conflict("您已购买该培训项目，无需重复购买", code="already_enrolled")
        order = db.session.execute(
            db.select(Order)
            .where(
                Order.payer_id == trainee_id,
                Order.plan_id == plan.id,
                Order.kind == OrderKind.INDIVIDUAL,
                Order.status == OrderStatus.NOTPAY,
                Order.expires_at > now,
                Order.amount_fen == plan.price_fen,
            )
            .order_by(Order.id.desc())
            .limit(1)
        ).scalar_one_or_none()
        if order is None:
            order = new_order(OrderKind.INDIVIDUAL, trainee_id, plan, [trainee_id], now)
        if invoice is not None:
            attach_request(order, invoice, now)
        else:  # 以后申请 this time: a request left by an earlier attempt is taken back
            drop_request(order)
    return order_view(order)


def order_view(order: Order, invoice: Invoice | None | bool = True) -> dict[str, Any]:
    if invoice is True:
        invoice = db.session.execute(
            db.select(Invoice).where(Invoice.order_id == order.id)
        ).scalar_one_or_none()
    plan = db.session.get(TrainingPlan, order.plan_id)
    return {
        "out_trade_no": order.out_trade_no,
        "kind": order.kind,
        "status": order.status,
        "status_text": STATUS_TEXT[order.status],
        "amount": order.amount_fen,
        "unit_price": order.unit_price_fen,
        "quantity": order.quantity,
        "plan_id": order.plan_id,
        "plan_title": plan.title if plan else None,
        "description": order.description,
        "created_at": order.created_at.isoformat(),
        "expires_at": order.expires_at.isoformat(),
        "success_time": order.success_time.isoformat() if order.success_time else None,
        "transaction_id": order.transaction_id,
        "invoice": invoice_view(invoice) if invoice else None,
    }


def order_detail(trainee_id: int, out_trade_no: str) -> dict[str, Any]:
    return order_view(get_own_order(trainee_id, out_trade_no))


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
    return [order_view(o, invoices.get(o.id)) for o in orders]
