"""客服's work on a trainee's phone, each step audited in its transaction.

A roster phone that was wrong (an account never activated) is replaced only with a phone the
person proves by reading back a code sent to it, once the operator has checked the person on
the telephone; the trainee then activates the account as usual (`correct_phone`).

An activated account whose owner lost the old phone (and forgot the password) gets a new
phone the same way, with the operator's 核实方式 and their own words on what they checked
(`replace_activated_phone`). It is how a caller who only knows about the person would take
the account over, so it takes everything from whoever held it (the password, replaced by
one nobody knows: sessions, WeChat binding, known devices; the owner then uses 忘记密码, whose
code goes to the new phone, or a temporary password), tells the WeChat user it was bound to
and the old phone (by SMS, with the new phone masked), names the operator in the trainee's
history and the audit log, and is bounded per operator (REPLACE_DAILY_CAP a day) and per
account (again within REPLACE_AGAIN_DAYS: 管理员 only).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import redis
import sqlalchemy as sa

from models import Operator, OperatorAudit, Trainee, db
from wxapp.accounts import identity_changes, profile_history, sms_codes
from wxapp.accounts.lockout import lift_lockout
from wxapp.accounts.personal_info import (
    LostPhoneReplaced,
    check_new_phone,
    replace_lost_phone,
    replace_phone,
)
from wxapp.accounts.trainees import get_trainee
from wxapp.console import audit
from wxapp.console.identity import Role
from wxapp.console.support_actions import account_key
from wxapp.errors import Conflict, TooManyRequests, ValidationError
from wxapp.infra.clock import day_start, local
from wxapp.infra.transaction import transaction

audit.ACTION_LABELS.update(
    {
        "trainee.phone_check": "向新手机号发送核验码",
        "trainee.correct_phone": "核实后更正手机号（待激活）",
        "trainee.replace_phone_check": "向新手机号发送核验码（已激活账号）",
        "trainee.replace_phone": "核实本人后更换已激活账号的手机号",
    }
)


def _new_phone(trainee: Trainee, phone: str | None) -> str:
    phone = check_new_phone(
        trainee.phone, (phone or "").strip(), same_message="新手机号与当前登记的手机号相同"
    )
    if trainee.password_hash is not None:
        # Only a roster account never activated: once anyone has set a password (the person,
        # or this console's temporary one), an operator's phone plus that password would be
        # the whole account.
        raise _already_activated()
    return phone


def _already_activated() -> Conflict:
    return Conflict(
        "该账号已激活：手机号由学员本人在“个人信息”中更换（短信验证新手机号）；"
        "学员已无法使用原手机号的，电话核实本人后在本页“更换手机号（已激活账号）”办理",
        code="already_activated",
    )


def send_phone_check(
    r: redis.Redis,
    config: Mapping[str, Any],
    trainee_id: int,
    phone: str,
    client_ip: str,
    now: datetime,
) -> str:
    """A code to the right phone of a roster account not yet activated; the person reads it
    back on the telephone. The masked phone."""
    trainee = get_trainee(trainee_id)
    phone = _new_phone(trainee, phone)
    return _send_check(r, config, trainee_id, phone, "trainee.phone_check", client_ip, now)


def _send_check(
    r: redis.Redis,
    config: Mapping[str, Any],
    trainee_id: int,
    phone: str,
    action: str,
    client_ip: str,
    now: datetime,
) -> str:
    """The code to a new phone that the person reads back on the telephone, its sending
    audited as `action`; the masked phone. The operator is told the phone's own bounds
    (`sms_codes.send_code`'s `by_owner`)."""
    sent = sms_codes.send_code(
        r, config, phone, sms_codes.Purpose.PHONE, client_ip, now, by_owner=True
    )
    with transaction():
        audit.record(action, "trainees", trainee_id, None, {"phone": sent.phone_masked})
    return sent.phone_masked


def correct_phone(
    r: redis.Redis,
    trainee_id: int,
    phone: str,
    sms_code: str,
    reason: str | None,
    operator_login: str,
    now: datetime,
) -> None:
    """Replace the wrong roster phone once the code read back proves the new one; the
    account then activates as usual (initial password, then an SMS code to this phone)."""
    trainee = get_trainee(trainee_id)
    phone = _new_phone(trainee, phone)
    reason = identity_changes.check_reason(reason)

    def audited(old: str | None) -> None:
        # Checked again under the account's row lock: an activation committing since the
        # check above would make this an uncapped replacement of an activated account's
        # phone that ends none of its sessions (that is `replace_activated_phone`'s).
        hash_now = db.session.execute(
            sa.select(Trainee.password_hash).where(Trainee.id == trainee_id).with_for_update()
        ).scalar_one()
        if hash_now is not None:
            raise _already_activated()
        audit.record(
            "trainee.correct_phone",
            "trainees",
            trainee_id,
            {"phone": profile_history.mask_phone(old)},
            {"phone": profile_history.mask_phone(phone)},
            reason=reason,
        )

    replace_phone(
        r,
        trainee,
        phone,
        (sms_code or "").strip(),
        profile_history.operator_actor(operator_login),
        now,
        reason=reason,
        also=audited,
    )
    lift_lockout(r, trainee_id)


# --- an activated account's phone, for an owner who lost the old one -------------------

# How the operator checked the person on the telephone (the form's 核实方式).
VERIFICATIONS = {"id_photo": "身份证照片核对", "unit_letter": "单位出具证明", "other": "其他"}
DETAIL_MAX = 180  # with the method's words, within the history's 200 characters
REPLACE_DAILY_CAP = 5  # per operator and China calendar day, 管理员 included
REPLACE_AGAIN_DAYS = 30  # a second replacement of one account within these: 管理员 only
REPLACE_ACTION = "trainee.replace_phone"

NOT_ACTIVATED_FOR_REPLACE = "该账号尚未激活：登记手机号有误的，请用本页“更正手机号”办理"
OPERATOR_PHONE_TAKEN = "该手机号已被其他账号使用（可在学员查询中查到），不能用作本账号的手机号"
REPLACE_CAP_MESSAGE = (
    "您今天已更换 {cap} 个已激活账号的手机号，已达每日上限（每位操作员每天 {cap} 个）。"
    "请明天再办理，或请管理员核查后办理"
)
REPLACED_RECENTLY_MESSAGE = (
    "该账号的手机号已于 {when} 由客服 {login} 更换过：{days} 天内再次更换须由管理员核实办理。"
    "如学员称并非本人申请，请立即转交管理员"
)


def verification_reason(method: str | None, detail: str | None) -> str:
    """The 核实方式 and what the operator checked, as one reason ("身份证照片核对：…");
    a 422 naming the field that is missing or too long."""
    label = VERIFICATIONS.get((method or "").strip())
    if label is None:
        raise ValidationError(
            "verification", "请选择核实方式（身份证照片核对、单位出具证明或其他）"
        )
    detail = " ".join((detail or "").split())
    if len(detail) < 2:
        raise ValidationError(
            "detail",
            "请填写核实情况（至少 2 个字，如：身份证照片与本人一致，单位人事处电话确认）",
        )
    if len(detail) > DETAIL_MAX:
        raise ValidationError("detail", f"核实情况过长（最多 {DETAIL_MAX} 个字）")
    return f"{label}：{detail}"


def replacements_today(operator_id: int, now: datetime) -> int:
    """How many activated accounts' phones the operator replaced today (China's day)."""
    return int(
        db.session.execute(
            sa.select(sa.func.count())
            .select_from(OperatorAudit)
            .where(
                OperatorAudit.action == REPLACE_ACTION,
                OperatorAudit.operator_id == operator_id,
                OperatorAudit.at >= day_start(local(now).date()),
            )
        ).scalar_one()
    )


def last_replacement(trainee_id: int, now: datetime) -> OperatorAudit | None:
    """The operator replacement of this account's phone within REPLACE_AGAIN_DAYS, if any."""
    return db.session.execute(
        sa.select(OperatorAudit)
        .where(
            OperatorAudit.action == REPLACE_ACTION,
            OperatorAudit.target_type == "trainees",
            OperatorAudit.target_id == str(trainee_id),
            OperatorAudit.at >= now - timedelta(days=REPLACE_AGAIN_DAYS),
        )
        .order_by(OperatorAudit.at.desc(), OperatorAudit.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def phone_replacement_status(operator: Operator, trainee_id: int, now: datetime) -> dict[str, Any]:
    """What the trainee page shows beside the form: the operator's count today, the cap,
    and a replacement of this account within REPLACE_AGAIN_DAYS (a flag for whoever opens
    the page: if the trainee says they never asked, it is a takeover)."""
    last = last_replacement(trainee_id, now)
    return {
        "today": replacements_today(operator.id, now),
        "cap": REPLACE_DAILY_CAP,
        "again_days": REPLACE_AGAIN_DAYS,
        "last": last,
        "last_by": last.operator.login if last is not None and last.operator else "",
    }


def _allowed(operator: Operator, trainee_id: int, now: datetime) -> None:
    """Refuse past the operator's daily cap, and a second replacement of the account within
    REPLACE_AGAIN_DAYS unless a 管理员 does it."""
    if replacements_today(operator.id, now) >= REPLACE_DAILY_CAP:
        raise TooManyRequests(
            REPLACE_CAP_MESSAGE.format(cap=REPLACE_DAILY_CAP), code="replace_daily_cap"
        )
    last = last_replacement(trainee_id, now)
    if last is not None and operator.role != Role.ADMIN:
        raise Conflict(
            REPLACED_RECENTLY_MESSAGE.format(
                when=f"{local(last.at):%Y-%m-%d %H:%M}",
                login=last.operator.login if last.operator else "",
                days=REPLACE_AGAIN_DAYS,
            ),
            code="replaced_recently",
        )


def _activated_new_phone(trainee: Trainee, phone: str | None) -> str:
    if trainee.password_hash is None:
        raise Conflict(NOT_ACTIVATED_FOR_REPLACE, code="not_activated")
    phone = check_new_phone(
        trainee.phone, account_key(phone), same_message="新手机号与当前登记的手机号相同"
    )
    taken = db.session.execute(sa.select(Trainee.id).where(Trainee.phone == phone)).first()
    if taken is not None:
        raise Conflict(OPERATOR_PHONE_TAKEN, code="phone_taken", field="phone")
    return phone


def send_replacement_check(
    r: redis.Redis,
    config: Mapping[str, Any],
    trainee_id: int,
    phone: str | None,
    operator: Operator,
    client_ip: str,
    now: datetime,
) -> str:
    """A code to the new phone of an activated account, which the caller reads back on the
    telephone; the masked phone. Nothing is sent that the replacement would refuse."""
    trainee = get_trainee(trainee_id)
    phone = _activated_new_phone(trainee, phone)
    _allowed(operator, trainee_id, now)
    return _send_check(r, config, trainee_id, phone, "trainee.replace_phone_check", client_ip, now)


def replace_activated_phone(
    r: redis.Redis,
    trainee_id: int,
    *,
    phone: str | None,
    sms_code: str | None,
    method: str | None,
    detail: str | None,
    operator: Operator,
    now: datetime,
) -> dict[str, Any]:
    """Replace an activated account's phone once the operator has checked the person (the
    method and their words, required) and the code read back proves the new phone; in one
    transaction with its history row and audit row, the password becomes one nobody knows
    (sessions end, the WeChat binding goes and that WeChat user is told, devices of before
    are strangers'), and the old phone is told by SMS; then the lockout is lifted. The
    masked new phone, whether the WeChat user was told (`owner_told`) and whether the old
    phone is (`old_phone_told`)."""
    trainee = get_trainee(trainee_id)
    phone = _activated_new_phone(trainee, phone)
    reason = verification_reason(method, detail)
    _allowed(operator, trainee_id, now)

    def audited(done: LostPhoneReplaced) -> None:
        # Under the operator's row lock: two replacements at once count one after the other.
        db.session.execute(
            sa.select(Operator.id).where(Operator.id == operator.id).with_for_update()
        )
        _allowed(operator, trainee_id, now)
        audit.record(
            REPLACE_ACTION,
            "trainees",
            trainee_id,
            {"phone": profile_history.mask_phone(done.old_phone), "openid": done.old_openid},
            {
                "phone": profile_history.mask_phone(phone),
                "openid": None,
                "sessions_ended": True,
                "password_replaced": True,
                "owner_told": "wechat" if done.old_openid else None,
                "old_phone_told": "sms" if done.old_phone_told else None,
            },
            reason=reason,
        )

    done = replace_lost_phone(
        r,
        trainee,
        phone,
        (sms_code or "").strip(),
        profile_history.operator_actor(operator.login),
        now,
        reason=reason,
        also=audited,
    )
    lift_lockout(r, trainee_id)
    return {
        "phone": sms_codes.mask_phone(phone),
        "owner_told": done.old_openid is not None,
        "old_phone_told": done.old_phone_told,
    }
