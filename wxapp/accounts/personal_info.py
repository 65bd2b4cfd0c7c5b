"""个人信息: the account as its page reads it (`my_account`, GET /api/me), and what a trainee
changes themself — the unit (单位, from the unit list), the 档案所在区县 and the phone (with
an SMS code to the new phone; customer service's correction of a wrong roster phone goes
through the same `replace_phone`, and so does its replacement of an activated account's
phone for an owner who lost the old one, `replace_lost_phone`). When an activated
account's phone is replaced, by the trainee or by customer service, the old phone is told by
SMS (`events.PhoneReplaced`, written in the change's transaction; the notification worker
sends it).

Name and ID number are not changed here (wxapp/accounts/identity_changes.py: only through
the unit or customer service). Every change is kept in `profile_changes`; a unit change
keeps both unit ids, so the unit report shows who joined or left a unit in the year.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import redis
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from models import Trainee, Unit, UnitAdmin, WechatBinding, db
from wxapp import events, outbox
from wxapp.accounts import bindings, profile_history, sms_codes, unit_admins
from wxapp.accounts.devices import NO_DEVICES, KnownDevices
from wxapp.accounts.idnumbers import validate_phone
from wxapp.accounts.trainees import (
    check_own_password,
    get_trainee,
    profile,
    require_unchanged,
    store_password,
)
from wxapp.accounts.units import is_district
from wxapp.errors import Conflict, NotFound, ValidationError
from wxapp.infra.texts import SERVICE_PHONES, mask_name
from wxapp.infra.transaction import transaction

PHONE_TAKEN_MESSAGE = (
    "该手机号已被其他账号使用，不能改绑。如该账号是您本人的，请用该手机号“忘记密码”找回；"
    "如有疑问请致电客服 " + SERVICE_PHONES
)

UNSET: Any = object()


def my_account(trainee_id: int) -> dict[str, Any]:
    """The profile, whether a WeChat user is bound to the account (the page offers 解除微信绑定
    only then) and whether it administers a unit (the page asks GET /api/me/unit, for its
    单位学时统计 link, only then; it is 403 for everyone else). One query: the unit comes
    joined with the account, and each account has at most one binding and one grant."""
    row = db.session.execute(
        sa.select(Trainee, WechatBinding.id, UnitAdmin.id)
        .outerjoin(WechatBinding, WechatBinding.trainee_id == Trainee.id)
        .outerjoin(UnitAdmin, UnitAdmin.trainee_id == Trainee.id)
        .where(Trainee.id == trainee_id)
    ).first()
    if row is None:
        raise NotFound("账号不存在", code="trainee_not_found")
    trainee, binding, grant = row
    return {
        **profile(trainee),
        "wechat_bound": binding is not None,
        "unit_admin": grant is not None,
    }


def update_profile(
    trainee_id: int,
    now: datetime,
    *,
    unit_id: int | None = UNSET,
    archive_district: str | None = UNSET,
) -> dict[str, Any]:
    """Change the unit and/or the 档案所在区县 (None clears either); everything is checked
    before any write, then the change and its history are written in one transaction.

    Leaving a unit ends the account's grant as its administrator (`unit_admins`), in the
    same transaction; the reply names that unit (`unit_admin_ended`), else it is None."""
    trainee = get_trainee(trainee_id)
    ended: Unit | None = None
    if unit_id is not UNSET and unit_id is not None and db.session.get(Unit, unit_id) is None:
        raise ValidationError(
            "unit_id", "所选单位不存在，请从单位列表中选择", code="unit_not_found"
        )
    if archive_district not in (UNSET, None) and not is_district(archive_district):
        raise ValidationError(
            "archive_district", "档案所在区县应为重庆市的区县之一", code="unknown_district"
        )

    with transaction():
        if unit_id is not UNSET and unit_id != trainee.unit_id:
            old_unit, new_unit = trainee.unit, db.session.get(Unit, unit_id) if unit_id else None
            profile_history.record(
                trainee.id,
                "unit",
                old_unit.name if old_unit else None,
                new_unit.name if new_unit else None,
                profile_history.SELF,
                now,
                from_unit_id=trainee.unit_id,
                to_unit_id=unit_id,
            )
            trainee.unit_id = unit_id
            left = unit_admins.end_on_leaving(trainee.id, unit_id)
            ended = db.session.get(Unit, left) if left is not None else None
        if archive_district is not UNSET and archive_district != trainee.archive_district:
            profile_history.record(
                trainee.id,
                "archive_district",
                trainee.archive_district,
                archive_district,
                profile_history.SELF,
                now,
            )
            trainee.archive_district = archive_district
        trainee.updated_at = now
    db.session.refresh(trainee)  # the unit relationship follows the new unit_id
    return {
        **profile(trainee),
        "unit_admin_ended": {"id": ended.id, "name": ended.name} if ended else None,
    }


def check_new_phone(
    current: str | None, phone: str, same_message: str = "新手机号与当前手机号相同"
) -> str:
    """`phone`, if it is a mobile number other than `current`, else a 422 (`same_message`
    when it is the same)."""
    try:
        validate_phone(phone)
    except ValueError as exc:
        raise ValidationError("phone", str(exc), code="bad_phone") from None
    if phone == current:
        raise ValidationError("phone", same_message, code="same_phone")
    return phone


def send_phone_code(
    r: redis.Redis,
    config: Mapping[str, Any],
    trainee_id: int,
    phone: str,
    client_ip: str,
    now: datetime,
) -> sms_codes.SentCode:
    """获取验证码 for changing the phone: the code goes to the NEW phone.

    Sent whether or not another account uses that phone: only the phone's owner, who reads
    the code, learns that (at `change_phone`), so this cannot be used to look phones up.
    """
    phone = check_new_phone(get_trainee(trainee_id).phone, phone)
    return sms_codes.send_code(r, config, phone, sms_codes.Purpose.PHONE, client_ip, now)


def change_phone(
    r: redis.Redis,
    trainee_id: int,
    phone: str,
    sms_code: str,
    password: str,
    now: datetime,
    known: KnownDevices = NO_DEVICES,
) -> dict[str, Any]:
    """Change the phone once the login password is typed again and the code sent to the new
    phone is given back (consumed); the change is kept in the history. A phone another
    account uses is a 409 that says only that.

    The password first: the phone is where 忘记密码 sends its code, so whoever holds only a
    session (a phone left unlocked in WeChat) must not be able to move it and then reset
    the password. It is checked before the code, so a wrong one does not spend the code."""
    trainee = get_trainee(trainee_id)
    phone = check_new_phone(trainee.phone, phone)
    verified = check_own_password(r, trainee, password, "password", known)

    def in_the_change(old: str | None) -> None:
        require_unchanged(verified)  # customer service may have replaced it meanwhile
        _tell_old_phone(trainee.id, old, phone, events.ReplacedBy.SELF, now)

    replace_phone(r, trainee, phone, sms_code, profile_history.SELF, now, also=in_the_change)
    return profile(trainee)


def _tell_old_phone(
    trainee_id: int, old: str | None, phone: str, by: events.ReplacedBy, now: datetime
) -> bool:
    """In the change's transaction, the SMS notice to the `old` phone that it was replaced
    by `phone` (masked), unless there was no old phone; True if one is written. Whoever took
    the account over (a session and the password, or a caller with public facts before
    customer service) must not be the only one to know."""
    if not old or old == phone:
        return False
    event = events.PhoneReplaced(
        old_phone=old,
        new_phone_masked=sms_codes.mask_phone(phone),
        by=by,
        replaced_at=now.isoformat(),
    )
    return outbox.add_event(event, trainee_id, now)


def replace_phone(
    r: redis.Redis,
    trainee: Trainee,
    phone: str,
    sms_code: str,
    actor: str,
    now: datetime,
    *,
    reason: str | None = None,
    also: Callable[[str | None], object] | None = None,
) -> str | None:
    """Put `phone` on the account once the code sent to it is given back (consumed), with
    its history row, and `also(old phone)` (an audit row) in the same transaction; the old
    phone. A phone another account uses is a 409 that says only that."""
    sms_codes.check_code(r, phone, sms_codes.Purpose.PHONE, sms_code)
    taken = db.session.execute(sa.select(Trainee.id).where(Trainee.phone == phone)).first()
    if taken is not None:
        raise Conflict(PHONE_TAKEN_MESSAGE, code="phone_taken", field="phone")
    old = trainee.phone
    try:
        with transaction():
            profile_history.record(trainee.id, "phone", old, phone, actor, now, reason=reason)
            trainee.phone = phone
            trainee.updated_at = now
            if also is not None:
                also(old)
    except IntegrityError:
        # Another account took the phone between the check and the commit.
        raise Conflict(PHONE_TAKEN_MESSAGE, code="phone_taken", field="phone") from None
    return old


@dataclass(frozen=True)
class LostPhoneReplaced:
    """What `replace_lost_phone` did: the phone it replaced and the WeChat user the account
    was bound to (now unbound and told), None when it had none; whether the old phone is
    told by SMS."""

    old_phone: str | None
    old_openid: str | None
    old_phone_told: bool = False


def replace_lost_phone(
    r: redis.Redis,
    trainee: Trainee,
    phone: str,
    sms_code: str,
    actor: str,
    now: datetime,
    *,
    reason: str,
    also: Callable[[LostPhoneReplaced], object] | None = None,
) -> LostPhoneReplaced:
    """Customer service's replacement of an activated account's phone, for an owner who
    lost the old phone (checked by the operator on the telephone; `phone` proven by the code
    read back). Whoever had the account keeps nothing: in the phone's transaction (with its
    history row and `also`, the audit row) the password becomes one nobody knows
    (`store_password`: every session ends, the WeChat binding goes, the known devices of
    before are strangers' and a login racing the change fails its check of the stored hash;
    keeping the hash and only ending sessions let such a login through, and the old
    holder's device cookie kept its own budgets). The owner sets a new password with 忘记密码
    (a code to the NEW phone) or gets a temporary one from customer service. The WeChat user
    it was bound to is told (`events.WechatRebound` with the new phone, masked), and so is
    the old phone, by SMS (`events.PhoneReplaced`): the owner who did not ask still has it."""
    done: list[LostPhoneReplaced] = []

    def cut_off(old: str | None) -> None:
        # The account's row lock first, as a password change takes it (`require_unchanged`).
        db.session.execute(sa.select(Trainee.id).where(Trainee.id == trainee.id).with_for_update())
        openid = bindings.openid_of(trainee.id)
        result = LostPhoneReplaced(
            old_phone=old, old_openid=openid, old_phone_told=bool(old) and old != phone
        )
        if also is not None:
            also(result)  # first: a refusal there must not have ended the sessions
        store_password(r, trainee, secrets.token_urlsafe(24), now)
        if openid is not None:
            outbox.add_event(
                events.WechatRebound(
                    old_openid=openid,
                    rebound_at=now.isoformat(),
                    name_masked=mask_name(trainee.name),
                    new_phone_masked=sms_codes.mask_phone(phone),
                ),
                trainee.id,
                now,
            )
        _tell_old_phone(trainee.id, old, phone, events.ReplacedBy.SUPPORT, now)
        done.append(result)

    replace_phone(r, trainee, phone, sms_code, actor, now, reason=reason, also=cut_off)
    return done[0]
