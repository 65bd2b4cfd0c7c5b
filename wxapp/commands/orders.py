"""`flask --app wsgi orders ...`: reconciliation with WeChat Pay and the refused-payment list."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import click
from flask import current_app
from flask.cli import AppGroup

from models import PaymentAnomaly, db
from wxapp.orders.invoice_issuer import get_issuer, yuan
from wxapp.orders.reconciliation import BillFormatError, reconcile_day
from wxapp.orders.settlement import reconcile as run_reconcile
from wxapp.pay.client import PayGatewayError, get_wechatpay

orders = AppGroup("orders", help="订单：对账、待人工处理的支付。")


@orders.command("reconcile")
@click.option("--older-than", default=5, show_default=True, help="只查询未支付超过这么多分钟的订单")
@click.option("--limit", default=500, show_default=True, help="每次最多查询的订单数")
@click.option(
    "--date",
    "bill_date",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="每日对账：下载这一天（北京时间）的微信支付交易账单，列出与订单的差异",
)
def reconcile(older_than: int, limit: int, bill_date: datetime | None) -> None:
    """向微信支付查询未支付订单：补记漏掉的支付，关闭过期订单，开具待开发票。

    带 --date 时改为每日对账：下载当日交易账单（校验 SHA1），列出差异；有差异时退出码为 2。"""
    if bill_date is not None:
        _bill_reconcile(bill_date.date())
        return
    counts = run_reconcile(
        get_wechatpay(),
        get_issuer(current_app),
        current_app.extensions["clock"].now(),
        older_than=timedelta(minutes=older_than),
        limit=limit,
        r=current_app.extensions["redis"],
    )
    click.echo(reconcile_text(counts))
    click.echo(f"明细：{json.dumps(counts)}")  # for scripts and monitoring
    if counts["errors"]:
        raise SystemExit(1)


@orders.command("anomalies")
def anomalies() -> None:
    """列出尚未处理的被拒支付通知（供运维人员处理）。"""
    rows = db.session.execute(
        db.select(PaymentAnomaly)
        .where(PaymentAnomaly.resolved_at.is_(None))
        .order_by(PaymentAnomaly.id)
    ).scalars()
    for row in rows:
        click.echo(
            f"{row.id}\t{row.created_at:%Y-%m-%d %H:%M}\t{row.reason}\t{row.out_trade_no}\t{row.transaction_id}"
        )


def _bill_reconcile(day: date) -> None:
    try:
        report = reconcile_day(get_wechatpay(), day)
    except (PayGatewayError, BillFormatError) as err:
        raise click.ClickException(f"对账失败：{err}") from None
    if not report.bill_found:
        click.echo(f"{day} 微信支付无交易账单（当日无交易）")
    click.echo(
        f"{day} 账单：收款 {report.payments} 笔 {yuan(report.paid_fen)} 元，"
        f"退款 {report.refunds} 笔 {yuan(report.refunded_fen)} 元；差异 {len(report.differences)} 笔"
    )
    for d in report.differences:
        ours = "—" if d.ours_fen is None else yuan(d.ours_fen)
        theirs = "—" if d.theirs_fen is None else yuan(d.theirs_fen)
        refund = f" 退款单 {d.out_refund_no}" if d.out_refund_no else ""
        click.echo(
            f"{d.label}\t订单 {d.out_trade_no}{refund}\t本系统 {ours}（{d.our_status or '无'}）"
            f"\t微信支付 {theirs}"
        )
    if report.differences:
        raise SystemExit(2)


def reconcile_text(counts: dict[str, int]) -> str:
    """One line an operator reads: what the reconciliation found and did."""
    text = (
        f"对账完成：查询 {counts['checked']} 笔，补记支付 {counts['paid']} 笔，"
        f"关闭 {counts['closed']} 笔，仍未支付 {counts['pending']} 笔，出错 {counts['errors']} 笔"
    )
    extra = {"invoices_issued": "开具发票", "refunds_submitted": "提交退款",
             "refunds_updated": "更新退款"}  # fmt: skip
    parts = [f"{label} {counts[key]} 笔" for key, label in extra.items() if key in counts]
    return text + ("，" + "，".join(parts) if parts else "")


commands = [orders]
