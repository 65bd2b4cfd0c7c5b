"""Who issues invoices: the `InvoiceIssuer` interface, and the sandbox issuer with the
invoice PDF it draws (reportlab, with the shared embedded CJK font of `wxapp.infra.pdf`).

A real tax platform (税务数字账户 or a service provider's API) is out of reach here; the
sandbox issuer numbers the invoice and renders a PDF marked as a sandbox invoice. Without the
sandbox and without a configured issuer, requests stay `requested` for an operator.
"""

from __future__ import annotations

import io
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from flask import Flask
from reportlab.lib.pagesizes import A4, landscape
from reportlab.pdfgen import canvas

from wxapp.infra.clock import local
from wxapp.infra.pdf import FONT, register_fonts
from wxapp.infra.texts import yuan


@dataclass(frozen=True)
class InvoiceData:
    title_type: str
    title: str
    tax_number: str | None
    email: str
    amount_fen: int
    item: str
    quantity: int
    seller: str
    out_trade_no: str
    issued_at: datetime


@dataclass(frozen=True)
class IssuedInvoice:
    number: str
    pdf: bytes


class InvoiceIssuer(Protocol):
    def issue(self, data: InvoiceData) -> IssuedInvoice: ...


class SandboxInvoiceIssuer:
    """Marks the invoice issued with a sandbox number and renders its PDF locally."""

    def issue(self, data: InvoiceData) -> IssuedInvoice:
        number = f"SB{local(data.issued_at):%Y%m%d}{secrets.randbelow(10**10):010d}"
        return IssuedInvoice(number=number, pdf=render_invoice_pdf(data, number, sandbox=True))


def get_issuer(app: Flask) -> InvoiceIssuer | None:
    """The issuer in app.extensions["invoice_issuer"], defaulting to the sandbox's in sandbox mode."""
    if "invoice_issuer" not in app.extensions:
        app.extensions["invoice_issuer"] = (
            SandboxInvoiceIssuer() if app.config["WXAPP_SANDBOX"] else None
        )
    return app.extensions["invoice_issuer"]


def render_invoice_pdf(data: InvoiceData, number: str, sandbox: bool) -> bytes:
    register_fonts()
    buf = io.BytesIO()
    width, height = landscape(A4)
    pdf = canvas.Canvas(buf, pagesize=(width, height), invariant=True)
    pdf.setTitle(f"电子发票 {number}")
    pdf.setFont(FONT, 20)
    pdf.drawCentredString(width / 2, height - 60, "电子发票（普通发票）")
    pdf.setFont(FONT, 11)
    issued = local(data.issued_at)
    lines = [
        f"发票号码：{number}",
        f"开票日期：{issued:%Y年%m月%d日}",
        f"购买方：{data.title}（{data.title_type}）",
        f"购买方纳税人识别号：{data.tax_number or '—'}",
        f"销售方：{data.seller}",
        f"项目名称：{data.item}",
        f"数量：{data.quantity}",
        f"价税合计：¥{yuan(data.amount_fen)}",
        f"订单号：{data.out_trade_no}",
        f"接收邮箱：{data.email}",
    ]
    y = height - 110
    for line in lines:
        pdf.drawString(70, y, line)
        y -= 24
    if sandbox:
        pdf.setFont(FONT, 14)
        pdf.setFillColorRGB(0.8, 0.1, 0.1)
        pdf.drawString(70, 50, "沙箱发票，仅供测试，不作报销凭证")
    pdf.showPage()
    pdf.save()
    return buf.getvalue()
