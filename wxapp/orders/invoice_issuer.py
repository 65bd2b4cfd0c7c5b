"""Who issues invoices: the `InvoiceIssuer` interface and the sandbox issuer.

A real tax platform (税务数字账户 or a service provider's API) is out of reach here; the
sandbox issuer numbers the invoice and renders a PDF marked as a sandbox invoice. Without the
sandbox and without a configured issuer, requests stay `requested` for an operator.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from flask import Flask

from wxapp.infra.clock import local


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
        from wxapp.orders.invoice_pdf import render_invoice_pdf

        number = f"SB{local(data.issued_at):%Y%m%d}{secrets.randbelow(10**10):010d}"
        return IssuedInvoice(number=number, pdf=render_invoice_pdf(data, number, sandbox=True))


def get_issuer(app: Flask) -> InvoiceIssuer | None:
    """The issuer in app.extensions["invoice_issuer"], defaulting to the sandbox's in sandbox mode."""
    if "invoice_issuer" not in app.extensions:
        app.extensions["invoice_issuer"] = (
            SandboxInvoiceIssuer() if app.config["WXAPP_SANDBOX"] else None
        )
    return app.extensions["invoice_issuer"]
