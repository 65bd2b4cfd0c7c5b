"""Activation of a roster account: the initial password opens this step and nothing else.

A unit's roster creates accounts whose password is edu@ + the ID number's last six (no hash
stored, `must_change_password` set). ID numbers are public, so that password proves
nothing: a session opened with it (the session's must-change flag) sees no personal data —
the login reply carries only the masked roster phone, every other route answers 403
`activation_required` (handlers/guard.py). Here it may ask for an SMS code to the roster
phone and, with that code, set its own password: then the account is activated, any WeChat
binding made before is dropped (whoever bound it knew only the public password), every
session of the trainee ends and the caller starts this browser a fresh full one.

A roster phone that is missing or wrong cannot be fixed here: the unit or customer service
corrects it (CONTACT_HELP names them, as the seed's notice does).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import redis

from models import Trainee
from wxapp.accounts import sms_codes
from wxapp.accounts.lockout import lift_lockout
from wxapp.accounts.trainees import (
    check_new_password,
    get_trainee,
    require_phone_unchanged,
    store_password,
)
from wxapp.errors import Conflict
from wxapp.infra.transaction import transaction

REQUIRED_CODE = "activation_required"
REQUIRED_MESSAGE = "首次登录请先通过短信验证激活账号"
CONTACT_HELP = (
    "请联系所在单位核实手机号，或咨询重庆市人力资源开发服务中心 400-023-9229"
    "（按 1 选择登录注册问题）"
)
NO_PHONE_MESSAGE = "账号未登记手机号，无法发送验证码。" + CONTACT_HELP
ALREADY_MESSAGE = "账号已激活，请直接使用新密码登录"


def needs_activation(trainee: Trainee) -> bool:
    """A roster account still on its initial password."""
    return bool(trainee.must_change_password)


def pending_reply(trainee: Trainee) -> dict[str, Any]:
    """What a login with the initial password answers: the step to take, the roster phone's
    last four digits (None without one), and no other personal data."""
    return {
        "must_change_password": True,
        "activation_required": True,
        # The initial password is public: whoever sees this may know only the ID number.
        "phone_masked": sms_codes.mask_tail(trainee.phone) if trainee.phone else None,
    }


def _pending(trainee_id: int) -> Trainee:
    trainee = get_trainee(trainee_id)
    if not needs_activation(trainee):
        raise Conflict(ALREADY_MESSAGE, code="already_activated")
    if not trainee.phone:
        raise Conflict(NO_PHONE_MESSAGE, code="no_phone")
    return trainee


def status(trainee_id: int) -> dict[str, Any]:
    """The activation page's start: the pending reply (409 once activated)."""
    trainee = get_trainee(trainee_id)
    if not needs_activation(trainee):
        raise Conflict(ALREADY_MESSAGE, code="already_activated")
    return pending_reply(trainee)


def send_activation_code(
    r: redis.Redis, config: Mapping[str, Any], trainee_id: int, client_ip: str, now: datetime
) -> sms_codes.SentCode:
    """An SMS code to the roster phone (409 `no_phone` without one)."""
    trainee = _pending(trainee_id)
    return sms_codes.tail_only(
        sms_codes.send_code(r, config, trainee.phone, sms_codes.Purpose.ACTIVATE, client_ip, now)
    )


def activate(
    r: redis.Redis, trainee_id: int, sms_code: str, new_password: str, now: datetime
) -> Trainee:
    """Check the new password, then the code (consumed), then set the password, clear the
    must-change flag, drop a WeChat binding, lift a lockout and end every session; commits."""
    trainee = _pending(trainee_id)
    check_new_password(new_password, trainee.id_number)
    phone = trainee.phone
    sms_codes.check_code(r, phone, sms_codes.Purpose.ACTIVATE, sms_code)
    with transaction():
        require_phone_unchanged(trainee.id, phone)  # customer service may correct it meanwhile
        store_password(r, trainee, new_password, now)
    lift_lockout(r, trainee_id)
    return trainee
