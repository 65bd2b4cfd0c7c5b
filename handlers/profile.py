"""个人信息: the trainee's own unit / 档案所在区县 / phone and their change history, the unit
chooser, the 区县 list, and a unit administrator's correction of a trainee's name or ID number.
"""

from __future__ import annotations

from dataclasses import asdict

from flask import Blueprint, current_app, jsonify, request

from handlers import validation as v
from handlers.guard import (
    body_limit,
    client_ip,
    current_trainee_id,
    known_devices,
    limit_by_trainee,
    password_attempt,
)
from wxapp.accounts import identity_changes, personal_info, profile_history, units
from wxapp.errors import ValidationError
from wxapp.extensions import app_now, get_redis
from wxapp.infra import limits

bp = Blueprint("profile", __name__, url_prefix="/api")

# Fields of an account the trainee may not change themself (403, with where to go instead).
IDENTITY_FIELDS = ("name", "id_number", "gender")


@bp.patch("/me/profile")
@body_limit(limits.CREDENTIALS_BODY)
def update_profile():
    body = v.json_body()
    for field in IDENTITY_FIELDS:
        if field in body:
            raise identity_changes.refuse_self_identity_change(field)
    changes = {}
    if "unit_id" in body:
        changes["unit_id"] = v.row_id(body, "unit_id", required=False)
    if "archive_district" in body:
        changes["archive_district"] = v.string(body, "archive_district", required=False, max_len=50)
    if not changes:
        raise ValidationError("body", "请提供 unit_id 或 archive_district 中的至少一项")
    limit_by_trainee(limits.PROFILE_CHANGE)
    return jsonify(personal_info.update_profile(current_trainee_id(), app_now(), **changes))


@bp.post("/me/phone/code")
@body_limit(limits.CREDENTIALS_BODY)
def send_phone_code():
    """获取验证码 for a new phone: sent to that phone (limits of wxapp/accounts/sms_limits.py)."""
    phone = v.string(v.json_body(), "phone", max_len=20)
    sent = personal_info.send_phone_code(
        get_redis(), current_app.config, current_trainee_id(), phone, client_ip(), app_now()
    )
    return jsonify(asdict(sent))


@bp.post("/me/phone")
@body_limit(limits.CREDENTIALS_BODY)
def change_phone():
    with password_attempt(limits.LOGIN_ALL, limits.LOGIN):
        body = v.json_body()
        phone = v.string(body, "phone", max_len=20)
        sms_code = v.string(body, "sms_code", max_len=10)
        password = v.string(body, "password", max_len=64, strip=False)
        changed = personal_info.change_phone(
            get_redis(), current_trainee_id(), phone, sms_code, password, app_now(), known_devices()
        )
    return jsonify(changed)


@bp.get("/me/profile/changes")
def my_changes():
    return jsonify({"items": profile_history.history(current_trainee_id())})


@bp.post("/units/<int:unit_id>/trainees/<int:trainee_id>/identity")
@body_limit(limits.CREDENTIALS_BODY)
def correct_identity(unit_id: int, trainee_id: int):
    """A unit administrator corrects the name and/or ID number of a trainee of their unit."""
    limit_by_trainee(limits.UNIT_CORRECTION)
    body = v.json_body()
    result = identity_changes.correct_by_unit_admin(
        current_trainee_id(),
        unit_id,
        trainee_id,
        app_now(),
        name=v.string(body, "name", required=False, max_len=50),
        id_number=v.string(body, "id_number", required=False, max_len=18),
        reason=v.string(body, "reason", required=False, max_len=200),
    )
    return jsonify(result)


@bp.get("/units")
def list_units():
    q = v.query_string("q", max_len=100)
    district = (request.args.get("district") or "").strip() or None
    if district is not None and not units.is_district(district):
        raise ValidationError("district", "区县应为重庆市的区县之一")
    limit = v.query_int("limit", default=20, low=1, high=100)
    return jsonify({"items": units.search_units(q, district, limit)})


@bp.get("/districts")
def list_districts():
    return jsonify({"items": list(units.CHONGQING_DISTRICTS)})
