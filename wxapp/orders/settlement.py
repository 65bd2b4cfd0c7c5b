"""Settling orders with what WeChat Pay reports: its notification, and reconciliation (对账).

A notification is verified by the pay adapter (`wxapp.pay.notify`), then applied through
the paid transition (`wxapp.orders.payment`), then the invoice requested at purchase is
issued. A lost notification must not leave a trainee who paid unable to learn: an unpaid
order older than a few minutes is queried, and a SUCCESS goes through the same paid
transition. An expired one is closed at WeChat Pay first (so it can never be paid later),
then here. Reconciliation runs periodically as `flask --app wsgi orders reconcile`.

Refunds (`wxapp.orders.refunds`) come through here too: a paid order with a member who paid
twice has that member's refund asked of WeChat Pay right after the payment commits; a
REFUND.* notification (SUCCESS, CLOSED, ABNORMAL) updates the refund and, on success, the
order and the enrollments; reconciliation asks again for refunds still pending and queries
those still processing.

Who commits: a notification is applied in one `transaction()`. Settling an order cannot be
one transaction, since WeChat Pay is asked between its steps: it ends its read first
(`end_read`), then each write (the paid transition, the close, an anomaly) is a
transaction of its own, as is each invoice issued afterwards. Reconciliation settles each
order separately, so one order's failure loses nothing of the others.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from functools import cache
from typing import Any

import redis
import sqlalchemy as sa

from models import Invoice, InvoiceStatus, Order, OrderStatus, db
from wxapp.infra.dbutil import execute
from wxapp.infra.observability import PAYMENTS
from wxapp.infra.transaction import end_read, transaction
from wxapp.orders import refund_gateway, refunds
from wxapp.orders.anomalies import record_anomaly
from wxapp.orders.invoice_issuer import InvoiceIssuer
from wxapp.orders.invoices import issue_requested
from wxapp.orders.payment import DUPLICATE, IGNORED, PAID, REFUSED, apply_transaction
from wxapp.pay.client import PayClient, PayGatewayError
from wxapp.pay.notify import NotificationRejected, decrypt_notification, verify_signature

log = logging.getLogger(__name__)

OPEN_STATES = ("NOTPAY", "USERPAYING")
CLOSED_STATES = ("CLOSED", "REVOKED", "PAYERROR")


def _query(client: PayClient, out_trade_no: str) -> dict[str, Any] | None:
    try:
        return client.call("query", out_trade_no=out_trade_no)[1]
    except PayGatewayError as err:
        if err.code == "ORDER_NOT_EXIST":
            return None  # never reached WeChat Pay: nothing there can be paid
        raise


def _mark_closed(order_id: int, now: datetime) -> None:
    db.session.execute(
        sa.update(Order)
        .where(Order.id == order_id, Order.status == OrderStatus.NOTPAY)
        .values(status="CLOSED", closed_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )


def settle_order(
    client: PayClient,
    order_id: int,
    now: datetime,
    close: bool = False,
    issuer: InvoiceIssuer | None = None,
    r: redis.Redis | None = None,
) -> str:
    """Bring one unpaid order in line with WeChat Pay: paid, closed or still pending. `r`:
    where the refunded members' cached entitlements are dropped (a refund it submits)."""
    order = db.session.get(Order, order_id)
    if order is None or order.status != OrderStatus.NOTPAY:
        return "skipped"
    no, expired = order.out_trade_no, order.expires_at <= now
    end_read()  # no transaction stays open across the HTTP calls
    tx = _query(client, no)
    state = tx.get("trade_state") if tx else None
    if tx is not None and state == "SUCCESS":
        with transaction():
            result = apply_transaction(tx, f"query:{no}", client.mchid, client.appid, now)
        if result == "paid":
            log.warning("order %s was paid but not notified: recovered by reconciliation", no)
            issue_after_payment(no, issuer, now)
            refund_gateway.submit_pending(client, now, order_id=order_id, r=r)
        return result
    if state in CLOSED_STATES or (state in (None, *OPEN_STATES) and (close or expired)):
        if state in OPEN_STATES:
            try:
                client.call("close", out_trade_no=no)
            except PayGatewayError as err:
                if err.code != "ORDERPAID":
                    raise
                return settle_order(client, order_id, now, close, issuer, r)  # paid meanwhile
        with transaction():
            _mark_closed(order_id, now)
        return "closed"
    if state == "REFUND":
        with transaction():
            record_anomaly(f"query:{no}", "refunded_while_unpaid", tx or {}, now)
        return "refused"
    return "pending"


def reconcile(
    client: PayClient,
    issuer: InvoiceIssuer | None,
    now: datetime,
    older_than: timedelta = timedelta(minutes=5),
    limit: int = 500,
    r: redis.Redis | None = None,
) -> dict[str, int]:
    """Settle unpaid orders older than `older_than`, oldest first; issue pending invoices;
    move refunds on. `r`: where refunded members' cached entitlements are dropped, so they
    stop learning at once (else at the cache's expiry)."""
    ids = list(
        db.session.execute(
            db.select(Order.id)
            .where(Order.status == OrderStatus.NOTPAY, Order.created_at <= now - older_than)
            .order_by(Order.created_at)
            .limit(limit)
        ).scalars()
    )
    counts = {"checked": len(ids), "paid": 0, "closed": 0, "pending": 0, "errors": 0}
    for order_id in ids:
        try:
            result = settle_order(client, order_id, now, issuer=issuer, r=r)
        except PayGatewayError as err:  # nothing of this order was written: try the next
            log.warning("reconcile: order id %s not settled: %s", order_id, err)
            counts["errors"] += 1
            continue
        if result in counts:
            counts[result] += 1
    waiting = db.session.execute(
        db.select(Invoice.order_id)
        .join(Order, Order.id == Invoice.order_id)
        .where(Invoice.status == InvoiceStatus.REQUESTED, Order.status == OrderStatus.SUCCESS)
        .limit(limit)
    ).scalars()
    counts["invoices_issued"] = sum(issue_requested(oid, issuer, now) for oid in list(waiting))
    # Refunds WeChat Pay has not accepted yet (a failed call), and those whose REFUND.*
    # notification never came.
    counts["refunds_submitted"] = refund_gateway.submit_pending(
        client, now, older_than=timedelta(minutes=1), limit=limit, r=r
    )
    counts["refunds_updated"] = refund_gateway.query_processing(client, now, limit=limit, r=r)
    return counts


REFUND_EVENTS = ("REFUND.SUCCESS", "REFUND.ABNORMAL", "REFUND.CLOSED")


def handle_notification(
    client: PayClient,
    issuer: InvoiceIssuer | None,
    headers: Mapping[str, str],
    body: bytes,
    now: datetime,
    r: redis.Redis | None = None,
) -> str:
    """Verify, decrypt and apply a pay notification; NotificationRejected if not authentic.

    TRANSACTION.SUCCESS pays the order (then issues its invoice and asks for the refunds it
    recorded); REFUND.* updates the refund. What happened: PAID, DUPLICATE, IGNORED, REFUSED
    (kept as an anomaly, answered as a failure), or refunds.UPDATED / refunds.UNKNOWN."""
    try:
        text = verify_signature(
            headers, body, client.platform_public_key, client.public_key_id, now
        )
        envelope, tx = decrypt_notification(text, client.apiv3_key)
    except NotificationRejected:
        PAYMENTS.labels(outcome="rejected").inc()
        raise
    event = envelope.get("event_type")
    if event in REFUND_EVENTS:
        return _refund_notification(client, envelope, tx, now, r)
    if event != "TRANSACTION.SUCCESS":
        return IGNORED
    source = f"notify:{envelope.get('id') or tx.get('transaction_id')}"
    no = str(tx.get("out_trade_no"))
    with transaction():
        result = apply_transaction(tx, source, client.mchid, client.appid, now)
        # The order's id, for its invoice and its refunds: read here, on the connection the
        # payment holds, rather than on one taken from the pool again after the commit.
        order_id = _order_id(no) if result in (PAID, DUPLICATE) else None
    if result != PAID:  # paid ones are counted when their commit lands (wxapp/outbox.py)
        PAYMENTS.labels(outcome=result).inc()
    if order_id is None:
        return result
    if result == PAID:
        _issue_invoice(order_id, no, issuer, now)
    # A retried notification also retries a failed refund.
    refund_gateway.submit_pending(client, now, order_id=order_id, r=r)
    return result


def _refund_notification(
    client: PayClient,
    envelope: dict[str, Any],
    data: dict[str, Any],
    now: datetime,
    r: redis.Redis | None,
) -> str:
    source = f"notify:{envelope.get('id') or data.get('refund_id')}"
    with transaction():
        result, cancelled = refunds.apply_refund(data, source, client.mchid, now)
    refunds.forget_entitlements(r, cancelled)
    return REFUSED if result == refunds.REFUSED else result


def issue_after_payment(out_trade_no: str, issuer: InvoiceIssuer | None, now: datetime) -> None:
    """Issue an invoice requested at purchase (its own transaction, after the payment's);
    a failure is rolled back, logged and retried by reconciliation."""
    order_id = _order_id(out_trade_no)
    if order_id is not None:
        _issue_invoice(order_id, out_trade_no, issuer, now)


def _issue_invoice(
    order_id: int, out_trade_no: str, issuer: InvoiceIssuer | None, now: datetime
) -> None:
    try:
        issue_requested(order_id, issuer, now)
    except Exception:  # issue_requested's transaction() has rolled back
        log.exception("issuing the invoice of order %s failed; reconcile retries", out_trade_no)


def _order_id(out_trade_no: str) -> int | None:
    return execute(_order_id_statement(), {"no": out_trade_no}).scalar_one_or_none()


@cache
def _order_id_statement() -> sa.Select:
    # Built once: on the notification's path building statements cost more CPU than
    # PostgreSQL's running them (docs/performance.md).
    return sa.select(Order.id).where(Order.out_trade_no == sa.bindparam("no"))
