"""Invoices (电子发票): apply on an order (立即申请 / 以后申请), modify once, download the PDF."""

from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, Response, current_app, jsonify

from handlers import validation as v
from handlers.guard import current_trainee_id
from wxapp.extensions import app_now
from wxapp.orders import invoices
from wxapp.orders.invoice_issuer import get_issuer

bp = Blueprint("invoices", __name__, url_prefix="/api")


@bp.post("/orders/<order:out_trade_no>/invoice")
def request_invoice(out_trade_no: str):
    req = invoices.parse_invoice_request(v.json_body())
    invoice = invoices.request_invoice(
        current_trainee_id(), out_trade_no, req, get_issuer(current_app), app_now()
    )
    return jsonify(invoice), 201


@bp.put("/invoices/<int:invoice_id>")
def modify_invoice(invoice_id: int):
    req = invoices.parse_invoice_request(v.json_body())
    return jsonify(
        invoices.modify_invoice(
            current_trainee_id(), invoice_id, req, get_issuer(current_app), app_now()
        )
    )


@bp.get("/invoices/<int:invoice_id>.pdf")
def invoice_pdf(invoice_id: int):
    number, pdf = invoices.invoice_pdf(current_trainee_id(), invoice_id)
    name = quote(f"电子发票-{number}.pdf")
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": f"inline; filename*=UTF-8''{name}"},
    )
