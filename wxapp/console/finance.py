"""财务's console pages: 发票 (the queue: issue with the number and PDF, refuse with a reason,
modify within the rule), 退款 (start one of an order or of one member's share, follow it),
支付异常 (resolve) and 每日对账 (WeChat Pay's trade bill against the orders). The use cases
live in wxapp/console/finance_actions.py and wxapp/orders/reconciliation.py."""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app, flash, request
from flask_admin import Admin, expose

from models import InvoiceStatus, Order, OrderItem, Trainee, db
from wxapp.console import finance_actions as actions
from wxapp.console.access import Role, SecuredView, current_operator
from wxapp.console.display import REFUND_STATES, refund_reason, refund_requester, when, yuan
from wxapp.errors import ValidationError
from wxapp.extensions import app_now
from wxapp.infra.clock import local
from wxapp.orders.anomalies import REASON_TEXT
from wxapp.orders.purchase import STATUS_TEXT
from wxapp.orders.reconciliation import BillFormatError, reconcile_day
from wxapp.orders.refunds import refunded_members
from wxapp.pay.client import PayGatewayError

FINANCE = frozenset({Role.FINANCE, Role.ADMIN})
CATEGORY = "财务"
INVOICE_STATES = {"requested": "待开具", "issued": "已开具", "refused": "已拒绝"}


class _FinanceView(SecuredView):
    roles = FINANCE


def pdf_upload(view: Any) -> Any:
    """The view takes an invoice PDF of up to PDF_MAX_BYTES: the request guard reads this
    mark (`_max_body`, as its `body_limit` sets) instead of the app-wide 2 MiB, so a larger
    PDF gets finance_actions' own message, not a bare 413."""
    view._max_body = actions.PDF_MAX_BYTES + 256 * 1024  # the form's other fields
    return view


class InvoiceQueueView(_FinanceView):
    @expose("/")
    def index(self) -> Any:
        status = request.args.get("status", InvoiceStatus.REQUESTED)
        if status not in INVOICE_STATES:
            status = InvoiceStatus.REQUESTED
        rows = actions.invoice_queue(status)
        return self.render(
            "console/finance_invoices.html",
            rows=rows,
            status=status,
            states=INVOICE_STATES,
            when=when,
            yuan=yuan,
        )

    @expose("/<int:invoice_id>/issue", methods=("POST",))
    @pdf_upload
    def issue(self, invoice_id: int) -> Any:
        upload = request.files.get("pdf")
        pdf = upload.read(actions.PDF_MAX_BYTES + 1) if upload and upload.filename else None
        return self.posted_action(
            lambda: actions.issue_invoice(invoice_id, request.form.get("number"), pdf, app_now()),
            lambda inv: f"已开具发票 {inv.number}" + ("（含 PDF）" if pdf else "（仅发票号码）"),
            ".index",
        )

    @expose("/<int:invoice_id>/refuse", methods=("POST",))
    def refuse(self, invoice_id: int) -> Any:
        return self.posted_action(
            lambda: actions.refuse_invoice(invoice_id, request.form.get("reason"), app_now()),
            "已拒绝该开票申请，学员将在“我的订单”中看到原因",
            ".index",
        )

    @expose("/<int:invoice_id>/modify", methods=("POST",))
    @pdf_upload
    def modify(self, invoice_id: int) -> Any:
        upload = request.files.get("pdf")
        pdf = upload.read(actions.PDF_MAX_BYTES + 1) if upload and upload.filename else None
        fields = {
            k: request.form.get(k, "") for k in ("title_type", "title", "tax_number", "email")
        }
        return self.posted_action(
            lambda: actions.modify_invoice(
                invoice_id, fields, request.form.get("number"), pdf, app_now()
            ),
            lambda inv: f"已修改并重新开具发票 {inv.number}",
            ".index",
            status="issued",
        )


class RefundView(_FinanceView):
    @expose("/")
    def index(self) -> Any:
        no = request.args.get("order", "").strip()
        order, members, taken, shares, warnings = None, [], set(), {}, {}
        if no:
            order = db.session.execute(
                sa.select(Order).where(Order.out_trade_no == no)
            ).scalar_one_or_none()
            if order is None:
                flash(f"没有订单号为 {no} 的订单", "error")
            else:
                members = list(
                    db.session.execute(
                        sa.select(Trainee)
                        .join(OrderItem, OrderItem.trainee_id == Trainee.id)
                        .where(OrderItem.order_id == order.id)
                        .order_by(Trainee.id)
                    ).scalars()
                )
                taken = refunded_members(order.id)
                shares = actions.share_refunds([order.id])
                warnings = actions.certificate_warnings(
                    order, [m.id for m in members if m.id not in taken]
                )
        return self.render(
            "console/finance_refunds.html",
            no=no,
            order=order,
            members=members,
            taken=taken,
            shares=shares,
            warnings=warnings,
            refunds=actions.refunds(),
            states=REFUND_STATES,
            order_status=STATUS_TEXT,
            refund_reason=refund_reason,
            refund_requester=refund_requester,
            when=when,
            yuan=yuan,
        )

    @expose("/start", methods=("POST",))
    def start(self) -> Any:
        no = request.form.get("out_trade_no", "").strip()
        raw = request.form.get("trainee_id", "").strip()
        operator = current_operator()

        def run() -> Any:
            if raw and not (raw.isascii() and raw.isdigit() and len(raw) <= 12):
                # isdigit alone takes "²", which int() then refuses with a 500
                raise ValidationError("trainee_id", "学员编号应为数字")
            return actions.start_refund(
                current_app.extensions["wechatpay"],
                no,
                int(raw) if raw else None,
                request.form.get("reason", ""),
                operator.login if operator else "",
                app_now(),
                current_app.extensions["redis"],
            )

        return self.posted_action(
            run,
            lambda view: (
                f"已发起退款 {view['out_refund_no']}（{yuan(view['amount'])} 元），"
                f"当前状态：{REFUND_STATES.get(view['status'], view['status'])}"
            ),
            ".index",
            order=no,
        )

    @expose("/<int:refund_id>/refresh", methods=("POST",))
    def refresh(self, refund_id: int) -> Any:
        return self.posted_action(
            lambda: actions.refresh_refund(
                current_app.extensions["wechatpay"],
                refund_id,
                app_now(),
                current_app.extensions["redis"],
            ),
            lambda result: (
                f"退款状态：{REFUND_STATES.get(result[0], result[0])}"
                + (
                    f"（微信支付未受理：{result[1].strip()}；对账时会再次提交）"
                    if result[1]
                    else ""
                )
            ),
            ".index",
        )


class AnomalyView(_FinanceView):
    @expose("/")
    def index(self) -> Any:
        resolved = request.args.get("resolved") == "1"
        rows = actions.anomalies(resolved)
        return self.render(
            "console/finance_anomalies.html",
            rows=rows,
            resolved=resolved,
            # The note and who resolved it live in the audit row of the resolution.
            resolutions=actions.resolutions([a.id for a in rows]) if resolved else {},
            reasons=REASON_TEXT,
            when=when,
            yuan=yuan,
        )

    @expose("/<int:anomaly_id>/resolve", methods=("POST",))
    def resolve(self, anomaly_id: int) -> Any:
        return self.posted_action(
            lambda: actions.resolve_anomaly(anomaly_id, request.form.get("note"), app_now()),
            "已标记为已处理",
            ".index",
        )


# WeChat Pay gives the trade bills of the last three months only.
BILL_MONTHS = 3


def months_before(day: date, months: int) -> date:
    """The same day `months` calendar months earlier (the month's last day if shorter)."""
    year, month = divmod(day.month - 1 - months, 12)
    year, month = day.year + year, month + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


class ReconciliationView(_FinanceView):
    @expose("/")
    def index(self) -> Any:
        yesterday = local(app_now()).date() - timedelta(days=1)
        raw = request.args.get("date", "").strip()
        report, problem = None, None
        if raw:
            try:
                day = date.fromisoformat(raw)
            except ValueError:
                problem = "日期格式应为 YYYY-MM-DD"
            else:
                if day > yesterday:
                    problem = "微信支付次日生成前一天的账单：请选择昨天或更早的日期"
                elif day < months_before(yesterday, BILL_MONTHS):
                    problem = "微信支付只提供三个月内的账单：请选择三个月内的日期"
                else:
                    try:
                        report = reconcile_day(current_app.extensions["wechatpay"], day)
                    except (PayGatewayError, BillFormatError) as err:
                        problem = f"对账失败：{err}"
        return self.render(
            "console/finance_reconciliation.html",
            day=raw or yesterday.isoformat(),
            report=report,
            problem=problem,
            yuan=yuan,
        )


def register(admin: Admin) -> None:
    admin.add_view(
        InvoiceQueueView(
            name="发票", category=CATEGORY, endpoint="finance_invoices", url="invoices"
        )
    )
    admin.add_view(
        RefundView(name="退款", category=CATEGORY, endpoint="finance_refunds", url="refunds")
    )
    admin.add_view(
        AnomalyView(
            name="支付异常", category=CATEGORY, endpoint="finance_anomalies", url="anomalies"
        )
    )
    admin.add_view(
        ReconciliationView(
            name="每日对账",
            category=CATEGORY,
            endpoint="finance_reconciliation",
            url="reconciliation",
        )
    )
