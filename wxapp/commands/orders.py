"""`flask --app wsgi orders ...`: reconciliation with WeChat Pay and the refused-payment list."""

from __future__ import annotations

import json
from datetime import timedelta

import click
from flask import current_app
from flask.cli import AppGroup

from models import PaymentAnomaly, db
from wxapp.orders.invoice_issuer import get_issuer
from wxapp.orders.settlement import reconcile as run_reconcile
from wxapp.pay.client import get_wechatpay

orders = AppGroup("orders", help="订单：对账、待人工处理的支付。")


@orders.command("reconcile")
@click.option(
    "--older-than", default=5, show_default=True, help="only orders unpaid for this many minutes"
)
@click.option("--limit", default=500, show_default=True, help="orders per run")
def reconcile(older_than: int, limit: int) -> None:
    """Query WeChat Pay for unpaid orders: apply lost payments, close expired orders."""
    counts = run_reconcile(
        get_wechatpay(),
        get_issuer(current_app),
        current_app.extensions["clock"].now(),
        older_than=timedelta(minutes=older_than),
        limit=limit,
    )
    click.echo(json.dumps(counts))
    if counts["errors"]:
        raise SystemExit(1)


@orders.command("anomalies")
def anomalies() -> None:
    """List refused payment notifications not yet resolved (for an operator)."""
    rows = db.session.execute(
        db.select(PaymentAnomaly)
        .where(PaymentAnomaly.resolved_at.is_(None))
        .order_by(PaymentAnomaly.id)
    ).scalars()
    for row in rows:
        click.echo(
            f"{row.id}\t{row.created_at:%Y-%m-%d %H:%M}\t{row.reason}\t{row.out_trade_no}\t{row.transaction_id}"
        )


commands = [orders]
