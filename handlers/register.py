"""自主注册: the SMS code to the phone being registered, the registration itself, and the unit
chooser and 区县 list the form needs before any session exists."""

from __future__ import annotations

from dataclasses import asdict

from flask import Blueprint, current_app, jsonify, request, session

from handlers import validation as v
from handlers.guard import (
    body_limit,
    client_ip,
    limit_by_ip,
    limit_by_ip_and,
    public,
    start_session,
)
from handlers.wechat_auth import SESSION_OPENID
from wxapp.accounts import registration, roster_template, units
from wxapp.accounts import trainees as accounts
from wxapp.errors import ValidationError
from wxapp.extensions import app_now, get_redis
from wxapp.infra import limits, xlsx
from wxapp.infra.texts import REGISTRATION_EMAIL

bp = Blueprint("register", __name__, url_prefix="/api/register")


@bp.post("/code")
@public
@body_limit(limits.CREDENTIALS_BODY)
def send_code():
    phone = v.string(v.json_body(), "phone", required=False, max_len=20) or ""
    limit_by_ip_and(limits.REGISTER_ADDRESS, limits.REGISTER, phone)
    sent = registration.send_registration_code(
        get_redis(), current_app.config, phone, client_ip(), app_now()
    )
    return jsonify(asdict(sent))


@bp.post("")
@public
@body_limit(limits.CREDENTIALS_BODY)
def register():
    body = v.json_body()
    phone = v.string(body, "phone", required=False, max_len=20) or ""
    limit_by_ip_and(limits.REGISTER_ADDRESS, limits.REGISTER, phone)

    def text(field: str, max_len: int, strip: bool = True) -> str:
        # Missing fields reach the domain as "", which names them in Chinese.
        return v.string(body, field, required=False, max_len=max_len, strip=strip) or ""

    application = registration.Application(
        name=text("name", 100),
        id_number=text("id_number", 40),
        phone=text("phone", 20),
        sms_code=text("sms_code", 10),
        password=text("password", 200, strip=False),
        unit_id=v.row_id(body, "unit_id", required=False),
        archive_district=text("archive_district", 50) or None,
    )
    openid = session.get(SESSION_OPENID)
    openid = openid if isinstance(openid, str) and openid else None
    done = registration.register(get_redis(), application, openid, app_now())
    start_session(done.trainee.id, must_change=False)
    if done.wechat_bound:
        session[SESSION_OPENID] = openid
    reply = {
        **accounts.profile(done.trainee),
        "wechat_bound": done.wechat_bound,
        "wechat_bound_elsewhere": done.wechat_bound_elsewhere,
    }
    return jsonify(reply), 201


@bp.get("/units")
@public
def search_units():
    limit_by_ip(limits.REGISTER_UNITS)
    q = v.query_string("q", max_len=100)
    district = (request.args.get("district") or "").strip() or None
    if district is not None and not units.is_district(district):
        raise ValidationError("district", "区县应为重庆市的区县之一")
    limit = v.query_int("limit", default=20, low=1, high=50)
    return jsonify({"items": units.search_units(q, district, limit)})


@bp.get("/districts")
@public
def districts():
    return jsonify({"items": list(units.CHONGQING_DISTRICTS)})


@bp.get("/roster-template.xlsx")
@public
def blank_roster():
    """The blank 学员注册名单 (附件2): a unit with more than 10 unregistered staff fills it in
    and sends it to the centre, which registers them (the notice)."""
    content = roster_template.roster_template_xlsx(REGISTRATION_EMAIL)
    return xlsx.download(content, "学员注册名单（附件2）.xlsx")
