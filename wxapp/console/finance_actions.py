"""财务 (finance) use cases behind the console's pages: the invoice queue, refunds, payment
anomalies and the daily reconciliation. Every change writes its audit row in its transaction.

Invoices: a request on a paid order waits here (申请) until finance issues it with the
invoice number from the tax system and, usually, its PDF (the trainee downloads it from
我的订单), or refuses it with a reason the trainee sees there (and may apply again). An
issued invoice may be modified once within 15 days of issue (the notice's rule, checked by
`orders.invoices.check_modify_window`), re-issued under the new number.

Refunds go through `orders.refund_requests` (recorded with the audit row, then asked of
WeChat Pay after the commit); their state follows WeChat Pay's answers and notifications,
and finance may ask WeChat Pay again for one refund. Before it, the form warns of each
member whose certificate of the plan the refund would revoke (`certificate_warnings`).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import redis
import sqlalchemy as sa

from models import (
    Enrollment,
    EnrollmentStatus,
    Invoice,
    InvoiceStatus,
    OperatorAudit,
    Order,
    OrderStatus,
    PaymentAnomaly,
    Refund,
    RefundItem,
    RefundStatus,
    Trainee,
    TrainingPlan,
    db,
)
from wxapp.accounts.identity_changes import check_reason
from wxapp.accounts.profile_history import operator_actor
from wxapp.certificates.revocation import valid_holders
from wxapp.console import audit
from wxapp.errors import Conflict, NotFound, ValidationError
from wxapp.infra.transaction import end_read, transaction
from wxapp.orders import refund_gateway
from wxapp.orders.invoices import (
    check_modify_window,
    invoice_amount,
    modifiable_order,
    parse_invoice_request,
)
from wxapp.orders.refund_requests import record_requested_refund, refund_view
from wxapp.orders.refunds import apply_refund, forget_entitlements
from wxapp.pay.client import PayClient, PayGatewayError

PDF_MAX_BYTES = 5 * 1024 * 1024
_NUMBER = re.compile(r"^[0-9A-Za-z]{8,32}$")

audit.ACTION_LABELS.update(
    {
        "invoice.issue": "开具发票",
        "invoice.refuse": "拒绝开票",
        "invoice.modify": "修改发票",
        "refund.request": "发起退款",
        "refund.query": "查询退款状态",
        "anomaly.resolve": "处理支付异常",
    }
)


def invoice_queue(status: str = InvoiceStatus.REQUESTED, limit: int = 200) -> list[Any]:
    """Invoices in one state with their order, payer and plan; requested ones only of paid
    orders (a request made at purchase waits for the payment), oldest first."""
    query = (
        sa.select(Invoice, Order, Trainee, TrainingPlan.title)
        .join(Order, Order.id == Invoice.order_id)
        .join(Trainee, Trainee.id == Invoice.trainee_id)
        .join(TrainingPlan, TrainingPlan.id == Order.plan_id)
        .where(Invoice.status == status)
    )
    if status == InvoiceStatus.REQUESTED:
        query = query.where(Order.status == OrderStatus.SUCCESS).order_by(Invoice.updated_at)
    else:
        query = query.order_by(Invoice.updated_at.desc())
    return list(db.session.execute(query.limit(limit)).all())


def _invoice(invoice_id: int) -> Invoice:
    invoice = db.session.get(Invoice, invoice_id, with_for_update=True)
    if invoice is None:
        raise NotFound("发票申请不存在", code="invoice_not_found")
    return invoice


def check_number(number: str | None) -> str:
    number = (number or "").strip()
    if not _NUMBER.match(number):
        raise ValidationError("number", "请填写税务系统给出的发票号码（8–32 位数字或字母）")
    return number


def check_pdf(pdf: bytes | None) -> bytes | None:
    """The tax system's PDF, if one was attached: a PDF file of at most 5 MB."""
    if not pdf:
        return None
    if len(pdf) > PDF_MAX_BYTES:
        raise ValidationError("pdf", "发票 PDF 不能超过 5 MB")
    if not pdf.startswith(b"%PDF-"):
        raise ValidationError("pdf", "请上传税务系统导出的 PDF 文件")
    return pdf


def _summary(invoice: Invoice) -> dict[str, Any]:
    return {
        "status": invoice.status,
        "title_type": invoice.title_type,
        "title": invoice.title,
        "tax_number": invoice.tax_number,
        "email": invoice.email,
        "amount_fen": invoice.amount_fen,
        "number": invoice.number,
        "refusal_reason": invoice.refusal_reason,
        "modified_count": invoice.modified_count,
    }


def issue_invoice(invoice_id: int, number: str | None, pdf: bytes | None, now: datetime) -> Invoice:
    """申请 → 已开具, with the tax system's number and (optionally) its PDF."""
    number = check_number(number)
    pdf = check_pdf(pdf)
    with transaction():
        invoice = _invoice(invoice_id)
        if invoice.status != InvoiceStatus.REQUESTED:
            raise Conflict("该发票不是待开具状态", code="invoice_not_requested")
        order = db.session.get(Order, invoice.order_id)
        if order is None or order.status != OrderStatus.SUCCESS:
            raise Conflict("订单尚未支付（或已退款），不能开票", code="order_not_paid")
        before = _summary(invoice)
        invoice.amount_fen = invoice_amount(order)  # less any share refunded since the request
        invoice.number = number
        invoice.pdf = pdf
        invoice.status = InvoiceStatus.ISSUED
        invoice.issued_at = now
        invoice.updated_at = now
        invoice.refusal_reason = None
        audit.record(
            "invoice.issue",
            "invoices",
            invoice.id,
            before,
            {**_summary(invoice), "pdf_bytes": len(pdf) if pdf else 0},
        )
    return invoice


def refuse_invoice(invoice_id: int, reason: str | None, now: datetime) -> Invoice:
    """A request that cannot be issued as asked (e.g. a tax number that is not the unit's):
    refused with the reason, which the trainee reads in 我的订单 and may apply again."""
    reason = check_reason(
        reason,
        label="拒绝原因",
        missing="请填写拒绝原因（学员将在“我的订单”中看到）",
        missing_code=None,
    )
    with transaction():
        invoice = _invoice(invoice_id)
        if invoice.status != InvoiceStatus.REQUESTED:
            raise Conflict("只有待开具的申请可以拒绝", code="invoice_not_requested")
        before = _summary(invoice)
        invoice.status = InvoiceStatus.REFUSED
        invoice.refusal_reason = reason
        invoice.updated_at = now
        audit.record("invoice.refuse", "invoices", invoice.id, before, _summary(invoice), reason)
    return invoice


def modify_invoice(
    invoice_id: int, fields: dict[str, Any], number: str | None, pdf: bytes | None, now: datetime
) -> Invoice:
    """Re-issue an issued invoice with corrected details under a new number: once, within
    15 days of issue, and not once the order is refunded (as the trainee's 修改)."""
    request = parse_invoice_request(fields)
    number = check_number(number)
    pdf = check_pdf(pdf)
    with transaction():
        invoice = _invoice(invoice_id)
        if invoice.status != InvoiceStatus.ISSUED:
            raise Conflict("只有已开具的发票可以修改", code="invoice_not_issued")
        order = modifiable_order(invoice)
        check_modify_window(invoice.issued_at or now, invoice.modified_count, now)
        if number == invoice.number:
            raise ValidationError("number", "修改后的发票应有新的发票号码")
        before = _summary(invoice)
        # Re-issued for what the payer keeps paid, as the trainee's 修改 does: less any
        # share refunded since it was first issued.
        invoice.amount_fen = invoice_amount(order)
        invoice.title_type = request.title_type
        invoice.title = request.title
        invoice.tax_number = request.tax_number
        invoice.email = request.email
        invoice.number = number
        invoice.pdf = pdf
        invoice.modified_count += 1
        invoice.updated_at = now
        audit.record("invoice.modify", "invoices", invoice.id, before, _summary(invoice))
    return invoice


def start_refund(
    client: PayClient,
    out_trade_no: str,
    trainee_id: int | None,
    reason: str,
    operator_login: str,
    now: datetime,
    r: redis.Redis | None = None,
) -> dict[str, Any]:
    """A WeChat Pay v3 refund of one member's share (or all the rest) of a paid order:
    recorded with its audit row, then asked of WeChat Pay after the commit."""
    with transaction():
        refund = record_requested_refund(
            (out_trade_no or "").strip(),
            reason or "",
            operator_actor(operator_login),
            now,
            trainee_id,
        )
        audit.record(
            "refund.request",
            "refunds",
            refund.out_refund_no,
            None,
            {
                "out_trade_no": out_trade_no,
                "trainee_id": trainee_id,
                "amount_fen": refund.amount_fen,
                "status": refund.status,
            },
            reason=reason.strip(),
        )
        refund_id = refund.id
    refund_gateway.submit(client, refund_id, now, r)
    return refund_view(db.session.get(Refund, refund_id))


def refresh_refund(
    client: PayClient, refund_id: int, now: datetime, r: redis.Redis | None = None
) -> tuple[str, str | None]:
    """Ask WeChat Pay again about one refund: submit it if still PENDING, else query it.
    Its status afterwards, and why WeChat Pay did not accept it when it is still PENDING."""
    refund = db.session.get(Refund, refund_id)
    if refund is None:
        raise NotFound("退款不存在", code="refund_not_found")
    before = refund.status
    no = refund.out_refund_no
    if before == RefundStatus.PENDING:
        status = refund_gateway.submit(client, refund_id, now, r)
    else:
        end_read()
        try:
            _, data = client.call("query_refund", out_refund_no=no)
        except PayGatewayError as err:
            raise Conflict(f"微信支付暂时无法查询：{err}", code="pay_unavailable") from None
        with transaction():
            _, cancelled = apply_refund(
                {**data, "out_refund_no": no}, f"query-refund:{no}", client.mchid, now
            )
        forget_entitlements(r, cancelled)
        status = db.session.get(Refund, refund_id).status
    with transaction():
        audit.record("refund.query", "refunds", no, {"status": before}, {"status": status})
    why = db.session.get(Refund, refund_id).last_error if status == RefundStatus.PENDING else None
    return status, why


def certificate_warnings(order: Order, member_ids: list[int]) -> dict[int, str]:
    """trainee id -> the warning the refund form shows beside a member holding a valid
    certificate of the order's plan whose enrollment this order paid for: refunding their
    share revokes it once the refund succeeds."""
    paid_here = list(
        db.session.execute(
            sa.select(Enrollment.trainee_id).where(
                Enrollment.order_id == order.id,
                Enrollment.plan_id == order.plan_id,
                Enrollment.status == EnrollmentStatus.PAID,
                Enrollment.trainee_id.in_(member_ids),
            )
        ).scalars()
    )
    return {
        trainee_id: f"该学员已取得本项目合格证书（编号 {serial}），退款成功后证书将被撤销"
        for trainee_id, serial in valid_holders(order.plan_id, paid_here).items()
    }


def share_refunds(
    order_ids: list[int], trainee_id: int | None = None
) -> dict[tuple[int, int], list[Refund]]:
    """The refunds of each member's share of these orders (of one trainee's shares when
    `trainee_id` is given), keyed by (order id, trainee id), oldest first: what the console
    shows beside a member, with the refund's state and reason."""
    if not order_ids:
        return {}
    query = (
        sa.select(RefundItem.order_id, RefundItem.trainee_id, Refund)
        .join(Refund, Refund.id == RefundItem.refund_id)
        .where(RefundItem.order_id.in_(order_ids))
        .order_by(Refund.id)
    )
    if trainee_id is not None:
        query = query.where(RefundItem.trainee_id == trainee_id)
    found: dict[tuple[int, int], list[Refund]] = {}
    for order_id, member_id, refund in db.session.execute(query).all():
        found.setdefault((order_id, member_id), []).append(refund)
    return found


def refunds(limit: int = 200) -> list[Any]:
    return list(
        db.session.execute(
            sa.select(Refund, Order.out_trade_no)
            .join(Order, Order.id == Refund.order_id)
            .order_by(Refund.id.desc())
            .limit(limit)
        ).all()
    )


def anomalies(resolved: bool = False, limit: int = 200) -> list[PaymentAnomaly]:
    query = sa.select(PaymentAnomaly)
    query = query.where(
        PaymentAnomaly.resolved_at.is_not(None)
        if resolved
        else PaymentAnomaly.resolved_at.is_(None)
    )
    return list(db.session.execute(query.order_by(PaymentAnomaly.id.desc()).limit(limit)).scalars())


def resolutions(anomaly_ids: list[int]) -> dict[int, OperatorAudit]:
    """How each of these resolved anomalies was handled: the audit row of its resolution
    (its note, who, when), the only place the note is kept."""
    if not anomaly_ids:
        return {}
    rows = db.session.execute(
        sa.select(OperatorAudit)
        .where(
            OperatorAudit.action == "anomaly.resolve",
            OperatorAudit.target_type == "payment_anomalies",
            OperatorAudit.target_id.in_([str(i) for i in anomaly_ids]),
        )
        .order_by(OperatorAudit.id)
    ).scalars()
    return {int(row.target_id): row for row in rows}


def resolve_anomaly(anomaly_id: int, note: str | None, now: datetime) -> PaymentAnomaly:
    """Mark a payment anomaly handled, saying how (kept in the audit log)."""
    note = check_reason(
        note,
        field="note",
        label="处理说明",
        missing="请填写处理说明（如：已在商户平台退款）",
        missing_code=None,
    )
    with transaction():
        anomaly = db.session.get(PaymentAnomaly, anomaly_id, with_for_update=True)
        if anomaly is None:
            raise NotFound("支付异常记录不存在", code="anomaly_not_found")
        if anomaly.resolved_at is not None:
            raise Conflict("该异常已处理", code="anomaly_resolved")
        anomaly.resolved_at = now
        audit.record(
            "anomaly.resolve",
            "payment_anomalies",
            anomaly.id,
            {"resolved_at": None},
            {"resolved_at": now.isoformat(), "reason": anomaly.reason},
            reason=note,
        )
    return anomaly
