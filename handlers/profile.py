"""个人信息 for the certificate: update name / unit / 档案所在区县, the unit chooser, the 区县 list."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from handlers import validation as v
from handlers.guard import current_trainee_id
from wxapp.accounts import personal_info, units
from wxapp.errors import ValidationError
from wxapp.extensions import app_now

bp = Blueprint("profile", __name__, url_prefix="/api")


@bp.patch("/me/profile")
def update_profile():
    body = v.json_body()
    changes = {}
    if "name" in body:
        changes["name"] = v.string(body, "name", max_len=50)
    if "unit_id" in body:
        changes["unit_id"] = v.row_id(body, "unit_id", required=False)
    if "archive_district" in body:
        changes["archive_district"] = v.string(body, "archive_district", required=False, max_len=50)
    if not changes:
        raise ValidationError("body", "请提供 name、unit_id 或 archive_district 中的至少一项")
    return jsonify(personal_info.update_profile(current_trainee_id(), app_now(), **changes))


@bp.get("/units")
def list_units():
    q = v.query_string("q", max_len=100)
    district = (request.args.get("district") or "").strip() or None
    if district is not None and not units.is_district(district):
        raise ValidationError("district", "参数 district 应为重庆市的区县之一")
    limit = v.query_int("limit", default=20, low=1, high=100)
    return jsonify({"items": units.search_units(q, district, limit)})


@bp.get("/districts")
def list_districts():
    return jsonify({"items": list(units.CHONGQING_DISTRICTS)})
