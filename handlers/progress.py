"""Progress: resume and 我的进度 (the beacon itself is served by handlers/beacons.py)."""

from flask import Blueprint, jsonify

from handlers import validation as v
from handlers.guard import current_trainee_id
from wxapp.extensions import app_now
from wxapp.infra import clock
from wxapp.progress import report, tracking

bp = Blueprint("progress", __name__, url_prefix="/api")


@bp.get("/chapters/<int:chapter_id>/resume")
def resume(chapter_id: int):
    return jsonify(tracking.resume(tracking.get_store(), current_trainee_id(), chapter_id))


@bp.get("/me/progress")
def my_progress():
    year = v.query_int("year", default=clock.local(app_now()).year, low=2000, high=2100)
    return jsonify(report.my_progress(tracking.get_store(), current_trainee_id(), year))
