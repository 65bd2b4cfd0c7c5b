"""Invoices (电子发票): the request, the notice's rules, issuing through an `InvoiceIssuer`.

Rules (from the notice): apply only in the calendar year of payment (Asia/Shanghai); an
issued invoice may be modified once, within 15 days of issue. A request at purchase
(立即申请) waits on the order and is issued when the order is paid. Each use case here
(request, modify, issue what was requested) is one transaction of its own.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

import sqlalchemy as sa

from models import Invoice, InvoiceStatus, Order, OrderStatus, TrainingPlan, db
from wxapp.errors import Conflict, NotFound, ValidationError, field_label
from wxapp.infra.clock import local
from wxapp.infra.dbutil import execute
from wxapp.infra.texts import one_visible_line, storable
from wxapp.infra.transaction import transaction
from wxapp.orders.anomalies import record_anomaly
from wxapp.orders.invoice_issuer import InvoiceData, InvoiceIssuer
from wxapp.orders.ownership import get_own_order
from wxapp.orders.refund_rule import net_amount
from wxapp.orders.uscc import is_valid_uscc

log = logging.getLogger(__name__)

MODIFY_WINDOW = timedelta(days=15)
TITLE_TYPES = ("个人", "单位")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class InvoiceRequest:
    title_type: str
    title: str
    tax_number: str | None
    email: str


def parse_invoice_request(data: Any, prefix: str = "") -> InvoiceRequest:
    """Validate an invoice request; a ValidationError names the field (e.g. invoice.tax_number)."""
    if not isinstance(data, dict):
        raise ValidationError(prefix.rstrip(".") or "body", "发票信息应为 JSON 对象")

    def text(name: str, max_len: int) -> str:
        value = data.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            return ""
        if not isinstance(value, str):
            raise ValidationError(prefix + name, f"{field_label(name)}应为文字")
        if not storable(value):
            raise ValidationError(prefix + name, f"{field_label(name)}含有不允许的字符")
        value = value.strip()
        if not one_visible_line(value):
            raise ValidationError(
                prefix + name, f"{field_label(name)}含有换行或不可见的控制字符，请删除后重新填写"
            )
        if len(value) > max_len:
            raise ValidationError(
                prefix + name, f"{field_label(name)}过长（最多 {max_len} 个字符）"
            )
        return value

    title_type = text("title_type", 4)
    if title_type not in TITLE_TYPES:
        raise ValidationError(prefix + "title_type", "抬头类型应为 个人 或 单位")
    title = text("title", 100)
    if not title:
        raise ValidationError(prefix + "title", "请填写发票抬头")
    tax_number = text("tax_number", 18).upper() or None
    if title_type == "单位" and tax_number is None:
        raise ValidationError(prefix + "tax_number", "单位抬头必须填写税号（统一社会信用代码）")
    if tax_number is not None and not is_valid_uscc(tax_number):
        raise ValidationError(
            prefix + "tax_number", "税号应为 18 位统一社会信用代码，请核对（校验位不符）"
        )
    email = text("email", 254)
    if not _EMAIL.match(email):
        raise ValidationError(prefix + "email", "请填写正确的电子邮箱，用于接收电子发票")
    return InvoiceRequest(title_type, title, tax_number, email)


def check_apply_window(paid_at: datetime, now: datetime) -> None:
    """Pure: applying is allowed only in the calendar year of payment (Shanghai time)."""
    paid_year = local(paid_at).year
    if local(now).year != paid_year:
        raise Conflict(
            f"请在缴费当年申请发票：本订单于 {paid_year} 年缴费，已超过申请期限",
            code="invoice_year_closed",
        )


def check_modify_window(issued_at: datetime, modified_count: int, now: datetime) -> None:
    """Pure: an issued invoice may be modified once, within 15 days of issue."""
    if modified_count >= 1:
        raise Conflict("发票只能修改 1 次，本发票已修改过", code="invoice_modified_once")
    if now - issued_at > MODIFY_WINDOW:
        raise Conflict(
            "申请开票成功 15 日内可修改发票 1 次，本发票已超过 15 日", code="invoice_modify_expired"
        )


def invoice_view(invoice: Invoice) -> dict[str, Any]:
    return {
        "id": invoice.id,
        "status": invoice.status,
        "title_type": invoice.title_type,
        "title": invoice.title,
        "tax_number": invoice.tax_number,
        "email": invoice.email,
        "amount": invoice.amount_fen,
        "number": invoice.number,
        "issued_at": invoice.issued_at.isoformat() if invoice.issued_at else None,
        "modified_count": invoice.modified_count,
        # Issued by 财务 with only the tax system's number, an invoice has no PDF here.
        "pdf_url": f"/api/invoices/{invoice.id}.pdf"
        if invoice.status == InvoiceStatus.ISSUED and invoice.pdf is not None
        else None,
        "refusal_reason": invoice.refusal_reason
        if invoice.status == InvoiceStatus.REFUSED
        else None,
    }


def attach_request(order: Order, req: InvoiceRequest, now: datetime) -> Invoice:
    """Record (or replace) the not-yet-issued request on an order; adds, never commits.
    The caller holds the order's row lock (`lock_order`) when the order may be paid, so
    two requests at once cannot both find no invoice; the invoice's own row is locked
    here, as every change of an invoice holds it (see `issue_requested`)."""
    amount = order.amount_fen if order.status == OrderStatus.NOTPAY else invoice_amount(order)
    invoice = db.session.execute(
        db.select(Invoice)
        .where(Invoice.order_id == order.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if invoice is None:
        invoice = Invoice(order_id=order.id, trainee_id=order.payer_id, created_at=now)
        db.session.add(invoice)
    elif invoice.status == InvoiceStatus.ISSUED:
        raise Conflict("该订单的发票已开具，如需更改请修改发票", code="invoice_exists")
    invoice.title_type = req.title_type
    invoice.title = req.title
    invoice.tax_number = req.tax_number
    invoice.email = req.email
    invoice.amount_fen = amount
    invoice.status = InvoiceStatus.REQUESTED
    invoice.refusal_reason = None
    invoice.updated_at = now
    db.session.flush()
    return invoice


def drop_request(order: Order) -> None:
    """以后申请 chosen on an order that had a request (a retried 提交订单 reuses the pending
    order): the earlier request goes, so nothing is issued that the trainee took back.
    Only an unpaid order's request, never an issued invoice; adds, never commits."""
    db.session.execute(
        sa.delete(Invoice).where(
            Invoice.order_id == order.id, Invoice.status == InvoiceStatus.REQUESTED
        )
    )


ALL_REFUNDED = "订单费用已全部退款或正在退款，不能开具发票"


def invoice_amount(order: Order) -> int:
    """The amount an invoice of this paid order is for: what the payer keeps paid. A member
    who had already bought the plan has their share refunded, so a group order's invoice
    is for the others only; nothing kept, no invoice."""
    amount = net_amount(order)
    if amount <= 0:
        raise Conflict(ALL_REFUNDED, code="order_refunded")
    return amount


def _issue(invoice: Invoice, order: Order, issuer: InvoiceIssuer | None, now: datetime) -> bool:
    """Issue it, for its `amount_fen`, through the issuer; whether it was (not without one)."""
    if issuer is None:  # no tax platform configured: stays requested for an operator
        return False
    plan = db.session.get(TrainingPlan, order.plan_id)
    issued = issuer.issue(
        InvoiceData(
            title_type=invoice.title_type,
            title=invoice.title,
            tax_number=invoice.tax_number,
            email=invoice.email,
            amount_fen=invoice.amount_fen,
            item=f"培训费（{plan.title if plan else order.description}）",
            # The members kept: a refunded share is not in the amount, nor in the count.
            quantity=invoice.amount_fen // order.unit_price_fen,
            seller=plan.provider if plan else "",
            out_trade_no=order.out_trade_no,
            issued_at=now,
        )
    )
    invoice.number = issued.number
    invoice.pdf = issued.pdf
    invoice.status = InvoiceStatus.ISSUED
    invoice.issued_at = now
    invoice.updated_at = now
    return True


def request_invoice(
    trainee_id: int,
    out_trade_no: str,
    req: InvoiceRequest,
    issuer: InvoiceIssuer | None,
    now: datetime,
) -> dict[str, Any]:
    """以后申请 on a paid order, or 立即申请 on an unpaid one (issued when it is paid)."""
    with transaction():
        # Locked, and its status read under the lock: a double tap of 申请 waits here and
        # then finds the first one's invoice issued (409), not a second row to insert.
        order = lock_order(get_own_order(trainee_id, out_trade_no))
        if order.status in (OrderStatus.CLOSED, OrderStatus.REFUND):
            raise Conflict("订单已关闭或已退款，不能申请发票", code="order_not_payable")
        if order.status == OrderStatus.SUCCESS:
            check_apply_window(order.success_time or now, now)
        invoice = attach_request(order, req, now)
        if order.status == OrderStatus.SUCCESS:
            _issue(invoice, order, issuer, now)
    return invoice_view(invoice)


def lock_order(order: Order) -> Order:
    """The order, reloaded under its row lock (inside the caller's transaction)."""
    db.session.refresh(order, with_for_update=True)
    return order


def _own_invoice(trainee_id: int, invoice_id: int, *, lock: bool = False) -> Invoice:
    invoice = db.session.get(Invoice, invoice_id, with_for_update=lock, populate_existing=lock)
    if invoice is None or invoice.trainee_id != trainee_id:
        raise NotFound("发票不存在", code="invoice_not_found")
    return invoice


def modify_invoice(
    trainee_id: int,
    invoice_id: int,
    req: InvoiceRequest,
    issuer: InvoiceIssuer | None,
    now: datetime,
) -> dict[str, Any]:
    """Change an invoice: freely while only requested; once, within 15 days, once issued."""
    with transaction():
        # The window and the count are checked under the invoice's row lock: two 修改 sent
        # at once would otherwise both find it unmodified and re-issue it twice.
        invoice = _own_invoice(trainee_id, invoice_id, lock=True)
        order = modifiable_order(invoice)
        issued = invoice.status == InvoiceStatus.ISSUED
        if issued:
            check_modify_window(invoice.issued_at or now, invoice.modified_count, now)
            _reversal_task(invoice, order, now)
            invoice.status = InvoiceStatus.REQUESTED  # re-issued below under a new number
        elif order.status == OrderStatus.SUCCESS:
            # Applying again after a refusal is applying, and so is rewriting a request still
            # waiting for 财务: only in the year of payment (the request made in time is
            # issued as it was made).
            check_apply_window(order.success_time or now, now)
        invoice = attach_request(order, req, now)
        if issued:
            invoice.modified_count += 1
        if order.status == OrderStatus.SUCCESS:
            _issue(invoice, order, issuer, now)
    return invoice_view(invoice)


def _reversal_task(invoice: Invoice, order: Order, now: datetime) -> None:
    """The issued invoice a trainee's 修改 replaces must be reversed (红字发票) in the tax
    system, and its number is about to be overwritten: put it in 财务's 支付异常 queue."""
    record_anomaly(
        f"invoice:{invoice.id}:modify:{invoice.modified_count + 1}",
        "invoice_modified",
        {"out_trade_no": order.out_trade_no, "transaction_id": order.transaction_id},
        now,
        {
            "invoice_number": invoice.number,
            "invoice_amount_fen": invoice.amount_fen,
            "invoice_title": invoice.title,
        },
    )


def modifiable_order(invoice: Invoice) -> Order:
    """The invoice's order, if its invoice may still be changed: not once it is closed or
    refunded (the trainee's 修改 and 财务's alike)."""
    order = db.session.get(Order, invoice.order_id)
    if order is None or order.status in (OrderStatus.CLOSED, OrderStatus.REFUND):
        raise Conflict("订单已关闭或已退款，不能修改发票", code="order_not_payable")
    return order


def invoice_pdf(trainee_id: int, invoice_id: int) -> tuple[str, bytes]:
    invoice = _own_invoice(trainee_id, invoice_id)
    if invoice.status != InvoiceStatus.ISSUED or invoice.pdf is None:
        raise NotFound("发票尚未开具", code="invoice_not_issued")
    return invoice.number or str(invoice.id), invoice.pdf


def issue_requested(order_id: int, issuer: InvoiceIssuer | None, now: datetime) -> bool:
    """Issue the invoice requested at purchase once its order is paid, in a transaction of
    its own (after the payment's, or in reconciliation); False when nothing was issued (no
    request, not paid, no issuer configured, or all of the order refunded)."""
    with transaction():
        # Most paid orders have no invoice requested: one prebuilt read of the id says so,
        # and only a requested invoice and its order are loaded.
        invoice_id = execute(_requested_statement(), {"order": order_id}).scalar_one_or_none()
        if invoice_id is None:
            return False
        # The notification and reconciliation can both reach here for one order: under
        # the invoice's row lock the later one waits, then finds it issued. Without the
        # lock the tax platform would be asked twice and give two numbers.
        invoice = db.session.get(Invoice, invoice_id, with_for_update=True, populate_existing=True)
        order = db.session.get(Order, order_id)
        if (
            invoice is None
            or invoice.status != InvoiceStatus.REQUESTED
            or order is None
            or order.status != OrderStatus.SUCCESS
            or issuer is None
        ):
            return False
        # Asked at purchase, the request waited for the payment; a double payment's refund
        # is recorded with it, so the amount is settled only now.
        kept = net_amount(order)
        if kept <= 0:
            invoice.status = InvoiceStatus.REFUSED
            invoice.refusal_reason = ALL_REFUNDED
            invoice.updated_at = now
            return False
        invoice.amount_fen = kept
        return _issue(invoice, order, issuer, now)


@cache
def _requested_statement() -> sa.Select:
    return sa.select(Invoice.id).where(
        Invoice.order_id == sa.bindparam("order"), Invoice.status == InvoiceStatus.REQUESTED
    )
