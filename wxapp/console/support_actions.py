"""客服 (customer service) use cases behind the console's 学员 pages: finding a trainee, the
one page that shows everything about them, and the actions, each audited in its transaction.

The actions reuse the trainees' own rules: a reset SMS is the 忘记密码 code
(`accounts.password_reset`); a temporary password follows the password rule and keeps the
account in activation (must change, by an SMS code to its phone); a name or ID number is
corrected through `accounts.identity_changes` (with a reason, kept in the history), then the
trainee's certificates are re-issued with it. A trainee's phone is customer service's in
`wxapp.console.support_phone`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import redis
import sqlalchemy as sa

from models import (
    Certificate,
    Enrollment,
    Invoice,
    Order,
    OrderItem,
    OrderKind,
    Outbox,
    Trainee,
    TrainingPlan,
    WechatBinding,
    db,
)
from wxapp import events, outbox
from wxapp.accounts import bindings, identity_changes, password_reset, profile_history
from wxapp.accounts.idnumbers import has_id_number_shape, is_mobile_number, mask_id_number
from wxapp.accounts.lockout import is_locked, lift_lockout
from wxapp.accounts.session_ends import end_all
from wxapp.accounts.sms_codes import mask_phone
from wxapp.accounts.trainees import (
    check_new_password,
    get_trainee,
    store_password,
)
from wxapp.certificates.issuing import issue_certificate
from wxapp.console import audit
from wxapp.console.finance_actions import share_refunds
from wxapp.errors import Conflict, ValidationError
from wxapp.infra.texts import mask_name
from wxapp.infra.transaction import transaction
from wxapp.orders.purchase import STATUS_TEXT
from wxapp.orders.refund_rule import refund_totals
from wxapp.progress.learning_record import course_totals
from wxapp.progress.report import my_progress
from wxapp.progress.standing import KIND_ORDER, YearStanding, year_standing
from wxapp.progress.store import ProgressStore

SEARCH_LIMIT = 50

audit.ACTION_LABELS.update(
    {
        "trainee.reset_sms": "发送重置密码短信",
        "trainee.temporary_password": "设置临时密码",
        "trainee.unlock": "解除登录锁定",
        "trainee.unbind": "解除微信绑定",
        "trainee.correct_identity": "更正姓名或身份证号码",
        "trainees.search": "查询学员",
        "trainees.view": "查看学员详情",
    }
)


# What people put between the digits of a number read out on the telephone.
_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015]+")


def account_key(text: str | None) -> str:
    """A phone or ID number as an operator types it ("138 0013 8001", "138-0013-8001",
    "+86 138…", a lower-case or full-width x, full-width digits) in the stored form:
    digits and upper-case X, nothing between them."""
    key = _SEPARATORS.sub("", unicodedata.normalize("NFKC", text or "")).upper()
    return key[3:] if key.startswith("+86") else key


def search(query: str) -> list[Trainee]:
    """Trainees found by name, ID number, phone, openid or order number (exact, except a
    name, which may be the start of one; a phone or ID number however spaced or cased)."""
    q = (query or "").strip()
    if not q:
        raise ValidationError("q", "请输入姓名、身份证号码、手机号、openid 或订单号")
    if len(q) > 64:
        raise ValidationError("q", "查询内容过长（最多 64 个字符）")
    found: set[int] = set()
    key = account_key(q)
    if has_id_number_shape(key):
        found |= set(
            db.session.execute(sa.select(Trainee.id).where(Trainee.id_number == key)).scalars()
        )
    if is_mobile_number(key):
        found |= set(
            db.session.execute(sa.select(Trainee.id).where(Trainee.phone == key)).scalars()
        )
    found |= set(
        db.session.execute(
            sa.select(WechatBinding.trainee_id).where(WechatBinding.openid == q)
        ).scalars()
    )
    order = db.session.execute(sa.select(Order).where(Order.out_trade_no == q)).scalar_one_or_none()
    if order is not None:
        found.add(order.payer_id)
        found |= set(
            db.session.execute(
                sa.select(OrderItem.trainee_id).where(OrderItem.order_id == order.id)
            ).scalars()
        )
    escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    found |= set(
        db.session.execute(
            sa.select(Trainee.id)
            .where(Trainee.name.like(escaped + "%", escape="\\"))
            .limit(SEARCH_LIMIT)
        ).scalars()
    )
    if not found:
        return []
    return list(
        db.session.execute(
            sa.select(Trainee)
            .where(Trainee.id.in_(found))
            .order_by(Trainee.name, Trainee.id)
            .limit(SEARCH_LIMIT)
        ).scalars()
    )


_LONG_DIGITS = re.compile(r"\d{7,}")


def record_lookup(query: str, found: list[Trainee]) -> None:
    """An operator's 学员查询 in the audit log: what was typed (an ID number, phone or name
    masked, as the log is read by more people than the data) and whom it found."""
    q = query.strip()
    key = account_key(q)
    if has_id_number_shape(key):
        shown = mask_id_number(key)
    elif is_mobile_number(key):
        shown = mask_phone(key)
    elif q.isascii():  # an order number or an openid: not a person's data by itself
        shown = q[:64]
    else:
        shown = mask_name(q[:20])
    # A phone or ID number however written (+86, a dot after it, 15 digits, inside words):
    # any run of 7 digits or more keeps its first 3 and last 4.
    shown = _LONG_DIGITS.sub(lambda m: m[0][:3] + "*" * (len(m[0]) - 7) + m[0][-4:], shown)
    with transaction():
        audit.record(
            "trainees.search",
            "trainees",
            None,
            None,
            {"query": shown, "found": [t.id for t in found]},
        )


def record_view(trainee_id: int) -> None:
    """An operator opened a trainee's page (their phone, orders, learning): in the audit log."""
    with transaction():
        audit.record("trainees.view", "trainees", trainee_id, None, None)


def trainee_page(
    r: redis.Redis, store: ProgressStore, trainee_id: int, year: int
) -> dict[str, Any]:
    """Everything customer service needs about one trainee, read only."""
    trainee = get_trainee(trainee_id)
    orders = list(
        db.session.execute(
            sa.select(Order, TrainingPlan.title)
            .join(TrainingPlan, TrainingPlan.id == Order.plan_id)
            .where(
                sa.or_(
                    Order.payer_id == trainee_id,
                    Order.id.in_(
                        sa.select(OrderItem.order_id).where(OrderItem.trainee_id == trainee_id)
                    ),
                )
            )
            .order_by(Order.created_at.desc())
        ).all()
    )
    progress = my_progress(store, trainee_id, year)
    return {
        "trainee": trainee,
        "id_number_masked": mask_id_number(trainee.id_number),
        "locked": is_locked(r, trainee_id),
        "history": profile_history.history(trainee_id, staff=True),
        "bindings": list(
            db.session.execute(
                sa.select(WechatBinding).where(WechatBinding.trainee_id == trainee_id)
            ).scalars()
        ),
        "enrollments": list(
            db.session.execute(
                sa.select(Enrollment, TrainingPlan)
                .join(TrainingPlan, TrainingPlan.id == Enrollment.plan_id)
                .where(Enrollment.trainee_id == trainee_id)
                .order_by(TrainingPlan.year.desc(), TrainingPlan.kind)
            ).all()
        ),
        "standing": _standing(progress),
        "progress": progress,
        "course_totals": course_totals(trainee_id),
        "orders": orders,
        "order_status": STATUS_TEXT,
        # Beside each order: the refunds of this trainee's own share, and for a group order
        # they paid, what the whole order has had refunded.
        "share_refunds": share_refunds([o.id for o, _ in orders], trainee_id),
        "order_refunds": refund_totals(
            [o.id for o, _ in orders if o.payer_id == trainee_id and o.kind == OrderKind.GROUP]
        ),
        "invoices": list(
            db.session.execute(
                sa.select(Invoice, Order.out_trade_no)
                .join(Order, Order.id == Invoice.order_id)
                .where(Invoice.trainee_id == trainee_id)
                .order_by(Invoice.created_at.desc())
            ).all()
        ),
        "certificates": list(
            db.session.execute(
                sa.select(Certificate, TrainingPlan.title)
                .join(TrainingPlan, TrainingPlan.id == Certificate.plan_id)
                .where(Certificate.trainee_id == trainee_id)
                .order_by(Certificate.issued_at.desc())
            ).all()
        ),
        "messages": list(
            db.session.execute(
                sa.select(Outbox)
                .where(Outbox.trainee_id == trainee_id)
                .order_by(Outbox.id.desc())
                .limit(100)
            ).scalars()
        ),
    }


def _standing(progress: dict[str, Any]) -> YearStanding:
    """The year's standing 我的进度 gave (its "totals"), back in the type that says it."""
    totals = progress["totals"]
    return year_standing(progress["year"], {kind: totals[kind]["done"] for kind in KIND_ORDER})


def send_reset_sms(
    r: redis.Redis, config: Mapping[str, Any], trainee_id: int, client_ip: str, now: datetime
) -> str:
    """The 忘记密码 SMS code to the account's phone; the masked phone it went to. Sent for
    the owner on the telephone: past the phone's day (anyone who knows the ID number can
    spend it), the owner's own allowance."""
    trainee = get_trainee(trainee_id)
    if not trainee.phone:
        raise Conflict("该账号未登记手机号，无法发送短信；请先核实并更正手机号", code="no_phone")
    sent = password_reset.send_reset_code(
        r, config, trainee.phone, client_ip, now, by_operator=True
    )
    with transaction():
        audit.record(
            "trainee.reset_sms", "trainees", trainee_id, None, {"phone": sent.phone_masked}
        )
    return sent.phone_masked


NOT_ACTIVATED = (
    "该账号尚未激活，无需临时密码：请学员用初始密码（edu@ 加身份证号码后六位）登录，"
    "按提示用短信验证码激活；登记的手机号有误的，先在本页更正手机号"
)


def set_temporary_password(r: redis.Redis, trainee_id: int, password: str, now: datetime) -> None:
    """A password told to the trainee by telephone; it must be changed at the next login,
    which (as for a roster account) asks an SMS code to the account's phone. The WeChat
    binding goes and every session ends, as after any password change."""
    trainee = get_trainee(trainee_id)
    if trainee.password_hash is None:
        # Its password is the published initial one until it activates; a temporary one
        # would only make the account look activated to the phone correction below.
        raise Conflict(NOT_ACTIVATED, code="not_activated")
    check_new_password(password or "", trainee.id_number, field="password")
    openid = bindings.openid_of(trainee_id)
    with transaction():
        unbound = store_password(r, trainee, password, now, must_change=True)
        if unbound and openid is not None:
            _tell_unbound(trainee, openid, now)
        audit.record(
            "trainee.temporary_password",
            "trainees",
            trainee_id,
            None,
            {"must_change_password": True, "wechat_unbound": unbound},
        )
    lift_lockout(r, trainee_id)


def unlock(r: redis.Redis, trainee_id: int) -> bool:
    """Lift the login lockout; False when the account was not locked."""
    get_trainee(trainee_id)
    was = is_locked(r, trainee_id)
    with transaction():
        audit.record("trainee.unlock", "trainees", trainee_id, {"locked": was}, {"locked": False})
        lift_lockout(r, trainee_id)
    return was


def unbind_wechat(r: redis.Redis, trainee_id: int, now: datetime) -> str:
    """Drop the trainee's WeChat binding (a lost phone) and end their sessions; the openid."""
    trainee = get_trainee(trainee_id)
    openid = bindings.openid_of(trainee_id)
    if openid is None:
        raise Conflict("该学员未绑定微信", code="not_bound")
    with transaction():
        bindings.unbind(trainee_id)
        end_all(r, trainee_id, now)
        _tell_unbound(trainee, openid, now)
        audit.record("trainee.unbind", "trainees", trainee_id, {"openid": openid}, {"openid": None})
    return openid


def _tell_unbound(trainee: Trainee, openid: str, now: datetime) -> None:
    """In the unbinding's transaction, the message to the WeChat user the account was bound
    to: customer service dropped the binding. An owner who did not ask hears of it, even
    if a phone replacement follows (it finds no binding left to tell)."""
    event = events.WechatRebound(
        old_openid=openid,
        rebound_at=now.isoformat(),
        name_masked=mask_name(trainee.name),
        by_support=True,
    )
    outbox.add_event(event, trainee.id, now)


def correct_identity(
    trainee_id: int,
    operator_login: str,
    now: datetime,
    base_url: str,
    *,
    name: str | None,
    id_number: str | None,
    reason: str | None,
) -> dict[str, Any]:
    """Correct the name and/or ID number (with a reason kept in the history), then re-issue
    every certificate of the trainee with it (刷新证书); one transaction with its audit row."""
    trainee = get_trainee(trainee_id)
    name = (name or "").strip() or None
    id_number = (id_number or "").strip().upper() or None
    before = {"name": trainee.name, "id_number": mask_id_number(trainee.id_number)}
    with transaction():
        result = identity_changes.correct_by_operator(
            trainee.id_number,
            operator_login,
            now,
            name=name,
            id_number=id_number,
            reason=reason,
        )
        plans = db.session.execute(
            # A revoked certificate (its plan refunded) stays as it was: it is not re-issued.
            sa.select(Certificate.plan_id).where(
                Certificate.trainee_id == trainee_id, Certificate.revoked_at.is_(None)
            )
        ).scalars()
        refreshed = [
            issue_certificate(trainee_id, plan_id, now, base_url)[0]["serial"]
            for plan_id in list(plans)
        ]
        audit.record(
            "trainee.correct_identity",
            "trainees",
            trainee_id,
            before,
            {
                "name": trainee.name,
                "id_number": mask_id_number(trainee.id_number),
                "certificates_refreshed": refreshed,
            },
            reason=(reason or "").strip(),
        )
    return {**result, "certificates_refreshed": refreshed}
