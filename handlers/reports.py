"""The unit report (应训未训) for a unit administrator (the role only sees its own unit):
the JSON report, the unit page's filtered list, its xlsx download and 一键提醒."""

from __future__ import annotations

from flask import Blueprint, jsonify

from handlers import validation as v
from handlers.guard import body_limit, current_trainee_id
from wxapp.extensions import app_now
from wxapp.infra import clock, xlsx
from wxapp.reports import access, staff
from wxapp.reports.xlsx import staff_xlsx

bp = Blueprint("reports", __name__, url_prefix="/api")


def _year() -> int:
    return v.query_int("year", default=clock.local(app_now()).year, low=2000, high=2100)


@bp.get("/units/<int:unit_id>/report")
def unit_report(unit_id: int):
    return jsonify(access.report_for_admin(current_trainee_id(), unit_id, _year()))


@bp.get("/me/unit")
def my_unit():
    return jsonify(access.my_unit(current_trainee_id()))


@bp.get("/units/<int:unit_id>/staff")
def unit_staff(unit_id: int):
    kind, state = v.query_string("kind", max_len=20), v.query_string("state", max_len=20)
    return jsonify(staff.staff_list(current_trainee_id(), unit_id, _year(), kind, state, app_now()))


@bp.get("/units/<int:unit_id>/staff.xlsx")
def unit_staff_xlsx(unit_id: int):
    kind, state = v.query_string("kind", max_len=20), v.query_string("state", max_len=20)
    listing = staff.staff_list(current_trainee_id(), unit_id, _year(), kind, state, app_now())
    name = f"{listing['unit']['name']}{listing['filter_text'].replace(' · ', '-')}.xlsx"
    return xlsx.download(staff_xlsx(listing), name)


@bp.post("/units/<int:unit_id>/reminders")
@body_limit(1024)
def remind(unit_id: int):
    body = v.json_body()
    last_year, this_year = staff.remind_years(app_now())
    year = v.integer(body, "year", required=False, low=last_year, high=this_year)
    kind = v.string(body, "kind", required=False, max_len=20) or None
    result = staff.remind_unmet(current_trainee_id(), unit_id, year or this_year, kind, app_now())
    return jsonify(result)
