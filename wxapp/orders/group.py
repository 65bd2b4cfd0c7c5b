"""团体购买: one payer pastes ID numbers, one per line; each line is accepted or rejected.

`check_lines` is the pure per-line part (format, check digit, lower-case x, repeats within
the paste). The database part runs three bulk queries whatever the number of lines: which
accounts exist, who already bought the plan, who sits in another unpaid group order of the
SAME payer (another payer's unpaid order blocks no one: a stranger cannot hold a unit's
trainees hostage, and a member paid twice is refunded, see `orders.refunds`).

The answer says, line by line, whether an ID number has an account and whether it bought
the plan: what a unit's payer needs to fix the list, and what a stranger could mine. So
each payer may have at most `group_paste.DAILY_DISTINCT_IDS` distinct well-formed numbers looked up per
day (Asia/Shanghai), counted before the lookup, and every paste is kept in
`group_paste_audits` (payer, plan, counts, address) for the operator console.

修改并重新提交: a line of the payer's own other unpaid group order comes back with that
order (`pending_orders`), and the corrected list can be sent again with those orders to
replace (`replace`): each must be the payer's own unpaid group order of the same plan, and
is cancelled as 取消订单 cancels it (closed at WeChat Pay first, so an order paid meanwhile
is settled as paid and stops the resubmission) before the list is checked again and
ordered as one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

import redis
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from models import (
    Enrollment,
    EnrollmentStatus,
    GroupPasteAudit,
    Order,
    OrderItem,
    OrderKind,
    OrderStatus,
    Trainee,
    db,
)
from wxapp.accounts.idnumbers import IdNumberError, validate_id_number
from wxapp.errors import Conflict, TooManyRequests, ValidationError
from wxapp.infra.transaction import transaction
from wxapp.orders.checkout import cancel_order
from wxapp.orders.group_paste import Reject, count_checked, store_rejects
from wxapp.orders.invoices import InvoiceRequest, attach_request
from wxapp.orders.ownership import get_own_order
from wxapp.orders.purchase import lock_payer, new_order, order_view, purchasable_plan
from wxapp.pay.client import PayClient

# The reasons a line is rejected, shown on the page and in the error file: full sentences,
# worded as the roster import words the same faults (an ID number's own faults come from
# `validate_id_number`, which both use).
NO_ACCOUNT = "该身份证号码尚未注册学员账号，请先为其注册后再购买"
ALREADY_BOUGHT = "该学员已购买本培训项目，无需重复购买"
REPEATED = "身份证号码与第 {line} 行重复"
PENDING_GROUP = "该学员已在您另一笔未支付的团购订单中，请在“团购订单”中支付或取消该订单后再提交"

MAX_LINES = 10_000
# Unpaid orders one resubmission may cancel (a payer has one per paste at most).
MAX_REPLACED = 10
NOT_REPLACEABLE = "只能取消本培训项目中您自己未支付的团购订单"
REPLACED_PAID = (
    "原订单 {no} 已支付成功，不能取消，本次名单未提交。"
    "请点击“立即购买”重新核对名单，已购买的学员无需重复购买"
)
REPLACED_NOT_SETTLED = "原订单 {no} 暂不能取消，本次名单未提交。{why}"
# A rejected line keeps its first REJECT_TEXT_MAX characters (a 2 MB paste of junk stores
# well under 1 MB in its error file, wxapp.orders.group_paste).
REJECT_TEXT_MAX = 20


def check_lines(text: str) -> tuple[list[tuple[int, str]], list[Reject]]:
    """(accepted (line, id number) in paste order, rejects) from the pasted text. Pure.

    Blank lines are skipped; every other line must be the number alone, as the notice asks
    (18 characters, check digit, upper-case X, no spaces before or after: a line with them
    is rejected with the roster's reason rather than silently trimmed, so the list the payer
    keeps is the list that was checked). A number seen before repeats that earlier line.
    """
    accepted: list[tuple[int, str]] = []
    rejects: list[Reject] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(text.splitlines(), start=1):
        value = raw.strip()
        if not value:
            continue
        try:
            validate_id_number(raw)
        except IdNumberError as err:
            rejects.append(Reject(index, value[:REJECT_TEXT_MAX], str(err)))
            continue
        if value in seen:
            rejects.append(Reject(index, value, REPEATED.format(line=seen[value])))
            continue
        seen[value] = index
        accepted.append((index, value))
    return accepted, rejects


def _among(column: sa.ColumnElement, values: list) -> sa.ColumnElement[bool]:
    """`column IN values` as one array parameter on PostgreSQL (thousands of binds are slow)."""
    if db.session.get_bind().dialect.name == "postgresql":
        item = sa.String() if isinstance(column.type, sa.String) else sa.Integer()
        return column == sa.any_(sa.bindparam(None, values, type_=postgresql.ARRAY(item)))
    return column.in_(values)


def check_accounts(
    candidates: list[tuple[int, str]], plan_id: int, payer_id: int, now: datetime
) -> tuple[list[int], list[Reject], list[dict[str, Any]]]:
    """(trainee ids accepted, rejects, the orders holding PENDING_GROUP lines) after the
    database checks, three queries in all.

    PENDING_GROUP only for the payer's own unpaid group orders of the plan; each such order
    is listed once, with how many lines of this paste it holds (`lines`) of its `quantity`."""
    if not candidates:
        return [], [], []
    numbers = [n for _, n in candidates]
    ids = dict(
        db.session.execute(
            db.select(Trainee.id_number, Trainee.id).where(_among(Trainee.id_number, numbers))
        ).all()
    )
    found = list(ids.values())
    bought = set(
        db.session.execute(
            db.select(Enrollment.trainee_id).where(
                Enrollment.plan_id == plan_id,
                Enrollment.status == EnrollmentStatus.PAID,
                _among(Enrollment.trainee_id, found),
            )
        ).scalars()
    )
    pending = {
        tid: (no, quantity, amount, created, expires)
        for tid, no, quantity, amount, created, expires in db.session.execute(
            db.select(
                OrderItem.trainee_id,
                Order.out_trade_no,
                Order.quantity,
                Order.amount_fen,
                Order.created_at,
                Order.expires_at,
            )
            .join(Order, Order.id == OrderItem.order_id)
            .where(
                Order.plan_id == plan_id,
                Order.payer_id == payer_id,
                Order.kind == OrderKind.GROUP,
                Order.status == OrderStatus.NOTPAY,
                Order.expires_at > now,
                _among(OrderItem.trainee_id, found),
            )
        )
    }
    accepted: list[int] = []
    rejects: list[Reject] = []
    holding: dict[str, dict[str, Any]] = {}
    for line, number in candidates:
        tid = ids.get(number)
        if tid is None:
            rejects.append(Reject(line, number, NO_ACCOUNT))
        elif tid in bought:
            rejects.append(Reject(line, number, ALREADY_BOUGHT))
        elif tid in pending:
            rejects.append(Reject(line, number, PENDING_GROUP))
            no, quantity, amount, created, expires = pending[tid]
            held = holding.setdefault(
                no,
                {
                    "out_trade_no": no,
                    "quantity": quantity,
                    "amount": amount,
                    "created_at": created.isoformat(),
                    "expires_at": expires.isoformat(),
                    "lines": 0,
                },
            )
            held["lines"] += 1
        else:
            accepted.append(tid)
    return accepted, rejects, list(holding.values())


def _audit(payer_id: int, plan_id: int, lines: int, checked: int, **fields: Any) -> None:
    db.session.add(
        GroupPasteAudit(payer_id=payer_id, plan_id=plan_id, lines=lines, checked=checked, **fields)
    )


def cancel_replaced(
    client: PayClient, payer_id: int, plan_id: int, out_trade_nos: Sequence[str], now: datetime
) -> list[str]:
    """Cancel the orders a resubmission replaces, as 取消订单 does; the ones now closed.

    Each must be the payer's own group order of the plan (another's is 404, as everywhere);
    all are checked before any is cancelled. One already closed (a second click, another
    tab) is passed over. One paid, before or during its cancellation (settled as paid, as
    取消订单 settles it), stops here with 409 `replaced_order_paid` and the list is not
    ordered: the payer, who thought it unpaid, checks the list again first."""
    if len(out_trade_nos) > MAX_REPLACED:
        raise ValidationError("replace_orders", f"一次最多取消 {MAX_REPLACED} 笔原订单")
    for no in out_trade_nos:
        order = get_own_order(payer_id, no)
        if order.kind != OrderKind.GROUP or order.plan_id != plan_id:
            raise Conflict(NOT_REPLACEABLE, code="order_not_replaceable", out_trade_no=no)
        if order.status in (OrderStatus.SUCCESS, OrderStatus.REFUND):  # paid (refunds since)
            raise Conflict(REPLACED_PAID.format(no=no), code="replaced_order_paid", out_trade_no=no)
    closed = []
    for no in out_trade_nos:
        try:
            cancel_order(client, payer_id, no, now)
        except Conflict as err:
            if err.code == "order_paid":
                raise Conflict(
                    REPLACED_PAID.format(no=no), code="replaced_order_paid", out_trade_no=no
                ) from None
            if err.code == "order_not_settled":
                raise Conflict(
                    REPLACED_NOT_SETTLED.format(no=no, why=err.message),
                    code="replaced_order_not_settled",
                    out_trade_no=no,
                ) from None
            if err.code != "order_not_open":  # closed already: what was asked
                raise
        closed.append(no)
    return closed


def create_group_order(
    r: redis.Redis,
    payer_id: int,
    plan_id: int,
    text: str,
    invoice: InvoiceRequest | None,
    now: datetime,
    client_ip: str = "-",
    *,
    replace: Sequence[str] = (),
    pay_client: PayClient | None = None,
) -> dict[str, Any]:
    """Check the pasted lines and create one order for the accepted trainees (none if none).

    The daily cap is checked before any account is looked up; the paste is audited either way.
    `replace`: the payer's unpaid group orders of the plan to cancel first (修改并重新提交,
    `cancel_replaced`), after the paste and the cap were checked, so a paste refused for
    its own faults cancels nothing.
    """
    if len(text.splitlines()) > MAX_LINES:
        raise ValidationError("id_numbers", f"一次最多粘贴 {MAX_LINES} 行")
    candidates, rejects = check_lines(text)
    if not candidates and not rejects:
        raise ValidationError("id_numbers", "请粘贴参训学员的身份证号码，每行一个")
    plan = purchasable_plan(plan_id, now)
    lines = len(candidates) + len(rejects)
    audit = {"client_ip": client_ip[:45], "created_at": now}
    try:
        count_checked(r, payer_id, [n for _, n in candidates], now)
    except TooManyRequests:
        with transaction():
            _audit(
                payer_id,
                plan.id,
                lines,
                len(candidates),
                accepted=0,
                rejected=0,
                outcome="capped",
                **audit,
            )
        raise
    plan_id = plan.id
    replaced = cancel_replaced(pay_client, payer_id, plan_id, replace, now) if replace else []
    with transaction():
        lock_payer(payer_id)  # one payer's pastes one at a time: no trainee in two of its orders
        trainee_ids, db_rejects, holding = check_accounts(candidates, plan_id, payer_id, now)
        rejects = sorted(rejects + db_rejects, key=lambda rej: rej.line)
        order = (
            new_order(OrderKind.GROUP, payer_id, plan, trainee_ids, now) if trainee_ids else None
        )
        if order is not None and invoice is not None:
            attach_request(order, invoice, now)
        _audit(
            payer_id,
            plan.id,
            lines,
            len(candidates),
            accepted=len(trainee_ids),
            rejected=len(rejects),
            outcome="checked",
            out_trade_no=order.out_trade_no if order else None,
            **audit,
        )
    errors_url = None
    if rejects:
        token = store_rejects(r, payer_id, rejects, now)
        errors_url = f"/api/group-orders/rejects/{token}.xlsx"
    return {
        "plan_id": plan.id,
        "accepted": len(trainee_ids),
        "rejected": len(rejects),
        "unit_price": plan.price_fen,
        "amount": plan.price_fen * len(trainee_ids),
        "rejects": [asdict(rej) for rej in rejects],
        "errors_url": errors_url,
        "order": order_view(order) if order else None,
        "pending_orders": holding,
        "replaced": replaced,
    }
