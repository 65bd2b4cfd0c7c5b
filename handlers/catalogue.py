"""The catalogue: plans, a plan's courses, a course's chapters."""

from flask import Blueprint, jsonify, request

from handlers import validation as v
from models import PlanKind
from wxapp.catalogue import plans as catalogue
from wxapp.errors import ValidationError
from wxapp.extensions import app_now

bp = Blueprint("catalogue", __name__, url_prefix="/api")


@bp.get("/plans")
def list_plans():
    year = v.query_int("year", low=2000, high=2100)
    kind = request.args.get("kind") or None
    if kind is not None and kind not in {k.value for k in PlanKind}:
        raise ValidationError("kind", "科目类别应为公需科目（public）或专业科目（specialist）")
    return jsonify({"items": catalogue.list_plans(year, kind, app_now())})


@bp.get("/plans/<int:plan_id>")
def plan_detail(plan_id: int):
    page = v.query_int("page", default=1, low=1, high=10_000)
    per_page = v.query_int("per_page", default=10, low=1, high=100)
    return jsonify(catalogue.plan_detail(plan_id, page, per_page, app_now()))


@bp.get("/courses/<int:course_id>")
def course_detail(course_id: int):
    return jsonify(catalogue.course_detail(course_id))
