"""The unit report (应训未训) for a unit administrator (the role only sees its own unit)."""

from __future__ import annotations

from flask import Blueprint, jsonify

from handlers import validation as v
from handlers.guard import current_trainee_id
from wxapp.extensions import app_now
from wxapp.infra import clock
from wxapp.reports import access

bp = Blueprint("reports", __name__, url_prefix="/api")


@bp.get("/units/<int:unit_id>/report")
def unit_report(unit_id: int):
    year = v.query_int("year", default=clock.local(app_now()).year, low=2000, high=2100)
    return jsonify(access.report_for_admin(current_trainee_id(), unit_id, year))
