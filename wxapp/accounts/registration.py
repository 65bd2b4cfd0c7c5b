"""自主注册: a trainee not on any unit's roster registers themself ("若未注册的参训人员较少，
可由学员在平台上自主注册").

The fields follow the roster's rules (附件2: 姓名 without spaces or symbols, 身份证号码 with
an upper-case X, 性别 from the number), the phone is proven by an SMS code, the unit is
chosen from the list or, when it is not listed, the 区县 of the trainee's 档案 is given.

Every ID number is public, so whether one is registered is told only to whoever has just
proven a phone with an SMS code: the code is checked after every field is, and before the
database is asked about existing accounts. The answer then says that the ID number (or the
phone) is taken and points to 忘记密码; nothing else of the existing account (its name,
its phone) is ever told. Registering inside WeChat, after 网页授权 left this browser an
openid, binds that openid to the new account in the same transaction, unless it is bound
already: an existing binding is never replaced silently.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import redis
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from models import Trainee, Unit, db
from wxapp.accounts import bindings
from wxapp.accounts.idnumbers import IdNumberError, validate_id_number, validate_phone
from wxapp.accounts.passwords import hash_password
from wxapp.accounts.roster import check_name, gender_from_id
from wxapp.accounts.sms_codes import Purpose, SentCode, check_code, send_code
from wxapp.accounts.trainees import check_new_password
from wxapp.accounts.units import is_district
from wxapp.errors import Conflict, ValidationError
from wxapp.infra.transaction import transaction

_FORGOT = "如忘记密码，请在登录页点击“忘记密码”，用手机验证码找回；手机号已变更的，请联系单位或客服 400-023-9229"
# The code was used up by this answer (each probe of whether a number is registered costs a
# code): someone who mistyped must fetch a new one, and is told so.
_RETYPE = "。如{what}填写有误，请改正后重新获取验证码再提交（本次验证码已使用）"
ID_TAKEN_MESSAGE = "该身份证号码已注册，请直接登录。" + _FORGOT + _RETYPE.format(what="身份证号码")
PHONE_TAKEN_MESSAGE = "该手机号已注册，请直接登录。" + _FORGOT + _RETYPE.format(what="手机号")
_SMS_CODE = re.compile(r"[0-9]{6}")


@dataclass(frozen=True)
class Application:
    """What the registration form sends (strings as typed, stripped; None when absent)."""

    name: str
    id_number: str
    phone: str
    sms_code: str
    password: str
    unit_id: int | None = None
    archive_district: str | None = None


@dataclass(frozen=True)
class Registered:
    trainee: Trainee
    wechat_bound: bool  # the pending openid is now bound to the new account
    # The pending openid was bound to another account already and was left as it was.
    wechat_bound_elsewhere: bool = False


class AlreadyRegistered(Conflict):
    """409 with the field that is taken; the message points to 忘记密码 and tells nothing else."""

    code = "already_registered"

    def __init__(self, field: str):
        message = ID_TAKEN_MESSAGE if field == "id_number" else PHONE_TAKEN_MESSAGE
        super().__init__(message, field=field)


def check_phone(phone: str) -> str:
    if not phone:
        raise ValidationError("phone", "请填写手机号", code="missing")
    try:
        return validate_phone(phone)
    except ValueError as exc:
        raise ValidationError("phone", str(exc), code="phone_invalid") from None


def check_fields(application: Application) -> str:
    """Every rule that needs no database, in the order of the form; the gender on success."""
    problem = check_name(application.name)
    if problem is not None:
        raise ValidationError("name", problem.message, code=problem.code)
    if not application.id_number:
        raise ValidationError("id_number", "请填写身份证号码", code="missing")
    try:
        validate_id_number(application.id_number)
    except IdNumberError as exc:
        raise ValidationError("id_number", str(exc), code=f"id_{exc.reason}") from None
    check_phone(application.phone)
    if not application.sms_code:
        raise ValidationError("sms_code", "请填写短信验证码", code="missing")
    if not _SMS_CODE.fullmatch(application.sms_code):
        raise ValidationError("sms_code", "短信验证码应为 6 位数字", code="bad_sms_code")
    if application.unit_id is None and not application.archive_district:
        raise ValidationError(
            "unit_id",
            "请选择单位；若查找不到贵单位，请选择档案所在区县",
            code="unit_or_district_missing",
        )
    if application.archive_district and not is_district(application.archive_district):
        raise ValidationError(
            "archive_district", "档案所在区县应为重庆市的区县之一", code="unknown_district"
        )
    check_new_password(application.password, application.id_number, field="password")
    return gender_from_id(application.id_number)


def send_registration_code(
    r: redis.Redis, config: Mapping[str, Any], phone: str, client_ip: str, now: datetime
) -> SentCode:
    """获取验证码 for the phone being registered.

    The code is sent whether or not the phone is registered: only its owner, who reads
    the code, learns that (at POST /api/register)."""
    return send_code(r, config, check_phone(phone), Purpose.REGISTER, client_ip, now)


def _taken_field(id_number: str, phone: str) -> str | None:
    if db.session.execute(sa.select(Trainee.id).where(Trainee.id_number == id_number)).first():
        return "id_number"
    if db.session.execute(sa.select(Trainee.id).where(Trainee.phone == phone)).first():
        return "phone"
    return None


def register(
    r: redis.Redis, application: Application, openid: str | None, now: datetime
) -> Registered:
    """Create the account, activated (its phone proven) with its own password; commits.

    Checked before any write, in this order: the fields, the unit, the SMS code (consumed
    when right), then whether the ID number or phone is registered. `openid`: the one
    网页授权 left pending in this browser, bound to the new account if it is bound to
    nobody yet."""
    gender = check_fields(application)
    if application.unit_id is not None and db.session.get(Unit, application.unit_id) is None:
        raise ValidationError(
            "unit_id", "所选单位不存在，请从单位列表中选择", code="unit_not_found"
        )
    check_code(r, application.phone, Purpose.REGISTER, application.sms_code)
    taken = _taken_field(application.id_number, application.phone)
    if taken is not None:
        raise AlreadyRegistered(taken)
    trainee = Trainee(
        name=application.name,
        id_number=application.id_number,
        phone=application.phone,
        gender=gender,
        unit_id=application.unit_id,
        archive_district=application.archive_district or None,
        password_hash=hash_password(application.password),
        must_change_password=False,
        created_at=now,
        updated_at=now,
    )
    with transaction():
        try:
            db.session.add(trainee)
            db.session.flush()  # a race on the unique ID number or phone shows here
        except IntegrityError as exc:
            # Another registration (or a roster import) took it since the check above.
            raise AlreadyRegistered("phone" if "phone" in str(exc.orig) else "id_number") from None
        # Bound to nobody, checked in the insert itself: a binding another request made
        # since this one began is kept, never replaced.
        bound = bool(openid) and bindings.bind_if_free(openid, trainee.id, now)
    return Registered(
        trainee=trainee,
        wechat_bound=bound,
        wechat_bound_elsewhere=bool(openid) and not bound,
    )
