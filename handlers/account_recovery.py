"""Activation of a roster account and 忘记密码: SMS codes, then a new password.

- `/api/activation...`: only for a session opened with the initial password (the
  must-change flag); every other route refuses such a session (handlers/guard.py).
- `/api/password/forgot...`: public; a phone number or ID number, the same answers whether
  or not it names an account (wxapp/accounts/password_reset.py says what they reveal).
"""

from __future__ import annotations

import re
from dataclasses import asdict
from typing import Any

from flask import Blueprint, current_app, jsonify

from handlers import validation as v
from handlers.guard import (
    allowed_before_password_change,
    body_limit,
    client_ip,
    current_trainee_id,
    known_devices,
    limit_by_ip,
    limit_by_ip_and,
    limit_by_trainee,
    public,
    start_session,
)
from wxapp.accounts import activation, password_reset
from wxapp.accounts import trainees as accounts
from wxapp.errors import ValidationError
from wxapp.extensions import app_now, get_redis
from wxapp.infra import limits

bp = Blueprint("account_recovery", __name__, url_prefix="/api")

USERNAME_RE = re.compile(r"^([0-9]{11}|[0-9]{17}[0-9X])$")  # ASCII digits only


def _text(body: dict[str, Any], field: str, max_len: int, strip: bool = True) -> str:
    return v.string(body, field, required=False, max_len=max_len, strip=strip) or ""


def _sms_code(body: dict[str, Any]) -> str:
    code = _text(body, "sms_code", 10)
    if not code:
        raise ValidationError("sms_code", "请填写短信验证码", code="missing")
    if not (len(code) == 6 and code.isdigit()):
        raise ValidationError("sms_code", "短信验证码应为 6 位数字")
    return code


def _new_password(body: dict[str, Any]) -> str:
    password = _text(body, "new_password", 64, strip=False)
    if not password:
        raise ValidationError("new_password", "请设置新密码", code="missing")
    return password


def _username(body: dict[str, Any]) -> str:
    username = _text(body, "username", 18)
    if not username:
        raise ValidationError("username", "请输入手机号或身份证号码", code="missing")
    if not USERNAME_RE.match(username):
        message = (
            "身份证号码中的字母 X 请大写"
            if username.endswith("x")
            else "请输入 11 位手机号或 18 位身份证号码"
        )
        raise ValidationError("username", message)
    return username


# --- activation -----------------------------------------------------------------------------


@bp.get("/activation")
@allowed_before_password_change
def activation_status():
    """The activation page's start: the masked roster phone (409 once activated)."""
    return jsonify(activation.status(current_trainee_id()))


def limit_activation() -> None:
    limit_by_ip(limits.ACTIVATION_ADDRESS)
    limit_by_trainee(limits.ACTIVATION)


@bp.post("/activation/code")
@allowed_before_password_change
@body_limit(limits.CREDENTIALS_BODY)
def activation_code():
    limit_activation()
    sent = activation.send_activation_code(
        get_redis(), current_app.config, current_trainee_id(), client_ip(), app_now()
    )
    return jsonify(asdict(sent))


@bp.post("/activation")
@allowed_before_password_change
@body_limit(limits.CREDENTIALS_BODY)
def activate():
    limit_activation()
    body = v.json_body()
    code, new_password = _sms_code(body), _new_password(body)
    trainee = activation.activate(get_redis(), current_trainee_id(), code, new_password, app_now())
    start_session(trainee.id, must_change=False)  # every other session has ended
    return jsonify(accounts.profile(trainee))


# --- 忘记密码 --------------------------------------------------------------------------------


@bp.post("/password/forgot/code")
@public
@body_limit(limits.CREDENTIALS_BODY)
def forgot_code():
    username, known = _username(v.json_body()), known_devices()
    limit_by_ip_and(
        limits.FORGOT_ADDRESS, limits.FORGOT, password_reset.budget_name(username, known)
    )
    sent = password_reset.send_reset_code(
        get_redis(), current_app.config, username, client_ip(), app_now(), known
    )
    return jsonify(asdict(sent))


@bp.post("/password/forgot")
@public
@body_limit(limits.CREDENTIALS_BODY)
def forgot():
    body = v.json_body()
    username = _username(body)
    limit_by_ip_and(
        limits.FORGOT_ADDRESS, limits.FORGOT, password_reset.budget_name(username, known_devices())
    )
    code, new_password = _sms_code(body), _new_password(body)
    password_reset.reset_password(get_redis(), username, code, new_password, app_now())
    return jsonify({"ok": True})
