"""团体购买: one payer pastes ID numbers, one per line; each line is accepted or rejected.

`check_lines` is the pure per-line part (format, check digit, lower-case x, repeats within
the paste). The database part runs three bulk queries whatever the number of lines: which
accounts exist, who already bought the plan, who sits in another unpaid group order.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import redis
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from models import (
    Enrollment,
    EnrollmentStatus,
    Order,
    OrderItem,
    OrderKind,
    OrderStatus,
    Trainee,
    TrainingPlan,
    db,
)
from wxapp.accounts.idnumbers import IdNumberError, validate_id_number
from wxapp.errors import NotFound, ValidationError
from wxapp.infra.transaction import transaction
from wxapp.orders.invoices import InvoiceRequest, attach_request
from wxapp.orders.purchase import lock_payer, new_order, order_view, purchasable_plan

FORMAT = "号码格式错误"
CHECKSUM = "校验位错误"
LOWER_X = "小写x"
NO_ACCOUNT = "账号不存在"
ALREADY_BOUGHT = "已购买该项目"
REPEATED = "本单重复"
PENDING_GROUP = "有未支付的团购订单"
_ID_REASONS = {"lowercase_x": LOWER_X, "checksum": CHECKSUM}

MAX_LINES = 10_000
REJECTS_TTL_S = 7 * 24 * 3600


@dataclass(frozen=True)
class Reject:
    line: int  # 1-based line of the pasted text, blank lines counted
    id_number: str
    reason: str


def check_lines(text: str) -> tuple[list[tuple[int, str]], list[Reject]]:
    """(accepted (line, id number) in paste order, rejects) from the pasted text. Pure.

    Surrounding spaces and blank lines are tolerated; anything else is checked as the
    notice says (18 characters, check digit, upper-case X). A number seen before is 本单重复.
    """
    accepted: list[tuple[int, str]] = []
    rejects: list[Reject] = []
    seen: set[str] = set()
    for index, raw in enumerate(text.splitlines(), start=1):
        value = raw.strip()
        if not value:
            continue
        try:
            validate_id_number(value)
        except IdNumberError as err:
            rejects.append(Reject(index, value, _ID_REASONS.get(err.reason, FORMAT)))
            continue
        if value in seen:
            rejects.append(Reject(index, value, REPEATED))
            continue
        seen.add(value)
        accepted.append((index, value))
    return accepted, rejects


def _among(column: sa.ColumnElement, values: list) -> sa.ColumnElement[bool]:
    """`column IN values` as one array parameter on PostgreSQL (thousands of binds are slow)."""
    if db.session.get_bind().dialect.name == "postgresql":
        item = sa.String() if isinstance(column.type, sa.String) else sa.Integer()
        return column == sa.any_(sa.bindparam(None, values, type_=postgresql.ARRAY(item)))
    return column.in_(values)


def check_accounts(
    candidates: list[tuple[int, str]], plan_id: int, now: datetime
) -> tuple[list[int], list[Reject]]:
    """(trainee ids accepted, rejects) after the database checks, three queries in all."""
    if not candidates:
        return [], []
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
    pending = set(
        db.session.execute(
            db.select(OrderItem.trainee_id)
            .join(Order, Order.id == OrderItem.order_id)
            .where(
                Order.plan_id == plan_id,
                Order.kind == OrderKind.GROUP,
                Order.status == OrderStatus.NOTPAY,
                Order.expires_at > now,
                _among(OrderItem.trainee_id, found),
            )
        ).scalars()
    )
    accepted: list[int] = []
    rejects: list[Reject] = []
    for line, number in candidates:
        tid = ids.get(number)
        if tid is None:
            rejects.append(Reject(line, number, NO_ACCOUNT))
        elif tid in bought:
            rejects.append(Reject(line, number, ALREADY_BOUGHT))
        elif tid in pending:
            rejects.append(Reject(line, number, PENDING_GROUP))
        else:
            accepted.append(tid)
    return accepted, rejects


def _rejects_key(payer_id: int, token: str) -> str:
    return f"{{t:{payer_id}}}:group-rejects:{token}"


def create_group_order(
    r: redis.Redis,
    payer_id: int,
    plan_id: int,
    text: str,
    invoice: InvoiceRequest | None,
    now: datetime,
) -> dict[str, Any]:
    """Check the pasted lines and create one order for the accepted trainees (none if none)."""
    if len(text.splitlines()) > MAX_LINES:
        raise ValidationError("id_numbers", f"一次最多粘贴 {MAX_LINES} 行")
    candidates, rejects = check_lines(text)
    if not candidates and not rejects:
        raise ValidationError("id_numbers", "请粘贴参训学员的身份证号码，每行一个")
    plan = purchasable_plan(plan_id, now)
    with transaction():
        # Serialise group orders of one plan, so two payers cannot both take the same trainee.
        db.session.execute(
            db.select(TrainingPlan.id).where(TrainingPlan.id == plan.id).with_for_update()
        )
        lock_payer(payer_id)
        trainee_ids, db_rejects = check_accounts(candidates, plan.id, now)
        rejects = sorted(rejects + db_rejects, key=lambda rej: rej.line)
        order = (
            new_order(OrderKind.GROUP, payer_id, plan, trainee_ids, now) if trainee_ids else None
        )
        if order is not None and invoice is not None:
            attach_request(order, invoice, now)
    errors_url = None
    if rejects:
        token = secrets.token_urlsafe(12)
        r.set(
            _rejects_key(payer_id, token),
            json.dumps([asdict(rej) for rej in rejects], ensure_ascii=False),
            ex=REJECTS_TTL_S,
        )
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
    }


def stored_rejects(r: redis.Redis, payer_id: int, token: str) -> list[Reject]:
    raw = r.get(_rejects_key(payer_id, token))
    if raw is None:
        raise NotFound("错误文件不存在或已过期，请重新提交", code="rejects_not_found")
    return [Reject(**item) for item in json.loads(raw)]
